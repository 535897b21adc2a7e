//! kotlinx AwaitTest (awaitAll/joinAll), WithTimeoutTest,
//! WithTimeoutOrNullTest, NonCancellableTest cases.

use super::common::*;
use scopes::prelude::*;

// AwaitTest.testAwaitAll
#[tokio::test(start_paused = true)]
async fn await_all_order_and_states() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        log.push(1);
        let d = async { log.push(3); Ok(10u64) };
        let d2 = async { yield_now().await?; log.push(4); Ok(1u64) };
        log.push(2);
        assert!(d2.is_active() && !d2.is_completed());
        let (dc, d2c) = (d.job().clone(), d2.job().clone());
        assert_eq!(await_all([d, d2]).await?, [10, 1]);
        log.push(5);
        assert!(dc.is_completed() && d2c.is_completed() && !dc.is_cancelled() && !d2c.is_cancelled());
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), ["1", "2", "3", "4", "5"]);
}

// AwaitTest.testAwaitAllLazy: await_all starts lazy children in order.
#[tokio::test(start_paused = true)]
async fn await_all_lazy() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<Vec<u8>> = coroutine_scope! {
        log.push(1);
        let d = async(start = lazy) { log.push(2); Ok(1u8) };
        let d2 = async(start = lazy) { log.push(3); Ok(2u8) };
        let v = await_all([d, d2]).await?;
        log.push(4);
        Ok(v)
    };
    assert_eq!(r.unwrap(), [1, 2]);
    assert_eq!(log.take(), ["1", "2", "3", "4"]);
}

// AwaitTest.testAwaitAllExceptionally (NonCancellable → supervisor_scope)
#[tokio::test(start_paused = true)]
async fn await_all_exceptionally_in_supervisor() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = supervisor_scope! {
        log.push(1);
        let d = async { log.push(3); Ok(0u8) };
        let d2 = async { yield_now().await?; Err::<u8, _>(fail("t")) };
        let d3 = async { log.push(4); delay(FOREVER).await?; Ok(1u8) };
        log.push(2);
        let (j, j2, j3) = (d.job().clone(), d2.job().clone(), d3.job().clone());
        let e = await_all([d, d2, d3]).await.unwrap_err();
        assert_eq!(name_of(&e), Some("t"));
        log.push(5);
        yield_now().await?;
        assert!(j.is_completed() && j2.is_cancelled() && j3.is_active());
        j3.cancel();
        log.push(6);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), ["1", "2", "3", "4", "5", "6"]);
}

// AwaitTest.testAwaitAllMultipleExceptions (supervisor)
#[tokio::test(start_paused = true)]
async fn await_all_multiple_exceptions_first_wins() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = supervisor_scope! {
        let d = async { log.push(2); Err::<(), _>(fail("first")) };
        let d2 = async { yield_now().await?; Err::<(), _>(fail("second")) };
        let d3 = async { yield_now().await?; Ok(()) };
        log.push(1);
        let e = await_all([d, d2, d3]).await.unwrap_err();
        assert_eq!(name_of(&e), Some("first"));
        log.push(3);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), ["1", "2", "3"]);
}

// AwaitTest.testAwaitAllCancellation: the caller is cancelled while in
// await_all.
#[tokio::test(start_paused = true)]
async fn await_all_cancellation() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        let outer = async {
            log.push(1);
            let inner = async { log.push(4); delay(FOREVER).await?; Ok(()) };
            log.push(2);
            let r = await_all([inner]).await;
            log.push(format!("await_all cancellation={:?}", r.as_ref().map_err(|e| e.is_cancellation())));
            r?;
            log.push("unreached");
            Ok(())
        };
        yield_now().await?;
        log.push(3);
        yield_now().await?;
        assert!(outer.is_active());
        outer.cancel();
        assert!(outer.is_cancelled());
        log.push(5);
        Ok(())
    };
    r.unwrap();
    assert_eq!(
        log.take(),
        ["1", "2", "3", "4", "5", "await_all cancellation=Err(true)"]
    );
}

// AwaitTest.testAwaitAllPartiallyCompletedExceptionally (supervisor)
#[tokio::test(start_paused = true)]
async fn await_all_partially_completed_exceptionally() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = supervisor_scope! {
        let d1 = async { log.push(1); Err::<(), _>(fail("t")) };
        yield_now().await?;
        let d2 = async { log.push(4); Ok(()) };
        log.push(2);
        let j2 = d2.clone();
        let e = await_all([d1.clone(), d2]).await.unwrap_err();
        assert_eq!(name_of(&e), Some("t"));
        log.push(3);
        assert!(j2.is_active());
        j2.clone().await?;
        assert!(d1.is_completed() && j2.is_completed());
        log.push(5);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), ["1", "2", "3", "4", "5"]);
}

// AwaitTest.testAwaitAllSameJobMultipleTimes / SameThrowingJob
#[tokio::test(start_paused = true)]
async fn await_all_same_job_multiple_times() {
    let r: scopes::Result<()> = supervisor_scope! {
        let d = async { Ok("OK".to_string()) };
        assert_eq!(await_all([d.clone(), d.clone(), d]).await?, ["OK", "OK", "OK"]);
        let d1 = async { Err::<(), _>(fail("t")) };
        let d2 = async { Ok(()) };
        let e = await_all([d1.clone(), d2.clone(), d1, d2]).await.unwrap_err();
        assert_eq!(name_of(&e), Some("t"));
        Ok(())
    };
    r.unwrap();
}

// AwaitTest.testJoinAll / Lazy / Exceptionally / AlreadyCompleted / SameJob
#[tokio::test(start_paused = true)]
async fn join_all_cases() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = supervisor_scope! {
        let d1 = launch { log.push(2); };
        let d2 = async { log.push(3); Ok("OK") };
        let d3 = launch { log.push(4); };
        log.push(1);
        join_all([&d1, d2.job(), &d3]).await?;
        log.push(5);
        let l1 = async(start = lazy) { log.push(6); Ok(()) };
        let l2 = launch(start = lazy) { log.push(7); };
        join_all([l1.job(), &l2]).await?;
        log.push(8);
        let f = async { log.push(10); Err::<(), _>(fail("t")) };
        let g = async { log.push(11); Ok(()) };
        log.push(9);
        join_all([f.job(), g.job()]).await?;
        join_all([f.job(), f.job(), f.job()]).await?;
        join_all([&d1, &d1]).await?;
        join_all(Vec::<Job>::new()).await?;
        let _ = f.await;
        log.push(12);
        Ok(())
    };
    r.unwrap();
    assert_eq!(
        log.take(),
        [
            "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12"
        ]
    );
}

// AwaitTest.testJoinAllCancellation
#[tokio::test(start_paused = true)]
async fn join_all_cancellation() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        let outer = launch {
            log.push(2);
            let inner = launch { log.push(3); delay(FOREVER).await?; };
            join_all([&inner]).await?;
            log.push("unreached");
        };
        log.push(1);
        yield_now().await?;
        assert!(outer.is_active());
        yield_now().await?;
        outer.cancel();
        outer.join().await?;
        log.push(4);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), ["1", "2", "3", "4"]);
}

// WithTimeoutTest.testDispatch: with_timeout runs its block at once, without
// yielding to a sibling first.
#[tokio::test(start_paused = true)]
async fn with_timeout_dispatch_order() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        log.push(1);
        launch { log.push(4); yield_now().await?; log.push(7); };
        log.push(2);
        let v = with_timeout(ms(1000)) {
            log.push(3);
            yield_now().await?;
            log.push(5);
            Ok("OK")
        }?;
        assert_eq!(v, "OK");
        log.push(6);
        yield_now().await?;
        log.push(8);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), ["1", "2", "3", "4", "5", "6", "7", "8"]);
}

// WithTimeoutTest.testWithTimeoutChildWait
#[tokio::test(start_paused = true)]
async fn with_timeout_waits_for_its_children() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        log.push(1);
        with_timeout(ms(100)) {
            log.push(2);
            launch { log.push(4); };
            log.push(3);
        }?;
        log.push(5);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), ["1", "2", "3", "4", "5"]);
}

// WithTimeoutTest.testYieldBlockingWithTimeout and the OrNull variant: a
// loop of yields notices the deadline (real clock: a paused clock never
// advances while something is ready).
#[tokio::test]
async fn yield_loop_reacts_to_timeout() {
    let r = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        let a: scopes::Result<()> = coroutine_scope! {
            with_timeout(ms(100)) { loop { yield_now().await?; } }
        };
        let b: scopes::Result<Option<()>> = coroutine_scope! {
            with_timeout_or_none(ms(100)) { loop { yield_now().await?; } }
        };
        (a, b)
    })
    .await
    .expect("the yield loop never timed out");
    assert!(r.0.unwrap_err().is_timeout());
    assert_eq!(r.1.unwrap(), None);
}

// WithTimeoutOrNullTest.testInnerTimeout: an inner with_timeout's timeout is a
// failure that with_timeout_or_none does not turn into None (R9).
#[tokio::test]
async fn inner_timeout_in_yield_loop_propagates() {
    let r = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        let r: scopes::Result<Option<()>> = coroutine_scope! {
            with_timeout_or_none(ms(1000)) {
                with_timeout(ms(10)) { loop { yield_now().await?; } }?;
                Ok(())
            }
        };
        r
    })
    .await
    .expect("hung");
    assert!(r.unwrap_err().is_timeout());
}

// WithTimeoutOrNullTest.testOuterTimeout: nested with_timeout_or_none loops.
#[tokio::test]
async fn outer_timeout_with_inner_or_none_loops() {
    let counter = std::sync::atomic::AtomicUsize::new(0);
    let counter = &counter;
    let r = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        let r: scopes::Result<Option<()>> = coroutine_scope! {
            with_timeout_or_none(ms(320)) {
                loop {
                    let inner: Option<()> = with_timeout_or_none(ms(150)) { loop { yield_now().await?; } }?;
                    assert!(inner.is_none());
                    counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
            }
        };
        r
    }).await.expect("hung");
    assert_eq!(r.unwrap(), None);
    let c = counter.load(std::sync::atomic::Ordering::SeqCst);
    assert!((1..=2).contains(&c), "executed {c} times");
}

// WithTimeoutOrNullTest.testSmallTimeout: a 1 ms deadline on a recv.
#[tokio::test(start_paused = true)]
async fn small_timeout_on_recv() {
    let (_tx, rx) = channel::<u32>(1);
    let rx = &rx;
    let start = tokio::time::Instant::now();
    let r: scopes::Result<Option<Option<u32>>> = coroutine_scope! {
        with_timeout_or_none(ms(1)) { rx.recv().await }
    };
    assert_eq!(r.unwrap(), None);
    assert_eq!(start.elapsed(), ms(1));
}

// NonCancellableTest.testNonCancellable: the work in non_cancellable
// finishes; the next suspension fails; await gives a cancellation.
#[tokio::test(start_paused = true)]
async fn non_cancellable_block_then_cancelled() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        log.push(1);
        let job = async {
            non_cancellable {
                log.push(2);
                yield_now().await?;
                log.push(4);
            }?;
            log.push(5);
            yield_now().await?;
            log.push("unreached");
            Ok(())
        };
        yield_now().await?;
        job.cancel();
        log.push(3);
        assert!(job.is_cancelled());
        let e = job.await.unwrap_err();
        assert!(e.is_cancellation());
        log.push(6);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), ["1", "2", "3", "4", "5", "6"]);
}

// NonCancellableTest.testNonCancellableTwice: a cancelled job whose code
// returns Ok after two non_cancellable blocks ends cancelled (R11).
#[tokio::test(start_paused = true)]
async fn non_cancellable_twice() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        log.push(1);
        let job = async {
            non_cancellable { log.push(2); yield_now().await?; log.push(4); }?;
            non_cancellable { log.push(5); yield_now().await?; log.push(6); }?;
            Ok(1u8)
        };
        yield_now().await?;
        job.cancel();
        log.push(3);
        assert!(job.is_cancelled());
        assert!(job.await.unwrap_err().is_cancellation());
        log.push(7);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), ["1", "2", "3", "4", "5", "6", "7"]);
}

// NonCancellableTest.testNonCancellableFinally
#[tokio::test(start_paused = true)]
async fn non_cancellable_in_cleanup() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        log.push(1);
        let job = async {
            log.push(2);
            let r = yield_now().await;
            non_cancellable { log.push(4); yield_now().await?; log.push(5); }?;
            r?;
            log.push("unreached");
            Ok(())
        };
        yield_now().await?;
        job.cancel();
        log.push(3);
        assert!(job.is_cancelled());
        assert!(job.await.unwrap_err().is_cancellation());
        log.push(6);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), ["1", "2", "3", "4", "5", "6"]);
}
