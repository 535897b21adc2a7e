use scopes::prelude::*;

#[supervised(local, limit)]
async fn f() -> Result<()> {
    launch! { yield_now().await }
    Ok(())
}

fn main() {}
