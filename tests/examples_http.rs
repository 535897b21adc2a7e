//! Runs examples/http_fanout.rs (issue 13, item 8) as a test: a hyper
//! server on 127.0.0.1, 100 requests at most 10 at a time, the first 500
//! failing the client fast, and the server's counters showing that the
//! requests in flight were aborted (their connections closed before their
//! handlers finished), for the scopes client and the `JoinSet` one. Real
//! time, about a second; the checks leave slack where timing is real.

#[path = "../examples/http_fanout.rs"]
#[allow(
    dead_code,
    reason = "the example's `main` is not called here; `run` and `check` are"
)]
mod http_fanout;

#[tokio::test]
async fn http_fan_out_fails_fast_and_aborts_the_requests_in_flight() {
    let report = http_fanout::run().await.expect("loopback server");
    http_fanout::check(&report);
}
