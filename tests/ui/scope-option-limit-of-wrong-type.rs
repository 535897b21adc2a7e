use scopes::prelude::*;

async fn f(n: u32) -> Result<()> {
    coroutine_scope!(limit = n;
        launch { yield_now().await }
        Ok(())
    )
}

fn main() {}
