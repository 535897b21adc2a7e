//! SPEC §2b: `limit = n` (at most n children of a scope run at once, the
//! rest wait in start order; cancelling a waiting child completes it at
//! once; a waiting child never counts towards fail-fast until it runs),
//! `cancel_children()` (cancels every child of the current scope, not the
//! caller) and `cancel_on(signal, fut)` (a timeout by a future, which lets
//! the work clean up). Paused clock, exact virtual times.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use scopes::{
    Error, ScopeOptions, Start, cancel_children, coroutine_scope, coroutine_scope_with, delay,
    non_cancellable, supervisor_scope_with, yield_now,
};
use scopes_workspace::Log;
use tokio::time::Instant;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn limit(n: usize) -> ScopeOptions {
    ScopeOptions::new().limit(n)
}

#[tokio::test(start_paused = true)]
async fn limit_runs_at_most_n_children_at_once_the_rest_in_start_order() {
    let log = Log::default();
    let log = &log;
    let start = Instant::now();
    let (running, most) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let (running, most) = (&running, &most);
    coroutine_scope_with(limit(2), |s| {
        Box::pin(async move {
            for (i, d) in [30u64, 10, 10, 20, 5].into_iter().enumerate() {
                s.launch(async move {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    log.push(format!("{i} starts at {}", start.elapsed().as_millis()));
                    delay(ms(d)).await?;
                    running.fetch_sub(1, Ordering::SeqCst);
                    Ok(())
                });
            }
            Ok(())
        })
    })
    .await
    .unwrap();
    assert_eq!(most.load(Ordering::SeqCst), 2);
    assert_eq!(
        log.take(),
        [
            "0 starts at 0",
            "1 starts at 0",
            "2 starts at 10",
            "3 starts at 20",
            "4 starts at 30",
        ]
    );
    assert_eq!(start.elapsed(), ms(40));
}

#[tokio::test(start_paused = true)]
async fn limit_cancelling_a_waiting_child_completes_it_at_once_and_it_never_runs() {
    let ran = AtomicUsize::new(0);
    let ran = &ran;
    coroutine_scope_with(limit(1), |s| {
        Box::pin(async move {
            let first = s.launch(async { delay(ms(100)).await });
            let waiting = s.r#async(async move {
                ran.fetch_add(1, Ordering::SeqCst);
                Ok(1)
            });
            yield_now().await?; // `first` runs, `waiting` is held
            assert!(first.is_active() && waiting.is_active());
            waiting.cancel();
            assert!(waiting.is_completed() && waiting.is_cancelled());
            assert!(waiting.await.unwrap_err().is_cancellation());
            Ok(())
        })
    })
    .await
    .unwrap();
    assert_eq!(ran.load(Ordering::SeqCst), 0);
}

/// A child launched while every place is taken waits from its launch, not
/// from when the scope first gets to it: cancelled before the body next
/// suspends, it completes at once and never runs.
#[tokio::test(start_paused = true)]
async fn limit_cancelling_a_child_launched_into_a_full_limit_completes_it_at_once() {
    let ran = AtomicUsize::new(0);
    let ran = &ran;
    let start = Instant::now();
    coroutine_scope_with(limit(1), |s| {
        Box::pin(async move {
            let first = s.launch(async { delay(ms(100)).await });
            yield_now().await?; // `first` runs and takes the only place
            let waiting = s.launch(async move {
                ran.fetch_add(1, Ordering::SeqCst);
                Ok(())
            });
            waiting.cancel();
            assert!(waiting.is_completed() && waiting.is_cancelled());
            waiting.join().await?; // completed: no suspension, no time
            assert_eq!(start.elapsed(), ms(0));
            assert!(first.is_active());
            Ok(())
        })
    })
    .await
    .unwrap();
    assert_eq!(ran.load(Ordering::SeqCst), 0);
    assert_eq!(start.elapsed(), ms(100));
}

/// A lazy child started while every place is taken waits for one;
/// cancelling it completes it at once.
#[tokio::test(start_paused = true)]
async fn limit_cancelling_a_started_lazy_child_waiting_for_a_place_completes_it_at_once() {
    let ran = AtomicUsize::new(0);
    let ran = &ran;
    coroutine_scope_with(limit(1), |s| {
        Box::pin(async move {
            s.launch(async { delay(ms(100)).await });
            let lazy = s.child().start(Start::Lazy).launch(async move {
                ran.fetch_add(1, Ordering::SeqCst);
                Ok(())
            });
            yield_now().await?;
            assert!(lazy.start());
            lazy.cancel();
            assert!(lazy.is_completed() && lazy.is_cancelled());
            assert!(!lazy.start(), "a completed child does not start again");
            Ok(())
        })
    })
    .await
    .unwrap();
    assert_eq!(ran.load(Ordering::SeqCst), 0);
}

/// `cancel_children` completes at once the children waiting for a place,
/// also those launched since the body last suspended (the scope has not
/// taken them yet), and lets the running one clean up.
#[tokio::test(start_paused = true)]
async fn limit_cancel_children_completes_waiting_children_at_once() {
    let ran = AtomicUsize::new(0);
    let ran = &ran;
    let start = Instant::now();
    coroutine_scope_with(limit(1), |s| {
        Box::pin(async move {
            let running = s.launch(async {
                let cancelled = delay(ms(100)).await;
                non_cancellable(delay(ms(5))).await?; // cleanup
                cancelled
            });
            let held = s.launch(async move {
                ran.fetch_add(1, Ordering::SeqCst);
                Ok(())
            });
            yield_now().await?; // `running` runs, `held` is held
            let fresh: Vec<_> = (0..3)
                .map(|_| {
                    s.launch(async move {
                        ran.fetch_add(1, Ordering::SeqCst);
                        Ok(())
                    })
                })
                .collect();
            cancel_children();
            assert!(held.is_completed());
            assert!(
                fresh
                    .iter()
                    .all(|job| job.is_completed() && job.is_cancelled())
            );
            assert!(running.is_cancelled() && !running.is_completed());
            running.join().await?; // its cleanup runs
            assert_eq!(start.elapsed(), ms(5));
            Ok(())
        })
    })
    .await
    .unwrap();
    assert_eq!(ran.load(Ordering::SeqCst), 0);
}

#[tokio::test(start_paused = true)]
async fn limit_a_waiting_child_never_counts_towards_fail_fast_until_it_runs() {
    let ran = AtomicUsize::new(0);
    let ran = &ran;
    let start = Instant::now();
    let err = coroutine_scope_with(limit(1), |s| {
        Box::pin(async move {
            s.launch(async {
                delay(ms(10)).await?;
                Err(Error::msg("first failed"))
            });
            for _ in 0..3 {
                s.launch(async move {
                    ran.fetch_add(1, Ordering::SeqCst);
                    Err(Error::msg("a waiting child failed"))
                });
            }
            Ok(())
        })
    })
    .await
    .unwrap_err();
    assert_eq!(err.to_string(), "first failed");
    assert!(err.suppressed().is_empty(), "{err:?}");
    assert_eq!(
        ran.load(Ordering::SeqCst),
        0,
        "the waiting children never ran"
    );
    assert_eq!(start.elapsed(), ms(10));
}

#[tokio::test(start_paused = true)]
async fn limit_in_a_supervisor_a_failed_child_frees_its_place() {
    let log = Log::default();
    let log = &log;
    let start = Instant::now();
    let handled = Log::default();
    let seen = handled.clone();
    scopes::with_exception_handler(
        move |e: &Error| seen.push(e.to_string()),
        supervisor_scope_with(limit(1), |s| {
            Box::pin(async move {
                s.launch(async {
                    delay(ms(5)).await?;
                    Err(Error::msg("boom"))
                });
                s.launch(async move {
                    log.push(format!("second starts at {}", start.elapsed().as_millis()));
                    Ok(())
                });
                Ok(())
            })
        }),
    )
    .await
    .unwrap();
    assert_eq!(log.take(), ["second starts at 5"]);
    assert_eq!(handled.take(), ["boom"]);
}

#[tokio::test(start_paused = true)]
async fn limit_applies_to_lazy_children_when_they_start() {
    let log = Log::default();
    let log = &log;
    let start = Instant::now();
    coroutine_scope_with(limit(1), |s| {
        Box::pin(async move {
            let lazy = s.child().start(Start::Lazy).launch(async move {
                log.push(format!("lazy at {}", start.elapsed().as_millis()));
                Ok(())
            });
            s.launch(async { delay(ms(7)).await });
            yield_now().await?;
            lazy.start();
            Ok(())
        })
    })
    .await
    .unwrap();
    assert_eq!(log.take(), ["lazy at 7"]);
}

/// "The rest wait in start order": a lazy child's place in that order is
/// its start, not its launch.
#[tokio::test(start_paused = true)]
async fn limit_lazy_children_wait_in_the_order_they_were_started() {
    let log = Log::default();
    let log = &log;
    let start = Instant::now();
    coroutine_scope_with(limit(1), |s| {
        Box::pin(async move {
            let step = |name: &'static str| async move {
                log.push(format!("{name} at {}", start.elapsed().as_millis()));
                delay(ms(10)).await
            };
            s.launch(step("first"));
            let a = s.child().start(Start::Lazy).launch(step("a"));
            s.launch(step("b"));
            assert!(a.start());
            Ok(())
        })
    })
    .await
    .unwrap();
    assert_eq!(log.take(), ["first at 0", "b at 10", "a at 20"]);
}

#[tokio::test(start_paused = true)]
async fn limit_in_a_nested_scope_bounds_only_that_scope() {
    let (running, most) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let (running, most) = (&running, &most);
    let start = Instant::now();
    coroutine_scope(|s| {
        Box::pin(async move {
            for _ in 0..2 {
                s.launch(async move {
                    coroutine_scope_with(limit(2), |inner| {
                        Box::pin(async move {
                            for _ in 0..4 {
                                inner.launch(async move {
                                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                                    most.fetch_max(now, Ordering::SeqCst);
                                    delay(ms(10)).await?;
                                    running.fetch_sub(1, Ordering::SeqCst);
                                    Ok(())
                                });
                            }
                            Ok(())
                        })
                    })
                    .await
                });
            }
            Ok(())
        })
    })
    .await
    .unwrap();
    assert_eq!(
        most.load(Ordering::SeqCst),
        4,
        "two nested scopes of two each"
    );
    assert_eq!(start.elapsed(), ms(20));
}

// ------------------------------------------------------- cancel_children

#[tokio::test(start_paused = true)]
async fn cancel_children_cancels_the_scopes_children_not_the_caller() {
    let log = Log::default();
    let log = &log;
    let start = Instant::now();
    let served = coroutine_scope(|s| {
        Box::pin(async move {
            for i in 0..3 {
                s.launch(async move {
                    if let Err(cancelled) = delay(ms(3_600_000)).await {
                        non_cancellable(delay(ms(5))).await?;
                        log.push(format!("connection {i} closed"));
                        return Err(cancelled);
                    }
                    Ok(())
                });
            }
            delay(ms(100)).await?;
            cancel_children();
            assert!(scopes::is_active(), "the caller goes on");
            Ok("served")
        })
    })
    .await
    .unwrap();
    assert_eq!(served, "served");
    assert_eq!(
        log.take(),
        [
            "connection 0 closed",
            "connection 1 closed",
            "connection 2 closed"
        ]
    );
    assert_eq!(start.elapsed(), ms(105));
}

/// `non_cancellable` is Kotlin's `withContext(NonCancellable)`: a scope of
/// its own, so `cancel_children()` inside it leaves the enclosing scope's
/// children alone (found by a port of kotlinx's CoroutinesTest).
#[tokio::test(start_paused = true)]
async fn cancel_children_inside_non_cancellable_leaves_the_enclosing_scopes_children() {
    let outcome = coroutine_scope(|s| {
        Box::pin(async move {
            let sibling = s.launch(async { delay(ms(100)).await });
            yield_now().await?;
            non_cancellable(async { cancel_children() }).await;
            sibling.join().await?;
            Ok(sibling.is_cancelled())
        })
    })
    .await;
    assert!(
        !outcome.unwrap(),
        "the enclosing scope's child was cancelled"
    );
}

#[tokio::test(start_paused = true)]
async fn cancel_children_inside_a_non_cancellable_block_with_children_cancels_those() {
    let start = Instant::now();
    let outcome: scopes::Result<(bool, bool)> = scopes::coroutine_scope! {
        let sibling = launch { delay(ms(100)).await?; };
        yield_now().await?;
        let inner = non_cancellable {
            let own = launch { delay(ms(3_600_000)).await?; };
            yield_now().await?;
            cancel_children();
            own.join().await?;
            Ok(own.is_cancelled())
        }?;
        sibling.join().await?;
        Ok((inner, sibling.is_cancelled()))
    };
    assert_eq!(outcome.unwrap(), (true, false));
    assert_eq!(start.elapsed(), ms(100));
}

#[tokio::test(start_paused = true)]
async fn cancel_children_covers_children_started_before_it_not_after() {
    let ran = Log::default();
    let ran = &ran;
    coroutine_scope(|s| {
        Box::pin(async move {
            let before = s.launch(async move {
                ran.push("before");
                Ok(())
            });
            cancel_children();
            let after = s.launch(async move {
                ran.push("after");
                Ok(())
            });
            yield_now().await?;
            assert!(before.is_cancelled());
            assert!(!after.is_cancelled());
            Ok(())
        })
    })
    .await
    .unwrap();
    assert_eq!(ran.take(), ["after"]);
}

#[tokio::test(start_paused = true)]
async fn cancel_children_in_a_child_cancels_only_that_childs_children() {
    let log = Log::default();
    let log = &log;
    coroutine_scope(|s| {
        Box::pin(async move {
            let sibling = s.launch(async move {
                delay(ms(50)).await?;
                log.push("sibling done");
                Ok(())
            });
            s.launch(async move {
                coroutine_scope(|inner| {
                    Box::pin(async move {
                        let grandchild = inner.launch(async { delay(ms(3_600_000)).await });
                        yield_now().await?;
                        cancel_children();
                        grandchild.join().await?;
                        log.push("grandchild cancelled");
                        Ok(())
                    })
                })
                .await
            });
            sibling.join().await
        })
    })
    .await
    .unwrap();
    assert_eq!(log.take(), ["grandchild cancelled", "sibling done"]);
}

#[tokio::test(start_paused = true)]
async fn cancel_children_outside_any_scope_does_nothing() {
    cancel_children();
    assert!(scopes::is_active());
}

// -------------------------------------------------------------- cancel_on

/// A child that sleeps for an hour and, when cancelled, flushes for
/// `flush` ms in `non_cancellable` and logs it.
async fn server(log: &Log, flush: u64) -> scopes::Result<&'static str> {
    if let Err(cancelled) = delay(ms(3_600_000)).await {
        non_cancellable(delay(ms(flush))).await?;
        log.push("flushed");
        return Err(cancelled);
    }
    Ok("done")
}

#[tokio::test(start_paused = true)]
async fn cancel_on_the_signal_first_cancels_the_work_lets_it_clean_up_and_gives_none() {
    let log = Log::default();
    let log = &log;
    let start = Instant::now();
    let out = scopes::cancel_on(tokio::time::sleep(ms(50)), server(log, 7)).await;
    assert_eq!(out.unwrap(), None);
    assert_eq!(log.take(), ["flushed"]);
    assert_eq!(start.elapsed(), ms(57), "returned once the cleanup had run");
}

#[tokio::test(start_paused = true)]
async fn cancel_on_the_work_first_gives_its_value_or_its_failure() {
    let value = scopes::cancel_on(tokio::time::sleep(ms(50)), async {
        delay(ms(10)).await?;
        Ok(3)
    })
    .await;
    assert_eq!(value.unwrap(), Some(3));
    let failed = scopes::cancel_on(std::future::pending::<()>(), async {
        Err::<u8, _>(Error::msg("failed"))
    })
    .await;
    assert_eq!(failed.unwrap_err().to_string(), "failed");
}

#[tokio::test(start_paused = true)]
async fn cancel_on_the_signal_wins_even_if_the_work_returns_a_value_in_its_cleanup() {
    let out = scopes::cancel_on(tokio::time::sleep(ms(5)), async {
        let _ = delay(ms(100)).await; // swallows the cancellation
        Ok(1)
    })
    .await;
    assert_eq!(out.unwrap(), None);
}

#[tokio::test(start_paused = true)]
async fn cancel_on_a_failure_in_the_cleanup_wins_over_the_signal() {
    let out = scopes::cancel_on(tokio::time::sleep(ms(5)), async {
        if delay(ms(100)).await.is_err() {
            return Err::<u8, _>(Error::msg("cleanup failed"));
        }
        Ok(1)
    })
    .await;
    assert_eq!(out.unwrap_err().to_string(), "cleanup failed");
}

#[tokio::test(start_paused = true)]
async fn cancel_on_a_signal_already_complete_never_runs_the_work() {
    let ran = AtomicUsize::new(0);
    let ran = &ran;
    let out = scopes::cancel_on(std::future::ready(()), async move {
        ran.fetch_add(1, Ordering::SeqCst);
        Ok(1)
    })
    .await;
    assert_eq!(out.unwrap(), None);
    assert_eq!(ran.load(Ordering::SeqCst), 0);
}

#[tokio::test(start_paused = true)]
async fn cancel_on_a_whole_scope_drains_every_child_cleanup_unlike_select() {
    let log = Log::default();
    let log = &log;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let out = scopes::cancel_on(
        stopped,
        coroutine_scope(|s| {
            Box::pin(async move {
                for _ in 0..3 {
                    s.launch(async move { server(log, 2).await.map(drop) });
                }
                yield_now().await?;
                drop(stop); // the signal completes (the sender is gone)
                Ok(())
            })
        }),
    )
    .await;
    assert_eq!(out.unwrap(), None);
    assert_eq!(log.take(), ["flushed", "flushed", "flushed"]);
}

#[tokio::test(start_paused = true)]
async fn cancel_on_the_callers_cancellation_reaches_the_work() {
    let log = Log::default();
    let log = &log;
    coroutine_scope(|s| {
        Box::pin(async move {
            let caller = s.launch(async move {
                let out = scopes::cancel_on(std::future::pending::<()>(), server(log, 1)).await;
                log.push(format!("caller: {}", out.unwrap_err().is_cancellation()));
                Ok(())
            });
            delay(ms(10)).await?;
            caller.cancel();
            Ok(())
        })
    })
    .await
    .unwrap();
    assert_eq!(log.take(), ["flushed", "caller: true"]);
}

/// §2b with R11: under a limit, a lazy child started and then cancelled in
/// the same run of the body (before its scope took it) completes at once,
/// and its scope still lets it go and returns, in place or `parallel`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limit_a_lazy_child_started_then_cancelled_before_its_scope_took_it_lets_the_scope_return()
{
    for parallel in [false, true] {
        let scope = scopes::coroutine_scope_with(scopes::ScopeOptions::new().limit(1), move |s| {
            Box::pin(async move {
                let child = s.child().start(scopes::Start::Lazy);
                let job = if parallel {
                    child.launch_parallel(async { Ok(()) })
                } else {
                    child.launch(async { Ok(()) })
                };
                assert!(job.start());
                job.cancel();
                assert!(job.is_completed() && job.is_cancelled());
                Ok(())
            })
        });
        tokio::time::timeout(std::time::Duration::from_secs(10), scope)
            .await
            .unwrap_or_else(|_| panic!("parallel {parallel}: the scope hung"))
            .unwrap();
    }
}
