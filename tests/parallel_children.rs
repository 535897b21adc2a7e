//! `parallel` children share their one job record with their tokio task:
//! a cancel is seen by the work at once, on whichever thread it runs, and
//! the task is woken and resumed once with it (R7), so its cleanup runs,
//! inside `non_cancellable` too; R11 maps a value returned after the
//! cancel to the cancellation. (`tests/parallel_allocations.rs` counts
//! what one such child allocates.)

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use scopes::{
    Result, coroutine_scope, delay, is_active, non_cancellable, supervisor_scope, yield_now,
};

/// The body cancels a running parallel child and, without suspending (so
/// its scope polls nothing meanwhile), waits for the work to notice: the
/// work sees the cancel through the job it shares with the child.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_reaches_a_running_parallel_child_at_once() {
    let (running_tx, running_rx) = tokio::sync::oneshot::channel::<()>();
    let (seen_tx, seen_rx) = mpsc::channel::<bool>();
    let result: Result<()> = coroutine_scope(move |s| {
        Box::pin(async move {
            let job = s.child().launch_parallel(async move {
                running_tx.send(()).unwrap();
                // Busy on its worker, never suspending: only the shared
                // job can tell it about the cancel.
                let deadline = Instant::now() + Duration::from_secs(10);
                while is_active() && Instant::now() < deadline {
                    std::hint::spin_loop();
                }
                seen_tx.send(!is_active()).unwrap();
                Ok(())
            });
            running_rx.await.unwrap();
            job.cancel();
            // Blocks this thread: the scope does not run until the work
            // has reported.
            let seen = seen_rx.recv_timeout(Duration::from_secs(20)).unwrap();
            assert!(seen, "the work did not see its cancel while running");
            job.join().await?;
            assert!(
                job.is_cancelled(),
                "ended Ok after a cancel: cancelled (R11)"
            );
            Ok(())
        })
    })
    .await;
    result.unwrap();
}

/// R7 on the pool: a parallel child suspended in `delay` is woken by its
/// cancel, resumed once with it, cleans up inside `non_cancellable` (which
/// suspends and is not cut short), and every cancellation-aware call after
/// that fails at once. Its scope returns once the cleanup is done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_parallel_child_is_resumed_once_and_its_cleanup_runs() {
    let resumed = Arc::new(AtomicUsize::new(0));
    let log = Arc::new(Mutex::new(Vec::<&str>::new()));
    let (resumed2, log2) = (resumed.clone(), log.clone());
    let result: Result<()> = supervisor_scope(move |s| {
        Box::pin(async move {
            let (waiting_tx, waiting_rx) = tokio::sync::oneshot::channel::<()>();
            let job = s.child().name("sleeper").launch_parallel(async move {
                let _ = waiting_tx.send(());
                let err = delay(Duration::from_secs(3600)).await.unwrap_err();
                assert!(err.is_cancellation());
                resumed2.fetch_add(1, Ordering::SeqCst);
                non_cancellable(async {
                    delay(Duration::from_millis(20)).await.unwrap();
                    log2.lock().unwrap().push("cleaned up");
                })
                .await;
                assert!(yield_now().await.unwrap_err().is_cancellation());
                assert!(delay(Duration::from_secs(1)).await.is_err());
                log2.lock().unwrap().push("later calls failed at once");
                Ok(())
            });
            waiting_rx.await.unwrap();
            delay(Duration::from_millis(10)).await?; // well inside its delay
            job.cancel();
            job.join().await?;
            assert!(job.is_completed() && job.is_cancelled());
            Ok(())
        })
    })
    .await;
    result.unwrap();
    assert_eq!(resumed.load(Ordering::SeqCst), 1);
    assert_eq!(
        *log.lock().unwrap(),
        ["cleaned up", "later calls failed at once"]
    );
}

/// The scope's own cancellation (a sibling's failure, R2) reaches every
/// parallel child through its job; each is resumed once and the scope
/// returns the failure after their cleanup.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_fast_resumes_every_parallel_sibling_once() {
    const SLEEPERS: usize = 50;
    let resumed = Arc::new(AtomicUsize::new(0));
    let counted = resumed.clone();
    let result: Result<()> = coroutine_scope(move |s| {
        Box::pin(async move {
            for _ in 0..SLEEPERS {
                let resumed = counted.clone();
                s.child().launch_parallel(async move {
                    let r = delay(Duration::from_secs(3600)).await;
                    assert!(r.as_ref().unwrap_err().is_cancellation());
                    resumed.fetch_add(1, Ordering::SeqCst);
                    non_cancellable(yield_now()).await?;
                    r
                });
            }
            s.child().launch_parallel(async {
                delay(Duration::from_millis(20)).await?;
                Err(scopes::Error::msg("failed"))
            });
            Ok(())
        })
    })
    .await;
    assert_eq!(result.unwrap_err().to_string(), "failed");
    assert_eq!(resumed.load(Ordering::SeqCst), SLEEPERS);
}

/// A parallel child whose work waits on a future that is not
/// cancellation-aware is shown in a foreign wait by `debug::dump`, like an
/// in-place child: the task keeps that mark on the child's job, which its
/// scope reads but never polls.
#[tokio::test]
async fn a_parallel_child_in_a_foreign_wait_is_marked_in_the_dump() {
    let notify = Arc::new(tokio::sync::Notify::new());
    let waiting = Arc::new(AtomicUsize::new(0));
    let (n, w) = (notify.clone(), waiting.clone());
    let dump = coroutine_scope(move |s| {
        Box::pin(async move {
            s.child().name("remote waiter").launch_parallel(async move {
                w.store(1, Ordering::SeqCst);
                n.notified().await; // a foreign wait
                Ok(())
            });
            // On this current-thread runtime the task runs to its wait in
            // one poll, so once it has begun it is suspended there.
            while waiting.load(Ordering::SeqCst) == 0 {
                yield_now().await?;
            }
            let dump = scopes::debug::dump();
            notify.notify_one();
            Ok(dump)
        })
    })
    .await
    .unwrap();
    let line = dump
        .lines()
        .find(|l| l.contains("remote waiter"))
        .unwrap_or_else(|| panic!("not in:\n{dump}"));
    assert!(line.ends_with("[active, foreign wait]"), "{dump}");
}

/// R7 for a `parallel` child: cancelled after its task was spawned but
/// before the task first ran, its work never runs, as an in-place child
/// cancelled before its first poll (Kotlin checks a dispatched coroutine
/// for cancellation before it runs its body). On one thread the task can
/// only run once the scope yields to tokio, after the body's cancel.
#[tokio::test]
async fn a_parallel_child_cancelled_before_its_task_first_ran_never_runs() {
    let ran = Arc::new(AtomicUsize::new(0));
    let r = ran.clone();
    let cancelled = coroutine_scope(move |s| {
        Box::pin(async move {
            let job = s.child().launch_parallel(async move {
                r.fetch_add(1, Ordering::SeqCst);
                Ok(())
            });
            // The child's first run (its spawn) comes before the body's
            // resumption (R14); its task has not run when the body resumes.
            yield_now().await?;
            job.cancel();
            job.join().await?;
            Ok(job.is_cancelled())
        })
    })
    .await
    .unwrap();
    assert!(cancelled);
    assert_eq!(
        ran.load(Ordering::SeqCst),
        0,
        "the cancelled child's work ran"
    );
}

/// A scope polled outside a tokio runtime cannot spawn a `parallel` child:
/// the child fails with an error that says why, and so does its scope
/// (R2), instead of a panic out of the scope's poll.
#[test]
fn a_parallel_child_outside_a_tokio_runtime_fails_with_an_error_that_says_why() {
    use std::future::Future;
    use std::task::{Context, Poll};

    let mut scope = coroutine_scope(|s| {
        Box::pin(async move {
            s.child().launch_parallel(async { Ok(()) });
            Ok(())
        })
    });
    let waker = futures_util::task::noop_waker();
    let polled = std::pin::Pin::new(&mut scope).poll(&mut Context::from_waker(&waker));
    let Poll::Ready(Err(error)) = polled else {
        panic!("the scope did not fail at its first poll");
    };
    assert!(
        error
            .to_string()
            .contains("its scope must be polled inside a tokio runtime"),
        "{error}"
    );
}

/// A future whose own part panics when the future is dropped, after it has
/// ended: a panic in the work's drop, outside its polls.
struct PanicsWhenDropped<F> {
    fut: std::pin::Pin<Box<F>>,
    _bomb: Bomb,
}

struct Bomb;

impl Drop for Bomb {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            panic!("boom in drop");
        }
    }
}

impl<F: std::future::Future> std::future::Future for PanicsWhenDropped<F> {
    type Output = F::Output;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<F::Output> {
        self.fut.as_mut().poll(cx)
    }
}

fn panics_when_dropped<F: std::future::Future>(fut: F) -> PanicsWhenDropped<F> {
    PanicsWhenDropped {
        fut: Box::pin(fut),
        _bomb: Bomb,
    }
}

/// Waits, without blocking the scope, until `flag` is set by a child that
/// runs on another worker.
async fn until(flag: &AtomicUsize) -> Result<()> {
    while flag.load(Ordering::SeqCst) == 0 {
        yield_now().await?;
    }
    Ok(())
}

/// A panic while a parallel child's work is dropped (after it returned
/// `Ok`) is the child's failure, as in place, and its scope returns it:
/// the task tells its scope it has ended however it ends (here its poll
/// panics as the work is dropped), with a limit and without.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_dropping_a_parallel_child_s_work_fails_its_scope() {
    for limit in [None, Some(1)] {
        let options = limit.map_or(scopes::ScopeOptions::new(), |n| {
            scopes::ScopeOptions::new().limit(n)
        });
        let scope = scopes::coroutine_scope_with(options, |s| {
            Box::pin(async move {
                s.child()
                    .launch_parallel(panics_when_dropped(async { Ok(()) }));
                Ok(())
            })
        });
        let result = tokio::time::timeout(Duration::from_secs(10), scope)
            .await
            .expect("the scope never heard its child end");
        let error = result.unwrap_err();
        assert!(error.is_panic(), "limit {limit:?}: {error:?}");
    }
}

/// A parallel child that fails and whose work's drop then panics keeps its
/// own failure, with the panic suppressed by it (R6), as in place.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parallel_child_s_failure_stays_when_dropping_its_work_panics() {
    for parallel in [false, true] {
        let result = coroutine_scope(move |s| {
            Box::pin(async move {
                let work = panics_when_dropped(async { Err::<(), _>(scopes::Error::msg("real")) });
                if parallel {
                    s.child().launch_parallel(work);
                } else {
                    s.launch(work);
                }
                Ok(())
            })
        })
        .await;
        let error = result.unwrap_err();
        assert_eq!(error.to_string(), "real", "parallel {parallel}");
        assert_eq!(error.suppressed().len(), 1, "parallel {parallel}");
        assert!(error.suppressed()[0].is_panic());
    }
}

/// R4: in a `supervisor_scope`, an awaited `async_parallel` child whose
/// work's drop panics gives the failure to its awaiter only, never also to
/// the exception handler, as in place.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_awaited_parallel_child_s_drop_panic_is_not_also_reported() {
    for parallel in [false, true] {
        let reported = Arc::new(AtomicUsize::new(0));
        let counted = reported.clone();
        let scope = scopes::with_exception_handler(
            move |_: &scopes::Error| {
                counted.fetch_add(1, Ordering::SeqCst);
            },
            supervisor_scope(move |s| {
                Box::pin(async move {
                    let started = Arc::new(AtomicUsize::new(0));
                    let flag = started.clone();
                    let work = panics_when_dropped(async move {
                        flag.store(1, Ordering::SeqCst);
                        delay(Duration::from_secs(3600)).await?;
                        Ok(1u32)
                    });
                    let deferred = if parallel {
                        s.child().async_parallel(work)
                    } else {
                        s.r#async(work)
                    };
                    until(&started).await?;
                    deferred.cancel();
                    assert!(deferred.await.unwrap_err().is_panic());
                    Ok(())
                })
            }),
        );
        tokio::time::timeout(Duration::from_secs(10), scope)
            .await
            .expect("the scope hung")
            .unwrap();
        assert_eq!(reported.load(Ordering::SeqCst), 0, "parallel {parallel}");
    }
}

/// Polls `fut` on this thread, parking between polls.
fn block_on<F: std::future::Future>(fut: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let mut fut = std::pin::pin!(fut);
    let waker = std::task::Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = std::task::Context::from_waker(&waker);
    loop {
        if let std::task::Poll::Ready(output) = fut.as_mut().poll(&mut cx) {
            return output;
        }
        std::thread::park();
    }
}

/// Runs the scope `scope` makes, polled off its runtime's workers (inside
/// the runtime's context, on a thread of its own), and shuts the runtime
/// down once the scope's child says it started (through the sender it is
/// given), or before the scope starts with `shut_first`. What the scope
/// returned; the test fails if it never returns.
fn under_a_runtime_shutting_down<T, S>(shut_first: bool, scope: S) -> Result<T>
where
    T: Send + 'static,
    S: FnOnce(mpsc::Sender<()>) -> Result<T> + Send + 'static,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let handle = runtime.handle().clone();
    let (started_tx, started) = mpsc::channel::<()>();
    let (done_tx, done) = mpsc::channel::<Result<T>>();
    if shut_first {
        runtime.shutdown_timeout(Duration::from_secs(5));
    } else {
        // Moved into a thread of its own only to be shut down there.
        std::thread::spawn(move || {
            started.recv().unwrap();
            runtime.shutdown_timeout(Duration::from_secs(5));
        });
    }
    std::thread::spawn(move || {
        let _context = handle.enter();
        done_tx.send(scope(started_tx)).unwrap();
    });
    done.recv_timeout(Duration::from_secs(10))
        .expect("the scope never returned after its runtime shut down")
}

/// A scope polled off its runtime's workers (inside the runtime's context)
/// returns when the runtime shuts down under its running parallel child,
/// or had shut down before the child was spawned: the child ends
/// cancelled (its task was dropped), not forgotten.
#[test]
fn a_runtime_shutting_down_under_a_parallel_child_ends_it_and_its_scope_returns() {
    for shut_before_spawn in [false, true] {
        let result = under_a_runtime_shutting_down(shut_before_spawn, |started_tx| {
            block_on(coroutine_scope(move |s| {
                Box::pin(async move {
                    let job = s.child().launch_parallel(async move {
                        let _ = started_tx.send(());
                        std::future::pending::<()>().await;
                        Ok(())
                    });
                    job.join().await?;
                    Ok(job.is_cancelled())
                })
            }))
        });
        // A child that ends cancelled does not fail its scope (R2).
        assert!(result.unwrap(), "shut before spawn: {shut_before_spawn}");
    }
}

/// R10 after R7: a parallel child cancelled while it runs `non_cancellable`
/// work (so the cancel's wake resumes it and it suspends again) still stops
/// at once when its scope's future is dropped: the drop reaches its task,
/// which drops the work there, not when the shielded wait would have ended.
#[tokio::test(start_paused = true)]
async fn a_parallel_child_shielded_through_a_cancel_stops_when_its_scope_is_dropped() {
    struct Dropped(Option<tokio::sync::oneshot::Sender<Instant>>);
    impl Drop for Dropped {
        fn drop(&mut self) {
            let now = tokio::time::Instant::now().into_std();
            let _ = self.0.take().map(|tx| tx.send(now));
        }
    }
    let (tx, rx) = tokio::sync::oneshot::channel();
    let start = tokio::time::Instant::now().into_std();
    let scope = coroutine_scope(|s| {
        Box::pin(async move {
            let child = s.child().launch_parallel(async move {
                let _guard = Dropped(Some(tx));
                non_cancellable(delay(Duration::from_secs(60))).await
            });
            delay(Duration::from_millis(10)).await?;
            child.cancel();
            std::future::pending::<Result<()>>().await
        })
    });
    let outcome = tokio::time::timeout(Duration::from_millis(20), scope).await;
    assert!(
        outcome.is_err(),
        "the scope was still waiting for its child"
    );
    let dropped_at = rx.await.expect("the child's work was dropped");
    assert_eq!(dropped_at - start, Duration::from_millis(20));
}

/// A runtime shutting down under a parallel child drops its task; a panic
/// while its work is dropped there is the child's failure, and its scope
/// fails with it (the scope keeps no `JoinHandle` to read it from: the
/// task reports it).
#[test]
fn a_panic_dropping_a_parallel_child_s_work_at_runtime_shutdown_fails_its_scope() {
    scopes_workspace::quiet_panics_starting_with("expected:");
    struct Bomb;
    impl Drop for Bomb {
        fn drop(&mut self) {
            panic!("expected: a panic dropping the work at shutdown");
        }
    }
    let result = under_a_runtime_shutting_down(false, |started_tx| {
        block_on(coroutine_scope(move |s| {
            Box::pin(async move {
                s.child().launch_parallel(async move {
                    let _bomb = Bomb;
                    let _ = started_tx.send(());
                    std::future::pending::<()>().await;
                    Ok(())
                });
                Ok(())
            })
        }))
    });
    let error = result.unwrap_err();
    let panicked = "panicked: expected: a panic dropping the work at shutdown";
    assert!(
        error.is_panic() && error.to_string().starts_with(panicked),
        "{error}"
    );
}
