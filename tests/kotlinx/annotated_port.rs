//! Kotlin's suspend-fun-returning-coroutineScope shape (CoroutineScopeTest,
//! SupervisorTest) through the attributes (SPEC §2: #[scoped], #[supervised]).

use super::common::*;
use scopes::prelude::*;

#[scoped]
async fn call_job_scoped(log: &Log) -> scopes::Result<u32> {
    log.push(2);
    launch! { log.push(4); };
    launch! {
        log.push(5);
        launch! { log.push(7); };
        log.push(6);
    };
    log.push(3);
    Ok(42)
}

// CoroutineScopeTest.testScope
#[tokio::test(start_paused = true)]
async fn scoped_fn_order() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        log.push(1);
        assert_eq!(call_job_scoped(log).await?, 42);
        yield_now().await?;
        log.push(8);
        Ok(())
    };
    r.unwrap();
    let want: Vec<String> = (1..=8).map(|i| i.to_string()).collect();
    assert_eq!(log.take(), want);
}

#[supervised]
async fn supervised_two_failures() -> scopes::Result<&'static str> {
    launch! { Err::<(), _>(fail("1")) };
    launch! { Err::<(), _>(fail("2")) };
    Ok("OK")
}

// SupervisorTest.testSupervisorScope
#[tokio::test(start_paused = true)]
async fn supervised_fn_reports_both() {
    let (got, h) = recorder();
    let r = with_exception_handler(h, supervised_two_failures()).await;
    assert_eq!(r.unwrap(), "OK");
    let got: Vec<_> = got.lock().unwrap().iter().map(|e| name_of(e)).collect();
    assert_eq!(got, [Some("1"), Some("2")]);
}

#[scoped]
async fn failed_concurrent_sum_second(log: &Log) -> scopes::Result<u32> {
    let one = async {
        log.push(3);
        let r = delay(FOREVER).await;
        log.push(5);
        r?;
        Ok(42u32)
    };
    let two = async {
        log.push(4);
        Err::<u32, _>(fail("1"))
    };
    log.push(2);
    Ok(one.await? + two.await?)
}

// CoroutineScopeTest.testAsyncCancellationSecond through #[scoped]
#[tokio::test(start_paused = true)]
async fn scoped_fn_async_cancellation_second() {
    let log = Log::default();
    log.push(1);
    let e = failed_concurrent_sum_second(&log).await.unwrap_err();
    assert_eq!(name_of(&e), Some("1"));
    log.push(6);
    let want: Vec<String> = (1..=6).map(|i| i.to_string()).collect();
    assert_eq!(log.take(), want);
}
