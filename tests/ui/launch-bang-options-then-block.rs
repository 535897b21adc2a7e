use scopes::prelude::*;

async fn f() -> Result<()> {
    coroutine_scope! {
        launch!(name = "fetch") { yield_now().await }
        Ok(())
    }
}

fn main() {}
