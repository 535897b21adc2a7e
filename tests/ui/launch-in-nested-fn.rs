use scopes::prelude::*;

async fn f() -> Result<()> {
    coroutine_scope! {
        async fn helper() -> Result<()> {
            launch { yield_now().await }
            Ok(())
        }
        helper().await
    }
}

fn main() {}
