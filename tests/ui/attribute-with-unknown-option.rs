use scopes::prelude::*;

#[supervised(handler = log_it)]
async fn refresh_all() -> Result<()> {
    Ok(())
}

fn main() {}
