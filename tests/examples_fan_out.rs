//! Runs examples/fan_out.rs (issue 11's fan-out client) as a test, so CI
//! checks what it asserts: the users in id order with at most four
//! requests in flight, the race's loser cleaned up before `race` returned,
//! the crawl stopped by its shutdown signal after every request in flight
//! closed its connection, all at exact virtual times.

use scopes_workspace::Log;

#[path = "../examples/fan_out.rs"]
#[allow(
    dead_code,
    reason = "the example's `main` is not called here; `run` and `check` are"
)]
mod fan_out;

#[tokio::test(start_paused = true)]
async fn fan_out_client_limits_races_and_stops_on_its_signal_with_cleanup() {
    let log = Log::default();
    let report = fan_out::run(&log).await.expect("the client runs normally");
    fan_out::check(&report, &log.take());
}
