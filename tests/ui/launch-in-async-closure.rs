use scopes::prelude::*;

#[scoped]
async fn refresh_all(ids: &[u32]) -> Result<()> {
    let refresh = async |id: u32| {
        launch! { refresh(id).await }
    };
    for &id in ids {
        refresh(id).await;
    }
    Ok(())
}

async fn refresh(_id: u32) -> Result<()> {
    Ok(())
}

fn main() {}
