//! The take-5 pipeline (SPEC §2c), the program of issue 12: a consumer
//! takes 5 items from an endless pipeline of producers and returns, and
//! the scope completes normally.
//!
//! `numbers` produces 1, 2, 3, .. (one every 100 ms); `squares` reads them
//! and produces their squares; the consumer takes 5 squares. When the
//! consumer returns, its receiver is dropped: `squares` is cancelled, which
//! drops its receiver of `numbers`, which cancels `numbers` where it is
//! suspended (in `delay`). Each producer cleans up; nobody fails. (With
//! tokio channels, the dropped receiver made the producer's `send` fail:
//! the whole scope failed with "channel closed".)
//!
//! `cargo run --example pipeline` (also run by tests/examples_channels.rs)

use std::time::Duration;

use scopes::prelude::*;
use scopes_workspace::Log;
use tokio::time::Instant;

/// Runs a stage's body; when it ends with a cancellation, logs it after a
/// short flush that must finish (`non_cancellable`).
async fn stage(name: &str, log: &Log, body: impl Future<Output = Result<()>>) -> Result<()> {
    let ended = body.await;
    if let Err(e) = &ended
        && e.is_cancellation()
    {
        non_cancellable(delay(Duration::from_millis(10))).await?;
        log.push(format!("{name}: cancelled, cleaned up"));
    }
    ended
}

/// Takes the first 5 squares from the pipeline.
#[scoped]
pub async fn first_five_squares(log: &Log) -> Result<Vec<u64>> {
    let numbers = produce!(name = "numbers"; |tx| {
        stage("numbers", log, async move {
            for i in 1u64.. {
                delay(Duration::from_millis(100)).await?;
                tx.send(i).await?;
            }
            Ok(())
        })
        .await?;
    });
    let squares = produce!(name = "squares"; |tx| {
        stage("squares", log, async move {
            while let Some(n) = numbers.recv().await? {
                tx.send(n * n).await?;
            }
            Ok(())
        })
        .await?;
    });
    let mut taken = Vec::new();
    while taken.len() < 5 {
        taken.extend(squares.recv().await?);
    }
    Ok(taken) // `squares` dropped: the pipeline is cancelled from its end
}

/// What the run must show: 5 squares, both producers cleaned up, the
/// scope completed normally at 500 ms plus the 10 ms cleanups.
pub fn check(taken: &[u64], log: &[String], elapsed: Duration) {
    assert_eq!(taken, [1, 4, 9, 16, 25]);
    let mut log = log.to_vec();
    log.sort();
    assert_eq!(
        log,
        [
            "numbers: cancelled, cleaned up",
            "squares: cancelled, cleaned up"
        ]
    );
    assert_eq!(elapsed, Duration::from_millis(510));
}

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    let log = Log::default();
    let start = Instant::now();
    let taken = first_five_squares(&log)
        .await
        .expect("the scope completes normally");
    let elapsed = start.elapsed();
    let log = log.take();
    for line in &log {
        println!("{line}");
    }
    println!("[{elapsed:?}] took {taken:?}");
    check(&taken, &log, elapsed);
}
