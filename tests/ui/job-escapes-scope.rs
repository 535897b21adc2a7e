use scopes::prelude::*;

async fn f() -> Result<()> {
    let job = coroutine_scope! {
        let job = launch { yield_now().await };
        Ok(job)
    }?;
    job.join().await
}

fn main() {}
