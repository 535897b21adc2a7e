//! SPEC §6 workloads W1–W3 (and W5, derived from W1): `scopes` side by side
//! with its peers in one criterion run, on a `current_thread` runtime and on a
//! 2-worker `multi_thread` runtime, the parent always a spawned task.
//! W1 also runs on a local scope (`scopes_local`, SPEC §2d): the same
//! children in `coroutine_scope_local`, the parent a `spawn_local` task of a
//! `LocalSet` on the same runtime.
//!
//! At the end the run writes `<target>/bench-report.md`, the side-by-side
//! table (with W4 from the `alloc` bench, if it ran first). Quick mode:
//! `SCOPES_BENCH_QUICK=1 cargo bench -p scopes-benches`. See README.md, "Performance".

mod support;

use std::future::Future;
use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant, SystemTime};

use criterion::{BenchmarkGroup, Criterion, SamplingMode, Throughput, measurement::WallTime};
use futures_util::future::{join_all, try_join_all};
use futures_util::stream::FuturesUnordered;
use tokio::runtime::Runtime;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use support::{
    Ctx, FANOUT, Fail, Rt, W3_LEAVES, drain_fu, expected_sum, leaf, quick, run, run_local,
    scopes_leaf, w1_futures_unordered, w1_scopes, w1_scopes_parallel, w3_futures_unordered,
    w3_scopes,
};

#[path = "support/report.rs"]
mod report;

// ---------------------------------------------------------------------------
// Peers' plumbing shared by the workloads.

/// Awaits every task of a `JoinSet`, failing fast on the first error.
async fn drain_join_set(mut set: JoinSet<Result<(), Fail>>) -> Result<(), Fail> {
    while let Some(r) = set.join_next().await {
        r.expect("task panicked")?;
    }
    Ok(())
}

/// Checks every output of a `join_all`.
fn all_ok(results: Vec<Result<(), Fail>>) -> Result<(), Fail> {
    results.into_iter().collect()
}

type MoroScope<'scope, 'env> = moro::Scope<'scope, 'env, Result<(), Fail>>;

/// A moro child whose failure terminates the scope with it: what moro's
/// `or_cancel` / `unwrap_or_cancel` do, written out so that a child costs one
/// moro job and no boxed future. (W2, where a child does fail, needs
/// `or_cancel` itself: see `w2_moro`.)
fn moro_child<'scope, 'env, F>(scope: &'scope MoroScope<'scope, 'env>, child: F)
where
    F: Future<Output = Result<(), Fail>> + Send + 'scope,
{
    scope.spawn(async move {
        if let Err(e) = child.await {
            scope.terminate::<()>(Err(e)).await;
        }
    });
}

/// A `TaskTracker` task: nobody joins it, so it records its own failure.
async fn tracked(ctx: Arc<Ctx>, i: u64) {
    if leaf(&ctx, i).await.is_err() {
        ctx.failed.store(true, Relaxed);
    }
}

// ---------------------------------------------------------------------------
// W1: start and join n trivial children (each yields once, adds to a sum).

/// W1 on a local scope: the same children, the engine's `Local` kind.
async fn w1_scopes_local(n: u64) -> u64 {
    let ctx = Ctx::default();
    let ctx = &ctx;
    scopes::coroutine_scope_local(|s| {
        Box::pin(async move {
            for i in 0..n {
                s.launch(scopes_leaf(ctx, i));
            }
            Ok(())
        })
    })
    .await
    .expect("scope failed");
    ctx.sum()
}

async fn w1_join_all(n: u64) -> u64 {
    let ctx = Ctx::default();
    all_ok(join_all((0..n).map(|i| leaf(&ctx, i))).await).expect("child failed");
    ctx.sum()
}

async fn w1_task_tracker(n: u64) -> u64 {
    let ctx = Arc::new(Ctx::default());
    let tracker = TaskTracker::new();
    for i in 0..n {
        tracker.spawn(tracked(ctx.clone(), i));
    }
    tracker.close();
    tracker.wait().await;
    ctx.sum()
}

async fn w1_moro(n: u64) -> u64 {
    let ctx = Ctx::default();
    let ctx = &ctx;
    let r = moro::async_scope!(|scope| -> Result<(), Fail> {
        for i in 0..n {
            moro_child(scope, leaf(ctx, i));
        }
        Ok(())
    })
    .await;
    r.expect("child failed");
    ctx.sum()
}

async fn w1_join_set(n: u64) -> u64 {
    let ctx = Arc::new(Ctx::default());
    let mut set = JoinSet::new();
    for i in 0..n {
        let ctx = ctx.clone();
        set.spawn(async move { leaf(&ctx, i).await });
    }
    drain_join_set(set).await.expect("child failed");
    ctx.sum()
}

// ---------------------------------------------------------------------------
// W2: 1000 children sleep for an hour; a sibling fails after one yield. The
// time measured runs from the failure (an `Instant` taken by the failing
// child) until the scope has returned with all 1000 sleepers dropped.

const SLEEPERS: usize = 1000;
const HOUR: Duration = Duration::from_secs(3600);

#[derive(Default)]
struct W2 {
    failed_at: OnceLock<Instant>,
    dropped: AtomicUsize,
}

impl W2 {
    fn fail_now(&self) {
        self.failed_at.set(Instant::now()).expect("one failure");
    }

    /// The time from the failure to `returned`, once every sleeper is gone.
    fn elapsed(&self, returned: Instant) -> Duration {
        assert_eq!(
            self.dropped.load(Relaxed),
            SLEEPERS,
            "sleepers not all dropped"
        );
        returned - *self.failed_at.get().expect("nobody failed")
    }
}

/// Moved into each child when it is created, so a child counts as dropped
/// whether or not it was ever polled.
struct DropCount<C: std::ops::Deref<Target = W2>> {
    ctx: C,
    sleeper: bool,
}

impl<C: std::ops::Deref<Target = W2>> Drop for DropCount<C> {
    fn drop(&mut self) {
        if self.sleeper {
            self.ctx.dropped.fetch_add(1, Relaxed);
        }
    }
}

/// A W2 child of a peer: a sleeper, or the one that fails after a yield.
fn w2_child<C>(ctx: C, fail: bool) -> impl Future<Output = Result<(), Fail>> + Send
where
    C: std::ops::Deref<Target = W2> + Send,
{
    let guard = DropCount {
        ctx,
        sleeper: !fail,
    };
    async move {
        let guard = guard;
        if fail {
            tokio::task::yield_now().await;
            guard.ctx.fail_now();
            return Err(Fail);
        }
        tokio::time::sleep(HOUR).await;
        Ok(())
    }
}

/// The same child for scopes (`delay`, `yield_now`, `scopes::Error`).
fn w2_scopes_child<C>(ctx: C, fail: bool) -> impl Future<Output = scopes::Result<()>> + Send
where
    C: std::ops::Deref<Target = W2> + Send,
{
    let guard = DropCount {
        ctx,
        sleeper: !fail,
    };
    async move {
        let guard = guard;
        if fail {
            scopes::yield_now().await?;
            let error = scopes::Error::msg("failed");
            guard.ctx.fail_now();
            return Err(error);
        }
        scopes::delay(HOUR).await
    }
}

async fn w2_scopes() -> Duration {
    let ctx = W2::default();
    let ctx = &ctx;
    let r = scopes::coroutine_scope(|s| {
        Box::pin(async move {
            for k in 0..=SLEEPERS {
                s.launch(w2_scopes_child(ctx, k == SLEEPERS));
            }
            Ok(())
        })
    })
    .await;
    let returned = Instant::now();
    assert!(r.is_err(), "the failure must fail the scope");
    ctx.elapsed(returned)
}

async fn w2_scopes_parallel() -> Duration {
    let ctx = Arc::new(W2::default());
    let shared = ctx.clone();
    let r = scopes::coroutine_scope(move |s| {
        Box::pin(async move {
            for k in 0..=SLEEPERS {
                s.child()
                    .launch_parallel(w2_scopes_child(shared.clone(), k == SLEEPERS));
            }
            Ok(())
        })
    })
    .await;
    let returned = Instant::now();
    assert!(r.is_err(), "the failure must fail the scope");
    ctx.elapsed(returned)
}

async fn w2_futures_unordered() -> Duration {
    let ctx = W2::default();
    let set: FuturesUnordered<_> = (0..=SLEEPERS)
        .map(|k| w2_child(&ctx, k == SLEEPERS))
        .collect();
    let r = drain_fu(set).await; // drops the sleepers
    let returned = Instant::now();
    assert!(r.is_err(), "the failure must be reported");
    ctx.elapsed(returned)
}

/// `try_join_all` reports in input order: only with the failing child
/// *first* does it return before the sleepers finish (see
/// `try_join_all_never_returns`).
async fn w2_try_join_all_failing_first() -> Duration {
    let ctx = W2::default();
    let r = try_join_all((0..=SLEEPERS).map(|k| w2_child(&ctx, k == 0))).await;
    let returned = Instant::now();
    assert!(r.is_err(), "the failure must be reported");
    ctx.elapsed(returned)
}

/// With the failing child last, as in the other peers' runs, `try_join_all`
/// (and `join_all`) wait for the hour-long sleepers: W2 is "never" for them.
/// Checked once: still pending 100 ms after the failure.
fn try_join_all_never_returns(rt: &Runtime) -> bool {
    run(rt, async {
        let ctx = W2::default();
        let all = try_join_all((0..=SLEEPERS).map(|k| w2_child(&ctx, k == SLEEPERS)));
        let timed_out = tokio::time::timeout(Duration::from_millis(100), all)
            .await
            .is_err();
        timed_out && ctx.failed_at.get().is_some()
    })
}

async fn w2_task_tracker() -> Duration {
    let ctx = Arc::new(W2::default());
    let tracker = TaskTracker::new();
    let token = CancellationToken::new();
    for k in 0..=SLEEPERS {
        let child = w2_child(ctx.clone(), k == SLEEPERS);
        let token = token.clone();
        tracker.spawn(async move {
            if let Some(Err(Fail)) = token.run_until_cancelled(child).await {
                token.cancel();
            }
        });
    }
    tracker.close();
    tracker.wait().await;
    let returned = Instant::now();
    assert!(token.is_cancelled(), "the failure must cancel the rest");
    ctx.elapsed(returned)
}

async fn w2_moro() -> Duration {
    let ctx = W2::default();
    let ctx = &ctx;
    let r = moro::async_scope!(|scope| -> Result<(), Fail> {
        for k in 0..=SLEEPERS {
            // Not `moro_child`: a `terminate` from a child is only noticed when
            // the scope's task is next woken, which here is in an hour.
            // `or_cancel`'s second job wakes it through its channel.
            drop(scope.spawn(w2_child(ctx, k == SLEEPERS)).or_cancel(scope));
        }
        Ok(())
    })
    .await; // the scope future, and with it every sleeper, is dropped here
    let returned = Instant::now();
    assert!(r.is_err(), "the failure must be reported");
    ctx.elapsed(returned)
}

async fn w2_join_set() -> Duration {
    let ctx = Arc::new(W2::default());
    let mut set = JoinSet::new();
    for k in 0..=SLEEPERS {
        set.spawn(w2_child(ctx.clone(), k == SLEEPERS));
    }
    let r = loop {
        match set.join_next().await {
            Some(Ok(Ok(()))) => {}
            Some(Ok(Err(e))) => break Err(e),
            Some(Err(e)) => panic!("task panicked: {e}"),
            None => break Ok(()),
        }
    };
    // Abort the sleepers and wait until they are gone.
    set.shutdown().await;
    let returned = Instant::now();
    assert!(r.is_err(), "the failure must be reported");
    ctx.elapsed(returned)
}

// ---------------------------------------------------------------------------
// W3: a 20×20×20 tree of nested scopes, 8000 leaves (the W1 child).

async fn w3_join_all() -> u64 {
    async fn level2(ctx: &Ctx, a: u64) -> Result<(), Fail> {
        all_ok(join_all((0..FANOUT).map(|b| level3(ctx, (a * FANOUT + b) * FANOUT))).await)
    }
    async fn level3(ctx: &Ctx, base: u64) -> Result<(), Fail> {
        all_ok(join_all((0..FANOUT).map(|c| leaf(ctx, base + c))).await)
    }
    let ctx = Ctx::default();
    all_ok(join_all((0..FANOUT).map(|a| level2(&ctx, a))).await).expect("child failed");
    ctx.sum()
}

async fn w3_task_tracker() -> u64 {
    async fn level2(ctx: Arc<Ctx>, a: u64) {
        let tracker = TaskTracker::new();
        for b in 0..FANOUT {
            tracker.spawn(level3(ctx.clone(), (a * FANOUT + b) * FANOUT));
        }
        tracker.close();
        tracker.wait().await;
    }
    async fn level3(ctx: Arc<Ctx>, base: u64) {
        let tracker = TaskTracker::new();
        for c in 0..FANOUT {
            tracker.spawn(tracked(ctx.clone(), base + c));
        }
        tracker.close();
        tracker.wait().await;
    }
    let ctx = Arc::new(Ctx::default());
    let tracker = TaskTracker::new();
    for a in 0..FANOUT {
        tracker.spawn(level2(ctx.clone(), a));
    }
    tracker.close();
    tracker.wait().await;
    ctx.sum()
}

async fn w3_moro() -> u64 {
    async fn level2(ctx: &Ctx, a: u64) -> Result<(), Fail> {
        moro::async_scope!(|scope| -> Result<(), Fail> {
            for b in 0..FANOUT {
                moro_child(scope, level3(ctx, (a * FANOUT + b) * FANOUT));
            }
            Ok(())
        })
        .await
    }
    async fn level3(ctx: &Ctx, base: u64) -> Result<(), Fail> {
        moro::async_scope!(|scope| -> Result<(), Fail> {
            for c in 0..FANOUT {
                moro_child(scope, leaf(ctx, base + c));
            }
            Ok(())
        })
        .await
    }
    let ctx = Ctx::default();
    let ctx = &ctx;
    let r = moro::async_scope!(|scope| -> Result<(), Fail> {
        for a in 0..FANOUT {
            moro_child(scope, level2(ctx, a));
        }
        Ok(())
    })
    .await;
    r.expect("child failed");
    ctx.sum()
}

async fn w3_join_set() -> u64 {
    async fn level2(ctx: Arc<Ctx>, a: u64) -> Result<(), Fail> {
        let mut set = JoinSet::new();
        for b in 0..FANOUT {
            set.spawn(level3(ctx.clone(), (a * FANOUT + b) * FANOUT));
        }
        drain_join_set(set).await
    }
    async fn level3(ctx: Arc<Ctx>, base: u64) -> Result<(), Fail> {
        let mut set = JoinSet::new();
        for c in 0..FANOUT {
            let ctx = ctx.clone();
            set.spawn(async move { leaf(&ctx, base + c).await });
        }
        drain_join_set(set).await
    }
    let ctx = Arc::new(Ctx::default());
    let mut set = JoinSet::new();
    for a in 0..FANOUT {
        set.spawn(level2(ctx.clone(), a));
    }
    drain_join_set(set).await.expect("child failed");
    ctx.sum()
}

// ---------------------------------------------------------------------------
// Criterion groups.

/// Implementations, in report order. `scopes_parallel` (children spawned
/// with `launch_parallel`) runs on the multi-thread runtime only;
/// `scopes_local` (a local scope) runs W1 only.
pub const IMPLS: [&str; 8] = [
    "scopes",
    "scopes_local",
    "scopes_parallel",
    "FuturesUnordered",
    "join_all",
    "TaskTracker",
    "moro",
    "JoinSet",
];

fn impls_for(rt: Rt) -> impl Iterator<Item = &'static str> {
    IMPLS
        .into_iter()
        .filter(move |&name| name != "scopes_parallel" || rt == Rt::MultiThread)
}

/// Samples per benchmark (the 1M ones take 10).
fn samples() -> usize {
    if quick() { 20 } else { 50 }
}

/// Flat sampling (every sample the same number of iterations, medians
/// reported); full mode measures three times longer than quick mode.
fn timing(group: &mut BenchmarkGroup<'_, WallTime>, warm_up: f64, measure: f64) {
    let scale = if quick() { 1.0 } else { 3.0 };
    group
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs_f64(warm_up * scale))
        .measurement_time(Duration::from_secs_f64(measure * scale));
}

fn bench_w1(c: &mut Criterion, rt_kind: Rt, n: u64) {
    let rt = rt_kind.build();
    let label = if n >= 1_000_000 { "1M" } else { "10k" };
    let mut group = c.benchmark_group(format!("W1_{label}_{}", rt_kind.name()));
    group.throughput(Throughput::Elements(n));
    if n >= 1_000_000 {
        group.sample_size(10);
        timing(&mut group, 1.0, 4.0);
    } else {
        group.sample_size(samples());
        timing(&mut group, 0.5, 1.5);
    }
    let expected = expected_sum(n);
    for name in impls_for(rt_kind) {
        group.bench_function(name, |b| {
            b.iter(|| {
                let sum = match name {
                    "scopes" => run(&rt, w1_scopes(n)),
                    "scopes_local" => run_local(&rt, w1_scopes_local(n)),
                    "scopes_parallel" => run(&rt, w1_scopes_parallel(n)),
                    "FuturesUnordered" => run(&rt, w1_futures_unordered(n)),
                    "join_all" => run(&rt, w1_join_all(n)),
                    "TaskTracker" => run(&rt, w1_task_tracker(n)),
                    "moro" => run(&rt, w1_moro(n)),
                    "JoinSet" => run(&rt, w1_join_set(n)),
                    _ => unreachable!(),
                };
                assert_eq!(sum, expected, "{name}: wrong sum");
            })
        });
    }
    group.finish();
}

fn bench_w2(c: &mut Criterion, rt_kind: Rt) {
    let rt = rt_kind.build();
    let mut group = c.benchmark_group(format!("W2_{}", rt_kind.name()));
    group.sample_size(samples());
    timing(&mut group, 0.2, 0.6);
    let names = impls_for(rt_kind)
        .filter(|&name| name != "join_all" && name != "scopes_local")
        .chain(["try_join_all_failing_first"]);
    for name in names {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| match name {
                        "scopes" => run(&rt, w2_scopes()),
                        "scopes_parallel" => run(&rt, w2_scopes_parallel()),
                        "FuturesUnordered" => run(&rt, w2_futures_unordered()),
                        "try_join_all_failing_first" => run(&rt, w2_try_join_all_failing_first()),
                        "TaskTracker" => run(&rt, w2_task_tracker()),
                        "moro" => run(&rt, w2_moro()),
                        "JoinSet" => run(&rt, w2_join_set()),
                        _ => unreachable!(),
                    })
                    .sum()
            })
        });
    }
    group.finish();
}

fn bench_w3(c: &mut Criterion, rt_kind: Rt) {
    let rt = rt_kind.build();
    let mut group = c.benchmark_group(format!("W3_{}", rt_kind.name()));
    group.sample_size(samples());
    timing(&mut group, 0.5, 1.5);
    let expected = expected_sum(W3_LEAVES);
    let names =
        impls_for(rt_kind).filter(|&name| name != "scopes_parallel" && name != "scopes_local");
    for name in names {
        group.bench_function(name, |b| {
            b.iter(|| {
                let sum = match name {
                    "scopes" => run(&rt, w3_scopes()),
                    "FuturesUnordered" => run(&rt, w3_futures_unordered()),
                    "join_all" => run(&rt, w3_join_all()),
                    "TaskTracker" => run(&rt, w3_task_tracker()),
                    "moro" => run(&rt, w3_moro()),
                    "JoinSet" => run(&rt, w3_join_set()),
                    _ => unreachable!(),
                };
                assert_eq!(sum, expected, "{name}: wrong sum");
            })
        });
    }
    group.finish();
}

fn main() {
    let started = SystemTime::now();
    let load_at_start = report::load_average();
    let mut c = Criterion::default()
        .output_directory(&support::criterion_dir())
        .configure_from_args();
    let never = try_join_all_never_returns(&Rt::CurrentThread.build());
    assert!(never, "try_join_all was expected to wait for the sleepers");
    for rt in Rt::ALL {
        bench_w1(&mut c, rt, 10_000);
    }
    for rt in Rt::ALL {
        bench_w1(&mut c, rt, 1_000_000);
    }
    for rt in Rt::ALL {
        bench_w2(&mut c, rt);
    }
    for rt in Rt::ALL {
        bench_w3(&mut c, rt);
    }
    c.final_summary();
    report::write(started, &load_at_start);
}
