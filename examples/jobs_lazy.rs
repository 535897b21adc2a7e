//! Jobs and lazy start: Kotlin's `Job` (`cancel`, `join`, `isActive`...)
//! and `CoroutineStart.LAZY`.
//!
//! A `launch` returns a `Job`; an `async` returns a `Deferred`, which is a
//! job with a value. A child started with `start = lazy` runs only once it
//! is started, awaited or joined; one never started by the end of the body
//! is cancelled (it never runs), so a forgotten lazy child cannot hang its
//! scope.
//!
//! `cargo run --example jobs_lazy`

use std::time::Duration;

use scopes::prelude::*;
use tokio::time::Instant;

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() -> Result<()> {
    let start = Instant::now();
    let at = move || format!("[{:>5} ms]", start.elapsed().as_millis());

    coroutine_scope! {
        // A ticker we cancel from the body.
        let ticker = launch(name = "ticker") {
            for tick in 1.. {
                delay(Duration::from_millis(100)).await?;
                println!("{} tick {tick}", at());
            }
        };
        delay(Duration::from_millis(350)).await?;
        println!("{} cancelling `{}`", at(), ticker.name());
        ticker.cancel();
        ticker.join().await?;
        assert!(ticker.is_cancelled() && ticker.is_completed());

        // Lazy children: nothing runs until they are needed.
        let config = async(start = lazy, name = "config") {
            println!("{} loading config", at());
            delay(Duration::from_millis(50)).await?;
            Ok("debug = true")
        };
        let warmup = launch(start = lazy) { println!("{} warming up", at()); };
        let never = launch(start = lazy) { println!("never printed"); };
        delay(Duration::from_millis(100)).await?;
        assert!(!config.is_active() && !warmup.is_active() && !never.is_active());

        warmup.start();
        println!("{} config: {}", at(), config.await?);
        warmup.join().await?;
        // `never` was never started: it is cancelled when the body returns.
        Ok(())
    }?;

    println!("{} scope done", at());
    assert_eq!(start.elapsed(), Duration::from_millis(500));
    Ok(())
}
