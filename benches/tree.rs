//! SPEC §6 W6 and W8: trees and towers of nested scopes.
//!
//! W6: a scope per node of a tree with fanout 4; every leaf waits once (1 ms
//! under tokio's paused clock, so the wait costs no wall time) and adds to a
//! sum. Time per leaf at 4^5 and 4^8 leaves, `scopes` (and `scopes_local`,
//! the same tree of local scopes, the root a `spawn_local` task of a
//! `LocalSet`) side by side with the
//! same tree built from nested `JoinSet`s (each node a task that spawns its 4
//! children and joins them), nested `FuturesUnordered` and nested `moro`
//! scopes. Every implementation is the recursive boxed function a user would
//! write, on a paused-clock `current_thread` runtime, the root a spawned task;
//! every run asserts the sum. Growth = per leaf at 4^8 ÷ at 4^5.
//!
//! W8: the nesting depth that completes on a thread with a 2 MiB stack
//! (a `current_thread` runtime driven by `block_on` on that thread): each
//! level a `coroutine_scope` whose body awaits the next level, the innermost
//! yielding once; compared with nested single-child `FuturesUnordered` and
//! plain boxed async recursion. A stack overflow aborts the process, so each
//! depth is tried in a child process (this executable, re-invoked with
//! `SCOPES_TREE_W8_CHILD=<impl>:<levels>`), and the maximum is found by
//! doubling, then binary search. The depth depends on the build profile:
//! `cargo bench` measures `release`, `cargo bench --profile dev` `debug`.
//!
//! Results go to `<target>/bench-tree-w6.json`, `bench-tree-w8-<profile>.json`
//! and the composed report `<target>/bench-tree-report.md` (with W7 from the
//! `tree_alloc` bench).
//!
//! ```sh
//! cargo bench -p scopes-benches --bench tree                                           # W6 (criterion) + W8 (release)
//! SCOPES_TREE_ONCE=1 cargo bench -p scopes-benches --bench tree                        # W6 timed by hand: 4^5 median of 5, 4^8 one run
//! SCOPES_TREE_ONLY=W6 SCOPES_TREE_SIZES=5 cargo bench -p scopes-benches --bench tree   # a subset
//! SCOPES_TREE_ONLY=W8 cargo bench -p scopes-benches --profile dev --bench tree         # W8 in a debug build
//! ```
//!
//! Criterion runs 10 flat samples per implementation and size (about 25 s in
//! all when a leaf costs a few µs). An implementation whose first run at 4^8
//! takes longer than 2 s is not handed to criterion: that one run is its
//! number (marked "1 run" in the report), so the bench stays bounded on a
//! super-linear engine.

mod support;

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant, SystemTime};

use criterion::{Criterion, SamplingMode, Throughput};
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use scopes::{BoxFuture, LocalBoxFuture};
use tokio::runtime::{Builder, Runtime};
use tokio::task::JoinSet;

use support::{Fail, run, run_local};

#[path = "support/tree_report.rs"]
mod tree_report;

use tree_report::{W6_EXPONENTS, W6_IMPLS, W8_IMPLS};

// ---------------------------------------------------------------------------
// W6: a tree of nested scopes, fanout 4, every leaf waits once.

const FANOUT: usize = 4;
const WAIT: Duration = Duration::from_millis(1);

/// `scopes`, written as a user would: a scope per inner node.
fn scopes_node<'a>(depth: u32, sum: &'a AtomicU64) -> BoxFuture<'a, scopes::Result<()>> {
    if depth == 0 {
        return Box::pin(async move {
            scopes::delay(WAIT).await?;
            sum.fetch_add(1, Relaxed);
            Ok(())
        });
    }
    Box::pin(scopes::coroutine_scope(move |s| {
        Box::pin(async move {
            for _ in 0..FANOUT {
                s.launch(scopes_node(depth - 1, sum));
            }
            Ok(())
        })
    }))
}

/// The same tree of local scopes (SPEC §2d).
fn scopes_local_node<'a>(depth: u32, sum: &'a AtomicU64) -> LocalBoxFuture<'a, scopes::Result<()>> {
    if depth == 0 {
        return Box::pin(async move {
            scopes::delay(WAIT).await?;
            sum.fetch_add(1, Relaxed);
            Ok(())
        });
    }
    Box::pin(scopes::coroutine_scope_local(move |s| {
        Box::pin(async move {
            for _ in 0..FANOUT {
                s.launch(scopes_local_node(depth - 1, sum));
            }
            Ok(())
        })
    }))
}

/// Nested `JoinSet`s: every node is a task that spawns its 4 children and
/// joins them (failing fast); the leaves are tasks too.
fn join_set_node(depth: u32, sum: Arc<AtomicU64>) -> BoxFuture<'static, Result<(), Fail>> {
    Box::pin(async move {
        if depth == 0 {
            tokio::time::sleep(WAIT).await;
            sum.fetch_add(1, Relaxed);
            return Ok(());
        }
        let mut set = JoinSet::new();
        for _ in 0..FANOUT {
            set.spawn(join_set_node(depth - 1, sum.clone()));
        }
        while let Some(r) = set.join_next().await {
            r.expect("task panicked")?;
        }
        Ok(())
    })
}

/// Nested `FuturesUnordered`, failing fast.
fn fu_node<'a>(depth: u32, sum: &'a AtomicU64) -> BoxFuture<'a, Result<(), Fail>> {
    Box::pin(async move {
        if depth == 0 {
            tokio::time::sleep(WAIT).await;
            sum.fetch_add(1, Relaxed);
            return Ok(());
        }
        let mut set: FuturesUnordered<_> = (0..FANOUT).map(|_| fu_node(depth - 1, sum)).collect();
        while let Some(r) = set.next().await {
            r?;
        }
        Ok(())
    })
}

type MoroScope<'scope, 'env> = moro::Scope<'scope, 'env, Result<(), Fail>>;

/// A moro child whose failure terminates its scope (as in `workloads.rs`).
fn moro_child<'scope, 'env, F>(scope: &'scope MoroScope<'scope, 'env>, child: F)
where
    F: std::future::Future<Output = Result<(), Fail>> + Send + 'scope,
{
    scope.spawn(async move {
        if let Err(e) = child.await {
            scope.terminate::<()>(Err(e)).await;
        }
    });
}

/// Nested `moro` scopes.
fn moro_node<'a>(depth: u32, sum: &'a AtomicU64) -> BoxFuture<'a, Result<(), Fail>> {
    Box::pin(async move {
        if depth == 0 {
            tokio::time::sleep(WAIT).await;
            sum.fetch_add(1, Relaxed);
            return Ok(());
        }
        moro::async_scope!(|scope| -> Result<(), Fail> {
            for _ in 0..FANOUT {
                moro_child(scope, moro_node(depth - 1, sum));
            }
            Ok(())
        })
        .await
    })
}

fn paused_runtime() -> Runtime {
    Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("tokio runtime")
}

fn leaves(exp: u32) -> u64 {
    (FANOUT as u64).pow(exp)
}

/// One tree of `4^exp` leaves built by `name`, the root a spawned task of
/// `rt`; asserts that every leaf ran.
fn tree(rt: &Runtime, name: &str, exp: u32) {
    let sum = match name {
        "scopes" => run(rt, async move {
            let sum = AtomicU64::new(0);
            scopes_node(exp, &sum).await.expect("scope failed");
            sum.load(Relaxed)
        }),
        "scopes_local" => run_local(rt, async move {
            let sum = AtomicU64::new(0);
            scopes_local_node(exp, &sum).await.expect("scope failed");
            sum.load(Relaxed)
        }),
        "JoinSet" => run(rt, async move {
            let sum = Arc::new(AtomicU64::new(0));
            join_set_node(exp, sum.clone()).await.expect("child failed");
            sum.load(Relaxed)
        }),
        "FuturesUnordered" => run(rt, async move {
            let sum = AtomicU64::new(0);
            fu_node(exp, &sum).await.expect("child failed");
            sum.load(Relaxed)
        }),
        "moro" => run(rt, async move {
            let sum = AtomicU64::new(0);
            moro_node(exp, &sum).await.expect("child failed");
            sum.load(Relaxed)
        }),
        _ => unreachable!("unknown implementation {name}"),
    };
    assert_eq!(sum, leaves(exp), "{name}: wrong sum at 4^{exp}");
}

fn time_tree(rt: &Runtime, name: &str, exp: u32) -> Duration {
    let start = Instant::now();
    tree(rt, name, exp);
    start.elapsed()
}

/// A first run longer than this is not repeated by criterion (see the top).
const SLOW: Duration = Duration::from_secs(2);

fn group_name(exp: u32) -> String {
    format!("W6_{}_leaves", leaves(exp))
}

/// Criterion's median for `group/function`, in ns per iteration, if it
/// was measured since `since` (a criterion filter may have skipped it).
fn criterion_median(group: &str, function: &str, since: SystemTime) -> Option<f64> {
    let path = criterion_dir()
        .join(group)
        .join(function)
        .join("new/estimates.json");
    if std::fs::metadata(&path).ok()?.modified().ok()? < since {
        return None;
    }
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    json["median"]["point_estimate"].as_f64()
}

fn criterion_dir() -> std::path::PathBuf {
    match std::env::var_os("CRITERION_HOME") {
        Some(dir) => dir.into(),
        None => support::target_dir().join("criterion"),
    }
}

/// Whether the environment variable `var` is set to something other than
/// empty or `0`.
fn flag(var: &str) -> bool {
    std::env::var(var).is_ok_and(|v| !v.is_empty() && v != "0")
}

fn env_list(var: &str) -> Option<Vec<String>> {
    let value = std::env::var(var).ok().filter(|v| !v.is_empty())?;
    Some(value.split(',').map(|s| s.trim().to_string()).collect())
}

/// W6; returns `{impl: {exp: {ns_per_leaf, how}}}`.
fn bench_w6(c: &mut Criterion, bench: bool) -> serde_json::Value {
    let exponents: Vec<u32> = match env_list("SCOPES_TREE_SIZES") {
        Some(list) => list
            .iter()
            .map(|e| e.parse().expect("SCOPES_TREE_SIZES: exponents, e.g. 5,8"))
            .collect(),
        None if bench => W6_EXPONENTS.to_vec(),
        None => vec![W6_EXPONENTS[0]], // `cargo test -p scopes-benches --benches`: a smoke test
    };
    let once = flag("SCOPES_TREE_ONCE");
    let mut results = serde_json::Map::new();
    let mut record = |name: &str, exp: u32, ns_per_leaf: f64, how: String| {
        let entry = results
            .entry(name.to_string())
            .or_insert_with(|| serde_json::json!({}));
        entry[exp.to_string()] = serde_json::json!({ "ns_per_leaf": ns_per_leaf, "how": how });
        println!(
            "W6 4^{exp} {name}: {} ns per leaf ({how})",
            ns_per_leaf.round()
        );
    };
    for exp in exponents {
        let rt = paused_runtime();
        let n = leaves(exp);
        let group_id = group_name(exp);
        let mut by_criterion = Vec::new();
        let since = SystemTime::now();
        {
            let mut group = c.benchmark_group(&group_id);
            group
                .sample_size(10)
                .sampling_mode(SamplingMode::Flat)
                .warm_up_time(Duration::from_millis(300))
                .measurement_time(Duration::from_secs(if exp >= 8 { 3 } else { 1 }))
                .throughput(Throughput::Elements(n));
            for name in W6_IMPLS {
                if once && bench {
                    // By hand: 4^5 and below, median of 5; larger, one run
                    // (after a small untimed warm-up).
                    tree(&rt, name, 3);
                    let runs = if exp <= 5 { 5 } else { 1 };
                    let mut times: Vec<Duration> =
                        (0..runs).map(|_| time_tree(&rt, name, exp)).collect();
                    times.sort();
                    let how = if runs == 1 {
                        "1 run".to_string()
                    } else {
                        format!("median of {runs} runs")
                    };
                    record(name, exp, times[runs / 2].as_nanos() as f64 / n as f64, how);
                    continue;
                }
                if bench && exp >= 7 {
                    let first = time_tree(&rt, name, exp);
                    if first > SLOW {
                        let how = format!("1 run: over {} s, not repeated", SLOW.as_secs());
                        record(name, exp, first.as_nanos() as f64 / n as f64, how);
                        continue;
                    }
                }
                group.bench_function(name, |b| b.iter(|| tree(&rt, name, exp)));
                by_criterion.push(name);
            }
            group.finish();
        }
        if bench {
            for name in by_criterion {
                if let Some(ns) = criterion_median(&group_id, name, since) {
                    record(name, exp, ns / n as f64, "criterion median".to_string());
                }
            }
        }
    }
    serde_json::Value::Object(results)
}

// ---------------------------------------------------------------------------
// W8: nesting depth on a 2 MiB thread.

/// `levels` nested scopes; the innermost body yields once.
fn scopes_nest(levels: u32) -> BoxFuture<'static, scopes::Result<()>> {
    Box::pin(scopes::coroutine_scope(move |_s| {
        Box::pin(async move {
            if levels <= 1 {
                scopes::yield_now().await
            } else {
                scopes_nest(levels - 1).await
            }
        })
    }))
}

/// `levels` nested `FuturesUnordered`, each holding the next level.
fn fu_nest(levels: u32) -> BoxFuture<'static, Result<(), Fail>> {
    Box::pin(async move {
        let inner: BoxFuture<'static, Result<(), Fail>> = if levels <= 1 {
            Box::pin(async {
                tokio::task::yield_now().await;
                Ok(())
            })
        } else {
            fu_nest(levels - 1)
        };
        let mut set = FuturesUnordered::new();
        set.push(inner);
        while let Some(r) = set.next().await {
            r?;
        }
        Ok(())
    })
}

/// `levels` plain boxed async functions, each awaiting the next.
fn boxed_nest(levels: u32) -> BoxFuture<'static, ()> {
    Box::pin(async move {
        if levels <= 1 {
            tokio::task::yield_now().await;
        } else {
            boxed_nest(levels - 1).await;
        }
    })
}

/// Runs `levels` of `name` on a fresh 2 MiB thread (a stack overflow aborts
/// the process).
fn nest_on_2mib_thread(name: &str, levels: u32) {
    let name = name.to_string();
    std::thread::Builder::new()
        .name("w8".into())
        .stack_size(2 << 20)
        .spawn(move || {
            let rt = Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("tokio runtime");
            rt.block_on(async {
                match name.as_str() {
                    "scopes" => scopes_nest(levels).await.expect("scope failed"),
                    "FuturesUnordered" => fu_nest(levels).await.expect("child failed"),
                    "boxed_recursion" => boxed_nest(levels).await,
                    _ => unreachable!("unknown implementation {name}"),
                }
            });
        })
        .expect("spawn thread")
        .join()
        .expect("nesting thread panicked");
}

const W8_CHILD: &str = "SCOPES_TREE_W8_CHILD";

/// Whether `levels` of `name` complete, tried in a child process.
fn completes(name: &str, levels: u32) -> bool {
    let exe = std::env::current_exe().expect("current_exe");
    let out = Command::new(exe)
        .env(W8_CHILD, format!("{name}:{levels}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .expect("run child process");
    if out.status.success() {
        return true;
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("overflowed its stack"),
        "W8 {name} at {levels} levels failed, not by a stack overflow ({}):\n{stderr}",
        out.status
    );
    false
}

/// No implementation is searched beyond this many levels.
const W8_CAP: u32 = 1 << 20;

/// The largest number of levels that completes, and whether the search
/// stopped at the cap.
fn max_levels(name: &str) -> (u32, bool) {
    let (mut ok, mut failed) = (0, 0);
    let mut levels = 256;
    while failed == 0 {
        if levels > W8_CAP {
            return (ok, true);
        }
        if completes(name, levels) {
            ok = levels;
            levels *= 2;
        } else {
            failed = levels;
        }
    }
    while failed - ok > 1 {
        let mid = ok + (failed - ok) / 2;
        if completes(name, mid) {
            ok = mid;
        } else {
            failed = mid;
        }
    }
    (ok, false)
}

fn bench_w8(bench: bool) {
    if !bench {
        // `cargo test -p scopes-benches --benches`: check that each nests, in-process.
        for name in W8_IMPLS {
            nest_on_2mib_thread(name, 100);
        }
        return;
    }
    let profile = tree_report::profile();
    let mut results = serde_json::Map::new();
    for name in W8_IMPLS {
        let start = Instant::now();
        let (levels, capped) = max_levels(name);
        println!(
            "W8 {name} ({profile}): {}{levels} levels complete on a 2 MiB thread (searched in {:.1} s)",
            if capped { "≥ " } else { "" },
            start.elapsed().as_secs_f64()
        );
        results.insert(
            name.to_string(),
            serde_json::json!({ "max_levels": levels, "capped": capped }),
        );
    }
    tree_report::save(
        &tree_report::w8_path(profile),
        &serde_json::Value::Object(results),
    );
}

fn main() {
    if let Ok(spec) = std::env::var(W8_CHILD) {
        let (name, levels) = spec.split_once(':').expect("<impl>:<levels>");
        nest_on_2mib_thread(name, levels.parse().expect("levels"));
        return;
    }
    // `cargo bench` passes `--bench`; `cargo test -p scopes-benches --benches` does not: then
    // every implementation is only checked once, at a small size.
    let bench = std::env::args().any(|arg| arg == "--bench");
    let only = env_list("SCOPES_TREE_ONLY");
    let wanted = |w: &str| only.as_ref().is_none_or(|l| l.iter().any(|x| x == w));
    let machine = tree_report::machine();
    if wanted("W6") {
        let mut c = Criterion::default()
            .output_directory(&criterion_dir())
            .configure_from_args();
        let impls = bench_w6(&mut c, bench);
        if bench {
            c.final_summary();
            let w6 = serde_json::json!({
                "profile": tree_report::profile(),
                "machine": machine,
                "impls": impls,
            });
            tree_report::save(&tree_report::w6_path(), &w6);
        }
    }
    if wanted("W8") {
        bench_w8(bench);
    }
    if bench {
        tree_report::write();
    }
}
