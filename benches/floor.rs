//! SPEC §6's targets against the safe floor (`support/floor.rs`): W1, W2
//! and W3 for `FuturesUnordered` (the targets' reference), the same with
//! each child boxed (two allocations per child, the floor SPEC §6 names,
//! reached with `unsafe` inside `FuturesUnordered`), the safe floor, and
//! `scopes`; W1p for `JoinSet`, `JoinSet` with a job record per child (an
//! `Arc` made at the spawn and dropped by the parent), the safe floor's
//! `parallel` children, and `scopes`.
//! In one run, alternating: rounds in which each implementation runs a
//! batch in turn, each round's medians divided by its reference's (not
//! criterion, which measures one implementation after another: on this
//! 2-core VM the speed drifts between them by more than the ratios
//! differ, so that three criterion runs gave W1 `scopes` 1.9-3.3x and
//! W1p `JoinSet` with a record 0.57-0.84x of `JoinSet`).
//!
//! ```text
//! cargo bench -p scopes-benches --bench floor
//! ```

use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use tokio::task::JoinSet;

mod support;

#[path = "support/floor.rs"]
mod floor;

#[path = "support/floor_checks.rs"]
mod floor_checks;

use tokio::runtime::Runtime;

use support::{
    Ctx, FANOUT, Rt, W3_LEAVES, expected_sum, leaf, run, w1_futures_unordered, w1_scopes,
    w1_scopes_parallel, w3_futures_unordered, w3_scopes,
};

const N: u64 = 10_000;

// ---------------------------------------------------------------------------
// W1: N trivial children (each yields once, adds to a sum).

async fn w1_futures_unordered_boxed(n: u64) -> u64 {
    type Child<'a> = std::pin::Pin<Box<dyn Future<Output = Result<(), support::Fail>> + Send + 'a>>;
    let ctx = Ctx::default();
    let mut set: FuturesUnordered<Child<'_>> = (0..n)
        .map(|i| Box::pin(leaf(&ctx, i)) as Child<'_>)
        .collect();
    while let Some(r) = set.next().await {
        r.expect("child failed");
    }
    drop(set);
    ctx.sum()
}

async fn floor_leaf(ctx: &Ctx, i: u64) -> Result<(), ()> {
    floor::yield_now().await?;
    ctx.sum.fetch_add(i, Relaxed);
    Ok(())
}

async fn w1_floor(n: u64) -> u64 {
    let ctx = Ctx::default();
    let ctx = &ctx;
    floor::scope(|s| {
        Box::pin(async move {
            for i in 0..n {
                s.launch(floor_leaf(ctx, i));
            }
            Ok(())
        })
    })
    .await
    .expect("child failed");
    ctx.sum()
}

// ---------------------------------------------------------------------------
// W2: 1000 children sleep for an hour; a sibling fails after one yield.
// Measured from the failure until the scope has returned.

const SLEEPERS: u64 = 1000;
const HOUR: Duration = Duration::from_secs(3600);

#[derive(Default)]
struct Failed(OnceLock<Instant>);

impl Failed {
    fn now(&self) {
        self.0.set(Instant::now()).expect("one failure");
    }

    fn since(&self) -> Duration {
        self.0.get().expect("nobody failed").elapsed()
    }
}

async fn w2_futures_unordered() -> Duration {
    let failed = Failed::default();
    let failed = &failed;
    let mut set: FuturesUnordered<_> = (0..=SLEEPERS)
        .map(|k| async move {
            if k == SLEEPERS {
                tokio::task::yield_now().await;
                failed.now();
                return Err(());
            }
            tokio::time::sleep(HOUR).await;
            Ok(())
        })
        .collect();
    while let Some(r) = set.next().await {
        if r.is_err() {
            break;
        }
    }
    drop(set);
    failed.since()
}

async fn w2_floor() -> Duration {
    let failed = Failed::default();
    let failed = &failed;
    let r = floor::scope(|s| {
        Box::pin(async move {
            for k in 0..=SLEEPERS {
                s.launch(async move {
                    if k == SLEEPERS {
                        floor::yield_now().await?;
                        failed.now();
                        return Err(());
                    }
                    floor::delay(HOUR).await
                });
            }
            Ok(())
        })
    })
    .await;
    assert!(r.is_err());
    failed.since()
}

async fn w2_scopes() -> Duration {
    let failed = Failed::default();
    let failed = &failed;
    let r = scopes::coroutine_scope(|s| {
        Box::pin(async move {
            for k in 0..=SLEEPERS {
                s.launch(async move {
                    if k == SLEEPERS {
                        scopes::yield_now().await?;
                        failed.now();
                        return Err(scopes::Error::msg("failed"));
                    }
                    scopes::delay(HOUR).await
                });
            }
            Ok(())
        })
    })
    .await;
    assert!(r.is_err());
    failed.since()
}

// ---------------------------------------------------------------------------
// W3: a 20×20×20 tree of nested scopes (8000 leaves).

async fn w3_floor() -> u64 {
    fn level2(ctx: &Ctx, a: u64) -> impl Future<Output = Result<(), ()>> + Send + '_ {
        floor::scope(move |s| {
            Box::pin(async move {
                for b in 0..FANOUT {
                    s.launch(level3(ctx, (a * FANOUT + b) * FANOUT));
                }
                Ok(())
            })
        })
    }
    fn level3(ctx: &Ctx, base: u64) -> impl Future<Output = Result<(), ()>> + Send + '_ {
        floor::scope(move |s| {
            Box::pin(async move {
                for c in 0..FANOUT {
                    s.launch(floor_leaf(ctx, base + c));
                }
                Ok(())
            })
        })
    }
    let ctx = Ctx::default();
    let ctx = &ctx;
    floor::scope(|s| {
        Box::pin(async move {
            for a in 0..FANOUT {
                s.launch(level2(ctx, a));
            }
            Ok(())
        })
    })
    .await
    .expect("child failed");
    ctx.sum()
}

// ---------------------------------------------------------------------------
// W1p: N children on a 2-worker runtime.

async fn w1p_join_set(n: u64, record: bool) -> u64 {
    let ctx = Arc::new(Ctx::default());
    let mut set = JoinSet::new();
    let mut records = Vec::new();
    for i in 0..n {
        let ctx = ctx.clone();
        // A job record: made at the start, shared with the task, which
        // marks it; the parent drops its part when the set is done.
        let job = record.then(|| Arc::new([const { AtomicU64::new(0) }; 6]));
        let mark = job.clone();
        records.extend(job);
        set.spawn(async move {
            if let Some(mark) = mark {
                mark[0].store(1, Relaxed);
            }
            leaf(&ctx, i).await
        });
    }
    while let Some(r) = set.join_next().await {
        r.expect("task panicked").expect("child failed");
    }
    drop(records);
    ctx.sum()
}

async fn w1p_floor(n: u64) -> u64 {
    let ctx = Arc::new(Ctx::default());
    let shared = ctx.clone();
    floor::scope(move |s| {
        Box::pin(async move {
            for i in 0..n {
                let ctx = shared.clone();
                s.launch_parallel(async move { floor_leaf(&ctx, i).await });
            }
            Ok(())
        })
    })
    .await
    .expect("child failed");
    ctx.sum()
}

// ---------------------------------------------------------------------------
// The harness: rounds in which every implementation of a group runs in
// turn, so that each ratio compares runs made moments apart (this machine's
// speed drifts by more than the differences measured).

/// The groups, each with its reference first.
const GROUPS: [(&str, &[&str]); 4] = [
    (
        "W1",
        &[
            "FuturesUnordered",
            "FuturesUnordered_boxed",
            "safe_floor",
            "scopes",
        ],
    ),
    ("W2", &["FuturesUnordered", "safe_floor", "scopes"]),
    ("W3", &["FuturesUnordered", "safe_floor", "scopes"]),
    (
        "W1p",
        &["JoinSet", "JoinSet_with_record", "safe_floor", "scopes"],
    ),
];

/// One run of `name` in `group`: the time it measures (W2: failure to
/// return; else the whole run).
fn run_once(group: &str, name: &str, current: &Runtime, multi: &Runtime) -> Duration {
    if group == "W2" {
        return match name {
            "FuturesUnordered" => run(current, w2_futures_unordered()),
            "safe_floor" => run(current, w2_floor()),
            "scopes" => run(current, w2_scopes()),
            _ => unreachable!(),
        };
    }
    let start = Instant::now();
    let (sum, expected) = match (group, name) {
        ("W1", "FuturesUnordered") => (run(current, w1_futures_unordered(N)), N),
        ("W1", "FuturesUnordered_boxed") => (run(current, w1_futures_unordered_boxed(N)), N),
        ("W1", "safe_floor") => (run(current, w1_floor(N)), N),
        ("W1", "scopes") => (run(current, w1_scopes(N)), N),
        ("W3", "FuturesUnordered") => (run(current, w3_futures_unordered()), W3_LEAVES),
        ("W3", "safe_floor") => (run(current, w3_floor()), W3_LEAVES),
        ("W3", "scopes") => (run(current, w3_scopes()), W3_LEAVES),
        ("W1p", "JoinSet") => (run(multi, w1p_join_set(N, false)), N),
        ("W1p", "JoinSet_with_record") => (run(multi, w1p_join_set(N, true)), N),
        ("W1p", "safe_floor") => (run(multi, w1p_floor(N)), N),
        ("W1p", "scopes") => (run(multi, w1_scopes_parallel(N)), N),
        _ => unreachable!(),
    };
    let took = start.elapsed();
    assert_eq!(sum, expected_sum(expected), "{group} {name}: wrong sum");
    took
}

/// The median of `batch` runs, in nanoseconds.
fn median_of(batch: usize, mut once: impl FnMut() -> Duration) -> f64 {
    let mut times: Vec<f64> = (0..batch).map(|_| once().as_nanos() as f64).collect();
    times.sort_by(f64::total_cmp);
    times[batch / 2]
}

/// The value at `q` (0..=1) of sorted `values`.
fn quantile(values: &[f64], q: f64) -> f64 {
    values[((values.len() - 1) as f64 * q).round() as usize]
}

fn main() {
    let current = Rt::CurrentThread.build();
    let multi = Rt::MultiThread.build();
    // `cargo bench` passes `--bench`; `cargo test --benches` does not: a
    // smoke test runs each implementation once.
    if !std::env::args().any(|arg| arg == "--bench") {
        floor_checks::run(10);
        for (group, names) in GROUPS {
            for &name in names {
                run_once(group, name, &current, &multi);
            }
        }
        println!("floor: the floor's checks passed; each implementation ran once");
        return;
    }
    floor_checks::run(20);
    let (rounds, batch) = if support::quick() { (8, 5) } else { (25, 9) };
    println!(
        "{rounds} rounds of {batch} runs per implementation, alternating; \
         load at start {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    println!(
        "ratio to the group's first, per round (median, quartiles); \
         SPEC §6 targets: W1 1.5, W2 2.0, W3 1.5, W1p 1.1"
    );
    for (group, names) in GROUPS {
        // Warm-up: one run of each.
        for &name in names {
            run_once(group, name, &current, &multi);
        }
        let mut ratios = vec![Vec::new(); names.len()];
        let mut times = vec![Vec::new(); names.len()];
        for _ in 0..rounds {
            let medians: Vec<f64> = names
                .iter()
                .map(|&name| median_of(batch, || run_once(group, name, &current, &multi)))
                .collect();
            for (k, &median) in medians.iter().enumerate() {
                ratios[k].push(median / medians[0]);
                times[k].push(median);
            }
        }
        for (k, &name) in names.iter().enumerate() {
            ratios[k].sort_by(f64::total_cmp);
            times[k].sort_by(f64::total_cmp);
            println!(
                "{group:4} {name:24} {:>12.0} ns  {:5.2}x  ({:.2}-{:.2})",
                quantile(&times[k], 0.5),
                quantile(&ratios[k], 0.5),
                quantile(&ratios[k], 0.25),
                quantile(&ratios[k], 0.75),
            );
        }
    }
}
