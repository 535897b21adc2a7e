use scopes::prelude::*;

async fn f() -> Result<()> {
    coroutine_scope!(limit = 4, timeout = 5;
        launch { yield_now().await }
        Ok(())
    )
}

fn main() {}
