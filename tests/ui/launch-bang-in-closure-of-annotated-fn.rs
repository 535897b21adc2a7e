use scopes::prelude::*;

#[supervised]
async fn refresh_all(ids: &[u32]) -> Result<()> {
    ids.iter().for_each(|id| {
        launch! { refresh(*id).await }
    });
    Ok(())
}

async fn refresh(_id: u32) -> Result<()> {
    Ok(())
}

fn main() {}
