//! A child whose own child fails: Kotlin's `launch { launch { .. } }`.
//!
//! A request starts an upload, which starts two parts of its own, and a
//! progress reporter beside it. One part fails after 10 ms; the other
//! closes its connection in `non_cancellable` cleanup for 100 ms. As in
//! Kotlin, the upload is failing from the moment its part failed, so the
//! request's `coroutine_scope` cancels the reporter at once (10 ms), not
//! after the upload's cleanup (110 ms); the request returns the part's
//! failure when everything has ended. The same program on the runtime
//! API opens the upload's scope with `ScopeOptions::body_of_child()`,
//! which is what the DSL writes for a child with children.
//!
//! `cargo run --example child_failure`

use std::sync::{Arc, Mutex};
use std::time::Duration;

use scopes::prelude::*;
use scopes::{ScopeOptions, coroutine_scope_with};
use tokio::time::Instant;

type Log = Arc<Mutex<Vec<String>>>;

fn note(log: &Log, start: Instant, what: &str) {
    let line = format!("[{:>3} ms] {what}", start.elapsed().as_millis());
    println!("{line}");
    log.lock().unwrap().push(line);
}

async fn part_a() -> Result<()> {
    delay(Duration::from_millis(10)).await?;
    Err(Error::msg("part A: connection reset"))
}

async fn part_b(log: Log, start: Instant) -> Result<()> {
    let waited = delay(Duration::from_secs(60)).await;
    non_cancellable(delay(Duration::from_millis(100))).await?;
    note(&log, start, "part B closed its connection");
    waited
}

async fn reporter(log: Log, start: Instant) -> Result<()> {
    let waited = delay(Duration::from_secs(60)).await;
    note(&log, start, "reporter stopped");
    waited
}

/// The DSL: the upload's body starts children, so it is a scope of its own.
async fn request_dsl(log: Log, start: Instant) -> Result<()> {
    coroutine_scope! {
        let (l1, l2) = (log.clone(), log.clone());
        launch {
            launch { part_a().await? };
            launch { part_b(l1, start).await? };
        };
        launch { reporter(l2, start).await? };
        Ok(())
    }
}

/// The runtime API: the same program, the upload's scope opened as the
/// whole body of its child.
async fn request_api(log: Log, start: Instant) -> Result<()> {
    scopes::coroutine_scope(|s| {
        Box::pin(async move {
            let upload_log = log.clone();
            s.launch(coroutine_scope_with(
                ScopeOptions::new().body_of_child(),
                move |upload| {
                    Box::pin(async move {
                        upload.launch(part_a());
                        upload.launch(part_b(upload_log, start));
                        Ok(())
                    })
                },
            ));
            s.launch(reporter(log, start));
            Ok(())
        })
    })
    .await
}

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    for (name, api) in [("DSL", false), ("runtime API", true)] {
        println!("{name}:");
        let log: Log = Arc::default();
        let start = Instant::now();
        let failed = if api {
            request_api(log.clone(), start).await
        } else {
            request_dsl(log.clone(), start).await
        }
        .unwrap_err();
        println!("request failed after {:?}: {failed}", start.elapsed());
        assert_eq!(failed.to_string(), "part A: connection reset");
        assert_eq!(start.elapsed(), Duration::from_millis(110));
        assert_eq!(
            *log.lock().unwrap(),
            [
                "[ 10 ms] reporter stopped",
                "[110 ms] part B closed its connection"
            ]
        );
    }
}
