// A scope body whose tail is not a `Result` (a forgotten `Ok(..)`) is one
// error on that tail, with rustc's "try wrapping the expression in `Ok`",
// not one per `?` in the body.
use scopes::prelude::*;

#[scoped]
async fn total() -> Result<u64> {
    let a = async { Ok(1u64) };
    let b = async { Ok(2u64) };
    a.await? + b.await?
}

async fn sum() -> Result<u64> {
    coroutine_scope! {
        let a = async { Ok(1u64) };
        a.await? + 1
    }
}

fn main() {
    let _ = (total(), sum());
}
