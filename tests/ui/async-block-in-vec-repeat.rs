use scopes::prelude::*;

async fn f() -> Result<()> {
    coroutine_scope! {
        let tries = vec![async { yield_now().await }; 3];
        drop(tries);
        Ok(())
    }
}

fn main() {}
