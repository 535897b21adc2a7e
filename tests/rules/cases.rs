//! The rules' tests, shared by both kinds of scope: `tests/rules.rs`
//! includes this file once in `send` (`coroutine_scope`,
//! `supervisor_scope`) and once in `local` (`coroutine_scope_local`,
//! `supervisor_scope_local`), each of which names its kind's entry points,
//! handle and boxed future the same way (`super::*`).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use scopes::{
    Error, Result, ScopeOptions, Start, cancellable, delay, ensure_active, is_active,
    non_cancellable, with_exception_handler, with_timeout, with_timeout_or_none, yield_now,
};
use scopes_workspace::Log;

use super::{
    BoxFuture, Scope, coroutine_scope, coroutine_scope_with, in_task_set, spawn, supervisor_scope,
};
use crate::{ms, recording, timed};

// ---------------------------------------------------------------- R1

#[tokio::test(start_paused = true)]
async fn r1_scope_waits_for_every_child_and_grandchild() {
    let log = Log::default();
    let log = &log;
    let (result, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            s.launch(async move {
                delay(ms(100)).await?;
                log.push("child");
                Ok(())
            });
            s.launch(async move {
                coroutine_scope(|inner| {
                    Box::pin(async move {
                        inner.launch(async move {
                            delay(ms(300)).await?;
                            log.push("grandchild");
                            Ok(())
                        });
                        Ok(())
                    })
                })
                .await
            });
            log.push("body");
            Ok(7)
        })
    }))
    .await;
    assert_eq!(result.unwrap(), 7);
    assert_eq!(took, ms(300));
    assert_eq!(log.take(), ["body", "child", "grandchild"]);
}

#[tokio::test(start_paused = true)]
async fn r1_children_may_borrow_data_from_outside_the_scope() {
    let names = vec!["a".to_owned(), "b".to_owned()];
    let total = AtomicUsize::new(0);
    let (names_ref, total_ref) = (&names, &total);
    coroutine_scope(|s| {
        Box::pin(async move {
            for name in names_ref {
                s.launch(async move {
                    yield_now().await?;
                    total_ref.fetch_add(name.len(), Ordering::Relaxed);
                    Ok(())
                });
            }
            Ok(())
        })
    })
    .await
    .unwrap();
    assert_eq!(total.load(Ordering::Relaxed), 2);
    assert_eq!(names.len(), 2);
}

// ---------------------------------------------------------------- R2

#[tokio::test(start_paused = true)]
async fn r2_fail_fast_cancels_siblings() {
    let log = Log::default();
    let log = &log;
    let (result, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            s.launch(async move {
                match delay(Duration::from_secs(3600)).await {
                    Ok(()) => log.push("sibling finished"),
                    Err(e) if e.is_cancellation() => log.push("sibling cancelled"),
                    Err(e) => return Err(e),
                }
                Ok(())
            });
            s.launch(async {
                delay(ms(10)).await?;
                Err(Error::msg("boom"))
            });
            Ok(())
        })
    }))
    .await;
    assert_eq!(result.unwrap_err().to_string(), "boom");
    assert_eq!(took, ms(10));
    assert_eq!(log.take(), ["sibling cancelled"]);
}

#[tokio::test(start_paused = true)]
async fn r2_fail_fast_cancels_the_body() {
    let (result, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            s.launch(async { Err(Error::msg("child failed")) });
            let slept = delay(Duration::from_secs(10)).await;
            assert!(slept.unwrap_err().is_cancellation());
            Ok(())
        })
    }))
    .await;
    assert_eq!(result.unwrap_err().to_string(), "child failed");
    assert_eq!(took, Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn r2_first_failure_wins() {
    let result: Result<()> = coroutine_scope(|s| {
        Box::pin(async move {
            s.launch(async {
                delay(ms(20)).await?;
                Err(Error::msg("second"))
            });
            s.launch(async {
                delay(ms(10)).await?;
                Err(Error::msg("first"))
            });
            Ok(())
        })
    })
    .await;
    let err = result.unwrap_err();
    assert_eq!(err.to_string(), "first");
    // The second child was cancelled at 10 ms and never failed.
    assert!(err.suppressed().is_empty());
}

/// A child with a scope of its own (`ScopeOptions::body_of_child`, what
/// the DSL opens for a child with children): one of its children fails at
/// 1 ms, the other cleans up for 100 ms once cancelled.
fn failing_at_1ms_cleaning_up_until_101ms<'s>() -> impl std::future::Future<Output = Result<()>> + 's
{
    coroutine_scope_with(scopes::ScopeOptions::new().body_of_child(), |own| {
        Box::pin(async move {
            own.launch(async {
                delay(ms(1)).await?;
                Err(Error::msg("grandchild failed"))
            });
            own.launch(async {
                let waited = delay(ms(3_600_000)).await;
                non_cancellable(delay(ms(100))).await?;
                waited
            });
            Ok(())
        })
    })
}

/// A child whose body is a scope of its own (`ScopeOptions::body_of_child`,
/// what the DSL opens for a child with children) fails at once when one of
/// its children fails: its `coroutine_scope` cancels the rest then, as
/// Kotlin's parent does when a child starts cancelling with a failure,
/// not once the child's other children have cleaned up.
#[tokio::test(start_paused = true)]
async fn r2_a_child_whose_own_child_failed_fails_its_scope_at_once() {
    let log = Log::default();
    let log = &log;
    let ((failed, sibling_at), took) = timed(async {
        let failed = coroutine_scope(|s| {
            Box::pin(async move {
                s.launch(failing_at_1ms_cleaning_up_until_101ms());
                let start = tokio::time::Instant::now();
                s.launch(async move {
                    let waited = delay(ms(3_600_000)).await;
                    log.push(format!("sibling at {:?}", start.elapsed()));
                    waited
                });
                delay(ms(3_600_000)).await
            })
        })
        .await
        .unwrap_err();
        (failed, log.take())
    })
    .await;
    assert_eq!(failed.to_string(), "grandchild failed");
    assert_eq!(sibling_at, ["sibling at 1ms"]);
    assert_eq!(took, ms(101));
}

/// In a supervisor, a child whose own child failed fails alone, when it
/// ends, as any child (R4): the handler hears of it once.
#[tokio::test(start_paused = true)]
async fn r4_a_child_whose_own_child_failed_is_reported_once_when_it_ends() {
    let seen = Log::default();
    let took = with_exception_handler(recording(&seen), async {
        let start = tokio::time::Instant::now();
        supervisor_scope(|s| {
            Box::pin(async move {
                s.launch(failing_at_1ms_cleaning_up_until_101ms());
                let sibling = s.launch(async { delay(ms(200)).await });
                sibling.join().await?;
                assert!(!sibling.is_cancelled());
                Ok(())
            })
        })
        .await
        .unwrap();
        start.elapsed()
    })
    .await;
    assert_eq!(took, ms(200));
    assert_eq!(seen.take(), ["handler: grandchild failed"]);
}

// ---------------------------------------------------------------- R3

/// An `async` child's work that fails at 50 ms.
async fn fails_at_50ms() -> Result<u32> {
    delay(ms(50)).await?;
    Err(Error::msg("child failed"))
}

#[tokio::test(start_paused = true)]
async fn r3_catching_await_error_does_not_recover() {
    let log = Log::default();
    let log = &log;
    let (result, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            let d = s.r#async(fails_at_50ms());
            // The child's failure cancels the scope, and so the body
            // suspended here, which gets that failure (Kotlin's await gives
            // the awaited job's cause).
            match d.await {
                Ok(_) => log.push("value"),
                Err(e) => log.push(format!("caught: {e}")),
            }
            // The scope is already failing: this suspension is cancelled.
            let after = delay(ms(1000)).await;
            log.push(format!(
                "after catch cancelled: {}",
                after.unwrap_err().is_cancellation()
            ));
            Ok("recovered")
        })
    }))
    .await;
    assert_eq!(result.unwrap_err().to_string(), "child failed");
    assert_eq!(took, ms(50));
    assert_eq!(
        log.take(),
        ["caught: child failed", "after catch cancelled: true"]
    );
}

/// R3 with the failure already there: a new `await` of a failed
/// `Deferred` gives its error even in the cancelled body (R7), and
/// catching it does not recover either.
#[tokio::test(start_paused = true)]
async fn r3_catching_the_error_of_an_already_failed_deferred_does_not_recover() {
    let log = Log::default();
    let log = &log;
    let (result, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            let d = s.r#async(fails_at_50ms());
            let slept = delay(ms(1000)).await; // cancelled at 50 ms
            log.push(format!(
                "cancelled: {}",
                slept.unwrap_err().is_cancellation()
            ));
            match d.await {
                Ok(_) => log.push("value"),
                Err(e) => log.push(format!("caught: {e}")),
            }
            Ok("recovered")
        })
    }))
    .await;
    assert_eq!(result.unwrap_err().to_string(), "child failed");
    assert_eq!(took, ms(50));
    assert_eq!(log.take(), ["cancelled: true", "caught: child failed"]);
}

// ---------------------------------------------------------------- R4

#[tokio::test(start_paused = true)]
async fn r4_supervisor_child_failure_cancels_nobody() {
    let log = Log::default();
    let handled = Log::default();
    let log = &log;
    let (result, took) = timed(with_exception_handler(
        recording(&handled),
        supervisor_scope(|s| {
            Box::pin(async move {
                s.launch(async { Err(Error::msg("launch failed")) });
                let bad = s.r#async(async { Err::<u8, _>(Error::msg("async failed")) });
                s.launch(async move {
                    delay(ms(500)).await?;
                    log.push("sibling done");
                    Ok(())
                });
                delay(ms(200)).await?;
                log.push(format!("awaited: {}", bad.await.unwrap_err()));
                Ok("body value")
            })
        }),
    ))
    .await;
    assert_eq!(result.unwrap(), "body value");
    assert_eq!(took, ms(500));
    assert_eq!(log.take(), ["awaited: async failed", "sibling done"]);
    // Only the launch failure goes to the handler; the async one was awaited.
    assert_eq!(handled.take(), ["handler: launch failed"]);
}

#[tokio::test(start_paused = true)]
async fn r4_nearest_handler_wins() {
    let outer = Log::default();
    let inner = Log::default();
    let inner_handler = recording(&inner);
    with_exception_handler(recording(&outer), async move {
        with_exception_handler(
            inner_handler,
            supervisor_scope(|s| {
                Box::pin(async move {
                    s.launch(async { Err(Error::msg("x")) });
                    Ok(())
                })
            }),
        )
        .await
    })
    .await
    .unwrap();
    assert_eq!(inner.take(), ["handler: x"]);
    assert!(outer.take().is_empty());
}

#[tokio::test(start_paused = true)]
async fn r4_handler_is_inherited_by_nested_supervisors_in_children() {
    let handled = Log::default();
    with_exception_handler(
        recording(&handled),
        coroutine_scope(|s| {
            Box::pin(async move {
                s.launch(async {
                    supervisor_scope(|inner| {
                        Box::pin(async move {
                            inner.launch(async { Err(Error::msg("deep")) });
                            Ok(())
                        })
                    })
                    .await
                });
                Ok(())
            })
        }),
    )
    .await
    .unwrap();
    assert_eq!(handled.take(), ["handler: deep"]);
}

#[tokio::test(start_paused = true)]
async fn r4_unawaited_failed_deferred_is_reported() {
    let handled = Log::default();
    with_exception_handler(
        recording(&handled),
        supervisor_scope(|s| {
            Box::pin(async move {
                let d = s.r#async(async { Err::<(), _>(Error::msg("nobody awaits me")) });
                yield_now().await?;
                drop(d);
                s.r#async(async { Err::<(), _>(Error::msg("dropped before it ran")) });
                Ok(())
            })
        }),
    )
    .await
    .unwrap();
    assert_eq!(
        handled.take(),
        [
            "handler: nobody awaits me",
            "handler: dropped before it ran"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn r4_panicking_handler_does_not_take_the_scope_down() {
    let log = Log::default();
    let log = &log;
    let result = with_exception_handler(
        |_: &Error| panic!("handler bug"),
        supervisor_scope(|s| {
            Box::pin(async move {
                s.launch(async { Err(Error::msg("x")) });
                s.launch(async move {
                    delay(ms(10)).await?;
                    log.push("sibling ran");
                    Ok(())
                });
                Ok(1)
            })
        }),
    )
    .await;
    assert_eq!(result.unwrap(), 1);
    assert_eq!(log.take(), ["sibling ran"]);
}

// ---------------------------------------------------------------- R5

fn failing_body<'s>(s: Scope<'s, '_>, log: &'s Log) -> BoxFuture<'s, Result<()>> {
    Box::pin(async move {
        s.launch(async move {
            if delay(Duration::from_secs(60)).await.is_err() {
                log.push("child cancelled");
            }
            Ok(())
        });
        delay(ms(30)).await?;
        Err(Error::msg("body failed"))
    })
}

#[tokio::test(start_paused = true)]
async fn r5_body_failure_cancels_children() {
    for supervised in [false, true] {
        let log = Log::default();
        let log = &log;
        let (result, took) = if supervised {
            timed(supervisor_scope(|s| failing_body(s, log))).await
        } else {
            timed(coroutine_scope(|s| failing_body(s, log))).await
        };
        assert_eq!(result.unwrap_err().to_string(), "body failed");
        assert_eq!(took, ms(30));
        assert_eq!(log.take(), ["child cancelled"]);
    }
}

#[tokio::test(start_paused = true)]
async fn r5_body_panic_is_a_failure() {
    let result: Result<()> = coroutine_scope(|s| {
        Box::pin(async move {
            s.launch(async { delay(Duration::from_secs(60)).await });
            yield_now().await?;
            panic!("body panicked");
        })
    })
    .await;
    let err = result.unwrap_err();
    assert!(err.is_panic());
    assert_eq!(err.to_string(), "panicked: body panicked");
}

// ---------------------------------------------------------------- R6

#[tokio::test(start_paused = true)]
async fn r6_failures_while_cancelling_are_suppressed() {
    let (result, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            s.launch(async {
                // Cleanup that fails after the scope started cancelling.
                if delay(Duration::from_secs(60)).await.is_err() {
                    non_cancellable(delay(ms(5))).await?;
                    return Err(Error::msg("cleanup failed"));
                }
                Ok(())
            });
            s.launch(async {
                // A plain cancellation is not suppressed.
                delay(Duration::from_secs(60)).await
            });
            s.launch(async {
                delay(ms(10)).await?;
                Err(Error::msg("first"))
            });
            Ok(())
        })
    }))
    .await;
    let err = result.unwrap_err();
    assert_eq!(err.to_string(), "first");
    let suppressed: Vec<String> = err.suppressed().iter().map(ToString::to_string).collect();
    assert_eq!(suppressed, ["cleanup failed"]);
    assert_eq!(took, ms(15));
    assert!(format!("{err:?}").contains("suppressed: cleanup failed"));
}

#[tokio::test(start_paused = true)]
async fn r6_body_rethrowing_the_child_error_is_not_suppressed_twice() {
    let result: Result<()> = coroutine_scope(|s| {
        Box::pin(async move {
            let d = s.r#async(async { Err::<(), _>(Error::msg("once")) });
            d.await?;
            Ok(())
        })
    })
    .await;
    let err = result.unwrap_err();
    assert_eq!(err.to_string(), "once");
    assert!(err.suppressed().is_empty());
}

#[tokio::test(start_paused = true)]
async fn r6_supervisor_launch_failure_during_cancel_goes_to_handler() {
    let handled = Log::default();
    let result: Result<()> = with_exception_handler(
        recording(&handled),
        supervisor_scope(|s| {
            Box::pin(async move {
                s.launch(async {
                    if delay(Duration::from_secs(60)).await.is_err() {
                        return Err(Error::msg("cleanup failed"));
                    }
                    Ok(())
                });
                yield_now().await?;
                Err(Error::msg("body failed"))
            })
        }),
    )
    .await;
    let err = result.unwrap_err();
    assert_eq!(err.to_string(), "body failed");
    assert!(err.suppressed().is_empty());
    assert_eq!(handled.take(), ["handler: cleanup failed"]);
}

#[tokio::test(start_paused = true)]
async fn r6_real_failure_beats_cancellation() {
    // The scope is cancelled from outside (its parent job is cancelled);
    // its body then fails for real while cancelling: the failure is returned.
    let seen = Log::default();
    let seen = &seen;
    let _ = coroutine_scope(|outer| {
        Box::pin(async move {
            let job = outer.launch(async move {
                let inner: Result<()> = coroutine_scope(|_s| {
                    Box::pin(async move {
                        let _ = delay(Duration::from_secs(60)).await;
                        Err(Error::msg("failed while cancelling"))
                    })
                })
                .await;
                seen.push(format!(
                    "{:?}",
                    inner.map_err(|e| (e.is_cancellation(), e.to_string()))
                ));
                Ok(())
            });
            yield_now().await?;
            job.cancel();
            Ok(())
        })
    })
    .await;
    assert_eq!(seen.take(), [r#"Err((false, "failed while cancelling"))"#]);
}

/// R6 at scale: a thousand children failing in their cleanup are each
/// suppressed once, in the order they failed (a map keeps them unique: a
/// scan per failure was quadratic, a minute for 100,000 in a debug build).
#[tokio::test(start_paused = true)]
async fn r6_a_thousand_failing_cleanups_are_each_suppressed_once_in_order() {
    let failed = coroutine_scope(|s| {
        Box::pin(async move {
            for i in 0..1000 {
                s.launch(async move {
                    if delay(Duration::from_secs(3600)).await.is_err() {
                        return Err(Error::msg(format!("cleanup {i}")));
                    }
                    Ok(())
                });
            }
            s.launch(async {
                yield_now().await?;
                Err(Error::msg("first"))
            });
            Ok(())
        })
    })
    .await
    .unwrap_err();
    assert_eq!(failed.to_string(), "first");
    let suppressed: Vec<String> = failed.suppressed().iter().map(|e| e.to_string()).collect();
    let expected: Vec<String> = (0..1000).map(|i| format!("cleanup {i}")).collect();
    assert_eq!(suppressed, expected);
}

/// R6: the first failure raised again elsewhere (here by an awaiter whose
/// own scope suppressed a cleanup failure on the way) is the same failure:
/// it is returned once, with what was suppressed on its way, as Kotlin
/// adds to its one exception object. Nothing is lost.
#[tokio::test(start_paused = true)]
async fn r6_the_first_failure_raised_again_brings_what_was_suppressed_on_its_way() {
    let failed = coroutine_scope(|s| {
        Box::pin(async move {
            let d = s.r#async(async {
                delay(ms(1)).await?;
                Err::<(), _>(Error::msg("first"))
            });
            s.launch(async move {
                coroutine_scope(|inner| {
                    Box::pin(async move {
                        inner.launch(async {
                            if delay(Duration::from_secs(3600)).await.is_err() {
                                non_cancellable(delay(ms(5))).await?;
                                return Err(Error::msg("cleanup failed"));
                            }
                            Ok(())
                        });
                        d.await
                    })
                })
                .await
            });
            Ok(())
        })
    })
    .await
    .unwrap_err();
    assert_eq!(failed.to_string(), "first");
    let suppressed: Vec<String> = failed.suppressed().iter().map(|e| e.to_string()).collect();
    assert_eq!(suppressed, ["cleanup failed"]);
}

// ---------------------------------------------------------------- R7

/// Waits for an hour, then logs `name` (its cancellation's resume, in the
/// tests of cancel order).
async fn logged_wait(log: &Log, name: &'static str) -> Result<()> {
    let waited = delay(Duration::from_secs(3600)).await;
    log.push(name);
    waited
}

/// Kotlin's order of a cancel (JobSupport notifies a job's handlers in the
/// order they were added; a job's suspended code adds its handler when it
/// suspends, after the children it started): every job is cancelled at
/// once, and resumed children first, each with its subtree, then the job's
/// own code. For P with children C1 (with child G1) and C2, all waiting:
/// G1, C1, C2, P.
#[tokio::test(start_paused = true)]
async fn r7_a_cancelled_job_resumes_its_children_before_its_own_code_like_kotlin() {
    let log = Log::default();
    let log = &log;
    let wait = |name: &'static str| logged_wait(log, name);
    coroutine_scope(|s| {
        Box::pin(async move {
            let p = s.launch(async move {
                coroutine_scope(move |p| {
                    Box::pin(async move {
                        p.launch(async move {
                            coroutine_scope(move |c1| {
                                Box::pin(async move {
                                    c1.launch(wait("G1"));
                                    wait("C1").await
                                })
                            })
                            .await
                        });
                        p.launch(wait("C2"));
                        wait("P").await
                    })
                })
                .await
            });
            delay(ms(10)).await?;
            p.cancel();
            p.join().await?;
            Ok(())
        })
    })
    .await
    .unwrap();
    assert_eq!(log.take(), ["G1", "C1", "C2", "P"]);
}

/// `cancel_children()` cancels every child at once, as Kotlin's
/// `cancelChildren`: one started in the same step, which the scope has not
/// taken yet, says so in the next line (a lazy one never started completes
/// at once, R11); one started after the call is not covered.
#[tokio::test(start_paused = true)]
async fn r7_cancel_children_cancels_children_started_in_the_same_step_at_once() {
    let log = Log::default();
    let log = &log;
    let (result, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            let launched = s.launch(async move { logged_wait(log, "launched").await });
            let deferred = s.r#async(async move {
                logged_wait(log, "deferred").await?;
                Ok(1)
            });
            let lazy = s.child().start(Start::Lazy).launch(async move {
                log.push("lazy ran");
                Ok(())
            });
            scopes::cancel_children();
            let after = s.launch(async move {
                log.push("after ran");
                Ok(())
            });
            assert!(launched.is_cancelled() && !launched.is_active());
            assert!(!launched.is_completed(), "it has not run its cleanup yet");
            assert!(deferred.is_cancelled() && !deferred.is_active());
            assert!(lazy.is_cancelled() && lazy.is_completed());
            assert!(!lazy.start(), "a cancelled lazy child cannot be started");
            assert!(!after.is_cancelled() && after.is_active());
            let awaited = deferred.await;
            assert!(awaited.unwrap_err().is_cancellation());
            launched.join().await?;
            Ok(())
        })
    }))
    .await;
    result.unwrap();
    assert_eq!(took, ms(0));
    assert_eq!(log.take(), ["after ran"]);
}

/// A failing child cancels its scope before it completes, as in Kotlin
/// (cancelParent): a body waiting for that very child (`await`, `join`)
/// is resumed after the siblings, like any body, and their failures are
/// suppressed in that order.
#[tokio::test(start_paused = true)]
async fn r7_a_body_awaiting_the_failing_child_is_resumed_after_its_siblings() {
    let log = Log::default();
    let log = &log;
    let failed = coroutine_scope(|s| {
        Box::pin(async move {
            s.launch(async move {
                if delay(Duration::from_secs(3600)).await.is_err() {
                    log.push("sibling cleanup");
                    return Err(Error::msg("sibling cleanup failed"));
                }
                Ok(())
            });
            let d = s.r#async(async {
                delay(ms(10)).await?;
                Err::<(), _>(Error::msg("d failed"))
            });
            let awaited = d.await.unwrap_err();
            log.push(format!("body resumed: {awaited}"));
            Err::<(), _>(Error::msg("body cleanup failed"))
        })
    })
    .await
    .unwrap_err();
    assert_eq!(failed.to_string(), "d failed");
    let suppressed: Vec<String> = failed.suppressed().iter().map(|e| e.to_string()).collect();
    assert_eq!(
        suppressed,
        ["sibling cleanup failed", "body cleanup failed"]
    );
    assert_eq!(log.take(), ["sibling cleanup", "body resumed: d failed"]);
}

/// Children are resumed in the order they were started (Kotlin notifies
/// them in the order they were attached), not in the order of the places
/// they took: C takes the place A left, and is still resumed after B.
#[tokio::test(start_paused = true)]
async fn r7_cancelled_children_are_resumed_in_start_order_even_in_reused_places() {
    let log = Log::default();
    let log = &log;
    let wait = |name: &'static str| logged_wait(log, name);
    let failed = coroutine_scope(|s| {
        Box::pin(async move {
            let a = s.launch(async { Ok(()) });
            s.launch(wait("B"));
            a.join().await?;
            s.launch(wait("C"));
            s.launch(async {
                delay(ms(10)).await?;
                Err(Error::msg("D failed"))
            });
            Ok(())
        })
    })
    .await
    .unwrap_err();
    assert_eq!(failed.to_string(), "D failed");
    assert_eq!(log.take(), ["B", "C"]);
}

/// The same order when a scope fails (R2, R6): the failure cancels the
/// siblings and the body at once, the siblings are resumed first, and the
/// failures of their cleanup are suppressed in the order they came.
#[tokio::test(start_paused = true)]
async fn r6_a_failing_child_resumes_its_siblings_before_the_body_and_suppresses_in_that_order() {
    let hour = Duration::from_secs(3600);
    let failed = coroutine_scope(|s| {
        Box::pin(async move {
            s.launch(async move {
                delay(hour).await?;
                Ok(())
            });
            s.launch(async move {
                if delay(hour).await.is_err() {
                    return Err(Error::msg("A cleanup"));
                }
                Ok(())
            });
            s.launch(async {
                delay(ms(10)).await?;
                Err(Error::msg("C failed"))
            });
            if delay(hour).await.is_err() {
                return Err(Error::msg("body cleanup"));
            }
            Ok(())
        })
    })
    .await
    .unwrap_err();
    assert_eq!(failed.to_string(), "C failed");
    let suppressed: Vec<String> = failed.suppressed().iter().map(|e| e.to_string()).collect();
    assert_eq!(suppressed, ["A cleanup", "body cleanup"]);
}

#[tokio::test(start_paused = true)]
async fn r7_cancelling_a_job_cancels_its_subtree() {
    let log = Log::default();
    let log = &log;
    let (result, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            let job = s.launch(async move {
                coroutine_scope(|inner| {
                    Box::pin(async move {
                        inner.launch(async move {
                            if delay(Duration::from_secs(60)).await.is_err() {
                                log.push("grandchild cancelled");
                            }
                            Ok(())
                        });
                        delay(Duration::from_secs(60)).await
                    })
                })
                .await
            });
            delay(ms(10)).await?;
            job.cancel();
            job.join().await?;
            log.push(format!("job cancelled: {}", job.is_cancelled()));
            Ok(())
        })
    }))
    .await;
    result.unwrap();
    assert_eq!(took, ms(10));
    assert_eq!(log.take(), ["grandchild cancelled", "job cancelled: true"]);
}

/// Runs `work` as a child, cancelled as soon as it has first run (when
/// the scope's body yields): the scope then returns `Ok`.
async fn cancelled_after_its_first_run<'a>(work: BoxFuture<'a, Result<()>>) {
    coroutine_scope(|s| {
        Box::pin(async move {
            let job = s.launch(work);
            yield_now().await?;
            job.cancel();
            Ok(())
        })
    })
    .await
    .unwrap();
}

#[tokio::test(start_paused = true)]
async fn r7_cancelled_child_is_resumed_once_then_calls_fail_at_once() {
    let log = Log::default();
    let log = &log;
    cancelled_after_its_first_run(Box::pin(async move {
        let first = delay(Duration::from_secs(60)).await;
        log.push(format!("resumed: {}", first.unwrap_err().is_cancellation()));
        log.push(format!("active: {}", is_active()));
        log.push(format!("ensure: {}", ensure_active().is_err()));
        log.push(format!("yield: {}", yield_now().await.is_err()));
        log.push(format!("delay: {}", delay(ms(1)).await.is_err()));
        log.push(format!(
            "zero delay: {}",
            delay(Duration::ZERO).await.is_err()
        ));
        // `with_timeout` too, without running its work (Kotlin runs
        // the block first: a documented difference).
        let timed = with_timeout(ms(10), async move {
            log.push("timeout work ran");
            Ok(())
        });
        log.push(format!("with_timeout: {}", timed.await.is_err()));
        Ok(())
    }))
    .await;
    assert_eq!(
        log.take(),
        [
            "resumed: true",
            "active: false",
            "ensure: true",
            "yield: true",
            "delay: true",
            "zero delay: true",
            "with_timeout: true"
        ]
    );
}

/// Logs "dropped" when the child holding it is dropped (R7's drop of a
/// child suspended outside any cancellation-aware call).
struct OnDrop<'a>(&'a Log);

impl Drop for OnDrop<'_> {
    fn drop(&mut self) {
        self.0.push("dropped");
    }
}

/// Runs `work` as a child holding an [`OnDrop`] guard, cancels it at
/// 5 ms, and checks that the scope returned then: a child in a foreign
/// wait must not hold its scope open (R7).
async fn cancelled_at_5ms<'a>(log: &'a Log, work: BoxFuture<'a, Result<()>>) {
    let (result, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            let job = s.launch(async move {
                let _guard = OnDrop(log);
                work.await
            });
            delay(ms(5)).await?;
            job.cancel();
            Ok(())
        })
    }))
    .await;
    result.unwrap();
    assert_eq!(took, ms(5));
}

#[tokio::test(start_paused = true)]
async fn r7_child_suspended_on_foreign_future_is_dropped() {
    let log = Log::default();
    let log = &log;
    cancelled_at_5ms(
        log,
        Box::pin(async move {
            // Catches the cancellation, then waits on a future that knows
            // nothing of it: it must not hold the scope open.
            let _ = delay(Duration::from_secs(60)).await;
            log.push("caught");
            tokio::time::sleep(Duration::from_secs(3600)).await;
            log.push("never");
            Ok(())
        }),
    )
    .await;
    assert_eq!(log.take(), ["caught", "dropped"]);
}

/// R7 one level down: a cancelled child waiting on a nested scope is not
/// dropped there (the scope's body and children meet the rule), but once
/// the scope has returned, a foreign wait of the child's own must not hold
/// its scope open either: it is dropped there. (It waited for the foreign
/// future: the scope's return was a poll on the way to the scope's body,
/// not the child's own resume.)
#[tokio::test(start_paused = true)]
async fn r7_a_cancelled_child_in_a_foreign_wait_after_its_nested_scope_returned_is_dropped() {
    let log = Log::default();
    let log = &log;
    cancelled_at_5ms(
        log,
        Box::pin(async move {
            let inner: Result<()> = coroutine_scope(|_inner| {
                Box::pin(async move { delay(Duration::from_secs(60)).await })
            })
            .await;
            let cancelled = inner.unwrap_err().is_cancellation();
            log.push(format!("scope cancelled: {cancelled}"));
            tokio::time::sleep(Duration::from_secs(3600)).await;
            log.push("never");
            Ok(())
        }),
    )
    .await;
    assert_eq!(log.take(), ["scope cancelled: true", "dropped"]);
}

#[tokio::test(start_paused = true)]
async fn r7_cancellable_wraps_foreign_future() {
    let (result, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            let d = s.r#async(async {
                let r = cancellable(tokio::time::sleep(Duration::from_secs(60))).await;
                Ok(r.unwrap_err().is_cancellation())
            });
            delay(ms(7)).await?;
            d.cancel();
            // A cancelled child that still returns Ok ends cancelled (R11).
            Ok(d.await.unwrap_err().is_cancellation())
        })
    }))
    .await;
    assert!(result.unwrap());
    assert_eq!(took, ms(7));
}

#[tokio::test(start_paused = true)]
async fn r7_child_cancelled_before_it_first_runs_never_runs() {
    let ran = AtomicUsize::new(0);
    let ran_ref = &ran;
    coroutine_scope(|s| {
        Box::pin(async move {
            let job = s.launch(async move {
                ran_ref.fetch_add(1, Ordering::Relaxed);
                Ok(())
            });
            job.cancel();
            Ok(())
        })
    })
    .await
    .unwrap();
    assert_eq!(ran.load(Ordering::Relaxed), 0);
}

/// R7 with R11: a child started in a scope that is already cancelled is
/// cancelled from its start, as Kotlin attaches a child to a cancelled
/// parent (kotlinx `JobTest.testCancelledParent`,
/// `CancelledParentAttachTest`): its handle says so at once, a lazy one is
/// completed and can no longer be started, and neither runs.
#[tokio::test(start_paused = true)]
async fn r7_a_child_started_in_a_cancelled_scope_is_cancelled_from_its_start() {
    let log = Log::default();
    let log = &log;
    cancelled_after_its_first_run(Box::pin(async move {
        let _ = delay(Duration::from_secs(60)).await; // cancelled here
        let inner: Result<()> = coroutine_scope(|inner| {
            Box::pin(async move {
                let eager = inner.launch(async move {
                    log.push("eager ran");
                    Ok(())
                });
                let lazy = inner.child().start(Start::Lazy).launch(async move {
                    log.push("lazy ran");
                    Ok(())
                });
                log.push(format!(
                    "eager: active {}, cancelled {}",
                    eager.is_active(),
                    eager.is_cancelled()
                ));
                log.push(format!(
                    "lazy: completed {}, started {}",
                    lazy.is_completed(),
                    lazy.start()
                ));
                Ok(())
            })
        })
        .await;
        assert!(inner.unwrap_err().is_cancellation());
        Ok(())
    }))
    .await;
    assert_eq!(
        log.take(),
        [
            "eager: active false, cancelled true",
            "lazy: completed true, started false"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn r7_completed_deferred_is_returned_in_a_cancelled_job_but_join_fails() {
    let log = Log::default();
    let log = &log;
    coroutine_scope(|s| {
        Box::pin(async move {
            let done = s.r#async(async { Ok(5) });
            let done_job = s.launch(async { Ok(()) });
            let waiter = s.launch(async move {
                let _ = delay(Duration::from_secs(60)).await; // cancelled here
                log.push(format!("await: {:?}", done.await.ok()));
                log.push(format!("join: {}", done_job.join().await.is_err()));
                Ok(())
            });
            yield_now().await?;
            waiter.cancel();
            Ok(())
        })
    })
    .await
    .unwrap();
    assert_eq!(log.take(), ["await: Some(5)", "join: true"]);
}

/// R7, Kotlin's prompt cancellation (`AtomicCancellationTest`): a job
/// suspended in a wait for an outcome, woken by the outcome and cancelled
/// before it resumed, gets the cancellation, not the outcome, in each wait
/// for one; a new wait for an outcome already there still gets it (above).
#[tokio::test(start_paused = true)]
async fn r7_a_waiter_woken_by_its_outcome_then_cancelled_before_it_resumed_gets_the_cancellation() {
    for wait in ["await", "await_all", "race", "first_success"] {
        let log = Log::default();
        let log = &log;
        coroutine_scope(|s| {
            Box::pin(async move {
                // FIFO: d yields; the waiter suspends on d; the canceller
                // yields; d completes, which queues the waiter behind the
                // canceller; the canceller cancels the waiter.
                let d = s.r#async(async {
                    yield_now().await?;
                    Ok(7)
                });
                let waiter = s.launch(async move {
                    let got = match wait {
                        "await" => d.await.map(|v| vec![v]),
                        "await_all" => scopes::await_all([d]).await,
                        "race" => scopes::race([d]).await.map(|v| vec![v]),
                        _ => scopes::first_success([d]).await.map(|v| vec![v]),
                    };
                    log.push(format!(
                        "{wait}: {:?}",
                        got.map_err(|e| e.is_cancellation())
                    ));
                    Ok(())
                });
                let cancelled = waiter.clone();
                s.launch(async move {
                    yield_now().await?;
                    cancelled.cancel();
                    Ok(())
                });
                Ok(())
            })
        })
        .await
        .unwrap();
        assert_eq!(log.take(), [format!("{wait}: Err(true)")]);
    }
}

#[tokio::test(start_paused = true)]
async fn r7_scope_entered_in_cancelled_job_runs_body_and_returns_cancellation() {
    let log = Log::default();
    let log = &log;
    cancelled_after_its_first_run(Box::pin(async move {
        let _ = delay(Duration::from_secs(60)).await;
        let inner: Result<u32> = coroutine_scope(|inner| {
            Box::pin(async move {
                log.push("body runs");
                let child_ran = inner.launch(async move {
                    log.push("child ran");
                    Ok(())
                });
                log.push(format!("delay fails: {}", delay(ms(1)).await.is_err()));
                child_ran.join().await.ok();
                Ok(1)
            })
        })
        .await;
        log.push(format!(
            "scope cancelled: {}",
            inner.unwrap_err().is_cancellation()
        ));
        Ok(())
    }))
    .await;
    assert_eq!(
        log.take(),
        ["body runs", "delay fails: true", "scope cancelled: true"]
    );
}

#[tokio::test(start_paused = true)]
async fn r7_nested_scope_cleanup_in_non_cancellable_is_not_cut_short() {
    let log = Log::default();
    let log = &log;
    let (result, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            let job = s.launch(async move {
                coroutine_scope(|inner| {
                    Box::pin(async move {
                        inner.launch(async move {
                            if delay(Duration::from_secs(60)).await.is_err() {
                                non_cancellable(delay(ms(300))).await?;
                                log.push("deep cleanup done");
                            }
                            Ok(())
                        });
                        Ok(())
                    })
                })
                .await
            });
            delay(ms(10)).await?;
            job.cancel();
            Ok(())
        })
    }))
    .await;
    result.unwrap();
    assert_eq!(took, ms(310));
    assert_eq!(log.take(), ["deep cleanup done"]);
}

// ---------------------------------------------------------------- R8

#[tokio::test(start_paused = true)]
async fn r8_non_cancellable_runs_to_completion() {
    let log = Log::default();
    let log = &log;
    let (result, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            let job = s.launch(async move {
                let _ = delay(Duration::from_secs(60)).await;
                non_cancellable(async {
                    log.push(format!("active inside: {}", is_active()));
                    delay(ms(100)).await?;
                    yield_now().await?;
                    delay(ms(100)).await?;
                    log.push("cleanup finished");
                    Ok::<_, Error>(())
                })
                .await?;
                log.push(format!("active after: {}", is_active()));
                Ok(())
            });
            yield_now().await?;
            job.cancel();
            Ok(())
        })
    }))
    .await;
    result.unwrap();
    assert_eq!(took, ms(200));
    assert_eq!(
        log.take(),
        [
            "active inside: true",
            "cleanup finished",
            "active after: false"
        ]
    );
}

// ---------------------------------------------------------------- R9

#[tokio::test(start_paused = true)]
async fn r9_with_timeout_fails_with_timeout_and_cancels_work() {
    let log = Log::default();
    let log = &log;
    let (result, took) = timed(with_timeout(ms(100), async move {
        if let Err(e) = delay(Duration::from_secs(10)).await {
            log.push(format!("work cancelled: {}", e.is_cancellation()));
            return Ok("caught and returned a value");
        }
        Ok::<_, Error>("finished")
    }))
    .await;
    let err = result.unwrap_err();
    assert!(err.is_timeout());
    assert!(!err.is_cancellation());
    assert_eq!(took, ms(100));
    assert_eq!(log.take(), ["work cancelled: true"]);
}

#[tokio::test(start_paused = true)]
async fn r9_timeout_is_a_failure_of_the_scope() {
    let (result, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            s.launch(async { delay(Duration::from_secs(60)).await });
            with_timeout(ms(50), delay(Duration::from_secs(1))).await?;
            Ok(())
        })
    }))
    .await;
    assert!(result.unwrap_err().is_timeout());
    assert_eq!(took, ms(50));
}

#[tokio::test(start_paused = true)]
async fn r9_real_failure_during_timeout_cleanup_wins() {
    let result: Result<()> = with_timeout(ms(10), async {
        if delay(Duration::from_secs(1)).await.is_err() {
            return Err(Error::msg("cleanup failed"));
        }
        Ok(())
    })
    .await;
    assert_eq!(result.unwrap_err().to_string(), "cleanup failed");
}

#[tokio::test(start_paused = true)]
async fn r9_zero_timeout_does_not_run_the_work() {
    let ran = AtomicUsize::new(0);
    let result = with_timeout(Duration::ZERO, async {
        ran.fetch_add(1, Ordering::Relaxed);
        Ok::<_, Error>(())
    })
    .await;
    assert!(result.unwrap_err().is_timeout());
    assert_eq!(ran.load(Ordering::Relaxed), 0);
    let none = with_timeout_or_none(Duration::ZERO, async { Ok::<_, Error>(1) }).await;
    assert_eq!(none.unwrap(), None);
}

#[tokio::test(start_paused = true)]
async fn r9_with_timeout_or_none_turns_only_its_own_deadline_into_none() {
    let (result, took) = timed(with_timeout_or_none(ms(100), delay(Duration::from_secs(5)))).await;
    assert_eq!(result.unwrap(), None);
    assert_eq!(took, ms(100));

    let inner =
        with_timeout_or_none(ms(100), with_timeout(ms(10), delay(Duration::from_secs(5)))).await;
    assert!(inner.unwrap_err().is_timeout());

    let value = with_timeout_or_none(ms(100), async { Ok::<_, Error>(3) }).await;
    assert_eq!(value.unwrap(), Some(3));
}

#[tokio::test(start_paused = true)]
async fn r9_outer_deadline_registered_first_wins_a_tie_with_an_inner_timeout() {
    // Found by the property tests' targeted follow-up: both deadlines fire at
    // 10 ms; the outer one was registered first, so it wins (Kotlin: null).
    let (result, took) = timed(with_timeout_or_none(
        ms(10),
        with_timeout(ms(10), delay(Duration::from_secs(3600))),
    ))
    .await;
    assert_eq!(result.map_err(|e| e.to_string()), Ok(None));
    assert_eq!(took, ms(10));
    // An inner deadline that fires first is a failure that propagates.
    let inner_first = with_timeout_or_none(ms(10), with_timeout(ms(9), delay(Duration::MAX))).await;
    assert!(inner_first.unwrap_err().is_timeout());
}

#[tokio::test(start_paused = true)]
async fn r9_timeout_cancels_children_of_nested_scope() {
    let log = Log::default();
    let log = &log;
    let (result, took) = timed(with_timeout(
        ms(40),
        coroutine_scope(|s| {
            Box::pin(async move {
                s.launch(async move {
                    if delay(Duration::from_secs(60)).await.is_err() {
                        non_cancellable(delay(ms(10))).await?;
                        log.push("child cleaned up");
                    }
                    Ok(())
                });
                Ok(())
            })
        }),
    ))
    .await;
    assert!(result.unwrap_err().is_timeout());
    assert_eq!(took, ms(50));
    assert_eq!(log.take(), ["child cleaned up"]);
}

// ---------------------------------------------------------------- R10

#[tokio::test(start_paused = true)]
async fn r10_dropping_the_scope_future_drops_every_child() {
    struct Counted(Arc<AtomicUsize>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let drops = Arc::new(AtomicUsize::new(0));
    let scope = coroutine_scope(|s| {
        let drops = drops.clone();
        Box::pin(async move {
            for _ in 0..3 {
                let c = Counted(drops.clone());
                s.launch(async move {
                    let _c = c;
                    delay(Duration::from_secs(3600)).await
                });
            }
            let c = Counted(drops.clone());
            s.child().start(Start::Lazy).launch(async move {
                let _c = c;
                Ok(())
            });
            delay(Duration::from_secs(3600)).await
        })
    });
    let outcome = tokio::time::timeout(ms(10), scope).await;
    assert!(outcome.is_err(), "the scope should still be running");
    assert_eq!(drops.load(Ordering::SeqCst), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r10_dropping_the_scope_aborts_parallel_children() {
    let (started_tx, started_rx) = tokio::sync::oneshot::channel();
    let (dropped_tx, dropped_rx) = tokio::sync::oneshot::channel::<()>();
    struct SendOnDrop(Option<tokio::sync::oneshot::Sender<()>>);
    impl Drop for SendOnDrop {
        fn drop(&mut self) {
            let _ = self.0.take().map(|tx| tx.send(()));
        }
    }
    // The scope is a task of its own (`spawn_local` in a `LocalSet` for a
    // local scope), aborted from here.
    in_task_set(async move {
        let scope = spawn(coroutine_scope(|s| {
            Box::pin(async move {
                s.child().launch_parallel(async move {
                    let _guard = SendOnDrop(Some(dropped_tx));
                    let _ = started_tx.send(());
                    std::future::pending::<()>().await;
                    Ok(())
                });
                std::future::pending::<Result<()>>().await
            })
        }));
        started_rx.await.unwrap();
        scope.abort();
        dropped_rx
            .await
            .expect("the parallel child's task was dropped");
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn r10_outer_drop_in_the_middle_of_cleanup() {
    let log = Log::default();
    let log2 = log.clone();
    let scope = coroutine_scope(move |s| {
        Box::pin(async move {
            s.launch(async move {
                if delay(Duration::from_secs(60)).await.is_err() {
                    non_cancellable(delay(Duration::from_secs(10))).await?;
                    log2.push("cleanup finished");
                }
                Ok(())
            });
            s.launch(async {
                delay(ms(1)).await?;
                Err(Error::msg("fail"))
            });
            Ok(())
        })
    });
    // Drop the scope while its child is inside non_cancellable cleanup.
    let outcome = tokio::time::timeout(ms(500), scope).await;
    assert!(outcome.is_err());
    tokio::time::sleep(Duration::from_secs(20)).await;
    assert!(log.take().is_empty(), "dropped cleanup must not run on");
}

// ---------------------------------------------------------------- R11

#[tokio::test(start_paused = true)]
async fn r11_job_states() {
    coroutine_scope(|s| {
        Box::pin(async move {
            let job = s
                .child()
                .name("sleeper")
                .launch(async { delay(ms(10)).await });
            assert!(job.is_active() && !job.is_completed() && !job.is_cancelled());
            assert_eq!(job.name(), "sleeper");
            job.join().await?;
            assert!(!job.is_active() && job.is_completed() && !job.is_cancelled());
            job.cancel(); // cancelling a finished job is a no-op
            assert!(!job.is_cancelled());
            let unnamed = s.launch(async { Ok(()) });
            assert!(
                unnamed.name().starts_with("tests/rules/cases.rs:"),
                "{}",
                unnamed.name()
            );
            Ok(())
        })
    })
    .await
    .unwrap();
}

/// A scope whose second child fails after a yield while the first, then
/// cancelled, cleans up for 100 ms: the scope is cancelling from then on,
/// and fails with "boom" at 100 ms.
async fn a_scope_whose_child_fails() -> Result<()> {
    coroutine_scope(|inner| {
        Box::pin(async move {
            inner.launch(async {
                if delay(ms(3_600_000)).await.is_err() {
                    non_cancellable(delay(ms(100))).await?;
                }
                Ok(())
            });
            inner.launch(async {
                yield_now().await?;
                Err(Error::msg("boom"))
            });
            delay(ms(3_600_000)).await
        })
    })
    .await
}

/// Kotlin's JobStatesTest.testFailed: a job whose child failed is
/// Cancelling (not active, cancelled, not completed) while its other
/// children clean up. Here the job's children are those of the scope its
/// body opens (SPEC §2: every child body with children is a scope of its
/// own), and the job reports that scope's state, in its handle and in
/// `debug::dump`.
#[tokio::test(start_paused = true)]
async fn r11_a_job_whose_children_failed_is_cancelling_while_they_clean_up() {
    supervisor_scope(|s| {
        Box::pin(async move {
            let job = s
                .child()
                .name("r11-failing-host")
                .launch(async { a_scope_whose_child_fails().await });
            delay(ms(50)).await?;
            assert!(!job.is_active() && job.is_cancelled() && !job.is_completed());
            let dump = scopes::debug::dump();
            let line = dump
                .lines()
                .find(|line| line.trim_start().starts_with("r11-failing-host #"))
                .expect("the job is in the dump");
            assert!(line.ends_with("[cancelling]"), "{dump}");
            job.join().await?;
            assert!(!job.is_active() && job.is_cancelled() && job.is_completed());
            Ok(())
        })
    })
    .await
    .unwrap();
}

/// The job's state follows a scope entered in it only while it is in it:
/// once that scope has returned (its failure caught), the job is active
/// again, as in Kotlin when a `coroutineScope`'s failure is caught.
#[tokio::test(start_paused = true)]
async fn r11_a_job_is_active_again_once_its_cancelling_scope_returned() {
    supervisor_scope(|s| {
        Box::pin(async move {
            let job = s.launch(async {
                let caught = a_scope_whose_child_fails().await;
                assert!(caught.is_err(), "the scope fails with boom");
                delay(ms(100)).await // until 200 ms
            });
            delay(ms(50)).await?;
            assert!(
                !job.is_active() && job.is_cancelled(),
                "cancelling at 50 ms"
            );
            delay(ms(100)).await?;
            assert!(
                job.is_active() && !job.is_cancelled(),
                "active again at 150 ms"
            );
            job.join().await?;
            assert!(job.is_completed() && !job.is_cancelled());
            Ok(())
        })
    })
    .await
    .unwrap();
}

#[tokio::test(start_paused = true)]
async fn r11_a_failed_or_self_cancelled_job_reports_cancelled_like_kotlin() {
    supervisor_scope(|s| {
        Box::pin(async move {
            let failed = s.r#async(async { Err::<(), _>(Error::msg("x")) });
            let gave_up = s.launch(async { Err(Error::cancelled()) });
            let fine = s.launch(async { Ok(()) });
            failed.join().await?;
            gave_up.join().await?;
            fine.join().await?;
            assert!(failed.is_cancelled() && !failed.is_active());
            assert!(gave_up.is_cancelled());
            assert!(!fine.is_cancelled() && fine.is_completed());
            let _ = failed.await;
            Ok(())
        })
    })
    .await
    .unwrap();
}

#[tokio::test(start_paused = true)]
async fn r11_deferred_awaited_twice_and_from_a_sibling() {
    let (result, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            let d = s.r#async(async {
                delay(ms(20)).await?;
                Ok(String::from("shared"))
            });
            let d2 = d.clone();
            let sibling = s.r#async(async move { Ok(d2.await? + "!") });
            let d3 = d.clone();
            Ok(vec![d.await?, d3.await?, sibling.await?])
        })
    }))
    .await;
    assert_eq!(result.unwrap(), ["shared", "shared", "shared!"]);
    assert_eq!(took, ms(20));
}

/// R11: a handle gives its value once (the value moves out, `T` need not
/// be `Clone`); awaiting the same handle again through `&mut` is an error
/// that says to await clones, not a cancellation and not a hang.
#[tokio::test(start_paused = true)]
async fn r11_awaiting_one_handle_again_after_it_gave_its_value_says_to_await_clones() {
    let second = coroutine_scope(|s| {
        Box::pin(async move {
            let mut d = s.r#async(async { Ok(String::from("v")) });
            assert_eq!((&mut d).await?, "v");
            Ok((&mut d).await.unwrap_err())
        })
    })
    .await
    .unwrap();
    assert!(!second.is_cancellation());
    assert_eq!(
        second.to_string(),
        "the value of this `Deferred` was taken by an earlier `.await` of this handle: \
         to await a value more than once, clone the handle (`T: Clone`) and await the clones"
    );
}

#[tokio::test(start_paused = true)]
async fn r11_failed_deferred_gives_same_error_to_every_handle() {
    let result: Result<(String, String)> = supervisor_scope(|s| {
        Box::pin(async move {
            let d = s.r#async(async { Err::<u8, _>(Error::msg("same")) });
            let d2 = d.clone();
            let a = d.await.unwrap_err();
            let b = d2.await.unwrap_err();
            Ok((a.to_string(), b.to_string()))
        })
    })
    .await;
    assert_eq!(result.unwrap(), ("same".into(), "same".into()));
}

/// Cancelling the job a scope runs in cancels the children its body has
/// just started, before the scope has taken them: a lazy one never started
/// completes at once (R11) and cannot be started.
#[tokio::test(start_paused = true)]
async fn r11_cancelling_the_job_a_scope_runs_in_completes_a_lazy_child_it_just_started() {
    let checked = Log::default();
    let checked = &checked;
    coroutine_scope(|s| {
        Box::pin(async move {
            let (tx, rx) = tokio::sync::oneshot::channel();
            let me = s.r#async(async move {
                let me: scopes::Deferred<'_, ()> = rx.await.unwrap();
                coroutine_scope(|inner| {
                    Box::pin(async move {
                        let lazy = inner.child().start(Start::Lazy).launch(async move {
                            checked.push("lazy ran");
                            Ok(())
                        });
                        me.cancel(); // the job this scope runs in
                        assert!(lazy.is_cancelled() && lazy.is_completed());
                        assert!(!lazy.start(), "a cancelled lazy child cannot be started");
                        checked.push("checked");
                        Ok(())
                    })
                })
                .await
            });
            tx.send(me.clone()).ok().unwrap();
            assert!(me.await.unwrap_err().is_cancellation());
            Ok(())
        })
    })
    .await
    .unwrap();
    assert_eq!(checked.take(), ["checked"]);
}

#[tokio::test(start_paused = true)]
async fn r11_lazy_child_runs_only_when_started_awaited_or_joined() {
    let log = Log::default();
    let log = &log;
    let (result, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            let lazy = s.child().start(Start::Lazy);
            let a = lazy.r#async(async move {
                log.push("a runs");
                Ok(1)
            });
            let b = s.child().start(Start::Lazy).launch(async move {
                log.push("b runs");
                Ok(())
            });
            let c = s.child().start(Start::Lazy).launch(async move {
                log.push("c runs");
                Ok(())
            });
            delay(ms(10)).await?;
            assert!(!a.is_active() && !b.is_active());
            log.push("body awake");
            b.join().await?;
            c.start();
            let v = a.await?;
            Ok(v)
        })
    }))
    .await;
    assert_eq!(result.unwrap(), 1);
    assert_eq!(took, ms(10));
    assert_eq!(log.take(), ["body awake", "b runs", "c runs", "a runs"]);
}

#[tokio::test(start_paused = true)]
async fn r11_lazy_child_never_started_is_cancelled_when_body_returns() {
    let ran = AtomicUsize::new(0);
    let ran_ref = &ran;
    let (result, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            s.child().start(Start::Lazy).launch(async move {
                ran_ref.fetch_add(1, Ordering::Relaxed);
                Ok(())
            });
            Ok("no hang")
        })
    }))
    .await;
    assert_eq!(result.unwrap(), "no hang");
    assert_eq!(took, Duration::ZERO);
    assert_eq!(ran.load(Ordering::Relaxed), 0);
}

#[tokio::test(start_paused = true)]
async fn r11_cancelled_child_returning_ok_ends_cancelled() {
    let result = coroutine_scope(|s| {
        Box::pin(async move {
            let d = s.r#async(async {
                let _ = delay(Duration::from_secs(1)).await;
                Ok("value after cancellation")
            });
            yield_now().await?;
            d.cancel();
            Ok(d.await.unwrap_err().is_cancellation())
        })
    })
    .await;
    assert!(result.unwrap());
}

// ---------------------------------------------------------------- R12

#[tokio::test(start_paused = true)]
async fn r12_all_timing_is_on_tokios_clock() {
    let (result, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            s.launch(async { delay(Duration::from_secs(3600)).await });
            s.launch(async {
                with_timeout_or_none(Duration::from_secs(7200), delay(Duration::MAX))
                    .await
                    .map(drop)
            });
            Ok(())
        })
    }))
    .await;
    result.unwrap();
    assert_eq!(took, Duration::from_secs(7200));
}

// ---------------------------------------------------------------- R13

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r13_parallel_child_failure_and_cancellation_cross_threads() {
    let result: Result<()> = coroutine_scope(|s| {
        Box::pin(async move {
            let sleeper = s
                .child()
                .name("remote sleeper")
                .launch_parallel(async { delay(Duration::from_secs(3600)).await });
            s.child().launch_parallel(async {
                tokio::task::yield_now().await;
                Err(Error::msg("remote failure"))
            });
            sleeper.join().await.ok();
            Ok(())
        })
    })
    .await;
    let err = result.unwrap_err();
    assert_eq!(err.to_string(), "remote failure");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r13_parallel_child_panic_is_a_failure() {
    let result: Result<()> = coroutine_scope(|s| {
        Box::pin(async move {
            s.child().launch_parallel(async {
                if true {
                    panic!("remote panic");
                }
                Ok(())
            });
            Ok(())
        })
    })
    .await;
    let err = result.unwrap_err();
    assert!(err.is_panic());
    assert_eq!(err.to_string(), "panicked: remote panic");
}

// ---------------------------------------------------------------- R14

#[tokio::test(start_paused = true)]
async fn r14_children_start_in_order_when_parent_suspends() {
    let log = Log::default();
    let log = &log;
    coroutine_scope(|s| {
        Box::pin(async move {
            for i in 0..3 {
                s.launch(async move {
                    log.push(format!("child {i} starts"));
                    yield_now().await?;
                    log.push(format!("child {i} resumes"));
                    Ok(())
                });
                log.push(format!("started {i}"));
            }
            log.push("body yields");
            yield_now().await?;
            log.push("body resumes");
            Ok(())
        })
    })
    .await
    .unwrap();
    assert_eq!(
        log.take(),
        [
            "started 0",
            "started 1",
            "started 2",
            "body yields",
            "child 0 starts",
            "child 1 starts",
            "child 2 starts",
            "body resumes",
            "child 0 resumes",
            "child 1 resumes",
            "child 2 resumes",
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn r14_children_started_by_children_run_after_earlier_ones() {
    let log = Log::default();
    let log = &log;
    coroutine_scope(|s| {
        Box::pin(async move {
            let s2 = s.clone();
            s.launch(async move {
                log.push("a");
                s2.launch(async move {
                    log.push("c (started by a)");
                    Ok(())
                });
                Ok(())
            });
            s.launch(async move {
                log.push("b");
                Ok(())
            });
            Ok(())
        })
    })
    .await
    .unwrap();
    assert_eq!(log.take(), ["a", "b", "c (started by a)"]);
}

#[tokio::test(start_paused = true)]
async fn r14_lazy_child_started_later_runs_after_earlier_eager_children() {
    let log = Log::default();
    let log = &log;
    coroutine_scope(|s| {
        Box::pin(async move {
            let lazy = s.child().start(Start::Lazy).launch(async move {
                log.push("lazy");
                Ok(())
            });
            yield_now().await?; // the lazy child is now placed in the scope
            s.launch(async move {
                log.push("eager 1");
                Ok(())
            });
            let eager = s.launch(async move {
                log.push("eager 2");
                Ok(())
            });
            lazy.start();
            s.launch(async move {
                log.push("eager 3");
                Ok(())
            });
            eager.join().await?;
            lazy.join().await
        })
    })
    .await
    .unwrap();
    // Kotlin dispatches a child when it is started: eager 1 and 2, then the
    // lazy one, then eager 3.
    assert_eq!(log.take(), ["eager 1", "eager 2", "lazy", "eager 3"]);
}

/// A lazy child started in the run that launched it (not placed in its
/// scope yet) is dispatched at its start, as in Kotlin, not at its launch:
/// children launched between its launch and its start run first.
#[tokio::test(start_paused = true)]
async fn r14_lazy_child_started_in_its_launching_run_runs_at_its_start_not_its_launch() {
    let log = Log::default();
    let log = &log;
    let push = |name: &'static str| async move {
        log.push(name);
        Ok(())
    };
    coroutine_scope(|s| {
        Box::pin(async move {
            let a = s.child().start(Start::Lazy).launch(push("a"));
            let c = s.child().start(Start::Lazy).launch(push("c"));
            s.launch(push("b"));
            assert!(c.start());
            s.launch(push("d"));
            assert!(a.start());
            s.launch(push("e"));
            Ok(())
        })
    })
    .await
    .unwrap();
    assert_eq!(log.take(), ["b", "c", "d", "a", "e"]);
}

/// Awaiting a lazy `Deferred` starts it there: it runs after the children
/// launched before the await, also when the scope is a nested one (a child
/// body's) and the await is in that scope's body.
#[tokio::test(start_paused = true)]
async fn r14_awaiting_a_lazy_deferred_dispatches_it_after_earlier_starts_at_any_depth() {
    let log = Log::default();
    let log = &log;
    let push = |name: &'static str| async move {
        log.push(name);
        Ok(())
    };
    coroutine_scope(|s| {
        Box::pin(async move {
            s.launch(async move {
                coroutine_scope(|inner| {
                    Box::pin(async move {
                        let lazy = inner.child().start(Start::Lazy).r#async(async move {
                            log.push("inner lazy");
                            Ok(1)
                        });
                        inner.launch(push("inner eager"));
                        assert_eq!(lazy.await?, 1);
                        log.push("inner body");
                        Ok(())
                    })
                })
                .await
            });
            let lazy = s.child().start(Start::Lazy).r#async(async move {
                log.push("lazy");
                Ok(2)
            });
            s.launch(push("eager"));
            assert_eq!(lazy.await?, 2);
            Ok(())
        })
    })
    .await
    .unwrap();
    // The FIFO after the root's body suspends: the child hosting the
    // nested scope, "eager", "lazy"; that child's run starts the nested
    // scope's body at once, which queues "inner eager", then "inner lazy"
    // at its await.
    assert_eq!(
        log.take(),
        ["eager", "lazy", "inner eager", "inner lazy", "inner body"]
    );
}

/// kotlinx `JobStatesTest.testNormalCompletion`: one FIFO for the whole
/// tree. A job whose body has ended while its child still runs is active
/// (Kotlin's Completing); its child runs after the parent's next step, and
/// the job completes in its child's step. The child's children are its own
/// (`body_of_child`: what the DSL writes for `launch { launch { .. } }`).
#[tokio::test(start_paused = true)]
async fn r14_one_fifo_for_the_whole_tree_like_kotlins_job_states() {
    let log = Log::default();
    let log = &log;
    coroutine_scope(|s| {
        Box::pin(async move {
            log.push("1");
            let own = ScopeOptions::new().body_of_child();
            let job =
                s.child()
                    .start(Start::Lazy)
                    .launch(coroutine_scope_with(own, move |inner| {
                        Box::pin(async move {
                            log.push("2");
                            inner.launch(async move {
                                log.push("4");
                                Ok(())
                            });
                            Ok(())
                        })
                    }));
            assert!(!job.is_active() && !job.is_completed());
            assert!(job.start());
            yield_now().await?; // to the job
            log.push("3");
            assert!(job.is_active(), "still waits for its child");
            assert!(!job.is_completed());
            yield_now().await?; // to the child
            log.push("5");
            assert!(!job.is_active());
            assert!(job.is_completed());
            Ok(())
        })
    })
    .await
    .unwrap();
    assert_eq!(log.take(), ["1", "2", "3", "4", "5"]);
}

/// The same job with a scope opened by hand in its code (Kotlin's
/// `launch { coroutineScope { launch { .. } } }`): the scope completes in
/// its child's step, and the job's code after it is dispatched (Kotlin's
/// `ScopeCoroutine.afterCompletion`): it runs after the parent's next step,
/// so the parent still sees the job active at 5.
#[tokio::test(start_paused = true)]
async fn r14_code_after_a_hand_opened_scope_its_child_ended_runs_in_a_step_of_its_own() {
    let log = Log::default();
    let log = &log;
    coroutine_scope(|s| {
        Box::pin(async move {
            log.push("1");
            let job = s.child().start(Start::Lazy).launch(async move {
                coroutine_scope(|inner| {
                    Box::pin(async move {
                        log.push("2");
                        inner.launch(async move {
                            log.push("4");
                            Ok(())
                        });
                        Ok(())
                    })
                })
                .await?;
                log.push("6");
                Ok(())
            });
            assert!(job.start());
            yield_now().await?; // to the job
            log.push("3");
            yield_now().await?; // to the child
            log.push("5");
            assert!(job.is_active(), "its code after the scope is still to run");
            yield_now().await?; // to the job's code after its scope
            log.push("7");
            assert!(job.is_completed());
            Ok(())
        })
    })
    .await
    .unwrap();
    assert_eq!(log.take(), ["1", "2", "3", "4", "5", "6", "7"]);
}

/// `yield_now` in a nested scope lets every ready job of the tree run, so a
/// spinner nested two levels down sees its cancellation at its next yield.
#[tokio::test(start_paused = true)]
async fn r14_yield_in_a_nested_scope_lets_the_whole_tree_run() {
    let spins = AtomicUsize::new(0);
    let at_cancel = AtomicUsize::new(0);
    let (spins, at_cancel) = (&spins, &at_cancel);
    coroutine_scope(|s| {
        Box::pin(async move {
            let nested = s.launch(async move {
                coroutine_scope(|inner| {
                    Box::pin(async move {
                        inner.launch(async move {
                            loop {
                                spins.fetch_add(1, Ordering::SeqCst);
                                yield_now().await?;
                            }
                        });
                        Ok(())
                    })
                })
                .await
            });
            s.launch(async move {
                for _ in 0..10 {
                    yield_now().await?;
                }
                at_cancel.store(spins.load(Ordering::SeqCst), Ordering::SeqCst);
                nested.cancel();
                Ok(())
            });
            Ok(())
        })
    })
    .await
    .unwrap();
    let (spins, at_cancel) = (
        spins.load(Ordering::SeqCst),
        at_cancel.load(Ordering::SeqCst),
    );
    // One spin per turn of the tree: the sibling yielded ten times.
    assert!(
        (10..=11).contains(&at_cancel),
        "spins before the cancel: {at_cancel}"
    );
    assert_eq!(spins, at_cancel, "no spin after the cancel");
}

/// What the deadlines below cut short: a nested scope whose body waits
/// 50 ms.
fn a_scope_waiting_50_ms() -> impl std::future::Future<Output = Result<u8>> {
    coroutine_scope(|_inner| {
        Box::pin(async move {
            delay(ms(50)).await?;
            Ok(1u8)
        })
    })
}

/// R14 after a nested scope a timeout cut short (Kotlin:
/// `withTimeoutOrNull(10) { coroutineScope { delay(50) } }`, then
/// `launch { log("child") }; yield(); log("body")` logs child, body): the
/// body's next suspension lets the child it just started run first, as
/// after any other suspension; the cut-short scope's cancel leaves
/// nothing that resumes the body out of turn.
#[tokio::test(start_paused = true)]
async fn r14_a_child_started_after_a_timed_out_nested_scope_runs_at_the_next_yield() {
    let log = Log::default();
    let log = &log;
    coroutine_scope(|s| {
        Box::pin(async move {
            let cut_short = with_timeout_or_none(ms(10), a_scope_waiting_50_ms()).await?;
            assert_eq!(cut_short, None);
            s.launch(async move {
                log.push("child");
                Ok(())
            });
            yield_now().await?;
            log.push("body after yield");
            Ok(())
        })
    })
    .await
    .unwrap();
    assert_eq!(log.take(), ["child", "body after yield"]);
}

/// R14 for the same, one level down: the timeout sits in a nested scope's
/// body, inside a child; the grandchild that body starts next runs at the
/// body's next yield.
#[tokio::test(start_paused = true)]
async fn r14_a_timed_out_scope_in_a_nested_body_leaves_the_next_yield_in_order() {
    let log = Log::default();
    let log = &log;
    coroutine_scope(|s| {
        Box::pin(async move {
            s.launch(async move {
                coroutine_scope(|nested| {
                    Box::pin(async move {
                        let cut_short =
                            scopes::cancel_on(delay(ms(10)), a_scope_waiting_50_ms()).await?;
                        assert_eq!(cut_short, None);
                        nested.launch(async move {
                            log.push("grandchild");
                            Ok(())
                        });
                        yield_now().await?;
                        log.push("nested body after yield");
                        Ok(())
                    })
                })
                .await
            });
            Ok(())
        })
    })
    .await
    .unwrap();
    assert_eq!(log.take(), ["grandchild", "nested body after yield"]);
}

/// R7 and R14 after a nested scope `with_timeout` cut short: a child
/// started then and cancelled after the body's next yield has run and is
/// suspended in its `delay`, so its cleanup runs.
#[tokio::test(start_paused = true)]
async fn r7_a_child_started_after_a_timed_out_nested_scope_cleans_up_when_cancelled() {
    let log = Log::default();
    let log = &log;
    let (result, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            let timed_out = with_timeout(ms(10), a_scope_waiting_50_ms()).await;
            assert!(timed_out.unwrap_err().is_timeout());
            let job = s.launch(async move {
                if let Err(cancelled) = delay(Duration::from_secs(60)).await {
                    log.push("cleanup");
                    return Err(cancelled);
                }
                Ok(())
            });
            yield_now().await?;
            job.cancel_and_join().await?;
            Ok(())
        })
    }))
    .await;
    result.unwrap();
    assert_eq!(log.take(), ["cleanup"]);
    assert_eq!(took, ms(10));
}

/// kotlinx `JobExceptionHandlingTest.testExceptionOnChildCancellation`, in
/// SPEC terms: a child of J's nested scope cancels J. Every job of that
/// scope resumed afterwards (the body and a suspended sibling) sees the
/// cancellation at once, and a grandchild that fails while cleaning up
/// makes J fail, which reaches the handler.
#[tokio::test(start_paused = true)]
async fn r7_a_cancel_from_inside_the_subtree_reaches_every_descendant_first() {
    let log = Log::default();
    let handled = Log::default();
    let (log, handled_ref) = (&log, &handled);
    let result = with_exception_handler(
        {
            let handled = handled.clone();
            move |e: &Error| handled.push(format!("handler: {e}"))
        },
        supervisor_scope(|s| {
            Box::pin(async move {
                let cell = Arc::new(std::sync::OnceLock::new());
                let own = cell.clone();
                let job = s.launch(async move {
                    coroutine_scope(|inner| {
                        Box::pin(async move {
                            inner.launch(async move {
                                if delay(Duration::MAX).await.is_err() {
                                    log.push("grandchild fails in its cleanup");
                                    return Err(Error::msg("cleanup failed"));
                                }
                                Ok(())
                            });
                            inner.launch(async move {
                                log.push("y starts");
                                let resumed = yield_now().await;
                                log.push(format!("y resumed with {}", outcome(&resumed)));
                                resumed
                            });
                            inner.launch(async move {
                                log.push("x cancels its grandparent job");
                                own.get().map(scopes::Job::cancel);
                                Ok(())
                            });
                            let resumed = yield_now().await;
                            log.push(format!("body resumed with {}", outcome(&resumed)));
                            resumed
                        })
                    })
                    .await
                });
                let _ = cell.set(job.clone());
                job.join().await?;
                assert!(job.is_cancelled());
                Ok(())
            })
        }),
    )
    .await;
    result.unwrap();
    assert_eq!(
        log.take(),
        [
            "y starts",
            "x cancels its grandparent job",
            // Queued before the cancel, resumed with it:
            "body resumed with cancellation",
            "y resumed with cancellation",
            // Resumed by the cancel, so queued after them (Kotlin's order):
            "grandchild fails in its cleanup",
        ]
    );
    assert_eq!(handled_ref.take(), ["handler: cleanup failed"]);
}

fn outcome(result: &Result<()>) -> &'static str {
    match result {
        Ok(()) => "ok",
        Err(e) if e.is_cancellation() => "cancellation",
        Err(_) => "failure",
    }
}

/// kotlinx `AsyncLazyTest.testCancelBeforeStart`: a lazy child cancelled
/// before it started completes at once and never runs; `start` reports
/// whether it was the call that started the child.
#[tokio::test(start_paused = true)]
async fn r11_cancelling_a_lazy_child_before_it_starts_completes_it_at_once() {
    let ran = AtomicUsize::new(0);
    let ran = &ran;
    coroutine_scope(|s| {
        Box::pin(async move {
            let lazy = s.child().start(Start::Lazy).r#async(async move {
                ran.fetch_add(1, Ordering::SeqCst);
                Ok(42)
            });
            lazy.cancel();
            assert!(lazy.is_completed() && lazy.is_cancelled());
            assert!(!lazy.start(), "a cancelled lazy child cannot start");
            assert!(lazy.await.unwrap_err().is_cancellation());

            let other = s.child().start(Start::Lazy).launch(async { Ok(()) });
            assert!(other.start(), "the first start starts it");
            assert!(!other.start(), "a second start does nothing");
            other.join().await
        })
    })
    .await
    .unwrap();
    assert_eq!(ran.load(Ordering::SeqCst), 0);
}
