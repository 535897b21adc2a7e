use scopes::prelude::*;

async fn f() -> Result<()> {
    coroutine_scope! {
        tokio::select! {
            _ = yield_now() => { launch { yield_now().await }; }
        }
        Ok(())
    }
}

fn main() {}
