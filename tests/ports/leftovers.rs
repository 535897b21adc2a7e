//! kotlinx CoroutinesTest, AwaitTest, AsyncLazyTest, JobBasicCancellationTest,
//! CoroutineExceptionHandlerTest and exceptions/JobExceptionHandlingTest,
//! JobNestedExceptionsTest leftovers. A root `Job()` is a `launch` child of
//! a `supervisor_scope` with a recording handler; `async(NonCancellable)`
//! is an `async` child of a `supervisor_scope` (its failure cancels
//! nobody); Kotlin's `ATOMIC` start is a yield (or a failing cleanup)
//! before the cancel, since a child cancelled before it first runs never
//! runs (R7).

use super::common::*;
use scopes::prelude::*;

// CoroutinesTest.testWaitChild: the scope waits for its child (R1, R14).
#[tokio::test(start_paused = true)]
async fn coroutines_wait_child() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        log.push(1);
        launch {
            log.push(3);
            yield_now().await?;
            log.push(5);
        };
        log.push(2);
        yield_now().await?;
        log.push(4);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), nums(5));
}

// CoroutinesTest.testCancelChildExplicit
#[tokio::test(start_paused = true)]
async fn coroutines_cancel_child_explicit() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        log.push(1);
        let job = launch {
            log.push(3);
            yield_now().await?;
            log.push("unreached");
        };
        log.push(2);
        yield_now().await?;
        log.push(4);
        job.cancel();
        log.push(5);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), nums(5));
}

// CoroutinesTest.testCancelParentOnChildException: the child's failure
// cancels the body suspended in yield (R2).
#[tokio::test(start_paused = true)]
async fn coroutines_cancel_parent_on_child_exception() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        log.push(1);
        launch {
            log.push(3);
            Err::<(), _>(fail("TestException"))
        };
        log.push(2);
        let y = yield_now().await;
        log.push(format!("yield cancelled={}", y.unwrap_err().is_cancellation()));
        Ok(())
    };
    assert_eq!(name_of(&r.unwrap_err()), Some("TestException"));
    assert_eq!(log.take(), ["1", "2", "3", "yield cancelled=true"]);
}

// CoroutinesTest.testYieldInFinally: the body fails; its cleanup yields
// (the body is not cancelled: its own failure is not a cancel of itself).
#[tokio::test(start_paused = true)]
async fn coroutines_yield_in_finally() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        log.push(1);
        let r: scopes::Result<()> = async move {
            log.push(2);
            Err(fail("TestException"))
        }
        .await;
        log.push(3);
        yield_now().await?;
        log.push(4);
        r
    };
    assert_eq!(name_of(&r.unwrap_err()), Some("TestException"));
    assert_eq!(log.take(), nums(4));
}

// CoroutinesTest.testCancelAndJoinChildren: cancel_children() cancels the
// children, not the caller; joining them resumes each for its cleanup.
#[tokio::test(start_paused = true)]
async fn coroutines_cancel_and_join_children() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        log.push(1);
        let job = launch {
            log.push(2);
            let y = yield_now().await;
            log.push(5);
            y?;
            log.push("unreached");
        };
        yield_now().await?;
        log.push(3);
        cancel_children();
        log.push(4);
        job.join().await?;
        assert!(is_active());
        assert!(job.is_cancelled());
        log.push(6);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), nums(6));
}

// CoroutinesTest.testNotCancellableChildWithExceptionCancelled: a child
// of a supervisor is cancelled after it started and then fails: the
// failure beats the cancellation (R6); its Deferred gives the failure.
#[tokio::test(start_paused = true)]
async fn coroutines_not_cancellable_child_with_exception_cancelled() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = supervisor_scope! {
        log.push(1);
        let d = async {
            let _ = non_cancellable(yield_now()).await;
            log.push(4);
            Err::<(), _>(fail("TestException"))
        };
        yield_now().await?;
        log.push(2);
        d.cancel();
        log.push(3);
        let e = d.await.unwrap_err();
        assert_eq!(name_of(&e), Some("TestException"), "{e:?}");
        log.push(5);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), nums(5));
}

// AwaitTest.testAwaitAllPartiallyCompleted
#[tokio::test(start_paused = true)]
async fn await_all_partially_completed() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        let d1 = async { log.push(1); Ok(1) };
        let d1b = d1.clone();
        d1.await?;
        let d2 = async { log.push(3); Ok(2) };
        log.push(2);
        let j1 = d1b.job().clone();
        let j2 = d2.job().clone();
        assert_eq!(await_all([d1b, d2]).await?, [1, 2]);
        assert!(j1.is_completed() && j2.is_completed());
        log.push(4);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), nums(4));
}

// AwaitTest.testAwaitAllFullyCompleted: awaiting completed Deferreds does
// not suspend: a sibling's first step runs after the caller's next line.
#[tokio::test(start_paused = true)]
async fn await_all_fully_completed_does_not_suspend() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        let d1 = async { Ok(()) };
        let d2 = async { Ok(()) };
        let (j1, j2) = (d1.job().clone(), d2.job().clone());
        join_all([&j1, &j2]).await?;
        let job = async { log.push(3); Ok(()) };
        log.push(1);
        await_all([d1, d2]).await?;
        log.push(2);
        job.await?;
        log.push(4);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), nums(4));
}

// AwaitTest.testAwaitAllFullyCompletedExceptionally (supervised: the
// failures cancel nobody)
#[tokio::test(start_paused = true)]
async fn await_all_fully_completed_exceptionally() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = supervisor_scope! {
        let d1 = async { Err::<(), _>(fail("TestException1")) };
        let d2 = async { Err::<(), _>(fail("TestException2")) };
        let (j1, j2) = (d1.job().clone(), d2.job().clone());
        join_all([&j1, &j2]).await?;
        let job = async { log.push(3); Ok(()) };
        log.push(1);
        let e = await_all([d1, d2]).await.unwrap_err();
        assert_eq!(name_of(&e), Some("TestException1"), "{e:?}");
        log.push(2);
        job.await?;
        log.push(4);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), nums(4));
}

// AwaitTest.testAwaitAllSameThrowingJobMultipleTimes
#[tokio::test(start_paused = true)]
async fn await_all_same_throwing_job_multiple_times() {
    let r: scopes::Result<()> = supervisor_scope! {
        let d1 = async { Err::<(), _>(fail("TestException")) };
        let d2 = async { Ok(()) };
        let e = await_all([d1.clone(), d2.clone(), d1, d2]).await.unwrap_err();
        assert_eq!(name_of(&e), Some("TestException"), "{e:?}");
        Ok(())
    };
    r.unwrap();
}

// AwaitTest.testJoinAllLazy: join_all starts lazy children, in order.
#[tokio::test(start_paused = true)]
async fn join_all_lazy() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        log.push(1);
        let d = async(start = lazy) { log.push(2); Ok(()) };
        let d2 = launch(start = lazy) { log.push(3); };
        join_all([d.job(), &d2]).await?;
        assert!(d.is_completed() && d2.is_completed());
        log.push(4);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), nums(4));
}

// AwaitTest.testJoinAllExceptionally: join_all waits for every job and does
// not report their failures (supervised: Kotlin's NonCancellable).
#[tokio::test(start_paused = true)]
async fn join_all_exceptionally() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = supervisor_scope! {
        let d1 = launch { log.push(2); };
        let d2 = async { log.push(3); Err::<(), _>(fail("TestException")) };
        let d3 = async { log.push(4); Ok(()) };
        log.push(1);
        join_all([&d1, d2.job(), d3.job()]).await?;
        log.push(5);
        assert_eq!(name_of(&d2.await.unwrap_err()), Some("TestException"));
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), nums(5));
}

// AwaitTest.testJoinAllSameJob / testJoinAllSameJobExceptionally
#[tokio::test(start_paused = true)]
async fn join_all_same_job() {
    let r: scopes::Result<()> = supervisor_scope! {
        let job = launch { yield_now().await?; };
        join_all([&job, &job, &job]).await?;
        let d = async { yield_now().await?; Err::<(), _>(fail("TestException")) };
        join_all([d.job(), d.job(), d.job()]).await?;
        assert!(d.is_completed());
        assert_eq!(name_of(&d.await.unwrap_err()), Some("TestException"));
        Ok(())
    };
    r.unwrap();
}

// AsyncLazyTest.testLazyDeferAndYieldException: a lazy child started by
// await yields (nothing else runs), then fails: await gives its failure and
// the coroutine_scope fails with it (R3).
#[tokio::test(start_paused = true)]
async fn lazy_defer_and_yield_exception() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        log.push(1);
        let d = async(start = lazy) {
            log.push(3);
            yield_now().await?;
            log.push(4);
            Err::<(), _>(fail("TestException"))
        };
        log.push(2);
        assert!(!d.is_active() && !d.is_completed());
        let e = d.await.unwrap_err();
        log.push(format!("await {:?}", name_of(&e)));
        Ok(())
    };
    assert_eq!(name_of(&r.unwrap_err()), Some("TestException"));
    assert_eq!(
        log.take(),
        ["1", "2", "3", "4", "await Some(\"TestException\")"]
    );
}

// JobBasicCancellationTest.testJobCancelChildAtomic (default start: the
// child cancelled before it first runs never runs); the parent is not
// cancelled by it.
#[tokio::test(start_paused = true)]
async fn job_cancel_child_before_it_runs() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        let parent = launch {
            log.push(1);
            let child = launch { log.push("unreached"); };
            log.push(2);
            child.cancel();
            child.join().await?;
            assert!(child.is_cancelled() && child.is_completed());
            yield_now().await?;
            log.push(3);
        };
        parent.join().await?;
        assert!(parent.is_completed());
        assert!(!parent.is_cancelled());
        log.push(4);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), nums(4));
}

// JobBasicCancellationTest.testAsyncCancelChildAtomic (ATOMIC as a yield:
// the child runs, then is cancelled)
#[tokio::test(start_paused = true)]
async fn async_cancel_child_after_it_ran() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        let parent = async {
            log.push(1);
            let child = async {
                log.push(3);
                delay(FOREVER).await?;
                Ok(())
            };
            log.push(2);
            yield_now().await?;
            child.cancel();
            child.join().await?;
            log.push(4);
            Ok(7)
        };
        assert_eq!(parent.await?, 7);
        log.push(5);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), nums(5));
}

// JobNestedExceptionsTest.testNestedAtomicThrow: the outer root job fails
// while its child is being cancelled; the child fails in its cleanup: the
// handler gets the outer failure with the child's suppressed, once.
#[tokio::test(start_paused = true)]
async fn nested_atomic_throw() {
    let log = Log::default();
    let log = &log;
    let (got, h) = recorder();
    let r: scopes::Result<()> = with_exception_handler(h, async {
        supervisor_scope! {
            log.push(1);
            let job = launch(name = "outer") {
                log.push(2);
                launch(name = "nested") {
                    log.push(3);
                    let _ = delay(FOREVER).await;
                    log.push(5);
                    Err::<(), _>(fail("IOException"))
                };
                yield_now().await?;
                log.push(4);
                Err::<(), _>(fail("ArithmeticException"))
            };
            job.join().await?;
            log.push(6);
            Ok(())
        }
    })
    .await;
    r.unwrap();
    assert_eq!(log.take(), nums(6));
    let got = got.lock().unwrap();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(name_of(&got[0]), Some("ArithmeticException"));
    let sup: Vec<_> = got[0].suppressed().iter().map(name_of).collect();
    assert_eq!(sup, [Some("IOException")], "{:?}", got[0]);
}

// JobExceptionHandlingTest.testExceptionIsNotReportedTripleChain: a
// failure three jobs down fails the coroutine_scope and is handed to the
// handler by nobody.
#[tokio::test(start_paused = true)]
async fn exception_is_not_reported_triple_chain() {
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
    let e = r.unwrap_err();
    assert_eq!(name_of(&e), Some("TestException"));
    assert!(e.suppressed().is_empty(), "{e:?}");
    assert!(got.lock().unwrap().is_empty());
}

// CoroutineExceptionHandlerTest.testJob: a root job's failure goes to the
// handler (a launch child of a supervisor_scope), after the failing child
// ran and before its join returns.
#[tokio::test(start_paused = true)]
async fn exception_handler_gets_a_root_job_failure() {
    let log = Log::default();
    let log = &log;
    let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let g = got.clone();
    let lg = log.clone();
    let h = move |e: &scopes::Error| {
        g.lock().unwrap().push(e.clone());
        lg.push(3);
    };
    let r: scopes::Result<()> = with_exception_handler(h, async {
        supervisor_scope! {
            log.push(1);
            let job = launch { Err::<(), _>(fail("TestException")) };
            log.push(2);
            job.join().await?;
            log.push(4);
            Ok(())
        }
    })
    .await;
    r.unwrap();
    assert_eq!(log.take(), nums(4));
    assert_eq!(names(&got), [Some("TestException")]);
}

// CoroutineExceptionHandlerTest.testCompletableDeferred: an async child's
// failure is kept in its Deferred, the handler is not invoked (R4).
#[tokio::test(start_paused = true)]
async fn exception_handler_not_invoked_for_async_failure_kept_in_deferred() {
    let (got, h) = recorder();
    let r: scopes::Result<()> = with_exception_handler(h, async {
        supervisor_scope! {
            let d = async { Err::<(), _>(fail("TestException")) };
            d.join().await?;
            assert!(d.is_cancelled());
            assert_eq!(name_of(&d.await.unwrap_err()), Some("TestException"));
            Ok(())
        }
    })
    .await;
    r.unwrap();
    assert!(got.lock().unwrap().is_empty());
}
