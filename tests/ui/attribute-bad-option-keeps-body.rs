use scopes::prelude::*;

// A bad argument is reported; the body still expands, so `launch!` in it
// raises no second "only allowed in a scope body" error.
#[supervised(4)]
async fn refresh_all(ids: &[u32]) -> Result<()> {
    for &id in ids {
        launch! { refresh(id).await }
    }
    Ok(())
}

async fn refresh(_: u32) -> Result<()> {
    Ok(())
}

fn main() {}
