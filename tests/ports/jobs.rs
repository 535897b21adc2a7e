//! kotlinx JobTest, CancellableContinuationTest, ProduceTest and
//! exceptions/JobExceptionHandlingTest leftovers. A root `Job()` is a
//! `launch` child of a `supervisor_scope` with a recording handler (its
//! failure is "uncaught"); Kotlin's `ATOMIC` start becomes a yield before
//! the cancel (R7: a child cancelled before it first runs never runs);
//! `suspendCancellableCoroutine` is `cancellable(oneshot)`.

use super::common::*;
use scopes::prelude::*;
use std::sync::{Arc, OnceLock};

// JobTest.testOnCancellingHandler (the handler is the cancel_and_join's return)
#[tokio::test(start_paused = true)]
async fn job_on_cancelling_handler() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        let job = launch { log.push(2); delay(FOREVER).await?; };
        log.push(1);
        yield_now().await?;
        job.cancel();
        assert!(!job.is_active() && job.is_cancelled());
        job.join().await?;
        log.push(3);
        assert!(job.is_completed() && job.is_cancelled());
        log.push(4);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), nums(4));
}

// JobTest.testIncompleteJobState
#[tokio::test(start_paused = true)]
async fn job_incomplete_job_state() {
    let r: scopes::Result<()> = coroutine_scope! {
        let job = launch { yield_now().await?; };
        assert!(job.is_active() && !job.is_completed() && !job.is_cancelled());
        job.join().await?;
        assert!(job.is_completed());
        assert!(!job.is_active());
        assert!(!job.is_cancelled());
        Ok(())
    };
    r.unwrap();
}

// JobTest.testInvokeOnCancellingFiringOnNormalExit
#[tokio::test(start_paused = true)]
async fn job_invoke_on_cancelling_firing_on_normal_exit() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        let job = launch { log.push(2); };
        log.push(1);
        job.join().await?;
        assert!(!job.is_cancelled());
        log.push(3);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), nums(3));
}

// CancellableContinuationTest.testResumeWithExceptionAndResumeWithException
#[tokio::test(start_paused = true)]
async fn cancellable_resume_with_exception() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        let (tx, rx) = tokio::sync::oneshot::channel::<scopes::Result<()>>();
        let job = launch {
            log.push(2);
            match cancellable(rx).await?.unwrap() {
                Err(e) if name_of(&e) == Some("TestException") => log.push(3),
                other => panic!("{other:?}"),
            };
        };
        log.push(1);
        yield_now().await?;
        tx.send(Err(fail("TestException"))).unwrap();
        yield_now().await?;
        job.join().await?;
        log.push(4);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), nums(4));
}

// CancellableContinuationTest.testResumeAndResume
#[tokio::test(start_paused = true)]
async fn cancellable_resume_and_resume() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let job = launch {
            log.push(2);
            cancellable(rx).await?.unwrap();
            log.push(3);
        };
        log.push(1);
        yield_now().await?;
        tx.send(()).unwrap();
        job.join().await?;
        assert!(!job.is_cancelled());
        log.push(4);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), nums(4));
}

// CancellableContinuationTest.testCancelAndResume /
// testCancelAndResumeWithException: a resume after the cancel is ignored.
#[tokio::test(start_paused = true)]
async fn cancellable_cancel_and_resume() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let job = launch {
            log.push(2);
            let r = cancellable(rx).await;
            assert!(r.as_ref().unwrap_err().is_cancellation());
            log.push(3);
            let _ = r?;
        };
        log.push(1);
        yield_now().await?;
        job.cancel();
        yield_now().await?;
        let _ = tx.send(()); // should not fail anything
        assert!(job.is_completed() && job.is_cancelled());
        log.push(4);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), nums(4));
}

// CancellableResumeTest-like prompt cancellation: the foreign future is
// ready, but the job is cancelled before it resumes: cancellable gives the
// cancellation (R7 prompt cancellation).
#[tokio::test(start_paused = true)]
async fn cancellable_resumed_then_cancelled_before_dispatch() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        let (tx, rx) = tokio::sync::oneshot::channel::<u32>();
        let job = launch {
            log.push(2);
            let r = cancellable(rx).await;
            log.push(format!("4 {}", r.as_ref().map_or_else(|e| e.is_cancellation().to_string(), |v| format!("{v:?}"))));
            let _ = r?;
        };
        log.push(1);
        yield_now().await?;
        tx.send(7).unwrap();
        job.cancel();
        log.push(3);
        job.join().await?;
        log.push(5);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), ["1", "2", "3", "4 true", "5"]);
}

// ProduceTest.testUncaughtExceptionsInProduce: a supervised child of the
// producer fails; the handler gets it; the producer still sends.
#[tokio::test(start_paused = true)]
async fn produce_uncaught_exceptions_in_produce() {
    let (got, h) = recorder();
    let r: scopes::Result<()> = with_exception_handler(h, async {
        coroutine_scope! {
            let c = produce!(|tx: Sender<u32>| {
                supervisor_scope! {
                    let j = launch { Err::<(), _>(fail("TestException")) };
                    j.join().await?;
                    Ok(())
                }?;
                tx.send(3).await?;
            });
            assert_eq!(c.recv().await?, Some(3));
            Ok(())
        }
    })
    .await;
    r.unwrap();
    assert_eq!(names(&got), [Some("TestException")]);
}

// ProduceTest.testCancelOnCompletion: cancelling the producer (its receiver)
// while it waits in another channel's receive; its cleanup cancels that source.
#[tokio::test(start_paused = true)]
async fn produce_cancel_on_completion() {
    let log = Log::default();
    let log = &log;
    let (source_tx, source) = channel::<u32>(0);
    let source = &source;
    let r: scopes::Result<()> = coroutine_scope! {
        log.push(1);
        let produced = produce!(|_tx: Sender<u32>| {
            log.push(2);
            let r = source.recv().await;
            source.cancel(); // onCompletion = { source.cancelConsumed(it) }
            r?;
        });
        yield_now().await?;
        log.push(3);
        produced.cancel();
        let e = source.recv().await.unwrap_err();
        assert!(e.is_cancellation());
        log.push(4);
        Ok(())
    };
    r.unwrap();
    drop(source_tx);
    assert_eq!(log.take(), nums(4));
}

// JobExceptionHandlingTest.testExceptionOnChildCancellation: the job cancels
// itself; its child fails in its cleanup: the job fails with that failure,
// which reaches the handler once.
#[tokio::test(start_paused = true)]
async fn job_exception_on_child_cancellation() {
    let log = Log::default();
    let log = &log;
    let (got, h) = recorder();
    let r: scopes::Result<()> = with_exception_handler(h, async {
        supervisor_scope! {
            let cell: Arc<OnceLock<Job<'_>>> = Arc::new(OnceLock::new());
            let own = cell.clone();
            let job = launch {
                log.push(2);
                launch {
                    log.push(3);
                    if yield_now().await.is_err() {
                        return Err(fail("ArithmeticException"));
                    }
                };
                yield_now().await?;
                log.push(4);
                own.get().unwrap().cancel();
            };
            let _ = cell.set(job.clone());
            log.push(1);
            job.join().await?;
            assert!(job.is_cancelled());
            log.push(5);
            Ok(())
        }
    })
    .await;
    r.unwrap();
    assert_eq!(log.take(), nums(5));
    assert_eq!(names(&got), [Some("ArithmeticException")]);
}

// JobExceptionHandlingTest.testInnerChildException (ATOMIC: the body yields
// before cancelling, so the job and its child have run)
#[tokio::test(start_paused = true)]
async fn job_inner_child_exception() {
    let log = Log::default();
    let log = &log;
    let (got, h) = recorder();
    let r: scopes::Result<()> = with_exception_handler(h, async {
        supervisor_scope! {
            let job = launch {
                log.push(2);
                launch { log.push(3); Err::<(), _>(fail("ArithmeticException")) };
                yield_now().await?;
            };
            log.push(1);
            yield_now().await?;
            yield_now().await?;
            job.cancel_and_join().await?;
            log.push(4);
            Ok(())
        }
    })
    .await;
    r.unwrap();
    assert_eq!(log.take(), nums(4));
    assert_eq!(names(&got), [Some("ArithmeticException")]);
}

// JobExceptionHandlingTest.testExceptionDuringCancellation (ATOMIC: a yield
// lets the child run and fail before the cancel)
#[tokio::test(start_paused = true)]
async fn job_exception_during_cancellation() {
    let log = Log::default();
    let log = &log;
    let (got, h) = recorder();
    let r: scopes::Result<()> = with_exception_handler(h, async {
        supervisor_scope! {
            let child = launch { log.push(2); Err::<(), _>(fail("IllegalStateException")) };
            log.push(1);
            yield_now().await?;
            child.cancel_and_join().await?;
            assert!(child.is_completed() && !child.is_active());
            log.push(3);
            Ok(())
        }
    })
    .await;
    r.unwrap();
    assert_eq!(log.take(), nums(3));
    assert_eq!(names(&got), [Some("IllegalStateException")]);
}

// JobExceptionHandlingTest.testAsyncCancellationWithCauseAndParent: the
// parent fails (a sibling's failure, R2); the awaiting body gets a plain
// cancellation, with nothing suppressed.
#[tokio::test(start_paused = true)]
async fn job_async_cancellation_with_cause_and_parent() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        let deferred = async { log.push(2); delay(FOREVER).await?; Ok(1u32) };
        log.push(1);
        yield_now().await?;
        launch { Err::<(), _>(fail("IOException")) };
        let e = deferred.await.unwrap_err();
        assert!(e.is_cancellation(), "{e:?}");
        assert!(e.suppressed().is_empty());
        log.push(3);
        Err(e)
    };
    let e = r.unwrap_err();
    assert_eq!(name_of(&e), Some("IOException"), "{e:?}");
    assert!(e.suppressed().is_empty(), "{e:?}");
    assert_eq!(log.take(), nums(3));
}

// JobExceptionHandlingTest.testAsyncCancellationWithCauseAndParentDoesNotTriggerHandling
#[tokio::test(start_paused = true)]
async fn job_async_cancellation_with_cause_and_parent_does_not_trigger_handling() {
    let log = Log::default();
    let log = &log;
    let (got, h) = recorder();
    let r: scopes::Result<()> = with_exception_handler(h, async {
        supervisor_scope! {
            let parent = launch {
                let job = launch { log.push(2); delay(FOREVER).await?; };
                log.push(1);
                yield_now().await?;
                launch { Err::<(), _>(fail("IOException")) };
                job.join().await?;
                log.push(3);
            };
            parent.join().await?;
            Ok(())
        }
    })
    .await;
    r.unwrap();
    // The parent fails with IOException; the cancelled child adds nothing.
    assert_eq!(names(&got), [Some("IOException")]);
    assert!(got.lock().unwrap()[0].suppressed().is_empty());
    assert_eq!(log.take(), nums(2));
}

// JobExceptionHandlingTest.testExceptionIsNotReported(TripleChain): a
// failure inside nested jobs of a coroutineScope fails the scope and is not
// reported to the handler.
#[tokio::test(start_paused = true)]
async fn job_exception_is_not_reported_triple_chain() {
    let (got, h) = recorder();
    let r: scopes::Result<()> = with_exception_handler(h, async {
        coroutine_scope! {
            launch {
                launch {
                    launch { Err::<(), _>(fail("TestException")) };
                };
            };
            Ok(())
        }
    })
    .await;
    assert_eq!(name_of(&r.unwrap_err()), Some("TestException"));
    assert!(got.lock().unwrap().is_empty());
}

// JobExceptionHandlingTest.testMultipleChildrenAndParentThrowsAtomic (the
// children run before the parent fails: it yields once first)
#[tokio::test(start_paused = true)]
async fn job_multiple_children_and_parent_throws() {
    let log = Log::default();
    let log = &log;
    let (got, h) = recorder();
    let r: scopes::Result<()> = with_exception_handler(h, async {
        supervisor_scope! {
            let job = launch {
                log.push(2);
                launch {
                    log.push(3);
                    let _ = yield_now().await;
                    Err::<(), _>(fail("IOException"))
                };
                launch {
                    log.push(4);
                    let _ = yield_now().await;
                    Err::<(), _>(fail("IllegalArgumentException"))
                };
                let _ = yield_now().await;
                Err::<(), _>(fail("AssertionError"))
            };
            log.push(1);
            job.join().await?;
            log.push(5);
            Ok(())
        }
    })
    .await;
    r.unwrap();
    assert_eq!(log.take(), nums(5));
    let got = got.lock().unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(name_of(&got[0]), Some("AssertionError"), "{:?}", got[0]);
    let sup: Vec<_> = got[0].suppressed().iter().map(name_of).collect();
    assert_eq!(
        sup,
        [Some("IOException"), Some("IllegalArgumentException")],
        "{:?}",
        got[0]
    );
}
