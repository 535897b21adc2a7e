use scopes::prelude::*;

// A fn not returning `Result`: the error, and no second error from the
// `launch!` in its body.
#[scoped]
async fn refresh_all(ids: &[u32]) -> usize {
    for &id in ids {
        launch! { refresh(id).await }
    }
    ids.len()
}

async fn refresh(_: u32) -> Result<()> {
    Ok(())
}

fn main() {}
