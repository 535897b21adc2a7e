use scopes::prelude::*;

async fn f() -> Result<()> {
    launch! { yield_now().await }
    Ok(())
}

fn main() {}
