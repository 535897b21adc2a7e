use scopes::prelude::*;

async fn f() -> Result<()> {
    coroutine_scope! {
        let start = || launch { delay(std::time::Duration::from_secs(1)).await };
        let _ = start;
        Ok(())
    }
}

fn main() {}
