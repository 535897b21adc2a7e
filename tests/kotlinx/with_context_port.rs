//! kotlinx WithContextTest cases, withContext mapped to a nested
//! coroutine_scope (the scope-shaped part of withContext).

use super::common::*;
use scopes::prelude::*;

// WithContextTest.testRunSelfCancellation: the job is cancelled while its
// nested scope's body runs; the body then returns Ok without suspending:
// the scope's value is dropped and it returns a cancellation (R7/R11: a
// cancelled job that returns Ok ends cancelled).
#[tokio::test(start_paused = true)]
async fn nested_scope_returning_ok_after_its_job_was_cancelled_returns_cancellation() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let (tx2, rx2) = tokio::sync::oneshot::channel::<()>();
        let job = launch {
            let r: scopes::Result<&str> = coroutine_scope! {
                log.push(format!("active={}", is_active()));
                tx.send(()).unwrap();
                let _ = rx2.await; // foreign wait, not cancellation-aware: ends when the body says
                log.push(format!("active={}", is_active()));
                Ok("OK")
            };
            log.push(format!("scope {:?}", r.as_ref().map_err(|e| e.is_cancellation())));
            r?;
        };
        rx.await.unwrap();
        job.cancel();
        tx2.send(()).unwrap();
        job.join().await?;
        Ok(())
    };
    r.unwrap();
    assert_eq!(
        log.take(),
        ["active=true", "active=false", "scope Err(true)"]
    );
}

// Variant: the nested scope's body suspends in non_cancellable after the
// cancel, then returns Ok.
#[tokio::test(start_paused = true)]
async fn nested_scope_ok_after_non_cancellable_in_cancelled_job_is_cancellation() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        let job = launch {
            let r: scopes::Result<&str> = coroutine_scope! {
                let _ = delay(FOREVER).await;
                non_cancellable { delay(ms(5)).await }?;
                Ok("OK")
            };
            log.push(format!("scope {:?}", r.as_ref().map_err(|e| e.is_cancellation())));
            r?;
        };
        yield_now().await?;
        job.cancel();
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), ["scope Err(true)"]);
}

// WithContextTest.testWithContextScopeFailure
#[tokio::test(start_paused = true)]
async fn with_context_scope_failure() {
    let log = Log::default();
    let log = &log;
    log.push(1);
    let r: scopes::Result<&str> = coroutine_scope! {
        log.push(2);
        launch { log.push(4); Err::<(), _>(fail("t")) };
        log.push(3);
        Ok("OK")
    };
    assert_eq!(name_of(&r.unwrap_err()), Some("t"));
    log.push(5);
    assert_eq!(log.take(), ["1", "2", "3", "4", "5"]);
}

// WithContextTest.testCancelWithJobWithSuspend mapped: the body of a nested
// scope, cancelled by a sibling while it yields, gets its cancellation at the
// next yield and the scope returns a cancellation after the sibling ran.
#[tokio::test(start_paused = true)]
async fn cancel_nested_scope_job_with_suspend() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        log.push(1);
        let j = launch {
            let r: scopes::Result<&str> = coroutine_scope! {
                log.push(3);
                let first = yield_now().await;
                log.push(format!("5 {:?}", first.as_ref().map_err(|e| e.is_cancellation())));
                let second = yield_now().await;
                log.push(format!("6 {:?}", second.as_ref().map_err(|e| e.is_cancellation())));
                Ok("OK")
            };
            log.push(format!("scope {:?}", r.as_ref().map_err(|e| e.is_cancellation())));
        };
        log.push(2);
        yield_now().await?;
        log.push(4);
        j.cancel();
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
            "5 Err(true)",
            "6 Err(true)",
            "scope Err(true)"
        ]
    );
}
