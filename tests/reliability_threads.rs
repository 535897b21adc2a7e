//! Cross-thread correctness: `parallel` children, wakes from other threads,
//! `cancel()` from another thread racing a child's completion, and how
//! often the exception handler is called.
//!
//! Method: a seeded stress harness, not `loom`. loom can only explore code
//! written against its own `Mutex`/atomics/threads and executor; the
//! runtime uses `std::sync` and tokio (a `parallel` child is a
//! `tokio::spawn`ed task), so loom cannot model it. Instead each seed draws
//! a scope (coroutine or supervisor) whose children run on tokio's
//! multi-thread pool (2 workers) or in place, wake each other across
//! threads through channels, and are cancelled from plain OS threads at a
//! random moment while they complete. Every run checks the invariants that
//! must hold whatever the interleaving:
//! - the scope returns (no lost wake-up, no hang);
//! - every child's captured value is dropped exactly once, before the scope
//!   returns (R1, R10);
//! - a `Deferred` gives `Ok(v)` only if the child returned `Ok(v)` and was
//!   not cancelled, a cancellation only if the job was cancelled, a failure
//!   only the child's own (R4, R11);
//! - coroutine scope: every failure a child returned is the scope's error or
//!   one of its suppressed errors, exactly once, and nothing else is (R2, R6);
//! - supervisor scope: the handler is called exactly once per failed
//!   `launch` child (R4).
//!
//! `SCOPES_THREAD_SEEDS=N` runs N seeds (default 300).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use scopes::{
    Deferred, Error, Job, Result, Scope, cancellable, coroutine_scope, supervisor_scope,
    with_exception_handler, yield_now,
};

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// How a child ends once its work is done.
#[derive(Clone, Copy, Debug)]
enum End {
    Value(u64),
    Fail,
    Panic,
}

#[derive(Clone, Copy, Debug)]
struct Plan {
    parallel: bool,
    is_async: bool,
    /// Yields before the end (tokio's in a parallel child, the scope's in
    /// place).
    yields: u64,
    end: End,
    /// In place: first wait for a message sent from a parallel helper.
    wait_for_helper: bool,
}

/// What the children of one run report.
#[derive(Default)]
struct Shared {
    made: AtomicUsize,
    dropped: AtomicUsize,
    /// Child index -> how it returned, recorded just before it did.
    returned: Mutex<BTreeMap<usize, std::result::Result<u64, String>>>,
    handled: Mutex<Vec<String>>,
    /// Children the body cancelled from another thread: how many had
    /// completed first, and how many the cancellation reached.
    completed_first: AtomicUsize,
    cancelled_first: AtomicUsize,
}

struct Guard(Arc<Shared>);

impl Drop for Guard {
    fn drop(&mut self) {
        self.0.dropped.fetch_add(1, Ordering::SeqCst);
    }
}

fn guard(shared: &Arc<Shared>) -> Guard {
    shared.made.fetch_add(1, Ordering::SeqCst);
    Guard(shared.clone())
}

fn quiet() {
    scopes_workspace::quiet_panics_starting_with("child ");
}

/// The end of child `i`: records it, then returns it (or panics).
fn finish(shared: &Shared, i: usize, end: End) -> Result<u64> {
    let mut returned = shared.returned.lock().unwrap();
    match end {
        End::Value(v) => {
            returned.insert(i, Ok(v));
            Ok(v)
        }
        End::Fail => {
            returned.insert(i, Err(format!("child {i} failed")));
            Err(Error::msg(format!("child {i} failed")))
        }
        End::Panic => {
            returned.insert(i, Err(format!("panicked: child {i} panicked")));
            drop(returned);
            std::panic::panic_any(format!("child {i} panicked"))
        }
    }
}

/// A `parallel` child: `Send + 'static`, runs on the pool.
async fn remote(
    shared: Arc<Shared>,
    i: usize,
    plan: Plan,
    done: Option<tokio::sync::oneshot::Sender<()>>,
) -> Result<u64> {
    let _guard = guard(&shared);
    for _ in 0..plan.yields {
        tokio::task::yield_now().await;
    }
    yield_now().await?; // cancellation-aware, in the remote job
    if let Some(done) = done {
        let _ = done.send(());
    }
    finish(&shared, i, plan.end)
}

enum Handle<'s> {
    Launch(Job<'s>),
    Async(Deferred<'s, u64>),
}

impl Handle<'_> {
    fn cancel(&self) {
        match self {
            Handle::Launch(job) => job.cancel(),
            Handle::Async(d) => d.cancel(),
        }
    }
}

fn start_child<'s>(s: &Scope<'s, '_>, shared: &Arc<Shared>, i: usize, plan: Plan) -> Handle<'s> {
    if plan.parallel {
        let fut = remote(shared.clone(), i, plan, None);
        return if plan.is_async {
            Handle::Async(s.child().async_parallel(fut))
        } else {
            Handle::Launch(
                s.child()
                    .launch_parallel(async move { fut.await.map(drop) }),
            )
        };
    }
    // In place; maybe woken from another thread by a parallel helper.
    let (tx, rx) = tokio::sync::oneshot::channel();
    if plan.wait_for_helper {
        let helper = Plan {
            end: End::Value(0),
            ..plan
        };
        let fut = remote(shared.clone(), usize::MAX - i, helper, Some(tx));
        s.child()
            .launch_parallel(async move { fut.await.map(drop) });
    }
    let g = guard(shared);
    let shared = shared.clone();
    let fut = async move {
        let _g = g;
        if plan.wait_for_helper {
            let _ = cancellable(rx).await?;
        }
        for _ in 0..plan.yields {
            yield_now().await?;
        }
        finish(&shared, i, plan.end)
    };
    if plan.is_async {
        Handle::Async(s.r#async(fut))
    } else {
        Handle::Launch(s.launch(async move { fut.await.map(drop) }))
    }
}

/// The body: starts the children, cancels some from other OS threads while
/// they run, then waits for each and checks what it sees.
fn body<'s>(
    s: Scope<'s, '_>,
    shared: Arc<Shared>,
    plans: Vec<Plan>,
    cancels: Vec<(usize, u64)>,
    supervised: bool,
) -> scopes::BoxFuture<'s, Result<()>> {
    Box::pin(async move {
        let handles: Vec<Handle<'s>> = plans
            .iter()
            .enumerate()
            .map(|(i, plan)| start_child(&s, &shared, i, *plan))
            .collect();
        yield_now().await?;
        // Cancel from plain OS threads, racing the pool's workers.
        std::thread::scope(|threads| {
            for &(i, spin) in &cancels {
                let handle = &handles[i];
                threads.spawn(move || {
                    for _ in 0..spin {
                        std::hint::spin_loop();
                    }
                    handle.cancel();
                });
            }
        });
        for (i, handle) in handles.into_iter().enumerate() {
            match handle {
                Handle::Launch(job) => {
                    if job.join().await.is_err() {
                        assert!(
                            !supervised,
                            "only a failing coroutine scope cancels its body"
                        );
                        return Ok(());
                    }
                    assert!(job.is_completed());
                }
                Handle::Async(d) => {
                    let cancelled = || d.is_cancelled();
                    let outcome = d.clone().await;
                    let returned = shared.returned.lock().unwrap().get(&i).cloned();
                    if cancels.iter().any(|&(c, _)| c == i) {
                        let race = if cancelled() {
                            &shared.cancelled_first
                        } else {
                            &shared.completed_first
                        };
                        race.fetch_add(1, Ordering::SeqCst);
                    }
                    match outcome {
                        Ok(v) => {
                            assert_eq!(returned, Some(Ok(v)), "child {i}");
                            assert!(!cancelled(), "child {i}: a cancelled child ends cancelled");
                        }
                        Err(e) if e.is_cancellation() => {
                            if !cancelled() {
                                // Our own (the body's) cancellation.
                                assert!(!supervised);
                                return Ok(());
                            }
                        }
                        Err(e) => assert_eq!(returned, Some(Err(e.to_string())), "child {i}"),
                    }
                }
            }
        }
        Ok(())
    })
}

/// Runs one seed; returns how the cancel races it ran went (completed
/// first, cancelled first).
async fn run_seed(seed: u64) -> (usize, usize) {
    let mut rng = Rng::new(seed);
    let supervised = rng.chance(50);
    let plans: Vec<Plan> = (0..1 + rng.below(6))
        .map(|_| Plan {
            parallel: rng.chance(60),
            is_async: rng.chance(50),
            yields: rng.below(4),
            end: match rng.below(10) {
                0..=5 => End::Value(rng.below(100)),
                6..=8 => End::Fail,
                _ => End::Panic,
            },
            wait_for_helper: rng.chance(30),
        })
        .collect();
    let mut cancels = Vec::new();
    for i in 0..plans.len() {
        if rng.chance(40) {
            cancels.push((i, rng.below(2000)));
        }
    }

    let is_async: Vec<bool> = plans.iter().map(|p| p.is_async).collect();
    let shared = Arc::new(Shared::default());
    let (handled, in_scope) = (shared.clone(), shared.clone());
    let handler = move |e: &Error| handled.handled.lock().unwrap().push(e.to_string());
    let result = if supervised {
        with_exception_handler(
            handler,
            supervisor_scope(move |s| body(s, in_scope, plans, cancels, true)),
        )
        .await
    } else {
        with_exception_handler(
            handler,
            coroutine_scope(move |s| body(s, in_scope, plans, cancels, false)),
        )
        .await
    };

    let context = format!("seed {seed}");
    assert_eq!(
        shared.dropped.load(Ordering::SeqCst),
        shared.made.load(Ordering::SeqCst),
        "{context}: every child's values dropped once, before the scope returned"
    );
    let returned = shared.returned.lock().unwrap().clone();
    let failures: Vec<String> = returned.values().filter_map(|r| r.clone().err()).collect();
    if supervised {
        result.unwrap();
        let mut handled = shared.handled.lock().unwrap().clone();
        handled.sort();
        let mut launch_failures: Vec<String> = returned
            .iter()
            .filter(|(i, r)| r.is_err() && !is_async.get(**i).copied().unwrap_or(true))
            .map(|(_, r)| r.clone().unwrap_err())
            .collect();
        launch_failures.sort();
        assert_eq!(
            handled, launch_failures,
            "{context}: one handler call per failed launch child"
        );
    } else {
        match result {
            Ok(()) => assert!(
                failures.is_empty(),
                "{context}: failures lost: {failures:?}"
            ),
            Err(e) => {
                let mut reported: Vec<String> = std::iter::once(e.to_string())
                    .chain(e.suppressed().iter().map(ToString::to_string))
                    .collect();
                let mut expected = failures.clone();
                reported.sort();
                expected.sort();
                assert_eq!(
                    reported, expected,
                    "{context}: first + suppressed = every failure"
                );
            }
        }
        assert!(shared.handled.lock().unwrap().is_empty());
    }
    (
        shared.completed_first.load(Ordering::SeqCst),
        shared.cancelled_first.load(Ordering::SeqCst),
    )
}

#[test]
fn parallel_children_cross_thread_wakes_and_cancels_under_many_seeds() {
    quiet();
    let seeds: u64 = std::env::var("SCOPES_THREAD_SEEDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(300);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap();
    let (mut completed_first, mut cancelled_first) = (0, 0);
    for seed in 0..seeds {
        let run = runtime.spawn(run_seed(seed));
        // A hang detector, not a sleep: a run takes microseconds.
        let finished =
            runtime.block_on(async { tokio::time::timeout(Duration::from_secs(30), run).await });
        match finished {
            Ok(Ok((completed, cancelled))) => {
                completed_first += completed;
                cancelled_first += cancelled;
            }
            Ok(Err(panic)) => std::panic::resume_unwind(panic.into_panic()),
            Err(_) => panic!("seed {seed}: the scope did not return within 30 s"),
        }
    }
    // Both sides of the race happened: the harness does race.
    assert!(
        completed_first > 0 && cancelled_first > 0,
        "completed first {completed_first}, cancelled first {cancelled_first}"
    );
}

/// R14: a wake from another thread comes after what became ready before
/// it, not behind a whole poll budget of later wakes. A child cancelled
/// from an OS thread, while the body keeps yielding, is resumed before the
/// body's next step, as one cancelled by the body is (it waited behind
/// about 254 of the body's yields; found by a helper).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r14_a_cancel_from_another_thread_is_resumed_before_the_next_local_step() {
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    for cross_thread in [false, true] {
        let yields = AtomicUsize::new(0);
        let yields = &yields;
        let result = scopes::coroutine_scope(|s| {
            Box::pin(async move {
                let b = s.launch(async move {
                    let _ = scopes::delay(std::time::Duration::from_secs(3600)).await;
                    Err::<(), _>(scopes::Error::msg(format!(
                        "resumed after {} yields",
                        yields.load(SeqCst)
                    )))
                });
                scopes::yield_now().await?;
                if cross_thread {
                    std::thread::scope(|t| {
                        t.spawn(|| b.cancel());
                    });
                } else {
                    b.cancel();
                }
                for _ in 0..1000 {
                    scopes::yield_now().await?;
                    yields.fetch_add(1, SeqCst);
                }
                Ok(())
            })
        })
        .await;
        let error = result.unwrap_err().to_string();
        assert_eq!(
            error, "resumed after 0 yields",
            "cross thread: {cross_thread}"
        );
    }
}
