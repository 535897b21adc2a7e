use scopes::prelude::*;

async fn f() -> Result<()> {
    coroutine_scope!(local = true;
        launch { yield_now().await }
        Ok(())
    )
}

fn main() {}
