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
    Ctx, Rt, criterion_dir, flat_sampling, leaf, median_ns, quick, run, scopes_leaf, target_dir,
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
    let ctx = &*ctx;
    scopes::coroutine_scope(|s| {
        Box::pin(async move {
            for i in 0..CHILDREN {
                s.launch(scopes_leaf(ctx, i));
            }
            Ok(())
        })
    })
    .await
    .expect("scope failed");
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
    let cell = |v: Option<f64>| v.map_or("—".to_owned(), |v| format!("{v:.0}"));
    let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) => format!("{:.2}×", a / b),
        _ => "—".to_owned(),
    };
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
    println!("\n{out}");
    let path = target_dir().join("bench-requests.md");
    if let Err(e) = std::fs::write(&path, &out) {
        eprintln!("could not write {}: {e}", path.display());
    }
}

fn main() {
    let started = SystemTime::now();
    // `cargo bench` passes `--bench`; `cargo test -p scopes-benches --benches` does not: then
    // criterion runs each implementation once, and there is no report.
    let bench = std::env::args().any(|arg| arg == "--bench");
    let mut c = Criterion::default()
        .output_directory(&criterion_dir())
        .configure_from_args();
    bench_requests(&mut c);
    if bench {
        c.final_summary();
        report(started);
    }
}
