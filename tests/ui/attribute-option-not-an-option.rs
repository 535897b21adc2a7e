use scopes::prelude::*;

#[scoped(4)]
async fn f() -> Result<()> {
    Ok(())
}

fn main() {}
