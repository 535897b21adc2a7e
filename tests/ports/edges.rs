//! kotlinx DelayTest, LaunchLazyTest, JobStatesTest, NonCancellableTest and
//! WithTimeoutTest shapes at the edges of R7, R8, R9, R11 and R14.

use super::common::*;
use scopes::prelude::*;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::time::Instant;

// DelayTest.testCancellation / testMaxLongValue / testMaxIntValue: an async
// child in a delay (1 s, i64::MAX ms, i32::MAX ms, Duration::MAX) is
// cancelled; its await gives the cancellation at once.
#[tokio::test(start_paused = true)]
async fn delay_cancellation_any_length() {
    for d in [
        ms(1000),
        ms(i64::MAX as u64),
        ms(i32::MAX as u64),
        Duration::MAX,
    ] {
        let log = Log::default();
        let log = &log;
        let start = Instant::now();
        let r: scopes::Result<()> = coroutine_scope! {
            log.push(1);
            let deferred = async {
                log.push(2);
                delay(d).await?;
                log.push("unreached");
                Ok(())
            };
            yield_now().await?;
            log.push(3);
            assert!(deferred.is_active());
            deferred.cancel();
            log.push(4);
            deferred.await
        };
        assert!(r.unwrap_err().is_cancellation(), "{d:?}");
        assert_eq!(log.take(), nums(4), "{d:?}");
        assert_eq!(start.elapsed(), ms(0), "{d:?}");
    }
}

// DelayTest.testRegularDelay
#[tokio::test(start_paused = true)]
async fn delay_regular() {
    let log = Log::default();
    let log = &log;
    let start = Instant::now();
    let r: scopes::Result<()> = coroutine_scope! {
        let deferred = async {
            log.push(2);
            delay(ms(1)).await?;
            log.push(3);
            Ok(())
        };
        log.push(1);
        yield_now().await?;
        deferred.await?;
        log.push(4);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), nums(4));
    assert_eq!(start.elapsed(), ms(1));
}

// LaunchLazyTest.testStart: start() is true once; the started child runs
// when the caller next suspends.
#[tokio::test(start_paused = true)]
async fn launch_lazy_start() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        log.push(1);
        let job = launch(start = lazy) {
            log.push(5);
            yield_now().await?;
            log.push(7);
        };
        log.push(2);
        yield_now().await?;
        log.push(3);
        assert!(!job.is_active() && !job.is_completed());
        assert!(job.start());
        assert!(job.is_active() && !job.is_completed());
        assert!(!job.start());
        assert!(job.is_active() && !job.is_completed());
        log.push(4);
        yield_now().await?;
        log.push(6);
        assert!(job.is_active() && !job.is_completed());
        yield_now().await?;
        assert!(!job.is_active() && job.is_completed());
        log.push(8);
        job.join().await?;
        log.push(9);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), nums(9));
}

// LaunchLazyTest.testLaunchAndYieldJoin
#[tokio::test(start_paused = true)]
async fn launch_lazy_and_yield_join() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        log.push(1);
        let job = launch(start = lazy) {
            log.push(4);
            yield_now().await?;
            log.push(5);
        };
        log.push(2);
        yield_now().await?;
        log.push(3);
        assert!(!job.is_active() && !job.is_completed());
        job.join().await?;
        assert!(!job.is_active() && job.is_completed());
        log.push(6);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), nums(6));
}

// R11: start() on a lazy child cancelled before it started is false; it
// never runs.
#[tokio::test(start_paused = true)]
async fn lazy_cancelled_then_started_never_runs() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        let job = launch(start = lazy) { log.push("unreached"); };
        job.cancel();
        assert!(job.is_completed() && job.is_cancelled());
        assert!(!job.start());
        job.join().await?;
        yield_now().await?;
        Ok(())
    };
    r.unwrap();
    assert!(log.take().is_empty());
}

// NonCancellableTest-like: a with_timeout inside non_cancellable in a
// cancelled job still times out (Kotlin: NonCancellable keeps the timeout's
// own job working).
#[tokio::test(start_paused = true)]
async fn with_timeout_inside_non_cancellable_in_cancelled_job_times_out() {
    let log = Log::default();
    let log = &log;
    let start = Instant::now();
    let r: scopes::Result<()> = coroutine_scope! {
        let job = launch {
            let _ = delay(FOREVER).await;
            let r: scopes::Result<()> = non_cancellable(with_timeout(ms(10), async move {
                delay(FOREVER).await?;
                Ok(())
            }))
            .await;
            let e = r.unwrap_err();
            log.push(format!("timeout={} cancelled={}", e.is_timeout(), e.is_cancellation()));
            let r2 = non_cancellable(with_timeout_or_none(ms(10), async move {
                delay(FOREVER).await?;
                Ok(1u8)
            }))
            .await;
            log.push(format!("{r2:?}"));
        };
        yield_now().await?;
        job.cancel();
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), ["timeout=true cancelled=false", "Ok(None)"]);
    assert_eq!(start.elapsed(), ms(20));
}

// WithTimeoutTest-like: the deadline passes while the work is inside
// non_cancellable: the work finishes it, then the timeout wins (R8, R9).
#[tokio::test(start_paused = true)]
async fn deadline_during_non_cancellable_waits_then_times_out() {
    let log = Log::default();
    let log = &log;
    let start = Instant::now();
    let r = with_timeout(ms(10), async move {
        non_cancellable(async {
            delay(ms(30)).await?;
            log.push("nc done");
            Ok::<_, scopes::Error>(())
        })
        .await?;
        log.push(format!("after nc active={}", is_active()));
        delay(ms(1)).await?;
        log.push("unreached");
        Ok(1u8)
    })
    .await;
    assert!(r.unwrap_err().is_timeout());
    assert_eq!(log.take(), ["nc done", "after nc active=false"]);
    assert_eq!(start.elapsed(), ms(30));
}

// R7: a cancel issued from inside the subtree reaches every descendant
// before any of them resumes: two children whose delays end at the same
// instant; the first cancels the scope's job: the second's delay, already
// due, gives the cancellation.
#[tokio::test(start_paused = true)]
async fn cancel_from_inside_reaches_a_sibling_already_due() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        let me: Arc<OnceLock<Job<'_>>> = Default::default();
        let own = me.clone();
        let parent = launch {
            let own = own.clone();
            launch {
                delay(ms(10)).await?;
                log.push("a cancels parent");
                own.get().unwrap().cancel();
            };
            launch {
                let r = delay(ms(10)).await;
                log.push(format!("b delay cancelled={}", r.unwrap_err().is_cancellation()));
            };
            let r = delay(ms(20)).await;
            log.push(format!("body delay cancelled={}", r.unwrap_err().is_cancellation()));
        };
        let _ = me.set(parent.clone());
        parent.join().await?;
        assert!(parent.is_cancelled());
        Ok(())
    };
    r.unwrap();
    assert_eq!(
        log.take(),
        [
            "a cancels parent",
            "b delay cancelled=true",
            "body delay cancelled=true"
        ]
    );
}

// R14 / JobStatesTest-like for async: a Deferred whose body returned while
// its child runs is still active; await waits for the child.
#[tokio::test(start_paused = true)]
async fn deferred_completing_waits_for_its_children() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        let d = async {
            log.push(2);
            launch { log.push(4); yield_now().await?; log.push(6); };
            Ok(5u8)
        };
        log.push(1);
        yield_now().await?;
        log.push(3);
        assert!(d.is_active() && !d.is_completed());
        yield_now().await?;
        log.push(5);
        assert!(d.is_active() && !d.is_completed());
        assert_eq!(d.clone().await?, 5);
        assert!(d.is_completed() && !d.is_active());
        log.push(7);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), nums(7));
}

// R14: yield_now inside a nested scope lets every ready job of the tree run
// (a sibling of the outer child included), in FIFO order.
#[tokio::test(start_paused = true)]
async fn yield_in_nested_scope_lets_outer_siblings_run() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        launch {
            coroutine_scope! {
                launch { log.push("inner child"); };
                log.push("inner body yields");
                yield_now().await?;
                log.push("inner body resumed");
                Ok(())
            }?;
        };
        launch { log.push("outer sibling"); };
        log.push("body");
        Ok(())
    };
    r.unwrap();
    assert_eq!(
        log.take(),
        [
            "body",
            "inner body yields",
            "outer sibling",
            "inner child",
            "inner body resumed"
        ]
    );
}
