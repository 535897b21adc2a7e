//! kotlinx AsyncTest, AsyncLazyTest, JobStatesTest cases not yet ported.

use super::common::*;
use scopes::prelude::*;

// AsyncTest.testDeferWithTwoWaiters: waiters resumed in order (R14).
#[tokio::test(start_paused = true)]
async fn defer_with_two_waiters() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
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

// AsyncTest.testAsyncWithFinally: a value returned in cleanup does not
// override the cancellation; states along the way.
#[tokio::test(start_paused = true)]
async fn async_with_finally() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
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

// AsyncTest.testDeferAndYieldException
#[tokio::test(start_paused = true)]
async fn defer_and_yield_exception() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        log.push(1);
        let d = async { log.push(3); yield_now().await?; log.push(4); Err::<(), _>(fail("t")) };
        log.push(2);
        d.await
    };
    assert_eq!(name_of(&r.unwrap_err()), Some("t"));
    assert_eq!(log.take(), ["1", "2", "3", "4"]);
}

// JobStatesTest.testCompletingFailed (NonCancellable → supervisor_scope): a
// lazy job whose body ended is active while its child runs; the child fails;
// the job ends cancelled; the handler gets the failure.
#[tokio::test(start_paused = true)]
async fn job_states_completing_failed() {
    let log = Log::default();
    let log = &log;
    let (got, h) = recorder();
    let r: scopes::Result<()> = with_exception_handler(h, async {
        supervisor_scope! {
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

// JobStatesTest.testCancelling: Completing -> Cancelling -> Cancelled. (The
// child is ATOMIC in Kotlin; here it is already running, in a yield, when the
// job is cancelled.)
#[tokio::test(start_paused = true)]
async fn job_states_cancelling_while_completing() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = supervisor_scope! {
        log.push(1);
        let job = launch(start = lazy) {
            log.push(2);
            launch { log.push(4); let r = yield_now().await; log.push(format!("6 {:?}", r.as_ref().map_err(|e| e.is_cancellation()))); r };
        };
        job.start();
        yield_now().await?; // job runs, its child queued
        log.push(3);
        assert!(job.is_active() && !job.is_completed() && !job.is_cancelled());
        yield_now().await?; // child runs, yields
        log.push(5);
        assert!(job.is_active() && !job.is_completed());
        job.cancel();
        assert!(!job.is_active() && !job.is_completed() && job.is_cancelled());
        yield_now().await?;
        log.push(7);
        assert!(!job.is_active() && job.is_completed() && job.is_cancelled());
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), ["1", "2", "3", "4", "5", "6 Err(true)", "7"]);
}

// AsyncLazyTest.testSimple / testLazyDeferAndYield
#[tokio::test(start_paused = true)]
async fn async_lazy_simple_and_yield() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        log.push(1);
        let d = async(start = lazy) { log.push(3); yield_now().await?; log.push(4); Ok(42) };
        log.push(2);
        assert!(!d.is_active() && !d.is_completed());
        let d2 = d.clone();
        assert_eq!(d.await?, 42);
        assert!(!d2.is_active() && d2.is_completed() && !d2.is_cancelled());
        log.push(5);
        assert_eq!(d2.await?, 42);
        log.push(6);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), ["1", "2", "3", "4", "5", "6"]);
}

// AsyncLazyTest.testLazyDeferAndYield2: awaiting a lazy child starts it; a
// sibling sees it active; it runs after the sibling's queued run (R14).
#[tokio::test(start_paused = true)]
async fn async_lazy_defer_and_yield2() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
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

// AsyncLazyTest.testCatchException (supervisor)
#[tokio::test(start_paused = true)]
async fn async_lazy_catch_exception() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = supervisor_scope! {
        log.push(1);
        let d = async(start = lazy) { log.push(3); Err::<(), _>(fail("t")) };
        log.push(2);
        assert!(!d.is_active() && !d.is_completed());
        let dj = d.job().clone();
        let e = d.await.unwrap_err();
        assert_eq!(name_of(&e), Some("t"));
        assert!(!dj.is_active() && dj.is_completed() && dj.is_cancelled());
        log.push(4);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), ["1", "2", "3", "4"]);
}

// AsyncLazyTest.testStart
#[tokio::test(start_paused = true)]
async fn async_lazy_start() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        log.push(1);
        let d = async(start = lazy) { log.push(4); Ok(42) };
        log.push(2);
        assert!(!d.is_active() && !d.is_completed());
        assert!(d.start());
        assert!(d.is_active() && !d.is_completed());
        log.push(3);
        assert!(!d.start());
        yield_now().await?;
        assert!(!d.is_active() && d.is_completed() && !d.is_cancelled());
        log.push(5);
        assert_eq!(d.await?, 42);
        log.push(6);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), ["1", "2", "3", "4", "5", "6"]);
}

// AsyncLazyTest.testCancelWhileComputing: the body awaiting a child it
// cancelled gets a cancellation; the body returns it: the scope's result is a
// cancellation.
#[tokio::test(start_paused = true)]
async fn async_lazy_cancel_while_computing() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<u32> = coroutine_scope! {
        log.push(1);
        let d = async(start = lazy) { log.push(4); yield_now().await?; log.push("unreached"); Ok(42u32) };
        log.push(2);
        assert!(!d.is_active() && !d.is_completed() && !d.is_cancelled());
        assert!(d.start());
        assert!(d.is_active() && !d.is_completed() && !d.is_cancelled());
        log.push(3);
        yield_now().await?;
        log.push(5);
        assert!(d.is_active() && !d.is_completed() && !d.is_cancelled());
        d.cancel();
        assert!(!d.is_active() && d.is_cancelled());
        log.push(6);
        d.await
    };
    assert!(r.unwrap_err().is_cancellation());
    assert_eq!(log.take(), ["1", "2", "3", "4", "5", "6"]);
}
