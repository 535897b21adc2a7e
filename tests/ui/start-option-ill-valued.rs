use scopes::prelude::*;

async fn f() -> Result<()> {
    coroutine_scope! {
        launch(start = eager) { yield_now().await }
        Ok(())
    }
}

fn main() {}
