use scopes::prelude::*;

async fn f() -> Result<()> {
    coroutine_scope!(limit = 0;
        launch { yield_now().await }
        Ok(())
    )
}

fn main() {}
