//! R8/R9 edges after kotlinx NonCancellableTest / WithTimeoutTest.

use super::common::*;
use scopes::prelude::*;

// R8: inside non_cancellable in a cancelled job, is_active() is true and
// ensure_active() is Ok (Kotlin: NonCancellable.isActive is always true).
#[tokio::test(start_paused = true)]
async fn is_active_inside_non_cancellable_after_cancel() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        let j = launch {
            let r = delay(FOREVER).await;
            log.push(format!("outside active={}", is_active()));
            non_cancellable {
                log.push(format!("inside active={} ensure={:?}", is_active(), ensure_active().map_err(|e| e.is_cancellation())));
            }?;
            r
        };
        yield_now().await?;
        j.cancel();
        Ok(())
    };
    r.unwrap();
    assert_eq!(
        log.take(),
        ["outside active=false", "inside active=true ensure=Ok(())"]
    );
}

// R8: a scope entered inside non_cancellable in a cancelled job runs its
// children normally (Kotlin: withContext(NonCancellable) { coroutineScope {
// launch { delay } } } completes).
#[tokio::test(start_paused = true)]
async fn children_of_scope_inside_non_cancellable_run_normally() {
    let log = Log::default();
    let log = &log;
    let start = tokio::time::Instant::now();
    let r: scopes::Result<()> = coroutine_scope! {
        let j = launch {
            let r = delay(FOREVER).await;
            non_cancellable {
                coroutine_scope! {
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
async fn with_timeout_inside_non_cancellable_in_cancelled_job() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
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

// R9: with_timeout around non_cancellable work: the work runs to its end,
// then the timeout wins over its value.
#[tokio::test(start_paused = true)]
async fn with_timeout_around_non_cancellable_work_times_out_after_it() {
    let start = tokio::time::Instant::now();
    let r: scopes::Result<()> = coroutine_scope! {
        let r: scopes::Result<u8> = with_timeout(ms(10)) {
            non_cancellable { delay(ms(50)).await?; Ok(1u8) }
        };
        assert!(r.unwrap_err().is_timeout());
        Ok(())
    };
    r.unwrap();
    assert_eq!(start.elapsed(), ms(50));
}

// R9 + R4: a launch child of a supervisor whose with_timeout expires fails:
// the handler gets the timeout (Kotlin would drop it as a cancellation;
// SPEC makes it a failure).
#[tokio::test(start_paused = true)]
async fn timeout_in_supervised_launch_reaches_handler() {
    let (got, h) = recorder();
    let r: scopes::Result<()> = with_exception_handler(h, async {
        supervisor_scope! {
            launch {
                with_timeout(ms(10)) { delay(FOREVER).await?; Ok(()) }?;
            };
            Ok(())
        }
    })
    .await;
    r.unwrap();
    let got = got.lock().unwrap();
    assert_eq!(got.len(), 1);
    assert!(got[0].is_timeout());
}

// R9: with_timeout_or_none inside a cancelled job: cancellation, not None.
#[tokio::test(start_paused = true)]
async fn with_timeout_or_none_when_job_cancelled_during_it() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        let j = launch {
            let r: scopes::Result<Option<()>> = with_timeout_or_none(ms(100)) { delay(FOREVER).await?; Ok(()) };
            log.push(format!("{:?}", r.as_ref().map_err(|e| (e.is_cancellation(), e.is_timeout()))));
            r?;
        };
        delay(ms(10)).await?;
        j.cancel();
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), ["Err((true, false))"]);
}
