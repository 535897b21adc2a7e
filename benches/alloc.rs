//! SPEC §6 W4: heap bytes per pending child, 100k children, for `scopes` and
//! its peers, measured with a counting global allocator (not RSS).
//!
//! Every implementation is handed the same child future, 16 bytes (a pointer
//! to the shared state and a flag): it waits on a shared gate, then counts
//! itself done. The gate keeps its wakers in a vector reserved before the
//! baseline, so waiting allocates nothing: what is counted is the child
//! future plus what the implementation allocates to hold a pending child
//! (boxes, tasks, job records, run queues, slab growth). The number is the live heap with
//! all 100k children pending, minus the live heap before the first was
//! started, divided by 100k. The parent is a spawned task of a
//! `current_thread` runtime; every implementation is run once on a small
//! scale first, so one-time set-up (thread locals, tracing call sites) is
//! not counted.
//!
//! Prints its table and leaves `<target>/bench-w4.json` for the report of the
//! `workloads` bench. Run: `cargo bench -p scopes-benches --bench alloc`.

mod support;

use std::alloc::System;
use std::future::Future;
use std::marker::PhantomData;
use std::ops::Deref;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use futures_util::StreamExt;
use futures_util::future::join_all;
use futures_util::stream::FuturesUnordered;
use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};
use tokio::task::JoinSet;
use tokio_util::task::TaskTracker;

use support::{Fail, Rt, w4_results_path};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Bytes currently allocated.
fn live_bytes() -> i64 {
    let s = GLOBAL.stats();
    // `stats_alloc` already adds a realloc's growth to `bytes_allocated` (and
    // its shrinking to `bytes_deallocated`); `bytes_reallocated` is the same
    // delta again, so adding it would count every growth twice.
    s.bytes_allocated as i64 - s.bytes_deallocated as i64
}

/// A gate children wait on without allocating.
struct Gate {
    open: AtomicBool,
    waiters: Mutex<Vec<Waker>>,
}

impl Gate {
    fn new(capacity: usize) -> Self {
        Self {
            open: AtomicBool::new(false),
            waiters: Mutex::new(Vec::with_capacity(capacity)),
        }
    }

    fn waiting(&self) -> usize {
        self.waiters.lock().unwrap().len()
    }

    fn open(&self) {
        self.open.store(true, Ordering::SeqCst);
        let waiters = std::mem::take(&mut *self.waiters.lock().unwrap());
        for waker in waiters {
            waker.wake();
        }
    }
}

/// What the children of one run share.
struct W4 {
    gate: Gate,
    done: AtomicU64,
    n: u64,
}

impl W4 {
    fn new(n: u64) -> Arc<Self> {
        Arc::new(Self {
            gate: Gate::new(n as usize),
            done: AtomicU64::new(0),
            n,
        })
    }
}

/// The child every implementation is given: pending until the gate opens,
/// then counts itself done. 16 bytes, the same for every implementation
/// (`C` is `&W4` or `Arc<W4>`; `E` is the child error type).
struct Child<C, E> {
    ctx: C,
    registered: bool,
    error: PhantomData<fn() -> E>,
}

fn child<C: Deref<Target = W4>, E>(ctx: C) -> Child<C, E> {
    let child = Child {
        ctx,
        registered: false,
        error: PhantomData,
    };
    FUTURE_BYTES.store(std::mem::size_of_val(&child), Ordering::Relaxed);
    child
}

impl<C: Deref<Target = W4> + Unpin, E> Future for Child<C, E> {
    type Output = Result<(), E>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), E>> {
        let this = &mut *self;
        if this.ctx.gate.open.load(Ordering::SeqCst) {
            this.ctx.done.fetch_add(1, Ordering::Relaxed);
            return Poll::Ready(Ok(()));
        }
        if !this.registered {
            this.registered = true;
            this.ctx
                .gate
                .waiters
                .lock()
                .unwrap()
                .push(cx.waker().clone());
        }
        Poll::Pending
    }
}

/// The size of the child future.
static FUTURE_BYTES: AtomicUsize = AtomicUsize::new(0);

async fn scopes_in_place(ctx: Arc<W4>) -> u64 {
    let c = &*ctx;
    scopes::coroutine_scope(|s| {
        Box::pin(async move {
            for _ in 0..c.n {
                s.launch(child(c));
            }
            Ok(())
        })
    })
    .await
    .expect("scope failed");
    ctx.done.load(Ordering::Relaxed)
}

async fn scopes_parallel(ctx: Arc<W4>) -> u64 {
    let shared = ctx.clone();
    scopes::coroutine_scope(move |s| {
        Box::pin(async move {
            for _ in 0..shared.n {
                s.child().launch_parallel(child(shared.clone()));
            }
            Ok(())
        })
    })
    .await
    .expect("scope failed");
    ctx.done.load(Ordering::Relaxed)
}

async fn futures_unordered(ctx: Arc<W4>) -> u64 {
    let c = &*ctx;
    let mut set: FuturesUnordered<_> = (0..c.n).map(|_| child::<_, Fail>(c)).collect();
    while let Some(r) = set.next().await {
        r.expect("child failed");
    }
    ctx.done.load(Ordering::Relaxed)
}

async fn join_all_peer(ctx: Arc<W4>) -> u64 {
    let c = &*ctx;
    let results = join_all((0..c.n).map(|_| child::<_, Fail>(c))).await;
    results
        .into_iter()
        .collect::<Result<(), Fail>>()
        .expect("child failed");
    ctx.done.load(Ordering::Relaxed)
}

async fn task_tracker(ctx: Arc<W4>) -> u64 {
    let tracker = TaskTracker::new();
    for _ in 0..ctx.n {
        tracker.spawn(child::<_, Fail>(ctx.clone()));
    }
    tracker.close();
    tracker.wait().await;
    ctx.done.load(Ordering::Relaxed)
}

async fn moro_peer(ctx: Arc<W4>) -> u64 {
    let (c, n) = (&*ctx, ctx.n);
    let r = moro::async_scope!(|scope| -> Result<(), Fail> {
        for _ in 0..n {
            scope.spawn(child::<_, Fail>(c));
        }
        Ok(())
    })
    .await;
    r.expect("child failed");
    ctx.done.load(Ordering::Relaxed)
}

async fn join_set(ctx: Arc<W4>) -> u64 {
    let mut set = JoinSet::new();
    for _ in 0..ctx.n {
        set.spawn(child::<_, Fail>(ctx.clone()));
    }
    while let Some(r) = set.join_next().await {
        r.expect("task panicked").expect("child failed");
    }
    ctx.done.load(Ordering::Relaxed)
}

type Parent = fn(Arc<W4>) -> Pin<Box<dyn Future<Output = u64> + Send>>;

const PEERS: [(&str, Parent); 7] = [
    ("scopes", |c| Box::pin(scopes_in_place(c))),
    ("scopes_parallel", |c| Box::pin(scopes_parallel(c))),
    ("FuturesUnordered", |c| Box::pin(futures_unordered(c))),
    ("join_all", |c| Box::pin(join_all_peer(c))),
    ("TaskTracker", |c| Box::pin(task_tracker(c))),
    ("moro", |c| Box::pin(moro_peer(c))),
    ("JoinSet", |c| Box::pin(join_set(c))),
];

/// Heap bytes per child with `n` children pending under `parent`, on a
/// thread of its own: buffers a thread keeps from earlier scopes (`scopes`
/// keeps some, bounded, for its next scopes) are neither counted nor
/// borrowed.
fn bytes_per_child(parent: Parent, n: u64) -> f64 {
    std::thread::scope(|s| {
        s.spawn(move || bytes_per_child_here(parent, n))
            .join()
            .expect("measurement panicked")
    })
}

fn bytes_per_child_here(parent: Parent, n: u64) -> f64 {
    let rt = Rt::CurrentThread.build();
    rt.block_on(async {
        let ctx = W4::new(n);
        let before = live_bytes();
        let task = tokio::spawn(parent(ctx.clone()));
        while ctx.gate.waiting() < n as usize {
            tokio::task::yield_now().await;
        }
        let pending = live_bytes() - before;
        ctx.gate.open();
        let done = task.await.expect("parent panicked");
        assert_eq!(done, n, "children not all done");
        pending as f64 / n as f64
    })
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test -p scopes-benches --benches` does not: then
    // only check that every implementation runs.
    let bench = std::env::args().any(|arg| arg == "--bench");
    let n: u64 = if bench { 100_000 } else { 1_000 };
    let mut results = serde_json::Map::new();
    println!("W4: heap bytes per pending child, {n} children, current_thread runtime\n");
    println!("| implementation | bytes/child | child future, bytes |");
    println!("|---|---|---|");
    for (name, parent) in PEERS {
        bytes_per_child(parent, 1_000); // one-time set-up, not counted
        let bytes = bytes_per_child(parent, n);
        let future = FUTURE_BYTES.load(Ordering::Relaxed);
        println!("| {name} | {bytes:.1} | {future} |");
        results.insert(
            name.to_string(),
            serde_json::json!({ "bytes_per_child": bytes, "future_bytes": future }),
        );
    }
    if bench {
        let path = w4_results_path();
        let json = serde_json::Value::Object(results).to_string();
        match std::fs::write(&path, json) {
            Ok(()) => println!("\nW4 results written to {}", path.display()),
            Err(e) => eprintln!("cannot write {}: {e}", path.display()),
        }
    }
}
