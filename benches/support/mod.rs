//! What the bench binaries share: the per-child work, the peers' error
//! type, the runtimes and where results go.

#![allow(dead_code)] // each bench binary uses a different part of this module

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::SystemTime;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use tokio::runtime::{Builder, Runtime};

/// The peers' child error (scopes children fail with `scopes::Error`).
#[derive(Debug)]
pub struct Fail;

/// What the children of one run share: the sum they add to, and (for the
/// peers whose children nobody joins, `TaskTracker`) a failure flag.
#[derive(Default)]
pub struct Ctx {
    pub sum: AtomicU64,
    pub failed: AtomicBool,
}

impl Ctx {
    pub fn sum(&self) -> u64 {
        assert!(!self.failed.load(Relaxed), "a child failed");
        self.sum.load(Relaxed)
    }
}

/// The sum children `0..n` add up to.
pub fn expected_sum(n: u64) -> u64 {
    n * (n - 1) / 2
}

/// A trivial child of a peer: yields once (tokio's yield), adds to the sum.
pub async fn leaf(ctx: &Ctx, i: u64) -> Result<(), Fail> {
    tokio::task::yield_now().await;
    ctx.sum.fetch_add(i, Relaxed);
    Ok(())
}

/// The same child for scopes: yields once (scopes' cancellation-aware yield).
pub async fn scopes_leaf(ctx: &Ctx, i: u64) -> scopes::Result<()> {
    scopes::yield_now().await?;
    ctx.sum.fetch_add(i, Relaxed);
    Ok(())
}

/// A `coroutine_scope` whose body launches `n` scopes leaves (W1's
/// children, `limit`'s reference, a request's work).
pub async fn scope_of_leaves(ctx: &Ctx, n: u64) {
    scopes::coroutine_scope(|s| {
        Box::pin(async move {
            for i in 0..n {
                s.launch(scopes_leaf(ctx, i));
            }
            Ok(())
        })
    })
    .await
    .expect("scope failed");
}

/// W1 for scopes: a scope of `n` leaves (the parent of `scope_of_leaves`);
/// the children's sum.
pub async fn w1_scopes(n: u64) -> u64 {
    let ctx = Ctx::default();
    scope_of_leaves(&ctx, n).await;
    ctx.sum()
}

/// The runtimes every workload runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rt {
    /// `current_thread`, the parent a spawned task (SPEC §6's reference).
    CurrentThread,
    /// `multi_thread` with 2 workers, the parent a spawned task.
    MultiThread,
}

impl Rt {
    pub const ALL: [Rt; 2] = [Rt::CurrentThread, Rt::MultiThread];

    pub fn name(self) -> &'static str {
        match self {
            Rt::CurrentThread => "current_thread",
            Rt::MultiThread => "multi_thread",
        }
    }

    pub fn build(self) -> Runtime {
        match self {
            Rt::CurrentThread => Builder::new_current_thread().enable_all().build(),
            Rt::MultiThread => Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build(),
        }
        .expect("tokio runtime")
    }
}

/// Runs `parent` to completion as a spawned task of `rt`.
pub fn run<F>(rt: &Runtime, parent: F) -> F::Output
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    rt.block_on(rt.spawn(parent)).expect("parent task panicked")
}

/// Runs `parent`, which need not be `Send` (a local scope), to completion
/// as a `spawn_local` task of a `LocalSet` on `rt` (on the calling thread).
pub fn run_local<F>(rt: &Runtime, parent: F) -> F::Output
where
    F: Future + 'static,
    F::Output: 'static,
{
    let local = tokio::task::LocalSet::new();
    local.block_on(rt, async {
        tokio::task::spawn_local(parent)
            .await
            .expect("parent task panicked")
    })
}

/// The cargo target directory the running bench binary was built in
/// (`<target>/<profile>/deps/<bench>-<hash>`).
pub fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    let exe = std::env::current_exe().expect("current_exe");
    exe.ancestors()
        .nth(3)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target"))
}

/// Where the W4 bench leaves its numbers for the report.
pub fn w4_results_path() -> PathBuf {
    target_dir().join("bench-w4.json")
}

/// Where the side-by-side report is written.
pub fn report_path() -> PathBuf {
    target_dir().join("bench-report.md")
}

/// `SCOPES_BENCH_QUICK=1`: shorter warm-up and measurement (still real
/// samples), so that the whole suite runs in a few minutes.
pub fn quick() -> bool {
    std::env::var("SCOPES_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// Where criterion writes its results (`$CRITERION_HOME` if set).
pub fn criterion_dir() -> PathBuf {
    match std::env::var_os("CRITERION_HOME") {
        Some(dir) => PathBuf::from(dir),
        None => target_dir().join("criterion"),
    }
}

/// The median time of one iteration of `group/function`, in nanoseconds, if
/// it was measured by this run (an older result is left out).
pub fn median_ns(group: &str, function: &str, since: SystemTime) -> Option<f64> {
    let path = criterion_dir()
        .join(group)
        .join(function)
        .join("new/estimates.json");
    let modified = std::fs::metadata(&path).ok()?.modified().ok()?;
    if modified < since {
        return None;
    }
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).ok()?).ok()?;
    json["median"]["point_estimate"].as_f64()
}

/// Flat sampling (every sample the same number of iterations, medians
/// reported) for a bench whose iterations are long: 10 samples, 0.5 s of
/// warm-up and 2 s of measurement in quick mode; `full_samples`, 1 s and
/// 5 s otherwise.
pub fn flat_sampling(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    full_samples: usize,
) {
    let (samples, warm_up, measure) = if quick() {
        (10, 0.5, 2.0)
    } else {
        (full_samples, 1.0, 5.0)
    };
    group
        .sample_size(samples)
        .sampling_mode(criterion::SamplingMode::Flat)
        .warm_up_time(std::time::Duration::from_secs_f64(warm_up))
        .measurement_time(std::time::Duration::from_secs_f64(measure));
}

/// Whether this is a `cargo bench` run (which passes `--bench`); under
/// `cargo test -p scopes-benches --benches` criterion runs each
/// implementation once, and there is no report.
pub fn bench_mode() -> bool {
    std::env::args().any(|arg| arg == "--bench")
}

/// A criterion bench binary's `main`: runs `benches`, then, in a bench run,
/// criterion's summary and `report` of what this run measured (the results
/// since it started).
pub fn criterion_main(
    benches: impl FnOnce(&mut criterion::Criterion),
    report: impl FnOnce(SystemTime),
) {
    let started = SystemTime::now();
    let mut c = criterion::Criterion::default()
        .output_directory(&criterion_dir())
        .configure_from_args();
    benches(&mut c);
    if bench_mode() {
        c.final_summary();
        report(started);
    }
}

/// Prints a side-by-side report and writes it to `<target>/<file>`.
pub fn write_report(file: &str, report: &str) {
    println!("\n{report}");
    let path = target_dir().join(file);
    if let Err(e) = std::fs::write(&path, report) {
        eprintln!("could not write {}: {e}", path.display());
    }
}

/// A report's cell: a median in nanoseconds, or a dash if this run did not
/// measure it.
pub fn cell(value: Option<f64>) -> String {
    match value {
        Some(v) if v >= 100.0 => format!("{v:.0}"),
        Some(v) => format!("{v:.1}"),
        None => "—".to_owned(),
    }
}

/// A report's ratio `a ÷ b`, or a dash.
pub fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) => format!("{:.2}×", a / b),
        _ => "—".to_owned(),
    }
}

// ---------------------------------------------------------------------------
// Workloads more than one bench runs (workloads.rs, floor.rs).

/// Awaits every child of a `FuturesUnordered`, failing fast on the first error.
pub async fn drain_fu<F>(mut set: FuturesUnordered<F>) -> Result<(), Fail>
where
    F: Future<Output = Result<(), Fail>>,
{
    while let Some(r) = set.next().await {
        r?;
    }
    Ok(())
}

/// W1 with `FuturesUnordered`: the targets' reference.
pub async fn w1_futures_unordered(n: u64) -> u64 {
    let ctx = Ctx::default();
    let set: FuturesUnordered<_> = (0..n).map(|i| leaf(&ctx, i)).collect();
    drain_fu(set).await.expect("child failed");
    ctx.sum()
}

/// W1 with `launch_parallel` children (W1p).
pub async fn w1_scopes_parallel(n: u64) -> u64 {
    let ctx = Arc::new(Ctx::default());
    let shared = ctx.clone();
    scopes::coroutine_scope(move |s| {
        Box::pin(async move {
            for i in 0..n {
                let ctx = shared.clone();
                s.child()
                    .launch_parallel(async move { scopes_leaf(&ctx, i).await });
            }
            Ok(())
        })
    })
    .await
    .expect("scope failed");
    ctx.sum()
}

/// W3: a 20×20×20 tree of nested scopes, 8000 leaves (the W1 child).
pub const FANOUT: u64 = 20;
pub const W3_LEAVES: u64 = FANOUT * FANOUT * FANOUT;

pub async fn w3_scopes() -> u64 {
    fn level2(ctx: &Ctx, a: u64) -> impl Future<Output = scopes::Result<()>> + Send + '_ {
        scopes::coroutine_scope(move |s| {
            Box::pin(async move {
                for b in 0..FANOUT {
                    s.launch(level3(ctx, (a * FANOUT + b) * FANOUT));
                }
                Ok(())
            })
        })
    }
    fn level3(ctx: &Ctx, base: u64) -> impl Future<Output = scopes::Result<()>> + Send + '_ {
        scopes::coroutine_scope(move |s| {
            Box::pin(async move {
                for c in 0..FANOUT {
                    s.launch(scopes_leaf(ctx, base + c));
                }
                Ok(())
            })
        })
    }
    let ctx = Ctx::default();
    let ctx = &ctx;
    scopes::coroutine_scope(|s| {
        Box::pin(async move {
            for a in 0..FANOUT {
                s.launch(level2(ctx, a));
            }
            Ok(())
        })
    })
    .await
    .expect("scope failed");
    ctx.sum()
}

/// W3 with nested `FuturesUnordered`s.
pub async fn w3_futures_unordered() -> u64 {
    async fn level2(ctx: &Ctx, a: u64) -> Result<(), Fail> {
        drain_fu(
            (0..FANOUT)
                .map(|b| level3(ctx, (a * FANOUT + b) * FANOUT))
                .collect(),
        )
        .await
    }
    async fn level3(ctx: &Ctx, base: u64) -> Result<(), Fail> {
        drain_fu((0..FANOUT).map(|c| leaf(ctx, base + c)).collect()).await
    }
    let ctx = Ctx::default();
    drain_fu((0..FANOUT).map(|a| level2(&ctx, a)).collect())
        .await
        .expect("child failed");
    ctx.sum()
}
