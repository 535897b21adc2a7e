use scopes::prelude::*;

async fn f() -> Result<()> {
    coroutine_scope! {
        let later = async move {
            launch { yield_now().await }
        };
        later.await;
        Ok(())
    }
}

fn main() {}
