//! A server's shape: a scope per request. 10,000 requests, each a tokio
//! task on a 2-worker `multi_thread` runtime, each doing its work in 4
//! children that yield once and add to a sum; time per request, from the
//! first spawn until every request has returned.
//!
//! - `scopes`: each request opens a `coroutine_scope` with 4 `launch`
//!   children (polled in place, in the request's task);
//! - `JoinSet`: each request spawns its 4 children as tasks and joins them;
//! - `FuturesUnordered`: each request polls its 4 children in place.
//!
//! Scopes opened on both workers at once meet in the registry that
//! `debug::dump` reads, which this shape measures and the flat workloads do
//! not (one scope) and the trees do not (one thread).
//!
//! At the end the run writes `<target>/bench-requests.md`. Quick mode:
//! `SCOPES_BENCH_QUICK=1 cargo bench -p scopes-benches --bench requests`.

mod support;

use std::sync::Arc;
use std::time::SystemTime;

use criterion::{Criterion, Throughput};
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use tokio::task::JoinSet;

use support::{
    Ctx, Rt, cell, criterion_main, flat_sampling, leaf, median_ns, quick, ratio, run,
    scope_of_leaves, write_report,
};

/// Requests per run.
const REQUESTS: u64 = 10_000;

/// Children per request.
const CHILDREN: u64 = 4;

/// Implementations, in report order.
const IMPLS: [&str; 3] = ["scopes", "JoinSet", "FuturesUnordered"];

/// What one run's children add up to: each request's children add 0..4.
fn expected() -> u64 {
    REQUESTS * (CHILDREN * (CHILDREN - 1) / 2)
}

async fn scopes_request(ctx: Arc<Ctx>) {
    scope_of_leaves(&ctx, CHILDREN).await;
}

async fn join_set_request(ctx: Arc<Ctx>) {
    let mut set = JoinSet::new();
    for i in 0..CHILDREN {
        let ctx = ctx.clone();
        set.spawn(async move { leaf(&ctx, i).await });
    }
    while let Some(done) = set.join_next().await {
        done.expect("task panicked").expect("child failed");
    }
}

async fn futures_unordered_request(ctx: Arc<Ctx>) {
    let ctx = &*ctx;
    let mut children: FuturesUnordered<_> = (0..CHILDREN).map(|i| leaf(ctx, i)).collect();
    while let Some(done) = children.next().await {
        done.expect("child failed");
    }
}

/// All requests of one run, each its own task; their sum.
async fn requests(name: &'static str) -> u64 {
    let ctx = Arc::new(Ctx::default());
    let mut tasks = Vec::with_capacity(REQUESTS as usize);
    for _ in 0..REQUESTS {
        let ctx = ctx.clone();
        tasks.push(tokio::spawn(async move {
            match name {
                "scopes" => scopes_request(ctx).await,
                "JoinSet" => join_set_request(ctx).await,
                "FuturesUnordered" => futures_unordered_request(ctx).await,
                _ => unreachable!(),
            }
        }));
    }
    for task in tasks {
        task.await.expect("request panicked");
    }
    ctx.sum()
}

fn bench_requests(c: &mut Criterion) {
    let rt = Rt::MultiThread.build();
    let mut group = c.benchmark_group("requests_multi_thread");
    group.throughput(Throughput::Elements(REQUESTS));
    flat_sampling(&mut group, 20);
    for name in IMPLS {
        group.bench_function(name, |b| {
            b.iter(|| assert_eq!(run(&rt, requests(name)), expected(), "{name}: wrong sum"))
        });
    }
    group.finish();
}

fn report(since: SystemTime) {
    let per_request =
        |name: &str| median_ns("requests_multi_thread", name, since).map(|ns| ns / REQUESTS as f64);
    let [scopes, join_set, unordered] = IMPLS.map(per_request);
    let out = format!(
        "# A scope per request: ns per request (10,000 requests of 4 children, \
         2-worker multi_thread runtime; medians)\n\n\
         Mode: {}. Written by `cargo bench -p scopes-benches --bench requests`.\n\n\
         | scopes | JoinSet | FuturesUnordered | scopes÷JoinSet | scopes÷FuturesUnordered |\n\
         |---|---|---|---|---|\n\
         | {} | {} | {} | {} | {} |\n",
        if quick() { "quick" } else { "full" },
        cell(scopes),
        cell(join_set),
        cell(unordered),
        ratio(scopes, join_set),
        ratio(scopes, unordered),
    );
    write_report("bench-requests.md", &out);
}

fn main() {
    criterion_main(bench_requests, report);
}
