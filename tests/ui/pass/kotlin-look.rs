// Every spelling of the DSL in the scope macros.
use std::time::Duration;

use scopes::prelude::*;

async fn run() -> Result<u32> {
    coroutine_scope! {
        launch { yield_now().await? }
        launch(name = "named") { yield_now().await?; }
        let job = launch(start = lazy, name = "lazy") { };
        let a = async { Ok(1) };
        let b = async(name = "b") { delay(Duration::from_millis(1)).await?; Ok(2) };
        let c = launch! { };
        let d = launch!(name = "bang"; yield_now().await?;);
        let e = r#async!(start = default; Ok(3));
        let f = r#async! { Ok(4) };
        let g = scopes::launch! { };
        let plain = async move { 5 };
        job.join().await?;
        for j in [c, d, g] {
            j.join().await?;
        }
        Ok(a.await? + b.await? + e.await? + f.await? + plain.await)
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(run().await.unwrap(), 15);
}
