//! Runs examples/worker_pool.rs and examples/pipeline.rs (issue 12's
//! programs) as tests, so CI checks what they assert: every worker's
//! cleanup ran, nothing was lost, and the scopes completed normally.

use scopes_workspace::Log;
use tokio::time::Instant;

#[path = "../examples/worker_pool.rs"]
#[allow(
    dead_code,
    reason = "the example's `main` is not called here; `run` and `check` are"
)]
mod worker_pool;

#[path = "../examples/pipeline.rs"]
#[allow(
    dead_code,
    reason = "the example's `main` is not called here; the rest is"
)]
mod pipeline;

#[tokio::test(start_paused = true)]
async fn worker_pool_shuts_down_gracefully_and_every_worker_cleans_up() {
    let log = Log::default();
    let report = worker_pool::run(&log)
        .await
        .expect("the scope completes normally");
    worker_pool::check(&report, &log.take());
}

#[tokio::test(start_paused = true)]
async fn take_five_pipeline_completes_normally_and_cancels_its_producers() {
    let log = Log::default();
    let start = Instant::now();
    let taken = pipeline::first_five_squares(&log)
        .await
        .expect("the scope completes normally");
    pipeline::check(&taken, &log.take(), start.elapsed());
}
