use scopes::prelude::*;

async fn f() -> Result<()> {
    coroutine_scope! {
        launch(dispatcher = io) { yield_now().await }
        Ok(())
    }
}

fn main() {}
