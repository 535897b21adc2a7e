//! Cleanup on cancellation with `non_cancellable`: Kotlin's
//! `withContext(NonCancellable) { .. }` in a `finally`.
//!
//! When a sibling fails, a `coroutine_scope` cancels its other children. A
//! cancelled child is resumed once with a cancellation error from the call
//! it is suspended in; suspending calls made inside `non_cancellable` still
//! work, so the cleanup (here: a flush taking 2 s) runs to its end before
//! the scope returns the failure. (Seed scenario S6.)
//!
//! `cargo run --example cleanup`

use std::time::Duration;

use scopes::prelude::*;
use tokio::time::Instant;

async fn upload(log: &scopes_workspace::Log) -> Result<String> {
    coroutine_scope! {
        let color = async {
            match delay(Duration::from_secs(60)).await {
                Ok(()) => Ok("purple".to_owned()),
                Err(cancelled) => {
                    // Cleanup that must finish, cancellation or not:
                    // Kotlin's `withContext(NonCancellable) { .. }`.
                    non_cancellable {
                        delay(Duration::from_secs(2)).await?;
                        log.push("color got cancelled, buffers flushed");
                    }?;
                    Err(cancelled)
                }
            }
        };
        let height = async {
            delay(Duration::from_millis(100)).await?;
            Err::<f64, _>(Error::msg("height: sensor unplugged"))
        };
        Ok(format!("{} at {}", color.await?, height.await?))
    }
}

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    let log = scopes_workspace::Log::default();
    let start = Instant::now();
    let result = upload(&log).await;
    for line in log.take() {
        println!("{line}");
    }
    let error = result.unwrap_err();
    println!("[{:?}] upload failed: {error}", start.elapsed());
    assert_eq!(error.to_string(), "height: sensor unplugged");
    // 100 ms until the failure, then the 2 s flush.
    assert_eq!(start.elapsed(), Duration::from_millis(2100));
}
