use scopes::prelude::*;

#[scoped(limit = "four")]
async fn f() -> Result<()> {
    launch! { yield_now().await }
    Ok(())
}

fn main() {}
