use scopes::prelude::*;

async fn f() -> Result<()> {
    coroutine_scope!(limit = 2, local, limit = 4;
        launch { yield_now().await }
        Ok(())
    )
}

fn main() {}
