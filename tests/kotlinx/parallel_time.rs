//! R12 with parallel children on a paused current_thread runtime (the pool is
//! the runtime's own thread there), replaying S1/S3-like Kotlin shapes.

use super::common::*;
use scopes::prelude::*;

#[tokio::test(start_paused = true)]
async fn parallel_fail_fast_exact_time() {
    let start = tokio::time::Instant::now();
    let log = Log::default();
    let l2 = log.clone();
    let r: scopes::Result<()> = coroutine_scope! {
        let l3 = l2.clone();
        launch(parallel) {
            let r = delay(ms(1000)).await;
            l3.push(format!("parallel cleanup at {:?}", r.as_ref().map_err(|e| e.is_cancellation())));
            r
        };
        launch { delay(ms(50)).await?; Err::<(), _>(fail("x")) };
        Ok(())
    };
    assert_eq!(name_of(&r.unwrap_err()), Some("x"));
    assert_eq!(start.elapsed(), ms(50));
    assert_eq!(log.take(), ["parallel cleanup at Err(true)"]);
}

#[tokio::test(start_paused = true)]
async fn parallel_async_timeout_exact_time() {
    let start = tokio::time::Instant::now();
    let r: scopes::Result<u32> = coroutine_scope! {
        let d = async(parallel) { delay(ms(300)).await?; Ok(5u32) };
        with_timeout(ms(100)) { d.await }
    };
    // the timeout is a failure of the scope (R9); d is cancelled with it.
    assert!(r.unwrap_err().is_timeout());
    assert_eq!(start.elapsed(), ms(100));
}

// CoroutineScopeTest.testAsyncCancellationSecond with parallel children.
#[tokio::test(start_paused = true)]
async fn parallel_async_cancellation_second() {
    let log = Log::default();
    let l = log.clone();
    let r: scopes::Result<u32> = coroutine_scope! {
        let l1 = l.clone();
        let one = async(parallel) {
            let r = delay(FOREVER).await;
            l1.push("one cleanup");
            r?;
            Ok(42u32)
        };
        let two = async(parallel) { delay(ms(5)).await?; Err::<u32, _>(fail("1")) };
        Ok(one.await? + two.await?)
    };
    assert_eq!(name_of(&r.unwrap_err()), Some("1"));
    assert_eq!(log.take(), ["one cleanup"]);
}
