//! kotlinx ScopedBuildersCancelledStartTest, WithContextTest and
//! exceptions/WithContextExceptionHandlingTest leftovers. Kotlin's
//! `cancel()` of the running coroutine is a child cancelling its own job
//! (reached through a OnceLock); `withContext` is a nested
//! `coroutine_scope` (its scope-shaped part) or, in the ASYNC_AWAIT mode,
//! an `async` child awaited at once. A scope entered in an already-cancelled
//! job runs its body and returns a cancellation (R7); a real failure beats
//! the cancellation (R6); a cancelled job that returns `Ok` ends cancelled
//! (R11).

use super::common::*;
use scopes::prelude::*;
use std::sync::{Arc, OnceLock};

type Me<'s> = Arc<OnceLock<Job<'s>>>;

fn is_cancel<T: std::fmt::Debug>(r: &scopes::Result<T>) -> bool {
    matches!(r, Err(e) if e.is_cancellation())
}

// ScopedBuildersCancelledStartTest.testCancelledCoroutineScope
#[tokio::test(start_paused = true)]
async fn cancelled_start_coroutine_scope_runs_its_body_and_returns_cancellation() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        let me: Me<'_> = Default::default();
        let own = me.clone();
        let job = launch {
            own.get().unwrap().cancel();
            let r: scopes::Result<()> = coroutine_scope! {
                log.push(1);
                Ok(())
            };
            log.push(format!("cancelled={}", is_cancel(&r)));
            r?;
            log.push("unreached");
        };
        let _ = me.set(job.clone());
        job.join().await?;
        assert!(job.is_cancelled());
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), ["1", "cancelled=true"]);
}

// ScopedBuildersCancelledStartTest.testCancelledSupervisorScope
#[tokio::test(start_paused = true)]
async fn cancelled_start_supervisor_scope_runs_its_body_and_returns_cancellation() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        let me: Me<'_> = Default::default();
        let own = me.clone();
        let job = launch {
            own.get().unwrap().cancel();
            let r: scopes::Result<()> = supervisor_scope! {
                log.push(1);
                Ok(())
            };
            log.push(format!("cancelled={}", is_cancel(&r)));
            r?;
            log.push("unreached");
        };
        let _ = me.set(job.clone());
        job.join().await?;
        assert!(job.is_cancelled());
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), ["1", "cancelled=true"]);
}

// ScopedBuildersCancelledStartTest.testCancelledWithTimeout: the deadline
// is far away; the cancellation of the job is what the call returns, not a
// timeout.
#[tokio::test(start_paused = true)]
async fn cancelled_start_with_timeout_returns_cancellation_not_timeout() {
    let log = Log::default();
    let log = &log;
    let start = tokio::time::Instant::now();
    let r: scopes::Result<()> = coroutine_scope! {
        let me: Me<'_> = Default::default();
        let own = me.clone();
        let job = launch {
            own.get().unwrap().cancel();
            let r = with_timeout(FOREVER, async move {
                delay(ms(10)).await?;
                Ok(1u8)
            })
            .await;
            let e = r.as_ref().unwrap_err();
            log.push(format!("cancelled={} timeout={}", e.is_cancellation(), e.is_timeout()));
            r?;
            log.push("unreached");
        };
        let _ = me.set(job.clone());
        job.join().await?;
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), ["cancelled=true timeout=false"]);
    assert_eq!(start.elapsed(), ms(0));
}

// ScopedBuildersCancelledStartTest.testWithContext: inside the nested
// scope entered in a cancelled job, the job is seen cancelled.
#[tokio::test(start_paused = true)]
async fn cancelled_start_nested_scope_sees_its_job_cancelled() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        let me: Me<'_> = Default::default();
        let own = me.clone();
        let job = launch {
            own.get().unwrap().cancel();
            let r: scopes::Result<()> = coroutine_scope! {
                log.push(format!("active={}", is_active()));
                log.push(format!("ensure_active cancelled={}", is_cancel(&ensure_active())));
                log.push(format!("yield cancelled={}", is_cancel(&yield_now().await)));
                Ok(())
            };
            log.push(format!("scope cancelled={}", is_cancel(&r)));
            r?;
            log.push("unreached");
        };
        let _ = me.set(job.clone());
        job.join().await?;
        Ok(())
    };
    r.unwrap();
    assert_eq!(
        log.take(),
        [
            "active=false",
            "ensure_active cancelled=true",
            "yield cancelled=true",
            "scope cancelled=true"
        ]
    );
}

// ScopedBuildersCancelledStartTest, a scope entered in a cancelled job
// whose body fails for real: the failure, not the cancellation (R7, R6).
#[tokio::test(start_paused = true)]
async fn cancelled_start_nested_scope_failing_for_real_returns_the_failure() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        let me: Me<'_> = Default::default();
        let own = me.clone();
        let job = launch {
            own.get().unwrap().cancel();
            let r: scopes::Result<()> = coroutine_scope! {
                log.push(1);
                Err(fail("TestException"))
            };
            log.push(format!("{:?}", r.as_ref().map_err(name_of)));
        };
        let _ = me.set(job.clone());
        job.join().await?;
        assert!(job.is_cancelled());
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), ["1", "Err(Some(\"TestException\"))"]);
}

// WithContextTest.testRunCancellationUndispatchedVsException: the job is
// cancelled (by itself) inside its nested scope after a suspension, then
// the nested body fails: the nested scope returns the failure, which the
// job catches.
#[tokio::test(start_paused = true)]
async fn run_cancellation_vs_exception_the_failure_is_caught() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        let me: Me<'_> = Default::default();
        let own = me.clone();
        log.push(1);
        let job = launch {
            log.push(2);
            let r: scopes::Result<()> = coroutine_scope! {
                log.push(3);
                yield_now().await?;
                log.push(5);
                own.get().unwrap().cancel();
                Err(fail("TestException"))
            };
            match r {
                Err(e) if name_of(&e) == Some("TestException") => log.push(6),
                other => panic!("{other:?}"),
            }
            Ok(())
        };
        let _ = me.set(job.clone());
        yield_now().await?;
        log.push(4);
        yield_now().await?;
        log.push(7);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), ["1", "2", "3", "4", "5", "6", "7"]);
}

// WithContextTest.testRunSelfCancellationWithException: the job (a root
// job: a launch child of a supervisor_scope) cancels itself inside its
// nested scope, then the body fails: the job catches the failure, not a
// cancellation; the job ends cancelled and nothing reaches the handler.
#[tokio::test(start_paused = true)]
async fn run_self_cancellation_with_exception_gives_the_failure() {
    let log = Log::default();
    let log = &log;
    let (got, h) = recorder();
    let r: scopes::Result<()> = with_exception_handler(h, async {
        supervisor_scope! {
            let me: Me<'_> = Default::default();
            let own = me.clone();
            log.push(1);
            let job = launch {
                log.push(3);
                let r: scopes::Result<()> = coroutine_scope! {
                    assert!(is_active());
                    log.push(4);
                    own.get().unwrap().cancel();
                    assert!(!is_active());
                    Err(fail("TestException"))
                };
                let e = r.unwrap_err();
                assert_eq!(name_of(&e), Some("TestException"), "{e:?}");
                log.push(5);
            };
            let _ = me.set(job.clone());
            log.push(2);
            yield_now().await?;
            log.push(6);
            job.join().await?;
            assert!(job.is_cancelled());
            Ok(())
        }
    })
    .await;
    r.unwrap();
    assert_eq!(log.take(), ["1", "2", "3", "4", "5", "6"]);
    assert!(got.lock().unwrap().is_empty());
}

// WithContextTest.testSequentialCancellation: the nested scope's return is
// held (here by a second non-cancellable yield, Kotlin: the dispatch back
// to the caller's dispatcher) while a sibling cancels the job: the nested
// scope returns a cancellation, the code after it never runs.
#[tokio::test(start_paused = true)]
async fn sequential_cancellation_code_after_the_nested_scope_never_runs() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        let job = launch {
            log.push(1);
            coroutine_scope! {
                non_cancellable(yield_now()).await?;
                log.push(2);
                non_cancellable(yield_now()).await?;
                Ok(())
            }?;
            log.push("unreached");
        };
        yield_now().await?;
        let target = job.clone();
        let job2 = launch {
            log.push(3);
            target.cancel();
        };
        join_all([&job, &job2]).await?;
        assert!(job.is_cancelled());
        log.push(4);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), ["1", "2", "3", "4"]);
}

// WithContextTest.testWithContextChildWaitSameContext
#[tokio::test(start_paused = true)]
async fn with_context_child_wait_same_context() {
    let log = Log::default();
    let log = &log;
    log.push(1);
    let r: scopes::Result<&str> = coroutine_scope! {
        log.push(2);
        launch { log.push(4); };
        log.push(3);
        Ok("OK")
    };
    assert_eq!(r.unwrap(), "OK");
    log.push(5);
    assert_eq!(log.take(), ["1", "2", "3", "4", "5"]);
}

// WithContextTest.testThrowExceptionFromWrappedContext: Kotlin's
// AssertionError is a panic: the nested scope returns it as a failure
// (is_panic), which the caller catches and carries on.
#[tokio::test(start_paused = true)]
async fn throw_panic_from_nested_scope_is_caught_as_a_failure() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        log.push(1);
        let r: scopes::Result<()> = coroutine_scope! {
            log.push(2);
            let boom = std::hint::black_box(true);
            if boom {
                panic!("AssertionError");
            }
            Ok(())
        };
        assert!(r.unwrap_err().is_panic());
        log.push(3);
        yield_now().await?;
        log.push(4);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), ["1", "2", "3", "4"]);
}

// WithContextExceptionHandlingTest.testCancellation (WITH_CONTEXT mode): a
// child whose job was cancelled (without cause) throws TE2: the result is
// TE2 with nothing suppressed; in a coroutine_scope it fails the scope.
#[tokio::test(start_paused = true)]
async fn with_context_exception_cancelled_then_thrown_is_the_failure() {
    let log = Log::default();
    let log = &log;
    log.push(1);
    let r: scopes::Result<()> = coroutine_scope! {
        let me: Me<'_> = Default::default();
        let own = me.clone();
        let job = launch {
            assert!(is_active());
            own.get().unwrap().cancel();
            assert!(!is_active());
            log.push(2);
            Err::<(), _>(fail("TestException2"))
        };
        let _ = me.set(job.clone());
        Ok(())
    };
    let e = r.unwrap_err();
    assert_eq!(name_of(&e), Some("TestException2"), "{e:?}");
    assert!(e.suppressed().is_empty(), "{e:?}");
    log.push(3);
    assert_eq!(log.take(), ["1", "2", "3"]);
}

// WithContextExceptionHandlingTest.testCancellation (ASYNC_AWAIT mode, with
// its own job: a supervisor's async child): await gives TE2.
#[tokio::test(start_paused = true)]
async fn async_await_exception_cancelled_then_thrown_is_the_failure() {
    let log = Log::default();
    let log = &log;
    log.push(1);
    let r: scopes::Result<()> = supervisor_scope! {
        let me: Me<'_> = Default::default();
        let own = me.clone();
        let d = async {
            assert!(is_active());
            own.get().unwrap().cancel();
            assert!(!is_active());
            log.push(2);
            Err::<(), _>(fail("TestException2"))
        };
        let _ = me.set(d.job().clone());
        let job = d.job().clone();
        let e = d.await.unwrap_err();
        assert_eq!(name_of(&e), Some("TestException2"), "{e:?}");
        assert!(e.suppressed().is_empty(), "{e:?}");
        assert!(job.is_cancelled());
        log.push(3);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), ["1", "2", "3"]);
}

// WithContextExceptionHandlingTest.testCancel (ASYNC_AWAIT shape): the
// child cancels its own job and returns normally: the caller gets a
// cancellation.
#[tokio::test(start_paused = true)]
async fn async_await_self_cancelled_returning_ok_gives_cancellation() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = supervisor_scope! {
        let me: Me<'_> = Default::default();
        let own = me.clone();
        let d = async {
            own.get().unwrap().cancel();
            assert!(!is_active());
            log.push(2);
            Ok("OK")
        };
        let _ = me.set(d.job().clone());
        log.push(1);
        let r = d.await;
        assert!(is_cancel(&r), "{r:?}");
        log.push(3);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), ["1", "2", "3"]);
}

// WithContextExceptionHandlingTest.testThrowingCancellation: a block that
// is not cancelled returns a cancellation error: its caller gets that
// cancellation; being no failure, it fails nobody.
#[tokio::test(start_paused = true)]
async fn throwing_cancellation_is_returned_and_fails_nobody() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        let d = async {
            log.push(2);
            Err::<(), _>(scopes::Error::cancelled())
        };
        log.push(1);
        let r = d.await;
        assert!(is_cancel(&r), "{r:?}");
        assert!(is_active());
        yield_now().await?;
        log.push(3);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), ["1", "2", "3"]);
}
