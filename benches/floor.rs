//! SPEC §6's targets against the safe floor (`support/floor.rs`): W1, W2
//! and W3 for `FuturesUnordered` (the targets' reference), the same with
//! each child boxed (two allocations per child, the floor SPEC §6 names,
//! reached with `unsafe` inside `FuturesUnordered`), the safe floor, and
//! `scopes`; W1p for `JoinSet`, `JoinSet` with a job record per child (an
//! `Arc` made at the spawn and dropped by the parent), and `scopes`.
//! One run, side by side; the ratios to the reference are printed at the
//! end.
//!
//! ```text
//! cargo bench -p scopes-benches --bench floor
//! ```

use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant, SystemTime};

use criterion::{BenchmarkGroup, Criterion, measurement::WallTime};
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use tokio::task::JoinSet;

mod support;

#[path = "support/floor.rs"]
mod floor;

use support::{Ctx, Rt, expected_sum, leaf, median_ns, run, scopes_leaf, w1_scopes};

const N: u64 = 10_000;

// ---------------------------------------------------------------------------
// W1: N trivial children (each yields once, adds to a sum).

async fn w1_futures_unordered(n: u64) -> u64 {
    let ctx = Ctx::default();
    let mut set: FuturesUnordered<_> = (0..n).map(|i| leaf(&ctx, i)).collect();
    while let Some(r) = set.next().await {
        r.expect("child failed");
    }
    drop(set);
    ctx.sum()
}

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

const FANOUT: u64 = 20;
const W3_LEAVES: u64 = FANOUT * FANOUT * FANOUT;

async fn w3_futures_unordered() -> u64 {
    async fn drain<F: Future<Output = Result<(), support::Fail>>>(
        mut set: FuturesUnordered<F>,
    ) -> Result<(), support::Fail> {
        while let Some(r) = set.next().await {
            r?;
        }
        Ok(())
    }
    async fn level2(ctx: &Ctx, a: u64) -> Result<(), support::Fail> {
        drain(
            (0..FANOUT)
                .map(|b| level3(ctx, (a * FANOUT + b) * FANOUT))
                .collect(),
        )
        .await
    }
    async fn level3(ctx: &Ctx, base: u64) -> Result<(), support::Fail> {
        drain((0..FANOUT).map(|c| leaf(ctx, base + c)).collect()).await
    }
    let ctx = Ctx::default();
    drain((0..FANOUT).map(|a| level2(&ctx, a)).collect())
        .await
        .expect("child failed");
    ctx.sum()
}

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

async fn w3_scopes() -> u64 {
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

async fn w1p_scopes(n: u64) -> u64 {
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

// ---------------------------------------------------------------------------

fn timing(group: &mut BenchmarkGroup<'_, WallTime>) {
    let (samples, warm_up, measure) = if support::quick() {
        (20, 0.5, 1.5)
    } else {
        (50, 1.0, 4.0)
    };
    group
        .sample_size(samples)
        .sampling_mode(criterion::SamplingMode::Flat)
        .warm_up_time(Duration::from_secs_f64(warm_up))
        .measurement_time(Duration::from_secs_f64(measure));
}

/// The groups, each with its reference first and the rest in order.
const GROUPS: [(&str, &[&str]); 4] = [
    (
        "floor_W1",
        &[
            "FuturesUnordered",
            "FuturesUnordered_boxed",
            "safe_floor",
            "scopes",
        ],
    ),
    ("floor_W2", &["FuturesUnordered", "safe_floor", "scopes"]),
    ("floor_W3", &["FuturesUnordered", "safe_floor", "scopes"]),
    ("floor_W1p", &["JoinSet", "JoinSet_with_record", "scopes"]),
];

fn main() {
    let started = SystemTime::now();
    let mut c = Criterion::default()
        .output_directory(&support::criterion_dir())
        .configure_from_args();
    let current = Rt::CurrentThread.build();
    let multi = Rt::MultiThread.build();
    for (group_name, names) in GROUPS {
        let mut group = c.benchmark_group(group_name);
        timing(&mut group);
        for &name in names {
            group.bench_function(name, |b| match group_name {
                "floor_W2" => b.iter_custom(|iters| {
                    (0..iters)
                        .map(|_| match name {
                            "FuturesUnordered" => run(&current, w2_futures_unordered()),
                            "safe_floor" => run(&current, w2_floor()),
                            "scopes" => run(&current, w2_scopes()),
                            _ => unreachable!(),
                        })
                        .sum()
                }),
                "floor_W3" => b.iter(|| {
                    let sum = match name {
                        "FuturesUnordered" => run(&current, w3_futures_unordered()),
                        "safe_floor" => run(&current, w3_floor()),
                        "scopes" => run(&current, w3_scopes()),
                        _ => unreachable!(),
                    };
                    assert_eq!(sum, expected_sum(W3_LEAVES), "{name}: wrong sum");
                }),
                _ => b.iter(|| {
                    let sum = match (group_name, name) {
                        ("floor_W1", "FuturesUnordered") => run(&current, w1_futures_unordered(N)),
                        ("floor_W1", "FuturesUnordered_boxed") => {
                            run(&current, w1_futures_unordered_boxed(N))
                        }
                        ("floor_W1", "safe_floor") => run(&current, w1_floor(N)),
                        ("floor_W1", "scopes") => run(&current, w1_scopes(N)),
                        ("floor_W1p", "JoinSet") => run(&multi, w1p_join_set(N, false)),
                        ("floor_W1p", "JoinSet_with_record") => run(&multi, w1p_join_set(N, true)),
                        ("floor_W1p", "scopes") => run(&multi, w1p_scopes(N)),
                        _ => unreachable!(),
                    };
                    assert_eq!(sum, expected_sum(N), "{name}: wrong sum");
                }),
            });
        }
        group.finish();
    }
    c.final_summary();
    println!(
        "\nratio of each median to the group's first (SPEC §6 targets: W1 1.5, W2 2.0, W3 1.5, W1p 1.1)"
    );
    for (group_name, names) in GROUPS {
        let reference = median_ns(group_name, names[0], started);
        for &name in names {
            match (median_ns(group_name, name, started), reference) {
                (Some(ns), Some(reference)) => {
                    println!(
                        "{group_name:10} {name:24} {ns:>14.0} ns  {:5.2}x",
                        ns / reference
                    )
                }
                _ => println!("{group_name:10} {name:24} not measured in this run"),
            }
        }
    }
}
