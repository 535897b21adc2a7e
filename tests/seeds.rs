//! The seed scenarios S1–S6 (SPEC §4): outcome, side effects and exact
//! virtual time of each, for the DSL version and for the hand-lowered
//! runtime-API version (which checks what the macros lower to).

use std::time::Duration;

use scopes_seeds::{Log, api, dsl};
use tokio::time::Instant;

/// Runs `id` in both versions; they must agree on everything.
async fn run(id: &str) -> (scopes::Result<String>, Vec<String>, Duration) {
    let log = Log::default();
    let start = Instant::now();
    let result = dsl::run(id, &log).await;
    let dsl = (result, log.take(), start.elapsed());
    let start = Instant::now();
    let result = api::run(id, &log).await;
    let api = (result, log.take(), start.elapsed());
    // The chain, the child and the suppressed failures (`{:?}` would show
    // where each child started too, which differs between the versions).
    let shown = |r: &scopes::Result<String>| {
        r.as_ref()
            .map_err(|e| (format!("{e:#}"), e.child_name(), e.suppressed().len()))
            .cloned()
    };
    assert_eq!(shown(&dsl.0), shown(&api.0), "{id}: outcome");
    assert_eq!((&dsl.1, dsl.2), (&api.1, api.2), "{id}: log and time");
    dsl
}

#[tokio::test(start_paused = true)]
async fn s1_coroutine_scope_fails_fast() {
    let (result, log, took) = run("S1").await;
    let err = result.unwrap_err();
    assert_eq!(err.to_string(), "A failed");
    assert_eq!(err.child_name().as_deref(), Some("A"));
    assert!(log.is_empty(), "B must never print: {log:?}");
    assert_eq!(took, Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn s2_supervisor_scope_isolates_failure() {
    let (result, log, took) = run("S2").await;
    assert_eq!(result.unwrap(), "done");
    assert_eq!(log, ["handler: A failed", "B done"]);
    assert_eq!(took, Duration::from_millis(1000));
}

#[tokio::test(start_paused = true)]
async fn s3_await_order_does_not_hide_failure() {
    let (result, log, took) = run("S3").await;
    assert_eq!(
        result.unwrap_err().to_string(),
        "http error while fetching height"
    );
    assert!(log.is_empty());
    assert_eq!(took, Duration::from_millis(100));
}

#[tokio::test(start_paused = true)]
async fn s4_supervisor_body_failure_cancels_color() {
    let (result, _, took) = run("S4").await;
    assert_eq!(
        result.unwrap_err().to_string(),
        "http error while fetching height"
    );
    assert_eq!(took, Duration::from_millis(100));
}

#[tokio::test(start_paused = true)]
async fn s5_supervisor_catch_recovers() {
    let (result, _, took) = run("S5").await;
    assert_eq!(result.unwrap(), "there was an error");
    assert_eq!(took, Duration::from_secs(60));
}

#[tokio::test(start_paused = true)]
async fn s6_non_cancellable_cleanup_runs_before_failure() {
    let (result, log, took) = run("S6").await;
    let err = result.unwrap_err();
    assert_eq!(err.to_string(), "http error while fetching height");
    assert!(err.suppressed().is_empty());
    assert_eq!(log, ["color got cancelled"]);
    assert_eq!(took, Duration::from_millis(2100));
}
