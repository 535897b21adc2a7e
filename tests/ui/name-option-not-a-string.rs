use scopes::prelude::*;

async fn f() -> Result<()> {
    coroutine_scope! {
        launch(name = 5) { yield_now().await }
        Ok(())
    }
}

fn main() {}
