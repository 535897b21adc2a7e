//! kotlinx CoroutineScopeTest, JobTest, JobBasicCancellationTest,
//! CoroutinesTest, AwaitCancellationTest, CancelledParentAttachTest.

use super::common::*;
use scopes::prelude::*;

// CoroutineScopeTest.testScope
#[tokio::test(start_paused = true)]
async fn test_scope_order() {
    let log = Log::default();
    let log = &log;
    let call_job_scoped = || async move {
        coroutine_scope! {
            log.push(2);
            launch { log.push(4); };
            launch {
                log.push(5);
                launch { log.push(7); };
                log.push(6);
            };
            log.push(3);
            Ok(42)
        }
    };
    let r: scopes::Result<()> = coroutine_scope! {
        log.push(1);
        let v = call_job_scoped().await?;
        assert_eq!(v, 42);
        yield_now().await?;
        log.push(8);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), ["1", "2", "3", "4", "5", "6", "7", "8"]);
}

// CoroutineScopeTest.testScopeCancelledFromWithin
#[tokio::test(start_paused = true)]
async fn scope_cancelled_from_within() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        log.push(1);
        let inner: scopes::Result<()> = coroutine_scope! {
            launch { log.push(2); delay(FOREVER).await?; };
            launch { log.push(3); Err::<(), _>(fail("2")) };
            Ok(())
        };
        assert_eq!(name_of(&inner.unwrap_err()), Some("2"));
        log.push(4);
        yield_now().await?;
        log.push(5);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), ["1", "2", "3", "4", "5"]);
}

// CoroutineScopeTest.testScopeBlockThrows
#[tokio::test(start_paused = true)]
async fn scope_block_throws() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        log.push(1);
        let inner: scopes::Result<()> = coroutine_scope! {
            launch { log.push(2); delay(FOREVER).await?; };
            yield_now().await?;
            Err(fail("1"))
        };
        assert_eq!(name_of(&inner.unwrap_err()), Some("1"));
        log.push(3);
        yield_now().await?;
        log.push(4);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), ["1", "2", "3", "4"]);
}

// CoroutineScopeTest.testOuterJobIsCancelled: the job that entered the scope
// is cancelled; the scope's child cleans up; the scope returns a
// cancellation (without a failure cause).
#[tokio::test(start_paused = true)]
async fn outer_job_is_cancelled() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        let outer = launch {
            log.push(1);
            let r: scopes::Result<u32> = coroutine_scope! {
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

// CoroutineScopeTest.testAsyncCancellationFirst (without ATOMIC: the second
// child, cancelled before it first runs, never runs).
#[tokio::test(start_paused = true)]
async fn async_cancellation_first() {
    let log = Log::default();
    let log = &log;
    log.push(1);
    let r: scopes::Result<u32> = coroutine_scope! {
        let one = async { log.push(3); Err::<u32, _>(fail("1")) };
        let two = async {
            let r = delay(FOREVER).await;
            log.push("two cleanup");
            r?;
            Ok(42u32)
        };
        log.push(2);
        Ok(one.await? + two.await?)
    };
    assert_eq!(name_of(&r.unwrap_err()), Some("1"));
    log.push(6);
    assert_eq!(log.take(), ["1", "2", "3", "6"]);
}

// CoroutineScopeTest.testAsyncCancellationSecond
#[tokio::test(start_paused = true)]
async fn async_cancellation_second() {
    let log = Log::default();
    let log = &log;
    log.push(1);
    let r: scopes::Result<u32> = coroutine_scope! {
        let one = async {
            log.push(3);
            let r = delay(FOREVER).await;
            log.push(5);
            r?;
            Ok(42u32)
        };
        let two = async { log.push(4); Err::<u32, _>(fail("1")) };
        log.push(2);
        Ok(one.await? + two.await?)
    };
    let e = r.unwrap_err();
    assert_eq!(name_of(&e), Some("1"));
    assert!(e.suppressed().is_empty());
    log.push(6);
    assert_eq!(log.take(), ["1", "2", "3", "4", "5", "6"]);
}

// CoroutineScopeTest.testCoroutineScopeCancellationVsException
#[tokio::test(start_paused = true)]
async fn coroutine_scope_cancellation_vs_exception() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let job = launch {
            log.push(2);
            let r: scopes::Result<()> = coroutine_scope! {
                log.push(3);
                yield_now().await?;
                log.push(5);
                tx.send(()).unwrap();
                non_cancellable { yield_now().await?; }?;
                log.push(format!("active={}", is_active()));
                Err(fail("1"))
            };
            let e = r.unwrap_err();
            log.push(format!("6 {:?}", name_of(&e)));
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
            "active=false",
            "6 Some(\"1\")",
            "7"
        ]
    );
}

// JobTest.testCancelAndJoinParentWaitChildren: join of a cancelled parent
// waits for its children's cleanup.
#[tokio::test(start_paused = true)]
async fn cancel_and_join_parent_waits_children() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
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

// JobTest.testJobWithParentCancelNormally: cancelling a child does not
// cancel its parent.
#[tokio::test(start_paused = true)]
async fn cancelling_child_leaves_parent_active() {
    let r: scopes::Result<u8> = coroutine_scope! {
        let p = async {
            let c = launch { delay(FOREVER).await?; };
            yield_now().await?;
            c.cancel();
            c.join().await?;
            assert!(c.is_cancelled());
            assert!(is_active());
            delay(ms(1)).await?;
            Ok(7u8)
        };
        p.await
    };
    assert_eq!(r.unwrap(), 7);
}

// JobBasicCancellationTest.testJobCancelChild: cancelling a completed child
// is a no-op; join returns.
#[tokio::test(start_paused = true)]
async fn job_cancel_completed_child() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        let parent = launch {
            log.push(1);
            let child = launch { log.push(2); };
            yield_now().await?;
            log.push(3);
            child.cancel();
            child.join().await?;
            assert!(!child.is_cancelled(), "a completed child stays completed normally");
            log.push(4);
        };
        parent.join().await?;
        assert!(!parent.is_cancelled());
        log.push(5);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), ["1", "2", "3", "4", "5"]);
}

// JobBasicCancellationTest.testAsyncCancelChild: cancel on a completed async
// child is a no-op; await gives its value.
#[tokio::test(start_paused = true)]
async fn async_cancel_completed_child_keeps_value() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<u32> = coroutine_scope! {
        let parent = async {
            log.push(1);
            let child = async { log.push(2); Ok(10u32) };
            yield_now().await?;
            log.push(3);
            child.cancel();
            let v = child.await?;
            log.push(4);
            Ok(v + 1)
        };
        let v = parent.await?;
        log.push(5);
        Ok(v)
    };
    assert_eq!(r.unwrap(), 11);
    assert_eq!(log.take(), ["1", "2", "3", "4", "5"]);
}

// JobBasicCancellationTest.testNestedAsyncFailure (NonCancellable parents
// mapped to supervisor scopes): the failure travels through awaits.
#[tokio::test(start_paused = true)]
async fn nested_async_failure_through_awaits() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = supervisor_scope! {
        let deferred = async {
            supervisor_scope! {
                let nested = async { log.push(3); Err::<(), _>(fail("io")) };
                log.push(2);
                yield_now().await?;
                log.push(4);
                nested.await
            }
        };
        log.push(1);
        let e = deferred.await.unwrap_err();
        assert_eq!(name_of(&e), Some("io"));
        log.push(5);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), ["1", "2", "3", "4", "5"]);
}

// CoroutinesTest.testJoinWithFinally: right after cancel the job is neither
// active nor completed; join waits for its cleanup.
#[tokio::test(start_paused = true)]
async fn join_with_finally_states() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
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

// CoroutinesTest.testCancelParentOnNestedException
#[tokio::test(start_paused = true)]
async fn cancel_parent_on_nested_exception() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        log.push(1);
        launch {
            log.push(3);
            launch { log.push(6); Err::<(), _>(fail("t")) };
            log.push(4);
            yield_now().await?;
            log.push("unreached child");
        };
        log.push(2);
        yield_now().await?;
        log.push(5);
        yield_now().await?;
        log.push("unreached body");
        Ok(())
    };
    assert_eq!(name_of(&r.unwrap_err()), Some("t"));
    assert_eq!(log.take(), ["1", "2", "3", "4", "5", "6"]);
}

// CoroutinesTest.testCancelAndJoinChildCrash: after a child failed, the
// body's job is cancelled: cancel_and_join reports the caller's cancellation.
#[tokio::test(start_paused = true)]
async fn cancel_and_join_after_child_crash() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        let job = launch { log.push(2); Err::<(), _>(fail("t")) };
        log.push(1);
        non_cancellable { yield_now().await?; }?; // the child runs and fails
        log.push(3);
        let j = job.cancel_and_join().await;
        log.push(format!("join cancellation={:?}", j.as_ref().map_err(|e| e.is_cancellation())));
        j?;
        log.push("unreached");
        Ok(())
    };
    assert_eq!(name_of(&r.unwrap_err()), Some("t"));
    assert_eq!(log.take(), ["1", "2", "3", "join cancellation=Err(true)"]);
}

// CoroutinesTest.testParentCrashCancelsChildren (supervisor mapping): a
// failed launch waits for its cancelled children's cleanup.
#[tokio::test(start_paused = true)]
async fn parent_crash_cancels_children_and_waits_for_them() {
    let log = Log::default();
    let log = &log;
    let (got, h) = recorder();
    let r: scopes::Result<()> = with_exception_handler(h, async {
        supervisor_scope! {
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

// AwaitCancellationTest.testCancellation: awaiting a cancelled deferred in
// the body gives a cancellation, which the body returns: the scope ends
// with a cancellation.
#[tokio::test(start_paused = true)]
async fn await_cancelled_deferred() {
    let log = Log::default();
    let log = &log;
    log.push(1);
    let r: scopes::Result<()> = coroutine_scope! {
        let deferred = async {
            log.push(2);
            std::future::pending::<()>().cancellable().await?;
            Ok(())
        };
        yield_now().await?;
        log.push(3);
        assert!(deferred.is_active());
        deferred.cancel();
        log.push(4);
        deferred.await
    };
    assert!(r.unwrap_err().is_cancellation());
    assert_eq!(log.take(), ["1", "2", "3", "4"]);
}

// CancelledParentAttachTest.testAsync / testLaunch, all starts: children
// started in a cancelled job complete cancelled without running; the scope
// returns a cancellation.
#[tokio::test(start_paused = true)]
async fn cancelled_parent_attach_async_launch_all_starts() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        let j = launch {
            let _ = delay(FOREVER).await; // cancelled here
            let inner: scopes::Result<()> = coroutine_scope! {
                let a = async { log.push("async ran"); Ok(42) };
                let b = async(start = lazy) { log.push("lazy async ran"); Ok(42) };
                let c = launch { log.push("launch ran"); };
                let d = launch(start = lazy) { log.push("lazy launch ran"); };
                let e = launch(parallel) { Ok(()) };
                for (n, done, canc) in [("a", a.is_active(), a.is_cancelled()), ("b", b.is_active(), b.is_cancelled()),
                        ("c", c.is_active(), c.is_cancelled()), ("d", d.is_active(), d.is_cancelled()),
                        ("e", e.is_active(), e.is_cancelled())] {
                    log.push(format!("{n} active={done} cancelled={canc}"));
                }
                let r = b.await;
                log.push(format!("b await cancellation={:?}", r.map_err(|e| e.is_cancellation())));
                Ok(())
            };
            log.push(format!("inner cancellation={:?}", inner.map_err(|e| e.is_cancellation())));
        };
        yield_now().await?;
        j.cancel();
        Ok(())
    };
    r.unwrap();
    assert_eq!(
        log.take(),
        [
            "a active=false cancelled=true",
            "b active=false cancelled=true",
            "c active=false cancelled=true",
            "d active=false cancelled=true",
            "e active=false cancelled=true",
            "b await cancellation=Err(true)",
            "inner cancellation=Err(true)"
        ]
    );
}

// CancelledParentAttachTest.testProduce: a producer started in a cancelled
// job never runs; its receiver sees a cancellation (or the end).
#[tokio::test(start_paused = true)]
async fn cancelled_parent_attach_produce() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        let j = launch {
            let _ = delay(FOREVER).await;
            let inner: scopes::Result<()> = scopes::coroutine_scope(|s| Box::pin(async move {
                let rx = s.produce::<u32, _, _>(0, |tx| async move { log.push("producer ran"); tx.send(1).await });
                let got = rx.recv().await;
                log.push(format!("recv {:?}", got.map_err(|e| e.is_cancellation())));
                Ok(())
            })).await;
            log.push(format!("inner cancellation={:?}", inner.map_err(|e| e.is_cancellation())));
        };
        yield_now().await?;
        j.cancel();
        Ok(())
    };
    r.unwrap();
    assert_eq!(
        log.take(),
        ["recv Err(true)", "inner cancellation=Err(true)"]
    );
}

// CancelledParentAttachTest.testScopes: supervisor_scope and with_timeout in
// a cancelled job (coroutine_scope is r7_scope_entered_in_cancelled_job...).
#[tokio::test(start_paused = true)]
async fn cancelled_parent_attach_scopes() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        let j = launch {
            let _ = delay(FOREVER).await;
            let a: scopes::Result<()> = supervisor_scope! { log.push("supervisor body"); Ok(()) };
            log.push(format!("supervisor cancellation={:?}", a.map_err(|e| e.is_cancellation())));
            let b: scopes::Result<()> = with_timeout(std::time::Duration::MAX) { log.push("timeout body"); Ok(()) };
            log.push(format!("with_timeout cancellation={:?}", b.map_err(|e| e.is_cancellation())));
            let c: scopes::Result<Option<()>> = with_timeout_or_none(std::time::Duration::MAX) { Ok(()) };
            log.push(format!("with_timeout_or_none cancellation={:?}", c.map_err(|e| e.is_cancellation())));
        };
        yield_now().await?;
        j.cancel();
        Ok(())
    };
    r.unwrap();
    assert_eq!(
        log.take(),
        [
            "supervisor body",
            "supervisor cancellation=Err(true)",
            "with_timeout cancellation=Err(true)",
            "with_timeout_or_none cancellation=Err(true)"
        ]
    );
}
