//! kotlinx SupervisorTest, mapped onto supervisor_scope.

use super::common::*;
use scopes::prelude::*;

// testSupervisorScope: both launch failures reach the handler, in order; the
// scope's result is the body's.
#[tokio::test(start_paused = true)]
async fn supervisor_scope_reports_each_launch_failure_and_returns_body_value() {
    let (got, h) = recorder();
    let r: scopes::Result<&str> = with_exception_handler(h, async {
        supervisor_scope! {
            launch { Err::<(), _>(fail("1")) };
            launch { Err::<(), _>(fail("2")) };
            Ok("OK")
        }
    })
    .await;
    assert_eq!(r.unwrap(), "OK");
    let got: Vec<_> = got.lock().unwrap().iter().map(|e| name_of(e)).collect();
    assert_eq!(got, [Some("1"), Some("2")]);
}

// testSupervisorScopeIsolation.
#[tokio::test(start_paused = true)]
async fn supervisor_scope_isolation() {
    let (got, h) = recorder();
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<&str> = with_exception_handler(h, async {
        supervisor_scope! {
            log.push(1);
            let job = launch { log.push(2); delay(FOREVER).await?; };
            let failing = launch { log.push(3); Err::<(), _>(fail("2")) };
            failing.join().await?;
            yield_now().await?;
            log.push(4);
            assert!(job.is_active());
            assert!(!job.is_cancelled());
            assert!(failing.is_cancelled() && failing.is_completed());
            job.cancel();
            Ok("OK")
        }
    })
    .await;
    assert_eq!(r.unwrap(), "OK");
    log.push(5);
    assert_eq!(log.take(), ["1", "2", "3", "4", "5"]);
    assert_eq!(got.lock().unwrap().len(), 1);
}

// testThrowingSupervisorScope: the body fails after a yield; the async child
// is cancelled and cleans up; the scope fails with the body's error.
#[tokio::test(start_paused = true)]
async fn throwing_supervisor_scope_cancels_its_async_child() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        log.push(1);
        let r: scopes::Result<()> = supervisor_scope! {
            let child = async {
                let r = delay(FOREVER).await;
                log.push(3);
                r
            };
            log.push(2);
            yield_now().await?;
            let _ = &child;
            Err(fail("2"))
        };
        let e = r.unwrap_err();
        assert_eq!(name_of(&e), Some("2"));
        assert!(e.suppressed().is_empty());
        log.push(4);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), ["1", "2", "3", "4"]);
}

// testSupervisorThrows.
#[tokio::test(start_paused = true)]
async fn supervisor_throws() {
    let log = Log::default();
    let log = &log;
    let (got, h) = recorder();
    let r: scopes::Result<()> = with_exception_handler(h, async {
        supervisor_scope! {
            log.push(1);
            launch { log.push(2); delay(FOREVER).await?; };
            launch { log.push(3); delay(FOREVER).await?; };
            yield_now().await?;
            log.push(4);
            Err(fail("1"))
        }
    })
    .await;
    assert_eq!(name_of(&r.unwrap_err()), Some("1"));
    log.push(5);
    assert_eq!(log.take(), ["1", "2", "3", "4", "5"]);
    assert!(
        got.lock().unwrap().is_empty(),
        "cancellations are not failures"
    );
}

// testSupervisorThrowsWithFailingChild: a child failing in its cleanup goes to
// the handler (R6), the scope returns the body's failure.
#[tokio::test(start_paused = true)]
async fn supervisor_throws_with_failing_child() {
    let log = Log::default();
    let log = &log;
    let (got, h) = recorder();
    let r: scopes::Result<()> = with_exception_handler(h, async {
        supervisor_scope! {
            log.push(1);
            launch { log.push(2); delay(FOREVER).await?; };
            launch {
                log.push(3);
                let _ = delay(FOREVER).await;
                Err::<(), _>(fail("2"))
            };
            yield_now().await?;
            log.push(4);
            Err(fail("1"))
        }
    })
    .await;
    let e = r.unwrap_err();
    assert_eq!(name_of(&e), Some("1"));
    assert!(
        e.suppressed().is_empty(),
        "supervisor: goes to the handler, not suppressed: {e:?}"
    );
    log.push(5);
    assert_eq!(log.take(), ["1", "2", "3", "4", "5"]);
    let got: Vec<_> = got.lock().unwrap().iter().map(|e| name_of(e)).collect();
    assert_eq!(got, [Some("2")]);
}

// testSupervisorScopeExternalCancellation: cancelling the job that entered a
// supervisor_scope cancels the scope's children, whose cleanup runs before
// the job completes.
#[tokio::test(start_paused = true)]
async fn supervisor_scope_external_cancellation() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        let job = launch {
            supervisor_scope! {
                launch {
                    log.push("child runs");
                    let r = delay(FOREVER).await;
                    log.push(2);
                    r
                };
                Ok(())
            }?;
        };
        yield_now().await?;
        yield_now().await?;
        log.push(1);
        job.cancel();
        assert!(job.is_cancelled());
        job.join().await?;
        log.push(3);
        assert!(job.is_completed() && job.is_cancelled());
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), ["child runs", "1", "2", "3"]);
}

// testSupervisorScopeCancellationVsException: the job is cancelled before the
// supervisor_scope's body throws: the scope gives the real failure (R6).
#[tokio::test(start_paused = true)]
async fn supervisor_scope_cancellation_vs_exception() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let job = launch {
            log.push(2);
            let r: scopes::Result<()> = supervisor_scope! {
                log.push(3);
                yield_now().await?;
                log.push(5);
                tx.send(()).unwrap(); // ask the body to cancel this job
                non_cancellable { yield_now().await?; }?; // let it
                log.push(format!("cancelled={}", is_active()));
                Err(fail("1"))
            };
            let e = r.unwrap_err();
            log.push(format!("6 {:?} cancellation={}", name_of(&e), e.is_cancellation()));
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
            "cancelled=false",
            "6 Some(\"1\") cancellation=false",
            "7"
        ]
    );
}

// testSupervisorJobCancellationException: a cancelled launch child of a
// supervisor never reaches the handler.
#[tokio::test(start_paused = true)]
async fn supervisor_cancelled_child_is_not_handled() {
    let (got, h) = recorder();
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = with_exception_handler(h, async {
        supervisor_scope! {
            let child = launch {
                log.push(1);
                let r = delay(FOREVER).await;
                log.push(3);
                r
            };
            yield_now().await?;
            log.push(2);
            child.cancel_and_join().await?;
            Ok(())
        }
    })
    .await;
    r.unwrap();
    log.push(4);
    assert_eq!(log.take(), ["1", "2", "3", "4"]);
    assert!(got.lock().unwrap().is_empty());
}
