use scopes::prelude::*;

#[scoped]
async fn f() -> Result<()> {
    launch!(yield_now().await);
    Ok(())
}

fn main() {}
