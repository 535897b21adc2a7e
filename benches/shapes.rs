//! Shapes a user writes, each at 1×, 10× and 100× the size, so that a cost
//! that grows faster than the work shows as a growth above 1.0 (SPEC §6
//! measures flat shapes; these are the ones that once grew quadratically):
//!
//! - `fan_in`: N children await one shared result. `scopes`: N `launch`
//!   children, each awaiting a clone of one `Deferred` (an `async` child
//!   that yields 3 times). Peers: N futures in a `FuturesUnordered`, each
//!   awaiting a clone of one `futures::future::Shared`; N `JoinSet` tasks
//!   doing the same.
//! - `nested_wide`: N children that yield once, in one scope nested in a
//!   child of the root (`scopes nested`), beside the same N in the root
//!   scope (`scopes flat`) and a `FuturesUnordered` inside a
//!   `FuturesUnordered`.
//! - `join_all_scopes`: one child awaits a `join_all` of N scopes, all
//!   alive at once (each body waits at a gate that opens when all N have
//!   arrived), so N scopes are attached to one job. Peer: the same
//!   `join_all` of N plain futures. The gate is a mutex and a list of
//!   wakers, not a tokio resource: tokio's cooperative budget, spent after
//!   128 resource polls in one task, makes a wide `join_all` of, say,
//!   `Barrier` waits quadratic on its own (measured: 77 µs per plain
//!   future at 100,000).
//! - `channel_give_up`: N children wait to receive from one channel, each
//!   in `with_timeout_or_none` with its own deadline (a pseudo-random
//!   order, paused clock), so they give up out of arrival order; `scopes`
//!   only (tokio's channels have one receiver).
//! - `parallel_tree`: a tree of fanout 10 with N leaves (depth 3, 4, 5)
//!   whose every node is a `parallel` child opening a scope of its own (a
//!   root on a worker: a recursive walk spread over the pool), the leaves
//!   yielding once; on the 2-worker runtime. Peer: the same tree of
//!   `JoinSet`s.
//! - `recursion`: N levels, each starting a child (the W1 child) and then
//!   entering the next level's scope in its own body, as a recursive walk
//!   that launches a child per node does (each level's start waits while
//!   the levels below it run: quadratic in the depth before the
//!   fourteenth session). Peer: the same recursion with a `JoinSet` per
//!   level, the next level awaited before joining. On a thread with a
//!   1 GiB stack (100,000 nested levels).
//!
//! - `race_cleanup`: `race` over N `async` children; the last wins after a
//!   yield, and each loser, cancelled, cleans up in `non_cancellable` for
//!   a time of its own (i + 1 ms, paused clock), so the losers complete one
//!   by one after the decision (quadratic before the seventeenth session:
//!   every completion made a pass over all losers). `scopes` only.
//!
//! Time per child (per leaf), `current_thread` runtime but for
//! `parallel_tree`, the parent a spawned task. At
//! the end the run writes `<target>/bench-shapes.md`. Quick mode:
//! `SCOPES_BENCH_QUICK=1 cargo bench -p scopes-benches --bench shapes`.

mod support;

use std::future::Future;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::Ordering::Relaxed;
use std::task::{Poll, Waker};
use std::time::{Duration, SystemTime};

use criterion::{BenchmarkId, Criterion, Throughput};
use futures_util::future::{FutureExt, Shared};
use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::task::JoinSet;

use support::{
    Ctx, Rt, cell, criterion_main, expected_sum, flat_sampling, leaf, median_ns, quick, run,
    scope_of_leaves, scopes_leaf, w1_scopes, write_report,
};

/// The sizes each shape runs at: 1×, 10×, 100×.
const SIZES: [u64; 3] = [1_000, 10_000, 100_000];

/// The shared result.
const VALUE: u64 = 7;

const FAN_IN: [&str; 3] = ["scopes", "FuturesUnordered", "JoinSet"];
const NESTED_WIDE: [&str; 3] = ["scopes nested", "scopes flat", "FuturesUnordered"];
const JOIN_ALL_SCOPES: [&str; 2] = ["scopes", "join_all"];
const CHANNEL_GIVE_UP: [&str; 1] = ["scopes"];
const PARALLEL_TREE: [&str; 2] = ["scopes", "JoinSet"];
const RECURSION: [&str; 2] = ["scopes", "JoinSet"];
const RACE_CLEANUP: [&str; 1] = ["scopes"];
/// Children per node of `parallel_tree`.
const FANOUT: u64 = 10;

async fn fan_in_scopes(n: u64) -> u64 {
    let ctx = Arc::new(Ctx::default());
    let shared = ctx.clone();
    scopes::coroutine_scope(move |s| {
        Box::pin(async move {
            let result = s.r#async(async {
                for _ in 0..3 {
                    scopes::yield_now().await?;
                }
                Ok(VALUE)
            });
            for _ in 0..n {
                let (result, ctx) = (result.clone(), shared.clone());
                s.launch(async move {
                    ctx.sum.fetch_add(result.await?, Relaxed);
                    Ok(())
                });
            }
            Ok(())
        })
    })
    .await
    .expect("scope failed");
    ctx.sum()
}

/// The peers' shared result: a future that yields 3 times, shared.
fn shared_result() -> Shared<futures_util::future::BoxFuture<'static, u64>> {
    async {
        for _ in 0..3 {
            tokio::task::yield_now().await;
        }
        VALUE
    }
    .boxed()
    .shared()
}

async fn fan_in_futures_unordered(n: u64) -> u64 {
    let ctx = Ctx::default();
    let result = shared_result();
    let mut waiting: FuturesUnordered<_> = (0..n)
        .map(|_| {
            let (result, ctx) = (result.clone(), &ctx);
            async move { ctx.sum.fetch_add(result.await, Relaxed) }
        })
        .collect();
    while waiting.next().await.is_some() {}
    ctx.sum()
}

async fn fan_in_join_set(n: u64) -> u64 {
    let ctx = Arc::new(Ctx::default());
    let result = shared_result();
    let mut set = JoinSet::new();
    for _ in 0..n {
        let (result, ctx) = (result.clone(), ctx.clone());
        set.spawn(async move { ctx.sum.fetch_add(result.await, Relaxed) });
    }
    while let Some(done) = set.join_next().await {
        done.expect("task panicked");
    }
    ctx.sum()
}

/// The shape of a nested scope's host: a root scope whose one child runs
/// `work` (given the children's shared context); the children's sum.
async fn in_one_child<W, Fut>(work: W) -> u64
where
    W: FnOnce(Arc<Ctx>) -> Fut + Send + 'static,
    Fut: Future<Output = scopes::Result<()>> + Send + 'static,
{
    let ctx = Arc::new(Ctx::default());
    let shared = ctx.clone();
    scopes::coroutine_scope(move |s| {
        Box::pin(async move {
            s.launch(work(shared));
            Ok(())
        })
    })
    .await
    .expect("scope failed");
    ctx.sum()
}

async fn nested_wide_scopes(n: u64) -> u64 {
    in_one_child(move |ctx| async move {
        scope_of_leaves(&ctx, n).await;
        Ok(())
    })
    .await
}

async fn nested_wide_futures_unordered(n: u64) -> u64 {
    let ctx = Ctx::default();
    let ctx = &ctx;
    let inner = async move {
        let mut leaves: FuturesUnordered<_> = (0..n).map(|i| leaf(ctx, i)).collect();
        while let Some(done) = leaves.next().await {
            done.expect("child failed");
        }
    };
    let mut outer: FuturesUnordered<_> = std::iter::once(inner).collect();
    while outer.next().await.is_some() {}
    ctx.sum()
}

/// Opens once `need` have arrived; each waits until then.
struct Gate {
    need: u64,
    state: Mutex<GateState>,
}

#[derive(Default)]
struct GateState {
    arrived: u64,
    waiting: Vec<Waker>,
}

impl Gate {
    fn new(need: u64) -> Self {
        Self {
            need,
            state: Mutex::default(),
        }
    }

    /// Arrives, and waits until all have.
    async fn arrive(&self) {
        let mut counted = false;
        std::future::poll_fn(|cx| {
            let mut state = self.state.lock().expect("gate lock");
            if !counted {
                counted = true;
                state.arrived += 1;
                if state.arrived == self.need {
                    state.waiting.drain(..).for_each(Waker::wake);
                }
            }
            if state.arrived == self.need {
                return Poll::Ready(());
            }
            state.waiting.push(cx.waker().clone());
            Poll::Pending
        })
        .await;
    }
}

async fn join_all_scopes(n: u64) -> u64 {
    in_one_child(move |ctx| async move {
        let gate = Gate::new(n);
        let (gate, ctx) = (&gate, &ctx);
        let all = (0..n).map(|i| {
            scopes::coroutine_scope(move |_s| {
                Box::pin(async move {
                    gate.arrive().await;
                    ctx.sum.fetch_add(i, Relaxed);
                    Ok(())
                })
            })
        });
        for done in futures_util::future::join_all(all).await {
            done?;
        }
        Ok(())
    })
    .await
}

async fn join_all_plain(n: u64) -> u64 {
    let ctx = Ctx::default();
    let gate = Gate::new(n);
    let (gate, ctx_ref) = (&gate, &ctx);
    let all = (0..n).map(|i| async move {
        gate.arrive().await;
        ctx_ref.sum.fetch_add(i, Relaxed);
    });
    futures_util::future::join_all(all).await;
    ctx.sum()
}

async fn channel_give_up(n: u64) -> u64 {
    let ctx = Ctx::default();
    // The sender lives as long as the scope: nothing is sent, nothing ends.
    let (_tx, rx) = scopes::channel::channel::<u64>(0);
    let (ctx_ref, rx) = (&ctx, &rx);
    scopes::coroutine_scope(move |s| {
        Box::pin(async move {
            for i in 0..n {
                // Deadlines in a scrambled order (i × an odd constant, mod a
                // power of two, is a permutation).
                let ms = 1 + (i.wrapping_mul(2_654_435_761) % (1 << 20));
                s.launch(async move {
                    let wait = Duration::from_millis(ms);
                    let got = scopes::with_timeout_or_none(wait, rx.recv()).await?;
                    assert!(got.is_none(), "nothing is ever sent");
                    ctx_ref.sum.fetch_add(i, Relaxed);
                    Ok(())
                });
            }
            Ok(())
        })
    })
    .await
    .expect("scope failed");
    ctx.sum()
}

/// A node of `parallel_tree` with `leaves` leaves below it, the first
/// numbered `first`: a scope whose children are `parallel`.
fn parallel_tree_scopes(
    ctx: Arc<Ctx>,
    first: u64,
    leaves: u64,
) -> std::pin::Pin<Box<dyn Future<Output = scopes::Result<()>> + Send>> {
    Box::pin(async move {
        if leaves == 1 {
            return scopes_leaf(&ctx, first).await;
        }
        scopes::coroutine_scope(move |s| {
            Box::pin(async move {
                let each = leaves / FANOUT;
                for k in 0..FANOUT {
                    let node = parallel_tree_scopes(ctx.clone(), first + k * each, each);
                    s.child().launch_parallel(node);
                }
                Ok(())
            })
        })
        .await
    })
}

/// The same node as a `JoinSet` of tasks.
fn parallel_tree_join_set(
    ctx: Arc<Ctx>,
    first: u64,
    leaves: u64,
) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> {
    Box::pin(async move {
        if leaves == 1 {
            return leaf(&ctx, first).await.expect("leaf failed");
        }
        let mut set = JoinSet::new();
        let each = leaves / FANOUT;
        for k in 0..FANOUT {
            set.spawn(parallel_tree_join_set(ctx.clone(), first + k * each, each));
        }
        while let Some(done) = set.join_next().await {
            done.expect("node panicked");
        }
    })
}

/// A tree of `n` leaves: of scopes, or else of `JoinSet`s.
async fn parallel_tree(scopes: bool, n: u64) -> u64 {
    let ctx = Arc::new(Ctx::default());
    if scopes {
        parallel_tree_scopes(ctx.clone(), 0, n)
            .await
            .expect("tree failed");
    } else {
        parallel_tree_join_set(ctx.clone(), 0, n).await;
    }
    ctx.sum()
}

/// A level of `recursion`: starts the child `level`, then enters the next
/// level's scope in its body.
fn recursion_scopes(ctx: Arc<Ctx>, level: u64) -> scopes::BoxFuture<'static, scopes::Result<()>> {
    Box::pin(scopes::coroutine_scope(move |s| {
        Box::pin(async move {
            let leaf_ctx = ctx.clone();
            s.launch(async move { scopes_leaf(&leaf_ctx, level).await });
            if level > 0 {
                recursion_scopes(ctx, level - 1).await?;
            }
            Ok(())
        })
    }))
}

/// The same level with a `JoinSet`: spawns the child, awaits the next
/// level, then joins.
fn recursion_join_set(
    ctx: Arc<Ctx>,
    level: u64,
) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> {
    Box::pin(async move {
        let mut set = JoinSet::new();
        let leaf_ctx = ctx.clone();
        set.spawn(async move { leaf(&leaf_ctx, level).await });
        if level > 0 {
            recursion_join_set(ctx, level - 1).await;
        }
        while let Some(done) = set.join_next().await {
            done.expect("child panicked").expect("child failed");
        }
    })
}

/// A recursion of `n` levels (its children add up to `expected_sum(n)`),
/// on a thread of its own with room for 100,000 nested levels.
fn recursion(rt: &tokio::runtime::Runtime, scopes: bool, n: u64) -> u64 {
    std::thread::scope(|threads| {
        std::thread::Builder::new()
            .stack_size(1 << 30)
            .spawn_scoped(threads, || {
                let ctx = Arc::new(Ctx::default());
                if scopes {
                    run(rt, recursion_scopes(ctx.clone(), n - 1)).expect("recursion failed");
                } else {
                    run(rt, recursion_join_set(ctx.clone(), n - 1));
                }
                ctx.sum()
            })
            .expect("thread")
            .join()
            .expect("recursion panicked")
    })
}

/// Runs every implementation of one shape at every size; `shape` runs one
/// (by name) on `rt` and gives the children's sum, checked against
/// `expected`.
/// `race_cleanup`: the winner's index, `n - 1`, once every loser's cleanup
/// has run.
async fn race_cleanup(n: u64) -> u64 {
    scopes::coroutine_scope(|s| {
        Box::pin(async move {
            let children: Vec<_> = (0..n)
                .map(|i| {
                    s.r#async(async move {
                        if i == n - 1 {
                            scopes::yield_now().await?;
                            return Ok(i);
                        }
                        match scopes::delay(Duration::from_secs(3600)).await {
                            Err(cancelled) => {
                                let cleanup = scopes::delay(Duration::from_millis(i + 1));
                                scopes::non_cancellable(cleanup).await?;
                                Err(cancelled)
                            }
                            Ok(()) => Ok(i),
                        }
                    })
                })
                .collect();
            scopes::race(children).await
        })
    })
    .await
    .expect("the race")
}

fn bench_group(
    c: &mut Criterion,
    group: &str,
    impls: &[&str],
    shape: impl Fn(&str, u64) -> u64,
    expected: impl Fn(u64) -> u64,
) {
    let mut group = c.benchmark_group(group);
    flat_sampling(&mut group, 20);
    for n in SIZES {
        group.throughput(Throughput::Elements(n));
        for &name in impls {
            group.bench_with_input(BenchmarkId::new(name, n), &n, |b, &n| {
                b.iter(|| assert_eq!(shape(name, n), expected(n), "{name}: wrong sum"))
            });
        }
    }
    group.finish();
}

fn bench_shapes(c: &mut Criterion) {
    let rt = Rt::CurrentThread.build();
    let fan_in = |name: &str, n| match name {
        "scopes" => run(&rt, fan_in_scopes(n)),
        "FuturesUnordered" => run(&rt, fan_in_futures_unordered(n)),
        _ => run(&rt, fan_in_join_set(n)),
    };
    bench_group(c, "fan_in", &FAN_IN, fan_in, |n| n * VALUE);
    let nested_wide = |name: &str, n| match name {
        "scopes nested" => run(&rt, nested_wide_scopes(n)),
        "scopes flat" => run(&rt, w1_scopes(n)),
        _ => run(&rt, nested_wide_futures_unordered(n)),
    };
    bench_group(c, "nested_wide", &NESTED_WIDE, nested_wide, expected_sum);
    let join_all = |name: &str, n| match name {
        "scopes" => run(&rt, join_all_scopes(n)),
        _ => run(&rt, join_all_plain(n)),
    };
    bench_group(
        c,
        "join_all_scopes",
        &JOIN_ALL_SCOPES,
        join_all,
        expected_sum,
    );
    let paused = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("tokio runtime");
    let give_up = |_: &str, n| run(&paused, channel_give_up(n));
    bench_group(
        c,
        "channel_give_up",
        &CHANNEL_GIVE_UP,
        give_up,
        expected_sum,
    );
    let race = |_: &str, n| run(&paused, race_cleanup(n));
    bench_group(c, "race_cleanup", &RACE_CLEANUP, race, |n| n - 1);
    let pool = Rt::MultiThread.build();
    let tree = |name: &str, n| run(&pool, parallel_tree(name == "scopes", n));
    bench_group(c, "parallel_tree", &PARALLEL_TREE, tree, expected_sum);
    let deep = |name: &str, n| recursion(&rt, name == "scopes", n);
    bench_group(c, "recursion", &RECURSION, deep, expected_sum);
}

/// A report row: ns per child at each size, and the growth (100× ÷ 1×).
fn row(group: &str, name: &str, since: SystemTime) -> String {
    let per_child = SIZES.map(|n| {
        let id = format!("{name}/{n}");
        median_ns(group, &id, since).map(|ns| ns / n as f64)
    });
    let growth = match (per_child[0], per_child[2]) {
        (Some(small), Some(large)) => format!("{:.2}", large / small),
        _ => "—".to_owned(),
    };
    let cells = per_child.map(cell).join(" | ");
    format!("| {group} | {name} | {cells} | {growth} |\n")
}

fn report(since: SystemTime) {
    let mut out = format!(
        "# Shapes at 1×, 10×, 100×: ns per child (current_thread but `parallel_tree`, per leaf on 2 workers; medians)\n\n\
         Mode: {}. Written by `cargo bench -p scopes-benches --bench shapes`.\n\n\
         | shape | implementation | 1,000 | 10,000 | 100,000 | growth |\n\
         |---|---|---|---|---|---|\n",
        if quick() { "quick" } else { "full" },
    );
    for name in FAN_IN {
        out += &row("fan_in", name, since);
    }
    for name in NESTED_WIDE {
        out += &row("nested_wide", name, since);
    }
    for name in JOIN_ALL_SCOPES {
        out += &row("join_all_scopes", name, since);
    }
    for name in CHANNEL_GIVE_UP {
        out += &row("channel_give_up", name, since);
    }
    for name in RACE_CLEANUP {
        out += &row("race_cleanup", name, since);
    }
    for name in PARALLEL_TREE {
        out += &row("parallel_tree", name, since);
    }
    for name in RECURSION {
        out += &row("recursion", name, since);
    }
    write_report("bench-shapes.md", &out);
}

fn main() {
    criterion_main(bench_shapes, report);
}
