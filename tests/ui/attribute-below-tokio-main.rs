// `#[tokio::main]` (or `#[tokio::test]`) above `#[scoped]` runs first and
// turns the `async fn` into a plain fn: the error says to swap the two.
use scopes::prelude::*;

#[tokio::main(flavor = "current_thread")]
#[scoped]
async fn main() -> Result<()> {
    let a = async { Ok(1) };
    println!("{}", a.await?);
    Ok(())
}
