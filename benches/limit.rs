//! `limit = n` (SPEC §2b; issue 11): 100k children, each yields once and
//! adds to a sum, at most `n` running at once, for n = 8 and n = 1000; time
//! per child. `scopes` with `coroutine_scope_with(ScopeOptions::new().limit(n))`
//! side by side with what a tokio program writes by hand: a `Semaphore`
//! whose permit is taken (`acquire_owned`) before each `JoinSet::spawn`, and
//! `futures`' `stream::iter(..).buffer_unordered(n)`. `scopes` without a
//! limit is there for reference. A `current_thread` runtime, the parent a
//! spawned task, as in `workloads.rs`.
//!
//! At the end the run writes `<target>/bench-limit.md`, the side-by-side
//! table. Quick mode: `SCOPES_BENCH_QUICK=1 cargo bench -p scopes-benches --bench limit`
//! (about 40 s on 2 cores, plus the build; full mode about 90 s).

mod support;

use std::sync::Arc;
use std::time::SystemTime;

use criterion::{Criterion, Throughput};
use futures_util::StreamExt;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use support::{
    Ctx, Rt, cell, criterion_main, expected_sum, flat_sampling, leaf, median_ns, quick, ratio, run,
    scope_of_leaves, scopes_leaf, write_report,
};

/// Children per run.
const CHILDREN: u64 = 100_000;

/// The limits measured.
const LIMITS: [usize; 2] = [8, 1000];

/// Implementations, in report order.
const IMPLS: [&str; 4] = [
    "scopes",
    "Semaphore+JoinSet",
    "buffer_unordered",
    "scopes_no_limit",
];

// ---------------------------------------------------------------------------
// The implementations: each runs `CHILDREN` children, at most `n` at once,
// and returns their sum (checked by the caller).

async fn scopes_limit(n: usize) -> u64 {
    let ctx = Ctx::default();
    let ctx = &ctx;
    let options = scopes::ScopeOptions::new().limit(n);
    scopes::coroutine_scope_with(options, |s| {
        Box::pin(async move {
            for i in 0..CHILDREN {
                s.launch(scopes_leaf(ctx, i));
            }
            Ok(())
        })
    })
    .await
    .expect("scope failed");
    ctx.sum()
}

async fn scopes_no_limit() -> u64 {
    let ctx = Ctx::default();
    scope_of_leaves(&ctx, CHILDREN).await;
    ctx.sum()
}

/// The usual tokio code: a permit before each spawn (so at most `n` tasks
/// exist at once), finished tasks reaped as the loop goes (their failures
/// seen early, their results not piling up), the rest drained at the end.
async fn semaphore_join_set(n: usize) -> u64 {
    let ctx = Arc::new(Ctx::default());
    let permits = Arc::new(Semaphore::new(n));
    let mut set = JoinSet::new();
    for i in 0..CHILDREN {
        let permit = permits.clone().acquire_owned().await.expect("closed");
        let ctx = ctx.clone();
        set.spawn(async move {
            let result = leaf(&ctx, i).await;
            drop(permit);
            result
        });
        while let Some(done) = set.try_join_next() {
            done.expect("task panicked").expect("child failed");
        }
    }
    while let Some(done) = set.join_next().await {
        done.expect("task panicked").expect("child failed");
    }
    ctx.sum()
}

async fn buffer_unordered(n: usize) -> u64 {
    let ctx = Ctx::default();
    let mut results =
        futures_util::stream::iter((0..CHILDREN).map(|i| leaf(&ctx, i))).buffer_unordered(n);
    while let Some(result) = results.next().await {
        result.expect("child failed");
    }
    drop(results);
    ctx.sum()
}

// ---------------------------------------------------------------------------
// Criterion.

fn bench_limit(c: &mut Criterion, n: usize) {
    let rt = Rt::CurrentThread.build();
    let mut group = c.benchmark_group(format!("limit_{n}_current_thread"));
    group.throughput(Throughput::Elements(CHILDREN));
    flat_sampling(&mut group, 20);
    let expected = expected_sum(CHILDREN);
    for name in IMPLS {
        group.bench_function(name, |b| {
            b.iter(|| {
                let sum = match name {
                    "scopes" => run(&rt, scopes_limit(n)),
                    "Semaphore+JoinSet" => run(&rt, semaphore_join_set(n)),
                    "buffer_unordered" => run(&rt, buffer_unordered(n)),
                    "scopes_no_limit" => run(&rt, scopes_no_limit()),
                    _ => unreachable!(),
                };
                assert_eq!(sum, expected, "{name}: wrong sum");
            })
        });
    }
    group.finish();
}

// ---------------------------------------------------------------------------
// The report: criterion's medians of this run, in ns per child, with
// `scopes`' ratio to each peer.

/// The median time per child of `group/function`, in nanoseconds, if this
/// run measured it (an older result is left out).
fn ns_per_child(group: &str, function: &str, since: SystemTime) -> Option<f64> {
    Some(median_ns(group, function, since)? / CHILDREN as f64)
}

fn report(since: SystemTime) {
    let mut out = String::from(
        "# `limit = n`: ns per child (100k children, each yields once; \
         current_thread runtime, parent a spawned task; medians)\n\n",
    );
    out.push_str(&format!(
        "Mode: {}. Written by `cargo bench -p scopes-benches --bench limit`.\n\n",
        if quick() { "quick" } else { "full" }
    ));
    out.push_str(
        "| n | scopes | Semaphore+JoinSet | buffer_unordered | scopes, no limit \
         | scopes÷Semaphore+JoinSet | scopes÷buffer_unordered |\n\
         |---|---|---|---|---|---|---|\n",
    );
    for n in LIMITS {
        let group = format!("limit_{n}_current_thread");
        let [scopes, join_set, buffered, unlimited] =
            IMPLS.map(|name| ns_per_child(&group, name, since));
        out.push_str(&format!(
            "| {n} | {} | {} | {} | {} | {} | {} |\n",
            cell(scopes),
            cell(join_set),
            cell(buffered),
            cell(unlimited),
            ratio(scopes, join_set),
            ratio(scopes, buffered),
        ));
    }
    write_report("bench-limit.md", &out);
}

fn main() {
    criterion_main(
        |c| {
            for n in LIMITS {
                bench_limit(c, n);
            }
        },
        report,
    );
}
