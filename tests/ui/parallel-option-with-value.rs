use scopes::prelude::*;

#[supervised]
async fn f() -> Result<()> {
    launch!(parallel = true; yield_now().await);
    Ok(())
}

fn main() {}
