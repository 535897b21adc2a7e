//! Panics never abort the process and never lose the first failure: a
//! panic in a child, in the body, in the exception handler, in a `parallel`
//! child, or in the `Drop` of a value a child captured while it is dropped
//! after its cancellation.
//!
//! (A `Drop` that panics *while a panic unwinds* aborts any Rust process;
//! that is the language's rule and out of reach of a library.)

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use scopes::{
    Error, Result, coroutine_scope, delay, supervisor_scope, with_exception_handler, yield_now,
};
use tokio::time::Instant;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Keeps the expected panics of this file off stderr.
fn quiet() {
    scopes_workspace::quiet_panics_starting_with("expected:");
}

/// Panics when dropped.
struct PanicOnDrop(&'static str);

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        panic!("expected: {}", self.0);
    }
}

/// Runs `scope` under an exception handler that writes down what it gets:
/// the scope's result, and the handler's messages.
async fn with_handler_log<T>(
    scope: impl std::future::Future<Output = Result<T>>,
) -> (Result<T>, Vec<String>) {
    let calls = Arc::new(Mutex::new(Vec::new()));
    let seen = calls.clone();
    let handler = move |e: &Error| seen.lock().unwrap().push(e.to_string());
    let result = with_exception_handler(handler, scope).await;
    let calls = calls.lock().unwrap().clone();
    (result, calls)
}

fn messages(errors: &[Error]) -> Vec<String> {
    errors.iter().map(ToString::to_string).collect()
}

#[tokio::test(start_paused = true)]
async fn panic_in_a_child_is_the_first_failure_and_cancels_siblings() {
    quiet();
    let start = Instant::now();
    let result: Result<()> = coroutine_scope(|s| {
        Box::pin(async move {
            s.launch(async { delay(Duration::from_secs(60)).await });
            s.launch(async {
                delay(ms(5)).await?;
                panic!("expected: child");
            });
            s.launch(async {
                // Fails while the scope is cancelling: suppressed.
                if delay(Duration::from_secs(60)).await.is_err() {
                    return Err(Error::msg("second"));
                }
                Ok(())
            });
            Ok(())
        })
    })
    .await;
    let err = result.unwrap_err();
    assert!(err.is_panic());
    assert_eq!(err.to_string(), "panicked: expected: child");
    assert_eq!(messages(err.suppressed()), ["second"]);
    assert_eq!(start.elapsed(), ms(5));
}

#[tokio::test(start_paused = true)]
async fn panic_in_the_body_after_a_child_failed_is_suppressed() {
    quiet();
    let result: Result<()> = coroutine_scope(|s| {
        Box::pin(async move {
            s.launch(async { Err(Error::msg("first")) });
            let _ = yield_now().await; // cancelled here
            panic!("expected: body");
        })
    })
    .await;
    let err = result.unwrap_err();
    assert_eq!(err.to_string(), "first");
    assert_eq!(messages(err.suppressed()), ["panicked: expected: body"]);
}

#[tokio::test(start_paused = true)]
async fn a_panicking_handler_gets_every_later_failure_too() {
    quiet();
    let calls = Arc::new(Mutex::new(Vec::new()));
    let seen = calls.clone();
    let result = with_exception_handler(
        move |e: &Error| {
            seen.lock().unwrap().push(e.to_string());
            panic!("expected: handler");
        },
        supervisor_scope(|s| {
            Box::pin(async move {
                s.launch(async { Err(Error::msg("one")) });
                s.launch(async {
                    delay(ms(1)).await?;
                    Err(Error::msg("two"))
                });
                s.launch(async {
                    delay(ms(2)).await?;
                    panic!("expected: three");
                });
                Ok("body value")
            })
        }),
    )
    .await;
    assert_eq!(result.unwrap(), "body value");
    assert_eq!(
        *calls.lock().unwrap(),
        ["one", "two", "panicked: expected: three"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panic_in_a_parallel_child_is_a_failure_with_its_payload() {
    quiet();
    let result: Result<()> = coroutine_scope(|s| {
        Box::pin(async move {
            s.child().launch_parallel(async {
                tokio::task::yield_now().await;
                std::panic::panic_any(String::from("expected: parallel"));
            });
            s.launch(async { delay(Duration::from_secs(3600)).await });
            Ok(())
        })
    })
    .await;
    let err = result.unwrap_err();
    assert!(err.is_panic());
    let payload = std::panic::catch_unwind(move || err.resume_panic()).unwrap_err();
    assert_eq!(
        payload.downcast_ref::<String>().unwrap(),
        "expected: parallel"
    );
}

#[tokio::test(start_paused = true)]
async fn panic_in_drop_of_a_captured_value_during_cancellation_is_suppressed() {
    quiet();
    let result: Result<()> = coroutine_scope(|s| {
        Box::pin(async move {
            let bomb = PanicOnDrop("drop during cancellation");
            s.launch(async move {
                let _bomb = bomb;
                delay(Duration::from_secs(60)).await
            });
            s.launch(async {
                delay(ms(1)).await?;
                Err(Error::msg("first"))
            });
            Ok(())
        })
    })
    .await;
    let err = result.unwrap_err();
    assert_eq!(err.to_string(), "first");
    assert_eq!(
        messages(err.suppressed()),
        ["panicked: expected: drop during cancellation"]
    );
}

#[tokio::test(start_paused = true)]
async fn panic_in_drop_of_a_child_that_never_ran_is_a_failure() {
    quiet();
    let result: Result<()> = coroutine_scope(|s| {
        Box::pin(async move {
            let bomb = PanicOnDrop("never ran");
            let job = s.launch(async move {
                let _bomb = bomb;
                Ok(())
            });
            job.cancel(); // it never runs; its future is dropped
            Ok(())
        })
    })
    .await;
    let err = result.unwrap_err();
    assert!(err.is_panic());
    assert_eq!(err.to_string(), "panicked: expected: never ran");
}

/// A lazy child never started completes cancelled when its scope's body
/// returns (R11), and one held under a `limit` completes cancelled at its
/// cancel (SPEC §2b): both before their work is dropped. A panic in that
/// drop is still a failure of the scope, in place and on the pool alike.
#[tokio::test(start_paused = true)]
async fn panic_in_drop_of_a_child_that_completed_before_its_work_was_dropped_is_a_failure() {
    quiet();
    for parallel in [false, true] {
        let lazy: Result<()> = coroutine_scope(|s| {
            Box::pin(async move {
                let bomb = PanicOnDrop("lazy, never started");
                let work = async move {
                    let _bomb = bomb;
                    Ok(())
                };
                let child = s.child().start(scopes::Start::Lazy);
                if parallel {
                    child.launch_parallel(work);
                } else {
                    child.launch(work);
                }
                Ok(())
            })
        })
        .await;
        assert_eq!(
            lazy.unwrap_err().to_string(),
            "panicked: expected: lazy, never started",
            "parallel: {parallel}"
        );
        let held: Result<()> =
            scopes::coroutine_scope_with(scopes::ScopeOptions::new().limit(1), |s| {
                Box::pin(async move {
                    s.launch(delay(ms(10)));
                    let bomb = PanicOnDrop("held under the limit");
                    let work = async move {
                        let _bomb = bomb;
                        Ok(())
                    };
                    let waiting = if parallel {
                        s.child().launch_parallel(work)
                    } else {
                        s.launch(work)
                    };
                    yield_now().await?;
                    waiting.cancel();
                    Ok(())
                })
            })
            .await;
        assert_eq!(
            held.unwrap_err().to_string(),
            "panicked: expected: held under the limit",
            "parallel: {parallel}"
        );
    }
}

/// In a supervisor, that panic goes to the exception handler: the lazy
/// `async` child's `Deferred` gave its cancellation and gives nothing more.
#[tokio::test(start_paused = true)]
async fn panic_in_drop_of_a_supervised_lazy_child_never_started_goes_to_the_handler() {
    quiet();
    let (result, calls) = with_handler_log(supervisor_scope(|s| {
        Box::pin(async move {
            let bomb = PanicOnDrop("supervised lazy");
            let deferred = s.child().start(scopes::Start::Lazy).r#async(async move {
                let _bomb = bomb;
                Ok(5)
            });
            deferred.cancel();
            assert!(deferred.await.unwrap_err().is_cancellation());
            Ok(1)
        })
    }))
    .await;
    assert_eq!(result.unwrap(), 1);
    assert_eq!(calls, ["panicked: expected: supervised lazy"]);
}

#[tokio::test(start_paused = true)]
async fn panic_in_drop_of_a_supervised_child_goes_to_the_handler() {
    quiet();
    let (result, calls) = with_handler_log(supervisor_scope(|s| {
        Box::pin(async move {
            let bomb = PanicOnDrop("supervised drop");
            let job = s.launch(async move {
                let _bomb = bomb;
                delay(Duration::from_secs(60)).await
            });
            yield_now().await?;
            job.cancel();
            Ok(1)
        })
    }))
    .await;
    assert_eq!(result.unwrap(), 1);
    assert_eq!(calls, ["panicked: expected: supervised drop"]);
}

#[tokio::test(start_paused = true)]
async fn panic_in_drop_of_a_value_the_body_captured_is_a_failure() {
    quiet();
    let result: Result<()> = coroutine_scope(|_s| {
        let bomb = PanicOnDrop("body capture");
        Box::pin(async move {
            let _bomb = bomb;
            Ok(())
        })
    })
    .await;
    assert_eq!(
        result.unwrap_err().to_string(),
        "panicked: expected: body capture"
    );
}

#[tokio::test(start_paused = true)]
async fn panics_while_the_scope_future_is_dropped_do_not_escape() {
    quiet();
    let drops = Arc::new(AtomicUsize::new(0));
    struct Counted(Arc<AtomicUsize>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let scope = coroutine_scope(|s| {
        let (a, b) = (Counted(drops.clone()), Counted(drops.clone()));
        Box::pin(async move {
            s.launch(async move {
                let _a = a;
                let _bomb = PanicOnDrop("dropped with the scope");
                delay(Duration::from_secs(60)).await
            });
            s.launch(async move {
                let _b = b;
                delay(Duration::from_secs(60)).await
            });
            delay(Duration::from_secs(60)).await
        })
    });
    // R10: the timeout drops the scope's future; the panic in the first
    // child's drop must neither escape nor stop the second child's drop.
    assert!(tokio::time::timeout(ms(1), scope).await.is_err());
    assert_eq!(drops.load(Ordering::SeqCst), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panic_in_drop_of_a_cancelled_parallel_child_is_suppressed() {
    quiet();
    let result: Result<()> = coroutine_scope(|s| {
        Box::pin(async move {
            let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
            s.child().launch_parallel(async move {
                let _bomb = PanicOnDrop("parallel drop");
                let _ = started_tx.send(());
                std::future::pending::<()>().await;
                Ok(())
            });
            s.launch(async move {
                let _ = started_rx.await;
                Err(Error::msg("first"))
            });
            Ok(())
        })
    })
    .await;
    let err = result.unwrap_err();
    assert_eq!(err.to_string(), "first");
    assert_eq!(
        messages(err.suppressed()),
        ["panicked: expected: parallel drop"]
    );
}

/// In a `supervisor_scope`, an `async` child whose handles are all gone
/// returns a value whose `Drop` panics: the panic is the child's failure,
/// which goes to the handler (R4), not a panic out of the scope's poll
/// (found by a helper). The handle dropped by hand, and with the body.
#[tokio::test(start_paused = true)]
async fn a_panic_in_an_unawaited_value_s_drop_is_the_child_s_failure_in_a_supervisor() {
    quiet();
    let (result, handled) = with_handler_log(supervisor_scope(|s| {
        Box::pin(async move {
            let d = s.r#async(async {
                delay(ms(10)).await?;
                Ok(PanicOnDrop("value dropped with its child"))
            });
            drop(d);
            let _kept = s.r#async(async {
                delay(ms(10)).await?;
                Ok(PanicOnDrop("value dropped with the body"))
            });
            Ok(())
        })
    }))
    .await;
    result.unwrap();
    assert_eq!(
        handled,
        [
            "panicked: expected: value dropped with its child",
            "panicked: expected: value dropped with the body"
        ]
    );
}

/// R10 with a panic: the scope's future is dropped, and a child's captured
/// value panics as it is dropped. The dropped scope returns nothing, so the
/// panic goes to the exception handler in force (the default one logs it),
/// never lost silently (found by a helper).
#[tokio::test(start_paused = true)]
async fn a_panic_while_a_dropped_scope_drops_its_children_goes_to_the_handler() {
    quiet();
    let child = || async {
        let _guard = PanicOnDrop("child dropped with its scope");
        delay(ms(100)).await
    };
    let plain = coroutine_scope(|s| {
        Box::pin(async move {
            s.launch(child());
            delay(ms(100)).await
        })
    });
    let supervised = supervisor_scope(|s| {
        Box::pin(async move {
            s.launch(child());
            delay(ms(100)).await
        })
    });
    let dropped_at_10_ms = |scope| async move {
        let timed = tokio::time::timeout(ms(10), scope).await;
        timed.unwrap_or_else(|_| Err(Error::msg("dropped at 10 ms")))
    };
    for (result, handled) in [
        with_handler_log(dropped_at_10_ms(Box::pin(plain) as scopes::BoxFuture<'_, _>)).await,
        with_handler_log(dropped_at_10_ms(Box::pin(supervised))).await,
    ] {
        assert_eq!(result.unwrap_err().to_string(), "dropped at 10 ms");
        assert_eq!(
            handled,
            ["panicked: expected: child dropped with its scope"]
        );
    }
}

/// An error whose `Display` panics.
#[derive(Debug)]
struct PanicOnDisplay;

impl std::fmt::Display for PanicOnDisplay {
    fn fmt(&self, _: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        panic!("expected: Display");
    }
}

impl std::error::Error for PanicOnDisplay {}

/// The default exception handler prints the failure; an error whose
/// `Display` panics does not make that panic escape the scope (a custom
/// handler's panic is caught already).
#[tokio::test(start_paused = true)]
async fn an_error_that_panics_when_printed_does_not_escape_the_default_handler() {
    quiet();
    let result = supervisor_scope(|s| {
        Box::pin(async move {
            s.launch(async { Err(Error::from(PanicOnDisplay)) });
            Ok(())
        })
    })
    .await;
    result.unwrap();
}

/// The same with a `parallel` child: its value is dropped by the scope or
/// by the task's end, whichever lets go of it last; either way the panic
/// reaches the handler once (on the worker it was lost).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_in_an_unawaited_parallel_value_s_drop_reaches_the_handler_once() {
    quiet();
    for _ in 0..50 {
        let calls = Arc::new(Mutex::new(Vec::new()));
        let seen = calls.clone();
        let handler = move |e: &Error| seen.lock().unwrap().push(e.to_string());
        let result = with_exception_handler(
            handler,
            supervisor_scope(|s| {
                Box::pin(async move {
                    drop(s.child().async_parallel(async {
                        yield_now().await?;
                        Ok(PanicOnDrop("parallel value"))
                    }));
                    Ok(())
                })
            }),
        )
        .await;
        result.unwrap();
        // The task's end may let go of the value just after the scope
        // took its outcome, on its worker.
        tokio::time::sleep(ms(20)).await;
        assert_eq!(
            *calls.lock().unwrap(),
            ["panicked: expected: parallel value"]
        );
    }
}
