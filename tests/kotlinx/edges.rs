//! Edge cases from kotlinx JobSupport's final-cause rules
//! (JobExceptionHandlingTest, WithContextExceptionHandlingTest, ...), mapped to SPEC.

use super::common::*;
use scopes::prelude::*;

// R9: a real failure raised during the cleanup of a with_timeout's *child*
// wins over the timeout (Kotlin: the first non-cancellation exception is the
// final cause).
#[tokio::test(start_paused = true)]
async fn with_timeout_child_failing_in_cleanup_wins_over_timeout() {
    let start = tokio::time::Instant::now();
    let r: scopes::Result<()> = coroutine_scope! {
        let r: scopes::Result<()> = with_timeout(ms(100)) {
            launch {
                let _ = delay(FOREVER).await;
                Err::<(), _>(fail("cleanup"))
            };
            delay(FOREVER).await?;
            Ok(())
        };
        let e = r.unwrap_err();
        assert_eq!(name_of(&e), Some("cleanup"), "{e:?}");
        assert!(!e.is_timeout());
        Ok(())
    };
    r.unwrap();
    assert_eq!(start.elapsed(), ms(100));
}

// R9 with with_timeout_or_none: a real failure in a child's cleanup is not None.
#[tokio::test(start_paused = true)]
async fn with_timeout_or_none_child_failing_in_cleanup_is_a_failure() {
    let r: scopes::Result<()> = coroutine_scope! {
        let r: scopes::Result<Option<()>> = with_timeout_or_none(ms(100)) {
            launch {
                let _ = delay(FOREVER).await;
                Err::<(), _>(fail("cleanup"))
            };
            delay(FOREVER).await?;
            Ok(())
        };
        let e = r.unwrap_err();
        assert_eq!(name_of(&e), Some("cleanup"), "{e:?}");
        Ok(())
    };
    r.unwrap();
}

// R6/R2 (Kotlin: first non-cancellation exception is the final cause): a
// nested scope whose job is cancelled from outside, whose child fails in its
// cleanup, returns that failure; the child that entered it fails with it and
// fails the outer coroutine_scope.
#[tokio::test(start_paused = true)]
async fn failure_in_cleanup_after_outer_cancel_fails_the_job() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        let j = launch {
            let inner: scopes::Result<()> = coroutine_scope! {
                launch {
                    let _ = delay(FOREVER).await;
                    Err::<(), _>(fail("cleanup"))
                };
                delay(FOREVER).await?;
                Ok(())
            };
            log.push(format!("inner {:?}", inner.as_ref().map_err(|e| (name_of(e), e.is_cancellation()))));
            inner?;
        };
        yield_now().await?;
        yield_now().await?;
        j.cancel();
        let jr = j.join().await;
        log.push(format!("join {:?}", jr.as_ref().map_err(|e| e.is_cancellation())));
        Ok(())
    };
    let e = r.unwrap_err();
    assert_eq!(name_of(&e), Some("cleanup"), "{e:?}");
    assert_eq!(
        log.take(),
        ["inner Err((Some(\"cleanup\"), false))", "join Err(true)"]
    );
}

// A launch child (plain, not produce) whose send meets a cancelled channel
// ends cancelled, not failed: the scope completes normally (SPEC §2c).
#[tokio::test(start_paused = true)]
async fn plain_child_sending_to_a_dropped_receiver_ends_cancelled() {
    let r: scopes::Result<()> = coroutine_scope! {
        let (tx, rx) = channel::<u32>(0);
        let j = launch {
            loop { tx.send(1).await?; }
        };
        assert_eq!(rx.recv().await?, Some(1));
        drop(rx);
        j.join().await?;
        assert!(j.is_cancelled());
        Ok(())
    };
    r.unwrap();
}

// SPEC §2c: a send to a waiting receiver (and a recv from a waiting sender)
// completes without suspending (rendezvous).
#[tokio::test(start_paused = true)]
async fn rendezvous_send_to_waiting_receiver_does_not_suspend() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        let (tx, rx) = channel::<u32>(0);
        launch {
            log.push("recv waits");
            let v = rx.recv().await?;
            log.push(format!("got {v:?}"));
        };
        yield_now().await?;
        tx.send(7).await?;
        log.push("sent");
        yield_now().await?;
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), ["recv waits", "sent", "got Some(7)"]);
}

// SPEC §2c: close_with gives the failure after the buffered items.
#[tokio::test(start_paused = true)]
async fn close_with_after_items() {
    let r: scopes::Result<()> = coroutine_scope! {
        let (tx, rx) = channel::<u32>(4);
        tx.send(1).await?;
        tx.send(2).await?;
        tx.close_with(fail("x"));
        assert_eq!(rx.recv().await?, Some(1));
        assert_eq!(rx.recv().await?, Some(2));
        let e = rx.recv().await.unwrap_err();
        assert_eq!(name_of(&e), Some("x"));
        Ok(())
    };
    r.unwrap();
}

// §3b: an async child's failure never awaited in a supervisor_scope, whose
// handle is dropped at once, reaches the handler exactly once.
#[tokio::test(start_paused = true)]
async fn dropped_failed_deferred_is_reported_once() {
    let (got, h) = recorder();
    let r: scopes::Result<()> = with_exception_handler(h, async {
        supervisor_scope! {
            let d = async { yield_now().await?; Err::<(), _>(fail("lost")) };
            drop(d);
            Ok(())
        }
    })
    .await;
    r.unwrap();
    let got: Vec<_> = got.lock().unwrap().iter().map(|e| name_of(e)).collect();
    assert_eq!(got, [Some("lost")]);
}

// §3b/R4: a failure given to await_all was awaited: not reported again.
#[tokio::test(start_paused = true)]
async fn failure_seen_through_await_all_is_not_reported() {
    let (got, h) = recorder();
    let r: scopes::Result<()> = with_exception_handler(h, async {
        supervisor_scope! {
            let d1 = async { Err::<(), _>(fail("a")) };
            let d2 = async { Ok(()) };
            let e = await_all([d1, d2]).await.unwrap_err();
            assert_eq!(name_of(&e), Some("a"));
            Ok(())
        }
    })
    .await;
    r.unwrap();
    assert!(got.lock().unwrap().is_empty(), "{:?}", got.lock().unwrap());
}

// R11: a lazy Deferred awaited in a job already cancelled: it is not started
// by that await (which fails at once); it is cancelled when the body ends.
#[tokio::test(start_paused = true)]
async fn awaiting_lazy_in_cancelled_job() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        let j = launch {
            let _ = delay(FOREVER).await;
            let inner: scopes::Result<()> = coroutine_scope! {
                Ok(())
            };
            let _ = inner;
        };
        let lazy = async(start = lazy) { log.push("lazy ran"); Ok(1u8) };
        yield_now().await?;
        j.cancel();
        j.join().await?;
        let v = lazy.await?;
        log.push(format!("v={v}"));
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), ["lazy ran", "v=1"]);
}

// R11: start() on an eager child is false; on a lazy one, true once.
#[tokio::test(start_paused = true)]
async fn start_returns_true_once() {
    let r: scopes::Result<()> = coroutine_scope! {
        let e = launch { };
        let l = launch(start = lazy) { };
        assert!(!e.start());
        assert!(l.start());
        assert!(!l.start());
        yield_now().await?;
        assert!(!l.start());
        Ok(())
    };
    r.unwrap();
}

// Kotlin's Job.cancel on a job in a supervisor: the cancelled child doesn't
// reach the handler even if it returns a cancellation with a cause... and a
// child cancelled that returns a real failure in its cleanup does.
#[tokio::test(start_paused = true)]
async fn supervisor_child_cancelled_then_failing_in_cleanup_is_handled() {
    let (got, h) = recorder();
    let r: scopes::Result<()> = with_exception_handler(h, async {
        supervisor_scope! {
            let c = launch {
                let _ = delay(FOREVER).await;
                Err::<(), _>(fail("cleanup"))
            };
            yield_now().await?;
            c.cancel_and_join().await?;
            assert!(c.is_cancelled());
            Ok(())
        }
    })
    .await;
    r.unwrap();
    let got: Vec<_> = got.lock().unwrap().iter().map(|e| name_of(e)).collect();
    assert_eq!(got, [Some("cleanup")]);
}

// coroutine_scope: a child cancelled by the body (job.cancel) that fails in its
// cleanup fails the scope (Kotlin: a child failing — even while cancelling —
// cancels the parent).
#[tokio::test(start_paused = true)]
async fn coroutine_scope_child_cancelled_then_failing_in_cleanup_fails_scope() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        let c = launch {
            let _ = delay(FOREVER).await;
            Err::<(), _>(fail("cleanup"))
        };
        yield_now().await?;
        c.cancel();
        let j = c.join().await;
        log.push(format!("join {:?}", j.as_ref().map_err(|e| e.is_cancellation())));
        j?;
        log.push("unreached");
        Ok(())
    };
    assert_eq!(name_of(&r.unwrap_err()), Some("cleanup"));
    assert_eq!(log.take(), ["join Err(true)"]);
}

// Error names: the failure remembers the name of the child it came from.
#[tokio::test(start_paused = true)]
async fn error_remembers_child_name() {
    let r: scopes::Result<()> = coroutine_scope! {
        launch(name = "fetcher") { Err::<(), _>(fail("x")) };
        Ok(())
    };
    let e = r.unwrap_err();
    assert_eq!(e.child_name().as_deref(), Some("fetcher"));
}

// R2 via a deep chain (JobNestedExceptionsTest.testExceptionUnwrapping): the
// scope's error is the original one, not wrapped, nothing suppressed.
#[tokio::test(start_paused = true)]
async fn deep_failure_unwrapped() {
    let r: scopes::Result<()> = coroutine_scope! {
        launch {
            launch {
                launch {
                    launch { Err::<(), _>(fail("ise")) };
                    yield_now().await?;
                    delay(FOREVER).await?;
                };
                delay(FOREVER).await?;
            };
            delay(FOREVER).await?;
        };
        delay(FOREVER).await?;
        Ok(())
    };
    let e = r.unwrap_err();
    assert_eq!(name_of(&e), Some("ise"));
    assert!(e.suppressed().is_empty(), "{e:?}");
    assert!(!e.is_cancellation());
}
