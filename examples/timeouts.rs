//! Timeouts: Kotlin's `withTimeout` / `withTimeoutOrNull`.
//!
//! - `with_timeout(d, fut)` fails with an error whose `is_timeout()` is true,
//!   after cancelling the work (unlike Kotlin, a timeout is a failure);
//! - `with_timeout_or_none(d, fut)` gives `Ok(None)` instead;
//! - in a scope body, the block forms `with_timeout(d) { .. }` and
//!   `with_timeout_or_none(d) { .. }` say the same as Kotlin's blocks;
//! - a timeout inside a child fails that child, and so its
//!   `coroutine_scope`, like any failure.
//!
//! `cargo run --example timeouts`

use std::time::Duration;

use scopes::prelude::*;
use tokio::time::Instant;

async fn fetch(what: &str, millis: u64) -> Result<String> {
    delay(Duration::from_millis(millis)).await?;
    Ok(format!("{what} ({millis} ms)"))
}

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() -> Result<()> {
    let start = Instant::now();

    // Fast enough: the value.
    let fast = with_timeout(Duration::from_millis(100), fetch("profile", 50)).await?;
    println!("[{:?}] {fast}", start.elapsed());

    // Too slow: a timeout error, the work cancelled at the deadline.
    let slow = with_timeout(Duration::from_millis(100), fetch("report", 5_000)).await;
    let error = slow.unwrap_err();
    assert!(error.is_timeout());
    println!("[{:?}] report: {error}", start.elapsed());

    // Or `None` instead of an error.
    let maybe = with_timeout_or_none(Duration::from_millis(100), fetch("ads", 1_000)).await?;
    assert_eq!(maybe, None);
    println!("[{:?}] ads: none within 100 ms", start.elapsed());

    // Timeouts per child, in a scope: the first one failing fails the scope
    // and cancels its siblings.
    let page = coroutine_scope! {
        let header = async { with_timeout(Duration::from_millis(100), fetch("header", 20)).await };
        let body = async { with_timeout(Duration::from_millis(100), fetch("body", 250)).await };
        Ok(format!("{} + {}", header.await?, body.await?))
    };
    let error = page.unwrap_err();
    assert!(error.is_timeout());
    println!("[{:?}] page: {error}", start.elapsed());

    // The block form, Kotlin's `withTimeout(150) { .. }`: the block is a
    // scope of its own, so the deadline cancels the children started in it.
    let all: Result<Vec<String>> = coroutine_scope! {
        with_timeout(Duration::from_millis(150)) {
            let a = async { fetch("a", 100).await };
            let b = async { fetch("b", 200).await };
            Ok(vec![a.await?, b.await?])
        }
    };
    assert!(all.unwrap_err().is_timeout());
    println!("[{:?}] a + b: timed out at 150 ms", start.elapsed());

    assert_eq!(start.elapsed(), Duration::from_millis(500));
    Ok(())
}
