use scopes::prelude::*;

#[supervised]
fn refresh_all() -> Result<()> {
    Ok(())
}

fn main() {}
