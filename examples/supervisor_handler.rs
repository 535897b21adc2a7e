//! A supervisor with an exception handler: Kotlin's
//! `supervisorScope` + `CoroutineExceptionHandler`.
//!
//! Three feeds refresh side by side; one fails. In a `supervisor_scope` the
//! failure cancels nobody: it goes to the handler installed around the scope,
//! and the other feeds finish. An `async` child's failure stays in its
//! `Deferred` for the body to handle.
//!
//! `cargo run --example supervisor_handler`

use std::sync::{Arc, Mutex};
use std::time::Duration;

use scopes::prelude::*;
use tokio::time::Instant;

async fn refresh(feed: &str, millis: u64) -> Result<()> {
    delay(Duration::from_millis(millis)).await?;
    if feed == "weather" {
        return Err(Error::msg(format!("{feed}: upstream returned 503")));
    }
    println!("[{:>4} ms] {feed} refreshed", millis);
    Ok(())
}

#[supervised]
async fn refresh_all(feeds: &[(&str, u64)]) -> Result<usize> {
    for &(feed, millis) in feeds {
        launch!(name = format!("refresh {feed}"); refresh(feed, millis).await);
    }
    // An `async` child's failure is the body's to handle.
    let count = async { Err::<usize, _>(Error::msg("counter offline")) };
    Ok(count.await.unwrap_or(feeds.len()))
}

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() -> Result<()> {
    let failures = Arc::new(Mutex::new(Vec::new()));
    let seen = failures.clone();
    let handler = move |e: &Error| {
        let child = e.child_name().unwrap_or_default();
        println!("handler: `{child}` failed: {e}");
        seen.lock().unwrap().push(e.to_string());
    };
    let start = Instant::now();
    let feeds = [("news", 300), ("weather", 100), ("stocks", 200)];
    let count = with_exception_handler(handler, refresh_all(&feeds)).await?;
    println!(
        "{count} feeds attempted in {:?}, {} failure(s) handled",
        start.elapsed(),
        failures.lock().unwrap().len()
    );
    assert_eq!(start.elapsed(), Duration::from_millis(300));
    assert_eq!(
        *failures.lock().unwrap(),
        ["weather: upstream returned 503"]
    );
    Ok(())
}
