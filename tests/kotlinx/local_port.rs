//! The same Kotlin scenarios in local scopes (SPEC §2d: every rule holds),
//! on a current_thread runtime (the test default).

use super::common::*;
use scopes::channel::UNLIMITED;
use scopes::prelude::*;

// testLaunchChild, TestException: the launch child is cancelled by its own
// child's failure (its join reports cancellation, code after it never runs),
// and the outer coroutine_scope fails with the grandchild's error.
#[tokio::test(start_paused = true)]
async fn local_launch_child_failing_grandchild_cancels_parent() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! { local;
        log.push(1);
        launch {
            let grandchild = launch { Err::<(), _>(fail("boom")) };
            let j = grandchild.join().await;
            log.push(format!("after join {:?}", j.as_ref().map_err(|e| e.is_cancellation())));
            j?;
            log.push("unreached");
        };
        log.push(2);
        Ok(())
    };
    log.push(3);
    let e = r.unwrap_err();
    assert_eq!(name_of(&e), Some("boom"));
    assert!(e.suppressed().is_empty(), "{e:?}");
    assert_eq!(log.take(), ["1", "2", "after join Err(true)", "3"]);
}

// testSupervisorChild, TestException: the grandchild's failure goes to the
// handler; the supervisor scope and everything above stays active.
#[tokio::test(start_paused = true)]
async fn local_supervisor_scope_child_failing_grandchild_goes_to_handler() {
    let (got, h) = recorder();
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = with_exception_handler(h, async move {
        coroutine_scope! { local;
            let j = launch {
                supervisor_scope! { local;
                    let grandchild = launch { Err::<(), _>(fail("boom")) };
                    grandchild.join().await?;
                    log.push(format!("after join handled={}", 1));
                    Ok(())
                }?;
                log.push(format!("child active={}", is_active()));
            };
            j.join().await?;
            log.push(format!("body active={}", is_active()));
            Ok(())
        }
    })
    .await;
    r.unwrap();
    let got = got.lock().unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(name_of(&got[0]), Some("boom"));
    assert_eq!(
        log.take(),
        [
            "after join handled=1",
            "child active=true",
            "body active=true"
        ]
    );
}

// testWithTimeoutChild, TestException: with_timeout is a scope; a child's
// failure in it is rethrown by it, the caller stays active.
#[tokio::test(start_paused = true)]
async fn local_with_timeout_child_rethrows_and_parent_stays_active() {
    let log = Log::default();
    let log = &log;
    let start = tokio::time::Instant::now();
    let r: scopes::Result<()> = coroutine_scope! { local;
        let inner: scopes::Result<()> = with_timeout(ms(1000)) {
            let grandchild = launch { Err::<(), _>(fail("boom")) };
            grandchild.join().await?;
            log.push("unreached");
            Ok(())
        };
        let e = inner.unwrap_err();
        log.push(format!("caught {:?} timeout={} active={}", name_of(&e), e.is_timeout(), is_active()));
        yield_now().await?;
        Ok(())
    };
    r.unwrap();
    assert_eq!(start.elapsed(), ms(0));
    assert_eq!(
        log.take(),
        ["caught Some(\"boom\") timeout=false active=true"]
    );
}

// testLaunchChild, CancellationException: the grandchild ends cancelled,
// nobody else is cancelled.
#[tokio::test(start_paused = true)]
async fn local_launch_child_cancelled_grandchild_cancels_nobody() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! { local;
        launch {
            let grandchild = launch { Err::<(), _>(Error::cancelled()) };
            grandchild.join().await?;
            log.push(format!("after join gc_cancelled={}", grandchild.is_cancelled()));
            yield_now().await?;
            log.push("still active");
        };
        yield_now().await?;
        yield_now().await?;
        log.push(format!("body active={}", is_active()));
        Ok(())
    };
    r.unwrap();
    // Kotlin order: L(launch G, join) body(yield) G(ends) body(log) L(log).
    assert_eq!(
        log.take(),
        [
            "body active=true",
            "after join gc_cancelled=true",
            "still active"
        ]
    );
}

// testSupervisorThrowsWithFailingChild: a child failing in its cleanup goes to
// the handler (R6), the scope returns the body's failure.
#[tokio::test(start_paused = true)]
async fn local_supervisor_throws_with_failing_child() {
    let log = Log::default();
    let log = &log;
    let (got, h) = recorder();
    let r: scopes::Result<()> = with_exception_handler(h, async {
        supervisor_scope! { local;
            log.push(1);
            launch { log.push(2); delay(FOREVER).await?; };
            launch {
                log.push(3);
                let _ = delay(FOREVER).await;
                Err::<(), _>(fail("2"))
            };
            yield_now().await?;
            log.push(4);
            Err(fail("1"))
        }
    })
    .await;
    let e = r.unwrap_err();
    assert_eq!(name_of(&e), Some("1"));
    assert!(
        e.suppressed().is_empty(),
        "supervisor: goes to the handler, not suppressed: {e:?}"
    );
    log.push(5);
    assert_eq!(log.take(), ["1", "2", "3", "4", "5"]);
    let got: Vec<_> = got.lock().unwrap().iter().map(|e| name_of(e)).collect();
    assert_eq!(got, [Some("2")]);
}

// testSupervisorScopeCancellationVsException: the job is cancelled before the
// supervisor_scope's body throws: the scope gives the real failure (R6).
#[tokio::test(start_paused = true)]
async fn local_supervisor_scope_cancellation_vs_exception() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! { local;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let job = launch {
            log.push(2);
            let r: scopes::Result<()> = supervisor_scope! { local;
                log.push(3);
                yield_now().await?;
                log.push(5);
                tx.send(()).unwrap(); // ask the body to cancel this job
                non_cancellable { yield_now().await?; }?; // let it
                log.push(format!("cancelled={}", is_active()));
                Err(fail("1"))
            };
            let e = r.unwrap_err();
            log.push(format!("6 {:?} cancellation={}", name_of(&e), e.is_cancellation()));
        };
        log.push(1);
        yield_now().await?;
        log.push(4);
        rx.await.unwrap();
        job.cancel();
        job.join().await?;
        log.push(7);
        Ok(())
    };
    r.unwrap();
    assert_eq!(
        log.take(),
        [
            "1",
            "2",
            "3",
            "4",
            "5",
            "cancelled=false",
            "6 Some(\"1\") cancellation=false",
            "7"
        ]
    );
}

// testSupervisorScopeIsolation.
#[tokio::test(start_paused = true)]
async fn local_supervisor_scope_isolation() {
    let (got, h) = recorder();
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<&str> = with_exception_handler(h, async {
        supervisor_scope! { local;
            log.push(1);
            let job = launch { log.push(2); delay(FOREVER).await?; };
            let failing = launch { log.push(3); Err::<(), _>(fail("2")) };
            failing.join().await?;
            yield_now().await?;
            log.push(4);
            assert!(job.is_active());
            assert!(!job.is_cancelled());
            assert!(failing.is_cancelled() && failing.is_completed());
            job.cancel();
            Ok("OK")
        }
    })
    .await;
    assert_eq!(r.unwrap(), "OK");
    log.push(5);
    assert_eq!(log.take(), ["1", "2", "3", "4", "5"]);
    assert_eq!(got.lock().unwrap().len(), 1);
}

// ProduceTest.testCancelWhenTheChannelIsClosed: the producer closed its
// channel and waits for a child of its own; cancelling the receiver still
// cancels the producer (and its child) at once.
#[tokio::test(start_paused = true)]
async fn local_cancel_when_the_channel_is_closed_cancels_the_producer() {
    let log = Log::default();
    let log = &log;
    let start = tokio::time::Instant::now();
    let r: scopes::Result<()> = coroutine_scope! { local;
        let channel = produce!(|tx| {
            tx.send(1).await?;
            tx.close();
            log.push(2);
            launch {
                log.push(3);
                let r = delay(FOREVER).await;
                log.push(5);
                r
            };
        });
        log.push(1);
        assert_eq!(channel.recv().await?, Some(1));
        yield_now().await?;
        log.push(4);
        channel.cancel();
        Ok(())
    };
    r.unwrap();
    log.push(6);
    assert_eq!(start.elapsed(), ms(0));
    assert_eq!(log.take(), ["1", "2", "3", "4", "5", "6"]);
}

// ProduceExceptionsTest.testSuppressedException: the producer's child fails,
// the producer's cleanup fails too: the receiver gets the first failure with
// the second suppressed.
#[tokio::test(start_paused = true)]
async fn local_produce_suppressed_exception_reaches_receiver() {
    let (got, h) = recorder();
    let r: scopes::Result<()> = with_exception_handler(h, async {
        supervisor_scope! { local;
            let rx = produce!(|_tx: Sender<u32>| {
                launch { Err::<(), _>(fail("t1")) };
                let _ = delay(FOREVER).await;
                Err::<(), _>(fail("t2"))
            });
            let e = rx.recv().await.unwrap_err();
            assert_eq!(name_of(&e), Some("t1"), "{e:?}");
            let sup: Vec<_> = e.suppressed().iter().map(|e| name_of(e)).collect();
            assert_eq!(sup, [Some("t2")], "{e:?}");
            Ok(())
        }
    })
    .await;
    r.unwrap();
    assert!(
        got.lock().unwrap().is_empty(),
        "the receiver took it: {:?}",
        got.lock().unwrap()
    );
}

// ProduceExceptionsTest.testSuppressedExceptionUncaught: the same, but the
// receiver cancels the channel: the handler gets t1 with t2 suppressed.
#[tokio::test(start_paused = true)]
async fn local_produce_suppressed_exception_uncaught_goes_to_handler() {
    let (got, h) = recorder();
    let r: scopes::Result<()> = with_exception_handler(h, async {
        supervisor_scope! { local;
            let rx = produce!(|_tx: Sender<u32>| {
                launch { Err::<(), _>(fail("t1")) };
                let _ = delay(FOREVER).await;
                Err::<(), _>(fail("t2"))
            });
            // Kotlin's child is ATOMIC; here it must run before the cancel
            // (one cancelled before its first run never runs, R7).
            yield_now().await?;
            yield_now().await?;
            rx.cancel();
            Ok(())
        }
    })
    .await;
    r.unwrap();
    let got = got.lock().unwrap();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(name_of(&got[0]), Some("t1"), "{got:?}");
    let sup: Vec<_> = got[0].suppressed().iter().map(|e| name_of(e)).collect();
    assert_eq!(sup, [Some("t2")]);
}

// ProduceTest.testCancellingProduceCoroutineButNotChannel: the producer is
// cancelled by its own child's failure; what it sends in its cleanup is
// still received, then the failure.
#[tokio::test(start_paused = true)]
async fn local_cancelling_produce_coroutine_but_not_channel() {
    let (got, h) = recorder();
    let r: scopes::Result<()> = with_exception_handler(h, async {
        supervisor_scope! { local;
            let c = produce!(capacity = UNLIMITED; |tx| {
                launch { Err::<(), _>(fail("t")) };
                if yield_now().await.is_err() {
                    non_cancellable {
                        for i in 0..10u32 { tx.send(i).await?; }
                    }?;
                }
            });
            for i in 0..10u32 { assert_eq!(c.recv().await?, Some(i)); }
            let e = c.recv().await.unwrap_err();
            assert_eq!(name_of(&e), Some("t"));
            Ok(())
        }
    })
    .await;
    r.unwrap();
    assert!(got.lock().unwrap().is_empty());
}

// AsyncTest.testDeferWithTwoWaiters: waiters resumed in order (R14).
#[tokio::test(start_paused = true)]
async fn local_defer_with_two_waiters() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! { local;
        log.push(1);
        let d = async { log.push(5); yield_now().await?; log.push(9); Ok(42) };
        log.push(2);
        let d1 = d.clone();
        launch { log.push(6); assert_eq!(d1.await?, 42); log.push(11); };
        log.push(3);
        let d2 = d.clone();
        launch { log.push(7); assert_eq!(d2.await?, 42); log.push(12); };
        log.push(4);
        yield_now().await?;
        log.push(8);
        yield_now().await?;
        log.push(10);
        yield_now().await?;
        log.push(13);
        Ok(())
    };
    r.unwrap();
    let want: Vec<String> = (1..=13).map(|i| i.to_string()).collect();
    assert_eq!(log.take(), want);
}

// JobStatesTest.testCompletingFailed (NonCancellable → supervisor_scope): a
// lazy job whose body ended is active while its child runs; the child fails;
// the job ends cancelled; the handler gets the failure.
#[tokio::test(start_paused = true)]
async fn local_job_states_completing_failed() {
    let log = Log::default();
    let log = &log;
    let (got, h) = recorder();
    let r: scopes::Result<()> = with_exception_handler(h, async {
        supervisor_scope! { local;
            log.push(1);
            let job = launch(start = lazy) {
                log.push(2);
                launch { log.push(4); Err::<(), _>(fail("t")) };
            };
            assert!(!job.is_active() && !job.is_completed() && !job.is_cancelled());
            job.start();
            assert!(job.is_active() && !job.is_completed() && !job.is_cancelled());
            yield_now().await?;
            log.push(3);
            assert!(job.is_active() && !job.is_completed() && !job.is_cancelled());
            yield_now().await?;
            log.push(5);
            assert!(!job.is_active(), "after its child failed");
            assert!(job.is_completed());
            assert!(job.is_cancelled());
            Ok(())
        }
    })
    .await;
    r.unwrap();
    assert_eq!(log.take(), ["1", "2", "3", "4", "5"]);
    let got: Vec<_> = got.lock().unwrap().iter().map(|e| name_of(e)).collect();
    assert_eq!(got, [Some("t")]);
}

// AsyncLazyTest.testLazyDeferAndYield2: awaiting a lazy child starts it; a
// sibling sees it active; it runs after the sibling's queued run (R14).
#[tokio::test(start_paused = true)]
async fn local_async_lazy_defer_and_yield2() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! { local;
        log.push(1);
        let d = async(start = lazy) { log.push(7); Ok(42) };
        log.push(2);
        assert!(!d.is_active() && !d.is_completed());
        let dj = d.job().clone();
        launch {
            log.push(4);
            assert!(!dj.is_active() && !dj.is_completed());
            yield_now().await?;
            log.push(6);
            assert!(dj.is_active() && !dj.is_completed(), "started by main's await");
            yield_now().await?;
        };
        log.push(3);
        assert!(!d.is_active() && !d.is_completed());
        yield_now().await?;
        log.push(5);
        assert!(!d.is_active() && !d.is_completed());
        let d2 = d.clone();
        assert_eq!(d.await?, 42);
        assert!(!d2.is_active() && d2.is_completed() && !d2.is_cancelled());
        log.push(8);
        Ok(())
    };
    r.unwrap();
    let want: Vec<String> = (1..=8).map(|i| i.to_string()).collect();
    assert_eq!(log.take(), want);
}

// AsyncTest.testAsyncWithFinally: a value returned in cleanup does not
// override the cancellation; states along the way.
#[tokio::test(start_paused = true)]
async fn local_async_with_finally() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! { local;
        log.push(1);
        let d = async {
            log.push(3);
            if yield_now().await.is_err() {
                log.push(6);
                return Ok("Fail");
            }
            Ok("Fail2")
        };
        log.push(2);
        yield_now().await?;
        log.push(4);
        assert!(d.is_active() && !d.is_completed() && !d.is_cancelled());
        d.cancel();
        assert!(!d.is_active() && !d.is_completed() && d.is_cancelled());
        log.push(5);
        let dc = d.clone();
        let e = d.await.unwrap_err();
        log.push(7);
        assert!(e.is_cancellation());
        assert!(!dc.is_active() && dc.is_completed() && dc.is_cancelled());
        log.push(8);
        Ok(())
    };
    r.unwrap();
    let want: Vec<String> = (1..=8).map(|i| i.to_string()).collect();
    assert_eq!(log.take(), want);
}

// R9: a real failure raised during the cleanup of a with_timeout's *child*
// wins over the timeout (Kotlin: the first non-cancellation exception is the
// final cause).
#[tokio::test(start_paused = true)]
async fn local_with_timeout_child_failing_in_cleanup_wins_over_timeout() {
    let start = tokio::time::Instant::now();
    let r: scopes::Result<()> = coroutine_scope! { local;
        let r: scopes::Result<()> = with_timeout(ms(100)) {
            launch {
                let _ = delay(FOREVER).await;
                Err::<(), _>(fail("cleanup"))
            };
            delay(FOREVER).await?;
            Ok(())
        };
        let e = r.unwrap_err();
        assert_eq!(name_of(&e), Some("cleanup"), "{e:?}");
        assert!(!e.is_timeout());
        Ok(())
    };
    r.unwrap();
    assert_eq!(start.elapsed(), ms(100));
}

// R6/R2 (Kotlin: first non-cancellation exception is the final cause): a
// nested scope whose job is cancelled from outside, whose child fails in its
// cleanup, returns that failure; the child that entered it fails with it and
// fails the outer coroutine_scope.
#[tokio::test(start_paused = true)]
async fn local_failure_in_cleanup_after_outer_cancel_fails_the_job() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! { local;
        let j = launch {
            let inner: scopes::Result<()> = coroutine_scope! { local;
                launch {
                    let _ = delay(FOREVER).await;
                    Err::<(), _>(fail("cleanup"))
                };
                delay(FOREVER).await?;
                Ok(())
            };
            log.push(format!("inner {:?}", inner.as_ref().map_err(|e| (name_of(e), e.is_cancellation()))));
            inner?;
        };
        yield_now().await?;
        yield_now().await?;
        j.cancel();
        let jr = j.join().await;
        log.push(format!("join {:?}", jr.as_ref().map_err(|e| e.is_cancellation())));
        Ok(())
    };
    let e = r.unwrap_err();
    assert_eq!(name_of(&e), Some("cleanup"), "{e:?}");
    assert_eq!(
        log.take(),
        ["inner Err((Some(\"cleanup\"), false))", "join Err(true)"]
    );
}

// coroutine_scope: a child cancelled by the body (job.cancel) that fails in its
// cleanup fails the scope (Kotlin: a child failing — even while cancelling —
// cancels the parent).
#[tokio::test(start_paused = true)]
async fn local_coroutine_scope_child_cancelled_then_failing_in_cleanup_fails_scope() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! { local;
        let c = launch {
            let _ = delay(FOREVER).await;
            Err::<(), _>(fail("cleanup"))
        };
        yield_now().await?;
        c.cancel();
        let j = c.join().await;
        log.push(format!("join {:?}", j.as_ref().map_err(|e| e.is_cancellation())));
        j?;
        log.push("unreached");
        Ok(())
    };
    assert_eq!(name_of(&r.unwrap_err()), Some("cleanup"));
    assert_eq!(log.take(), ["join Err(true)"]);
}

// CoroutineScopeTest.testOuterJobIsCancelled: the job that entered the scope
// is cancelled; the scope's child cleans up; the scope returns a
// cancellation (without a failure cause).
#[tokio::test(start_paused = true)]
async fn local_outer_job_is_cancelled() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! { local;
        let outer = launch {
            log.push(1);
            let r: scopes::Result<u32> = coroutine_scope! { local;
                launch {
                    log.push(3);
                    let r = delay(FOREVER).await;
                    log.push(4);
                    r
                };
                log.push(2);
                delay(FOREVER).await?;
                Ok(42)
            };
            let e = r.unwrap_err();
            log.push(format!("5 cancellation={}", e.is_cancellation()));
        };
        for _ in 0..3 { yield_now().await?; }
        outer.cancel();
        outer.join().await?;
        log.push(6);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), ["1", "2", "3", "4", "5 cancellation=true", "6"]);
}

// CoroutinesTest.testParentCrashCancelsChildren (supervisor mapping): a
// failed launch waits for its cancelled children's cleanup.
#[tokio::test(start_paused = true)]
async fn local_parent_crash_cancels_children_and_waits_for_them() {
    let log = Log::default();
    let log = &log;
    let (got, h) = recorder();
    let r: scopes::Result<()> = with_exception_handler(h, async {
        supervisor_scope! { local;
            log.push(1);
            let parent = launch {
                launch {
                    log.push(2);
                    let r = yield_now().await;
                    log.push(5);
                    non_cancellable { yield_now().await?; }?;
                    log.push(7);
                    r
                };
                yield_now().await?;
                log.push(4);
                Err::<(), _>(fail("crashed"))
            };
            yield_now().await?;
            log.push(3);
            yield_now().await?;
            log.push(6);
            parent.join().await?;
            log.push(8);
            assert!(parent.is_cancelled());
            Ok(())
        }
    })
    .await;
    r.unwrap();
    // FIFO: body(1) P(launch C, yield) body(3) C(2) P(4, fails) body(6, join) C(5, 7)
    assert_eq!(log.take(), ["1", "3", "2", "4", "6", "5", "7", "8"]);
    assert_eq!(got.lock().unwrap().len(), 1);
}

// JobTest.testCancelAndJoinParentWaitChildren: join of a cancelled parent
// waits for its children's cleanup.
#[tokio::test(start_paused = true)]
async fn local_cancel_and_join_parent_waits_children() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! { local;
        log.push(1);
        let parent = launch {
            launch {
                log.push(2);
                let r = yield_now().await;
                log.push(format!("5 {:?}", r.as_ref().map_err(|e| e.is_cancellation())));
                let r2 = delay(FOREVER).await; // cancelled: at once
                r?;
                r2
            };
            delay(FOREVER).await?;
        };
        yield_now().await?;
        yield_now().await?;
        log.push(3);
        parent.cancel();
        log.push(4);
        assert!(!parent.is_completed());
        parent.join().await?;
        assert!(parent.is_completed() && parent.is_cancelled());
        log.push(6);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), ["1", "2", "3", "4", "5 Err(true)", "6"]);
}

// CoroutinesTest.testJoinWithFinally: right after cancel the job is neither
// active nor completed; join waits for its cleanup.
#[tokio::test(start_paused = true)]
async fn local_join_with_finally_states() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! { local;
        log.push(1);
        let job = launch {
            log.push(3);
            let r = yield_now().await;
            log.push(7);
            r
        };
        log.push(2);
        yield_now().await?;
        log.push(4);
        assert!(job.is_active() && !job.is_completed());
        job.cancel();
        log.push(5);
        assert!(!job.is_active() && !job.is_completed(), "cancelling: not active, not completed");
        log.push(6);
        job.join().await?;
        log.push(8);
        assert!(!job.is_active() && job.is_completed());
        log.push(9);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), ["1", "2", "3", "4", "5", "6", "7", "8", "9"]);
}

// R8: a scope entered inside non_cancellable in a cancelled job runs its
// children normally (Kotlin: withContext(NonCancellable) { coroutineScope {
// launch { delay } } } completes).
#[tokio::test(start_paused = true)]
async fn local_children_of_scope_inside_non_cancellable_run_normally() {
    let log = Log::default();
    let log = &log;
    let start = tokio::time::Instant::now();
    let r: scopes::Result<()> = coroutine_scope! { local;
        let j = launch {
            let r = delay(FOREVER).await;
            non_cancellable {
                coroutine_scope! { local;
                    launch { delay(ms(5)).await?; log.push("child done"); };
                    let d = async { delay(ms(7)).await?; Ok(3u8) };
                    log.push(format!("d={}", d.await?));
                    Ok(())
                }?;
            }?;
            r
        };
        yield_now().await?;
        j.cancel();
        Ok(())
    };
    r.unwrap();
    assert_eq!(start.elapsed(), ms(7));
    assert_eq!(log.take(), ["child done", "d=3"]);
}

// R8 + R9: with_timeout inside non_cancellable in a cancelled job works as
// if nothing were cancelled.
#[tokio::test(start_paused = true)]
async fn local_with_timeout_inside_non_cancellable_in_cancelled_job() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! { local;
        let j = launch {
            let r = delay(FOREVER).await;
            non_cancellable {
                let a: scopes::Result<u8> = with_timeout(ms(10)) { delay(ms(5)).await?; Ok(1u8) };
                log.push(format!("a={:?}", a.map_err(|e| e.is_cancellation())));
                let b: scopes::Result<u8> = with_timeout(ms(10)) { delay(ms(50)).await?; Ok(1u8) };
                log.push(format!("b timeout={:?}", b.map_err(|e| e.is_timeout())));
            }?;
            r
        };
        yield_now().await?;
        j.cancel();
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), ["a=Ok(1)", "b timeout=Err(true)"]);
}
