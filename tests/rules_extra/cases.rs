//! The cases of `tests/rules_extra.rs`, shared by both kinds of scope: the
//! file is compiled once in `send` (`coroutine_scope`, `supervisor_scope`)
//! and once in `local` (`coroutine_scope_local`, `supervisor_scope_local`),
//! each of which names its kind's entry points, handle and boxed future the
//! same way (`super::*`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use scopes::{
    Error, Result, Start, cancellable, delay, ensure_active, is_active, non_cancellable,
    with_exception_handler, with_timeout, with_timeout_or_none, yield_now,
};
use scopes_workspace::Log;
use tokio::time::Instant;

#[allow(unused_imports)]
use super::{BoxFuture, Scope, coroutine_scope, coroutine_scope_with, supervisor_scope};
use crate::{ms, recording, timed};

// ------------------------------------------------------------ R1

/// R1 in a supervisor: a failed launch child and a grandchild in a nested
/// scope of a sibling are both waited for.
#[tokio::test(start_paused = true)]
async fn r1_supervisor_waits_for_grandchildren_after_a_failed_sibling() {
    let log = Log::default();
    let handled = Log::default();
    let log = &log;
    let (result, took) = timed(with_exception_handler(
        recording(&handled),
        supervisor_scope(|s| {
            Box::pin(async move {
                s.launch(async {
                    delay(ms(10)).await?;
                    Err(Error::msg("early"))
                });
                s.launch(async move {
                    coroutine_scope(|inner| {
                        Box::pin(async move {
                            inner.launch(async move {
                                delay(ms(200)).await?;
                                log.push("grandchild");
                                Ok(())
                            });
                            Ok(())
                        })
                    })
                    .await
                });
                Ok(1)
            })
        }),
    ))
    .await;
    assert_eq!(result.unwrap(), 1);
    assert_eq!(took, ms(200));
    assert_eq!(log.take(), ["grandchild"]);
    assert_eq!(handled.take(), ["handler: early"]);
}

/// R1 with a lazy child started late by a sibling: the scope waits for it.
#[tokio::test(start_paused = true)]
async fn r1_scope_waits_for_a_lazy_child_a_sibling_started() {
    let log = Log::default();
    let log = &log;
    let (result, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            let lazy = s.child().start(Start::Lazy).launch(async move {
                delay(ms(100)).await?;
                log.push("lazy ran");
                Ok(())
            });
            lazy.start();
            Ok(())
        })
    }))
    .await;
    result.unwrap();
    assert_eq!(took, ms(100));
    assert_eq!(log.take(), ["lazy ran"]);
}

/// R1 for a parallel child's own nested scope: the scope waits for its
/// grandchild too.
#[tokio::test(start_paused = true)]
async fn r1_scope_waits_for_the_children_of_a_parallel_child() {
    let done = Arc::new(AtomicUsize::new(0));
    let seen = done.clone();
    let (result, took) = timed(coroutine_scope(move |s| {
        Box::pin(async move {
            s.child().launch_parallel(async move {
                scopes::coroutine_scope(move |inner| {
                    Box::pin(async move {
                        inner.launch(async move {
                            delay(ms(50)).await?;
                            seen.fetch_add(1, Ordering::SeqCst);
                            Ok(())
                        });
                        Ok(())
                    })
                })
                .await
            });
            Ok(())
        })
    }))
    .await;
    result.unwrap();
    assert_eq!(took, ms(50));
    assert_eq!(done.load(Ordering::SeqCst), 1);
}

// ------------------------------------------------------------ R2

/// R2 with a panic two levels down instead of an `Err`: the outer scope
/// fails with the panic at once, the sibling is cancelled then.
#[tokio::test(start_paused = true)]
async fn r2_a_grandchild_panic_fails_the_outer_scope_at_once() {
    scopes_workspace::quiet_panics_starting_with("extra: grandchild");
    let log = Log::default();
    let log = &log;
    let (result, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            s.launch(async {
                coroutine_scope(|inner| {
                    Box::pin(async move {
                        inner.launch(async {
                            delay(ms(5)).await?;
                            panic!("extra: grandchild");
                        });
                        delay(Duration::from_secs(60)).await
                    })
                })
                .await
            });
            s.launch(async move {
                let r = delay(Duration::from_secs(60)).await;
                log.push(format!(
                    "sibling cancelled: {}",
                    r.unwrap_err().is_cancellation()
                ));
                Ok(())
            });
            Ok(())
        })
    }))
    .await;
    let err = result.unwrap_err();
    assert!(err.is_panic());
    assert_eq!(err.to_string(), "panicked: extra: grandchild");
    assert!(err.suppressed().is_empty());
    assert_eq!(took, ms(5));
    assert_eq!(log.take(), ["sibling cancelled: true"]);
}

/// R2 at one virtual instant: two children fail at 10 ms; the first one
/// resumed fails the scope and the other, cancelled before it is resumed,
/// gets the cancellation (R7), so it is not a second failure.
#[tokio::test(start_paused = true)]
async fn r2_two_failures_at_the_same_instant_the_first_resumed_wins() {
    let log = Log::default();
    let log = &log;
    let (result, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            s.launch(async move {
                delay(ms(10)).await?;
                log.push("a resumed");
                Err(Error::msg("a"))
            });
            s.launch(async move {
                let r = delay(ms(10)).await;
                log.push(format!("b resumed with {r:?}"));
                r?;
                Err(Error::msg("b"))
            });
            Ok(())
        })
    }))
    .await;
    let err = result.unwrap_err();
    assert_eq!(took, ms(10));
    assert_eq!(err.to_string(), "a");
    assert!(err.suppressed().is_empty(), "{:?}", err.suppressed());
    let entries = log.take();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0], "a resumed");
    assert!(entries[1].starts_with("b resumed with Err"), "{entries:?}");
}

/// R2 inside a supervisor: a nested coroutine_scope in a supervised child
/// is fail-fast on its own; the supervisor's other child is untouched.
#[tokio::test(start_paused = true)]
async fn r2_nested_coroutine_scope_in_a_supervisor_child_fails_alone() {
    let log = Log::default();
    let handled = Log::default();
    let log = &log;
    let (result, took) = timed(with_exception_handler(
        recording(&handled),
        supervisor_scope(|s| {
            Box::pin(async move {
                s.launch(async move {
                    coroutine_scope(|inner| {
                        Box::pin(async move {
                            inner.launch(async move {
                                let r = delay(ms(1000)).await;
                                log.push(format!("cousin cancelled: {}", r.is_err()));
                                r
                            });
                            inner.launch(async {
                                delay(ms(10)).await?;
                                Err(Error::msg("inner"))
                            });
                            Ok(())
                        })
                    })
                    .await
                });
                s.launch(async move {
                    delay(ms(100)).await?;
                    log.push("sibling done");
                    Ok(())
                });
                Ok(())
            })
        }),
    ))
    .await;
    result.unwrap();
    assert_eq!(took, ms(100));
    assert_eq!(log.take(), ["cousin cancelled: true", "sibling done"]);
    assert_eq!(handled.take(), ["handler: inner"]);
}

/// R2 in a parallel child: its failure fails the scope and cancels the body.
#[tokio::test(start_paused = true)]
async fn r2_a_parallel_child_failure_cancels_the_body() {
    let (result, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            s.child().launch_parallel(async {
                tokio::time::sleep(ms(20)).await;
                Err(Error::msg("parallel failed"))
            });
            let r = delay(Duration::from_secs(60)).await;
            assert!(r.as_ref().unwrap_err().is_cancellation());
            r
        })
    }))
    .await;
    assert_eq!(result.unwrap_err().to_string(), "parallel failed");
    assert_eq!(took, ms(20));
}

// ------------------------------------------------------------ R3

/// R3 with a panic: the body catches the awaited panic, returns `Ok`, the
/// scope still fails with the panic.
#[tokio::test(start_paused = true)]
async fn r3_catching_an_awaited_panic_does_not_recover() {
    scopes_workspace::quiet_panics_starting_with("extra: async panic");
    let result: Result<&str> = coroutine_scope(|s| {
        Box::pin(async move {
            let d = s.r#async(async {
                delay(ms(5)).await?;
                if true {
                    panic!("extra: async panic");
                }
                Ok(1u8)
            });
            match d.await {
                Ok(_) => Ok("value"),
                Err(e) => {
                    assert!(e.is_panic());
                    Ok("recovered")
                }
            }
        })
    })
    .await;
    let err = result.unwrap_err();
    assert!(err.is_panic());
}

/// R3 from a sibling: a sibling that catches the awaited failure and returns
/// `Ok` does not stop the scope failing.
#[tokio::test(start_paused = true)]
async fn r3_a_sibling_catching_the_await_error_does_not_recover() {
    let log = Log::default();
    let log = &log;
    let result: Result<()> = coroutine_scope(|s| {
        Box::pin(async move {
            let d = s.r#async(async {
                delay(ms(5)).await?;
                Err::<u8, _>(Error::msg("bad"))
            });
            s.launch(async move {
                let r = d.await;
                log.push(format!("sibling caught: {}", r.unwrap_err()));
                Ok(())
            });
            Ok(())
        })
    })
    .await;
    assert_eq!(result.unwrap_err().to_string(), "bad");
    assert_eq!(log.take(), ["sibling caught: bad"]);
}

// ------------------------------------------------------------ R4

/// R4 with a panic: a supervised launch child's panic goes to the handler as
/// a panic error, nobody else is cancelled, the scope's result is the body's.
#[tokio::test(start_paused = true)]
async fn r4_a_supervised_launch_panic_goes_to_the_handler() {
    scopes_workspace::quiet_panics_starting_with("extra: supervised panic");
    let handled = Log::default();
    let log = Log::default();
    let log = &log;
    let (result, took) = timed(with_exception_handler(
        recording(&handled),
        supervisor_scope(|s| {
            Box::pin(async move {
                s.launch(async {
                    yield_now().await?;
                    panic!("extra: supervised panic");
                });
                s.launch(async move {
                    delay(ms(30)).await?;
                    log.push("sibling done");
                    Ok(())
                });
                delay(ms(40)).await?;
                Ok("body")
            })
        }),
    ))
    .await;
    assert_eq!(result.unwrap(), "body");
    assert_eq!(took, ms(40));
    assert_eq!(log.take(), ["sibling done"]);
    assert_eq!(
        handled.take(),
        ["handler: panicked: extra: supervised panic"]
    );
}

/// R4 with a timeout: a supervised launch child whose own `with_timeout`
/// expires fails with the timeout, which goes to the handler (a timeout is a
/// failure, R9).
#[tokio::test(start_paused = true)]
async fn r4_a_supervised_child_timing_out_reports_the_timeout() {
    let errors = Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = errors.clone();
    let (result, took) = timed(with_exception_handler(
        move |e: &Error| sink.lock().unwrap().push(e.is_timeout()),
        supervisor_scope(|s| {
            Box::pin(async move {
                s.launch(async { with_timeout(ms(25), async { delay(ms(100)).await }).await });
                Ok(())
            })
        }),
    ))
    .await;
    result.unwrap();
    assert_eq!(took, ms(25));
    assert_eq!(*errors.lock().unwrap(), [true]);
}

/// R4: a failed async child that a clone's `.await` observed is not
/// reported, even though the other handle is dropped unawaited.
#[tokio::test(start_paused = true)]
async fn r4_a_failed_deferred_awaited_through_a_clone_is_not_reported() {
    let handled = Log::default();
    let result = with_exception_handler(
        recording(&handled),
        supervisor_scope(|s| {
            Box::pin(async move {
                let d = s.r#async(async { Err::<u8, _>(Error::msg("seen")) });
                let d2 = d.clone();
                let e = d2.await.unwrap_err();
                drop(d);
                Ok(e.to_string())
            })
        }),
    )
    .await;
    assert_eq!(result.unwrap(), "seen");
    assert!(handled.take().is_empty());
}

/// R4 for a parallel launch child in a supervisor: its failure goes to the
/// handler, the body goes on.
#[tokio::test(start_paused = true)]
async fn r4_a_supervised_parallel_failure_goes_to_the_handler() {
    let handled = Log::default();
    let (result, took) = timed(with_exception_handler(
        recording(&handled),
        supervisor_scope(|s| {
            Box::pin(async move {
                s.child().launch_parallel(async {
                    tokio::time::sleep(ms(5)).await;
                    Err(Error::msg("remote"))
                });
                delay(ms(10)).await?;
                Ok(3)
            })
        }),
    ))
    .await;
    assert_eq!(result.unwrap(), 3);
    assert_eq!(took, ms(10));
    assert_eq!(handled.take(), ["handler: remote"]);
}

// ------------------------------------------------------------ R5

/// R5 with a panic in a supervisor body: the children are cancelled, the
/// scope waits for their cleanup and returns the panic.
#[tokio::test(start_paused = true)]
async fn r5_supervisor_body_panic_cancels_children_and_waits_for_cleanup() {
    scopes_workspace::quiet_panics_starting_with("extra: supervisor body");
    let log = Log::default();
    let log = &log;
    let (result, took) = timed(supervisor_scope(|s| {
        Box::pin(async move {
            s.launch(async move {
                let r = delay(Duration::from_secs(60)).await;
                non_cancellable(delay(ms(50))).await?;
                log.push("cleaned up");
                r
            });
            delay(ms(10)).await?;
            if true {
                panic!("extra: supervisor body");
            }
            Ok(())
        })
    }))
    .await;
    let err = result.unwrap_err();
    assert!(err.is_panic());
    assert_eq!(took, ms(60));
    assert_eq!(log.take(), ["cleaned up"]);
}

// ------------------------------------------------------------ R6

/// R6 in a supervisor after a body failure: a child panicking during its
/// cleanup goes to the handler, not to the body's error.
#[tokio::test(start_paused = true)]
async fn r6_supervisor_cleanup_panic_goes_to_the_handler() {
    scopes_workspace::quiet_panics_starting_with("extra: cleanup panic");
    let handled = Log::default();
    let result: Result<()> = with_exception_handler(
        recording(&handled),
        supervisor_scope(|s| {
            Box::pin(async move {
                s.launch(async {
                    if delay(Duration::from_secs(60)).await.is_err() {
                        panic!("extra: cleanup panic");
                    }
                    Ok(())
                });
                yield_now().await?;
                Err(Error::msg("body"))
            })
        }),
    )
    .await;
    let err = result.unwrap_err();
    assert_eq!(err.to_string(), "body");
    assert!(err.suppressed().is_empty());
    assert_eq!(handled.take(), ["handler: panicked: extra: cleanup panic"]);
}

/// R6 with a panic while cancelling in a coroutine_scope: the cleanup panic
/// is suppressed by the first failure.
#[tokio::test(start_paused = true)]
async fn r6_a_cleanup_panic_is_suppressed_by_the_first_failure() {
    scopes_workspace::quiet_panics_starting_with("extra: suppressed panic");
    let result: Result<()> = coroutine_scope(|s| {
        Box::pin(async move {
            s.launch(async {
                if delay(Duration::from_secs(60)).await.is_err() {
                    panic!("extra: suppressed panic");
                }
                Ok(())
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
    assert_eq!(err.suppressed().len(), 1);
    assert!(err.suppressed()[0].is_panic());
}

/// R6 when the cancel comes from outside: a nested scope cancelled with its
/// job whose child fails during cleanup ends with that failure, not with a
/// cancellation (Kotlin: the first non-cancellation exception is the cause).
#[tokio::test(start_paused = true)]
async fn r6_a_cleanup_failure_in_a_scope_cancelled_from_outside_is_its_result() {
    let log = Log::default();
    let log = &log;
    let (result, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            let job = s.launch(async move {
                let inner = coroutine_scope(|inner| {
                    Box::pin(async move {
                        inner.launch(async {
                            let _ = delay(Duration::from_secs(60)).await;
                            Err::<(), _>(Error::msg("cleanup failed"))
                        });
                        delay(Duration::from_secs(60)).await
                    })
                })
                .await;
                log.push(format!(
                    "inner: {:?}",
                    inner.as_ref().map_err(|e| e.to_string())
                ));
                inner
            });
            delay(ms(10)).await?;
            job.cancel();
            Ok(())
        })
    }))
    .await;
    assert_eq!(took, ms(10));
    assert_eq!(log.take(), [r#"inner: Err("cleanup failed")"#]);
    assert_eq!(result.unwrap_err().to_string(), "cleanup failed");
}

// ------------------------------------------------------------ R7

/// R7: a scope entered in an already-cancelled job: the body runs, a child
/// launched in it never runs, and even an `Ok` body gives a cancellation.
#[tokio::test(start_paused = true)]
async fn r7_scope_entered_in_a_cancelled_job_never_runs_its_children() {
    let log = Log::default();
    let log = &log;
    let result: Result<()> = coroutine_scope(|s| {
        Box::pin(async move {
            let job = s.launch(async move {
                let _ = delay(Duration::from_secs(60)).await; // cancelled here
                let inner = supervisor_scope(|inner| {
                    Box::pin(async move {
                        log.push("inner body ran");
                        inner.launch(async move {
                            log.push("grandchild ran");
                            Ok(())
                        });
                        Ok(5)
                    })
                })
                .await;
                log.push(format!(
                    "inner cancelled: {}",
                    inner.unwrap_err().is_cancellation()
                ));
                Ok(())
            });
            yield_now().await?;
            job.cancel();
            Ok(())
        })
    })
    .await;
    result.unwrap();
    assert_eq!(log.take(), ["inner body ran", "inner cancelled: true"]);
}

/// R7: `with_timeout` called in a cancelled job returns the cancellation at
/// once, without running the work (docs/rules.md, where Kotlin differs).
#[tokio::test(start_paused = true)]
async fn r7_with_timeout_in_a_cancelled_job_fails_at_once_with_cancellation() {
    let log = Log::default();
    let log = &log;
    let (result, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            let job = s.launch(async move {
                let _ = delay(Duration::from_secs(60)).await;
                let r = with_timeout(ms(100), async move {
                    log.push("work ran");
                    Ok(1)
                })
                .await;
                let e = r.unwrap_err();
                log.push(format!(
                    "cancellation: {}, timeout: {}",
                    e.is_cancellation(),
                    e.is_timeout()
                ));
                Ok(())
            });
            yield_now().await?;
            job.cancel();
            Ok(())
        })
    }))
    .await;
    result.unwrap();
    assert_eq!(took, Duration::ZERO);
    assert_eq!(log.take(), ["cancellation: true, timeout: false"]);
}

/// R7 in a parallel child: cancelling it resumes its `delay` with the
/// cancellation, its cleanup runs, and `join` waits for it.
#[tokio::test(start_paused = true)]
async fn r7_a_cancelled_parallel_child_is_resumed_with_the_cancellation() {
    let cleaned = Arc::new(AtomicBool::new(false));
    let flag = cleaned.clone();
    let (result, took) = timed(coroutine_scope(move |s| {
        Box::pin(async move {
            let job = s.child().launch_parallel(async move {
                let r = delay(Duration::from_secs(60)).await;
                if r.as_ref().is_err_and(|e| e.is_cancellation()) {
                    non_cancellable(delay(ms(30))).await?;
                    flag.store(true, Ordering::SeqCst);
                }
                r
            });
            delay(ms(10)).await?;
            job.cancel();
            job.join().await?;
            assert!(job.is_cancelled() && job.is_completed());
            Ok(())
        })
    }))
    .await;
    result.unwrap();
    assert_eq!(took, ms(40));
    assert!(cleaned.load(Ordering::SeqCst));
}

/// R7: a cancelled child suspended in `join` of a sibling is resumed with the
/// cancellation; a later `await` of a completed Deferred still gives the value.
#[tokio::test(start_paused = true)]
async fn r7_join_is_cancellation_aware_but_a_completed_value_is_not() {
    let log = Log::default();
    let log = &log;
    coroutine_scope(|s| {
        Box::pin(async move {
            let done = s.r#async(async { Ok(42u32) });
            let slow = s.launch(async { delay(Duration::from_secs(60)).await });
            let waiter = s.launch(async move {
                let j = slow.join().await;
                log.push(format!(
                    "join cancelled: {}",
                    j.unwrap_err().is_cancellation()
                ));
                log.push(format!("value after cancel: {:?}", done.await.ok()));
                log.push(format!("ensure_active: {}", ensure_active().is_err()));
                log.push(format!("is_active: {}", is_active()));
                slow.cancel();
                Ok(())
            });
            delay(ms(10)).await?;
            waiter.cancel();
            waiter.join().await?;
            Ok(())
        })
    })
    .await
    .unwrap();
    assert_eq!(
        log.take(),
        [
            "join cancelled: true",
            "value after cancel: Some(42)",
            "ensure_active: true",
            "is_active: false"
        ]
    );
}

/// R7 for `cancellable`: a cancelled child in a wrapped foreign wait is
/// resumed with the cancellation and can clean up (`delay` after fails at once).
#[tokio::test(start_paused = true)]
async fn r7_cancellable_resumes_once_then_calls_fail_at_once() {
    let log = Log::default();
    let log = &log;
    let (result, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            let job = s.launch(async move {
                let r = cancellable(tokio::time::sleep(Duration::from_secs(60))).await;
                log.push(format!("resumed: {}", r.unwrap_err().is_cancellation()));
                let again = delay(ms(100)).await;
                log.push(format!("again: {}", again.unwrap_err().is_cancellation()));
                Ok(())
            });
            delay(ms(7)).await?;
            job.cancel();
            Ok(())
        })
    }))
    .await;
    result.unwrap();
    assert_eq!(took, ms(7));
    assert_eq!(log.take(), ["resumed: true", "again: true"]);
}

/// R7 one level deeper: cleanup in `non_cancellable` in a grandchild (a
/// scope in a scope in a cancelled child) is not cut short.
#[tokio::test(start_paused = true)]
async fn r7_cleanup_two_scopes_down_is_not_cut_short() {
    let log = Log::default();
    let log = &log;
    let (result, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            let job = s.launch(async move {
                coroutine_scope(|a| {
                    Box::pin(async move {
                        a.launch(async move {
                            supervisor_scope(|b| {
                                Box::pin(async move {
                                    b.launch(async move {
                                        let r = delay(Duration::from_secs(60)).await;
                                        non_cancellable(delay(ms(100))).await?;
                                        log.push("deep cleanup done");
                                        r
                                    });
                                    Ok(())
                                })
                            })
                            .await
                        });
                        Ok(())
                    })
                })
                .await
            });
            delay(ms(10)).await?;
            job.cancel();
            job.join().await?;
            log.push("joined");
            Ok(())
        })
    }))
    .await;
    result.unwrap();
    assert_eq!(took, ms(110));
    assert_eq!(log.take(), ["deep cleanup done", "joined"]);
}

// ------------------------------------------------------------ R8

/// R8 with children: a scope inside `non_cancellable` in a cancelled job
/// runs its children's delays to the end.
#[tokio::test(start_paused = true)]
async fn r8_children_of_a_scope_inside_non_cancellable_are_not_cancelled() {
    let log = Log::default();
    let log = &log;
    let (result, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            let job = s.launch(async move {
                let r = delay(Duration::from_secs(60)).await;
                non_cancellable(coroutine_scope(|inner| {
                    Box::pin(async move {
                        inner.launch(async move {
                            delay(ms(30)).await?;
                            yield_now().await?;
                            log.push("grandchild finished");
                            Ok(())
                        });
                        Ok(())
                    })
                }))
                .await?;
                r
            });
            delay(ms(10)).await?;
            job.cancel();
            Ok(())
        })
    }))
    .await;
    result.unwrap();
    assert_eq!(took, ms(40));
    assert_eq!(log.take(), ["grandchild finished"]);
}

/// R8 inside R9: the deadline passes during `non_cancellable` work; the
/// work finishes, then the timeout is returned (Kotlin: the same).
#[tokio::test(start_paused = true)]
async fn r8_non_cancellable_inside_with_timeout_finishes_then_times_out() {
    let log = Log::default();
    let log = &log;
    let (result, took) = timed(with_timeout(ms(100), async move {
        non_cancellable(delay(ms(200))).await?;
        log.push("shielded work done");
        delay(ms(1)).await?;
        log.push("not reached");
        Ok(1)
    }))
    .await;
    assert!(result.unwrap_err().is_timeout());
    assert_eq!(took, ms(200));
    assert_eq!(log.take(), ["shielded work done"]);
}

/// R9 inside R8: a `with_timeout` inside `non_cancellable` still times out.
#[tokio::test(start_paused = true)]
async fn r9_with_timeout_inside_non_cancellable_still_times_out() {
    let (result, took) = timed(non_cancellable(with_timeout(ms(100), async {
        delay(ms(200)).await?;
        Ok(1)
    })))
    .await;
    assert!(result.unwrap_err().is_timeout());
    assert_eq!(took, ms(100));
}

// ------------------------------------------------------------ R9

/// R9: the work catches the cancellation and returns a value: with
/// `with_timeout_or_none` the result is still `None`.
#[tokio::test(start_paused = true)]
async fn r9_timeout_or_none_wins_over_a_value_returned_after_the_cancel() {
    let (result, took) = timed(with_timeout_or_none(ms(50), async {
        match delay(ms(100)).await {
            Ok(()) => Ok(1),
            Err(_) => Ok(2),
        }
    }))
    .await;
    assert_eq!(result.unwrap(), None);
    assert_eq!(took, ms(50));
}

/// R9: a real failure (a panic) during the cleanup of a timed-out block
/// wins over the timeout.
#[tokio::test(start_paused = true)]
async fn r9_a_panic_during_timeout_cleanup_wins() {
    scopes_workspace::quiet_panics_starting_with("extra: timeout cleanup");
    let result: Result<u8> = with_timeout(ms(50), async {
        if delay(ms(100)).await.is_err() {
            panic!("extra: timeout cleanup");
        }
        Ok(1)
    })
    .await;
    let err = result.unwrap_err();
    assert!(err.is_panic(), "{err:?}");
    assert!(!err.is_timeout());
}

/// R9: `with_timeout_or_none` with a zero duration does not run the work.
#[tokio::test(start_paused = true)]
async fn r9_zero_timeout_or_none_does_not_run_the_work() {
    let ran = AtomicBool::new(false);
    let ran = &ran;
    let result = with_timeout_or_none(Duration::ZERO, async move {
        ran.store(true, Ordering::SeqCst);
        Ok(1)
    })
    .await;
    assert_eq!(result.unwrap(), None);
    assert!(!ran.load(Ordering::SeqCst));
}

/// R9 around a scope: the deadline cancels the scope's children, waits for
/// their cleanup, and the scope's cancellation becomes the timeout.
#[tokio::test(start_paused = true)]
async fn r9_timeout_around_a_scope_waits_for_its_children_cleanup() {
    let log = Log::default();
    let log = &log;
    let (result, took) = timed(with_timeout(
        ms(100),
        supervisor_scope(|s| {
            Box::pin(async move {
                s.launch(async move {
                    let r = delay(Duration::from_secs(60)).await;
                    non_cancellable(delay(ms(20))).await?;
                    log.push("child cleaned up");
                    r
                });
                delay(Duration::from_secs(60)).await?;
                Ok(1)
            })
        }),
    ))
    .await;
    assert!(result.unwrap_err().is_timeout());
    assert_eq!(took, ms(120));
    assert_eq!(log.take(), ["child cleaned up"]);
}

/// R9: a failure of the work before the deadline propagates through
/// `with_timeout_or_none` as it is.
#[tokio::test(start_paused = true)]
async fn r9_timeout_or_none_propagates_a_real_failure() {
    let result: Result<Option<u8>> = with_timeout_or_none(ms(100), async {
        delay(ms(10)).await?;
        Err(Error::msg("real"))
    })
    .await;
    assert_eq!(result.unwrap_err().to_string(), "real");
}

/// R9 in a coroutine_scope child: the timeout fails the scope (it is a
/// failure), cancelling the body.
#[tokio::test(start_paused = true)]
async fn r9_a_childs_timeout_fails_the_scope_and_cancels_siblings() {
    let log = Log::default();
    let log = &log;
    let (result, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            s.launch(async { with_timeout(ms(30), delay(ms(100))).await });
            s.launch(async move {
                let r = delay(ms(1000)).await;
                log.push(format!("sibling: {}", r.is_err()));
                r
            });
            Ok(())
        })
    }))
    .await;
    assert!(result.unwrap_err().is_timeout());
    assert_eq!(took, ms(30));
    assert_eq!(log.take(), ["sibling: true"]);
}

// ------------------------------------------------------------ R10

/// R10 for a nested scope's parallel grandchild: dropping the outer scope's
/// future aborts it too.
#[tokio::test(start_paused = true)]
async fn r10_dropping_the_scope_aborts_a_parallel_grandchild() {
    struct OnDrop(Arc<AtomicBool>);
    impl Drop for OnDrop {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
    let dropped = Arc::new(AtomicBool::new(false));
    let finished = Arc::new(AtomicBool::new(false));
    let (d, f) = (dropped.clone(), finished.clone());
    let scope = coroutine_scope(move |s| {
        Box::pin(async move {
            s.launch(async move {
                coroutine_scope(move |inner| {
                    Box::pin(async move {
                        inner.child().launch_parallel(async move {
                            let _guard = OnDrop(d);
                            tokio::time::sleep(Duration::from_secs(60)).await;
                            f.store(true, Ordering::SeqCst);
                            Ok(())
                        });
                        Ok(())
                    })
                })
                .await
            });
            delay(Duration::from_secs(60)).await
        })
    });
    let r = tokio::time::timeout(ms(10), scope).await;
    assert!(r.is_err());
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert!(dropped.load(Ordering::SeqCst));
    tokio::time::sleep(Duration::from_secs(120)).await;
    assert!(!finished.load(Ordering::SeqCst));
}

// ------------------------------------------------------------ R11

/// R11: a lazy child never started when the body returns is cancelled and
/// never runs, even if a sibling tries to start it later; the sibling's
/// `start()` then returns false.
#[tokio::test(start_paused = true)]
async fn r11_a_lazy_child_a_sibling_starts_after_the_body_returned_never_runs() {
    let log = Log::default();
    let log = &log;
    let result = coroutine_scope(|s| {
        Box::pin(async move {
            let lazy = s.child().start(Start::Lazy).launch(async move {
                log.push("lazy ran");
                Ok(())
            });
            s.launch(async move {
                yield_now().await?;
                log.push(format!("start: {}", lazy.start()));
                log.push(format!(
                    "cancelled: {}, completed: {}",
                    lazy.is_cancelled(),
                    lazy.is_completed()
                ));
                Ok(())
            });
            Ok(())
        })
    })
    .await;
    result.unwrap();
    assert_eq!(
        log.take(),
        ["start: false", "cancelled: true, completed: true"]
    );
}

/// R11 in a supervisor: a forgotten lazy async child does not hang the scope
/// and its cancellation is not reported as a failure.
#[tokio::test(start_paused = true)]
async fn r11_a_forgotten_lazy_child_in_a_supervisor_is_cancelled_not_reported() {
    let handled = Log::default();
    let (result, took) = timed(with_exception_handler(
        recording(&handled),
        supervisor_scope(|s| {
            Box::pin(async move {
                let d = s.child().start(Start::Lazy).r#async(async {
                    delay(ms(10)).await?;
                    Err::<u8, _>(Error::msg("never"))
                });
                drop(d);
                Ok(1)
            })
        }),
    ))
    .await;
    assert_eq!(result.unwrap(), 1);
    assert_eq!(took, Duration::ZERO);
    assert!(handled.take().is_empty());
}

/// R11: cancelling a lazy child that never started: completed and cancelled
/// at once, `start()` false afterwards, `await` gives the cancellation,
/// its body never runs.
#[tokio::test(start_paused = true)]
async fn r11_a_lazy_child_cancelled_before_start_cannot_be_started() {
    let ran = AtomicBool::new(false);
    let ran = &ran;
    coroutine_scope(|s| {
        Box::pin(async move {
            let d = s.child().start(Start::Lazy).r#async(async move {
                ran.store(true, Ordering::SeqCst);
                Ok(1u8)
            });
            d.cancel();
            assert!(d.is_completed() && d.is_cancelled() && !d.is_active());
            assert!(!d.start());
            assert!(d.await.unwrap_err().is_cancellation());
            Ok(())
        })
    })
    .await
    .unwrap();
    assert!(!ran.load(Ordering::SeqCst));
}

/// R11: `start()` is true only for the call that starts it; a lazy child
/// joined starts then.
#[tokio::test(start_paused = true)]
async fn r11_start_returns_true_once_and_join_starts_a_lazy_child() {
    coroutine_scope(|s| {
        Box::pin(async move {
            let a = s
                .child()
                .start(Start::Lazy)
                .launch(async { yield_now().await });
            assert!(!a.is_active() && !a.is_completed());
            assert!(a.start());
            assert!(!a.start());
            assert!(a.is_active());
            let b = s
                .child()
                .start(Start::Lazy)
                .launch(async { delay(ms(5)).await });
            b.join().await?;
            assert!(b.is_completed() && !b.is_cancelled());
            assert!(!b.start());
            Ok(())
        })
    })
    .await
    .unwrap();
}

/// R11 for a launch child: cancelled but returning `Ok` ends cancelled.
#[tokio::test(start_paused = true)]
async fn r11_a_cancelled_launch_child_returning_ok_ends_cancelled() {
    coroutine_scope(|s| {
        Box::pin(async move {
            let j = s.launch(async {
                let _ = delay(Duration::from_secs(60)).await;
                Ok(())
            });
            yield_now().await?;
            j.cancel();
            j.join().await?;
            assert!(j.is_cancelled() && j.is_completed());
            Ok(())
        })
    })
    .await
    .unwrap();
}

/// R11 for a parallel async child: cancelled but returning `Ok` gives the
/// cancellation to `await`, not the value.
#[tokio::test(start_paused = true)]
async fn r11_a_cancelled_parallel_child_returning_ok_ends_cancelled() {
    coroutine_scope(|s| {
        Box::pin(async move {
            let d = s.child().async_parallel(async {
                let _ = delay(Duration::from_secs(60)).await;
                Ok(7u8)
            });
            delay(ms(1)).await?;
            d.cancel();
            let r = d.await;
            assert!(r.unwrap_err().is_cancellation());
            Ok(())
        })
    })
    .await
    .unwrap();
}

/// R11: a Deferred awaited from several children (clones) gives every one
/// the same value; in a supervisor the same failure.
#[tokio::test(start_paused = true)]
async fn r11_a_failed_deferred_awaited_from_several_children_in_a_supervisor() {
    let log = Log::default();
    let log = &log;
    let handled = Log::default();
    with_exception_handler(
        recording(&handled),
        supervisor_scope(|s| {
            Box::pin(async move {
                let d = s.r#async(async {
                    delay(ms(10)).await?;
                    Err::<u8, _>(Error::msg("shared"))
                });
                for i in 0..3 {
                    let d = d.clone();
                    s.launch(async move {
                        log.push(format!("{i}: {}", d.await.unwrap_err()));
                        Ok(())
                    });
                }
                Ok(())
            })
        }),
    )
    .await
    .unwrap();
    assert_eq!(log.take(), ["0: shared", "1: shared", "2: shared"]);
    assert!(handled.take().is_empty());
}

// ------------------------------------------------------------ R14

/// R14 in a supervisor: children start in start order when the body
/// suspends, not at launch.
#[tokio::test(start_paused = true)]
async fn r14_supervisor_children_run_in_start_order_when_the_body_suspends() {
    let log = Log::default();
    let log = &log;
    supervisor_scope(|s| {
        Box::pin(async move {
            for i in 0..3 {
                s.launch(async move {
                    log.push(format!("child {i}"));
                    Ok(())
                });
            }
            log.push("body before yield");
            yield_now().await?;
            log.push("body after yield");
            Ok(())
        })
    })
    .await
    .unwrap();
    assert_eq!(
        log.take(),
        [
            "body before yield",
            "child 0",
            "child 1",
            "child 2",
            "body after yield"
        ]
    );
}

/// R14: timers due at one instant resume their jobs in the order the timers
/// were registered (Kotlin's virtual time dispatches events in that order),
/// whatever the start order of the jobs.
#[tokio::test(start_paused = true)]
async fn r14_timers_due_at_one_instant_resume_in_registration_order() {
    let log = Log::default();
    let log = &log;
    coroutine_scope(|s| {
        Box::pin(async move {
            let start = Instant::now();
            // a starts first but registers its timer after b and c.
            s.launch(async move {
                yield_now().await?;
                yield_now().await?;
                delay(ms(10) - start.elapsed()).await?;
                log.push("a");
                Ok(())
            });
            s.launch(async move {
                delay(ms(10)).await?;
                log.push("b");
                Ok(())
            });
            s.launch(async move {
                delay(ms(10)).await?;
                log.push("c");
                Ok(())
            });
            Ok(())
        })
    })
    .await
    .unwrap();
    assert_eq!(log.take(), ["b", "c", "a"]);
}

/// R14 with a nested scope: a child of a nested scope started before a
/// sibling of the outer scope is woken runs first (one FIFO for the tree).
#[tokio::test(start_paused = true)]
async fn r14_started_and_woken_jobs_share_one_fifo_across_depths() {
    let log = Log::default();
    let log = &log;
    coroutine_scope(|s| {
        Box::pin(async move {
            s.launch(async move {
                yield_now().await?;
                log.push("outer child after yield");
                Ok(())
            });
            coroutine_scope(|inner| {
                Box::pin(async move {
                    inner.launch(async move {
                        log.push("inner child");
                        Ok(())
                    });
                    log.push("inner body yields");
                    yield_now().await?;
                    log.push("inner body resumed");
                    Ok(())
                })
            })
            .await?;
            log.push("outer body after inner scope");
            Ok(())
        })
    })
    .await
    .unwrap();
    // FIFO: the outer child runs first when the inner body yields (it was
    // started first) and yields behind the inner child and the inner body.
    assert_eq!(
        log.take(),
        [
            "inner body yields",
            "inner child",
            "inner body resumed",
            "outer body after inner scope",
            "outer child after yield"
        ]
    );
}

// ------------------------------------------------------------ same instant

/// R9 at one instant: the deadline registered before the work's own delay
/// of the same length wins (Kotlin's virtual time runs events in the order
/// they were scheduled).
#[tokio::test(start_paused = true)]
async fn r9_a_delay_ending_exactly_at_the_deadline_times_out() {
    let (result, took) = timed(with_timeout(ms(10), async {
        delay(ms(10)).await?;
        Ok(1)
    }))
    .await;
    assert!(result.unwrap_err().is_timeout());
    assert_eq!(took, ms(10));
    let (result, took) = timed(with_timeout_or_none(ms(10), async {
        delay(ms(10)).await?;
        Ok(1)
    }))
    .await;
    assert_eq!(result.unwrap(), None);
    assert_eq!(took, ms(10));
}

/// R2/R5 at one instant: the body and a child fail at 10 ms; the body's
/// timer was registered first, so the body's failure wins and the child,
/// cancelled before it is resumed, gets the cancellation.
#[tokio::test(start_paused = true)]
async fn r2_body_and_child_failing_at_one_instant_the_body_registered_first_wins() {
    let result: Result<()> = coroutine_scope(|s| {
        Box::pin(async move {
            s.launch(async {
                delay(ms(10)).await?;
                Err(Error::msg("child"))
            });
            delay(ms(10)).await?;
            Err(Error::msg("body"))
        })
    })
    .await;
    let err = result.unwrap_err();
    assert_eq!(err.to_string(), "body");
    assert!(err.suppressed().is_empty(), "{:?}", err.suppressed());
}

// ------------------------------------------------------------ §2b

/// §2b race: the losers are cancelled and have completed (cleanup included)
/// when it returns.
#[tokio::test(start_paused = true)]
async fn race_returns_after_the_losers_cleanup() {
    let log = Log::default();
    let log = &log;
    let (result, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            let fast = s.r#async(async {
                delay(ms(10)).await?;
                Ok("fast")
            });
            let slow = s.r#async(async move {
                let r = delay(ms(100)).await;
                non_cancellable(delay(ms(25))).await?;
                log.push("slow cleaned up");
                r.map(|()| "slow")
            });
            let watch = slow.clone();
            let v = scopes::race([fast, slow]).await?;
            assert!(watch.is_completed() && watch.is_cancelled());
            Ok(v)
        })
    }))
    .await;
    assert_eq!(result.unwrap(), "fast");
    assert_eq!(took, ms(35));
    assert_eq!(log.take(), ["slow cleaned up"]);
}

/// §2b race in a supervisor: a failure that completes first decides.
#[tokio::test(start_paused = true)]
async fn race_a_first_failure_decides_in_a_supervisor() {
    let (result, took) = timed(supervisor_scope(|s| {
        Box::pin(async move {
            let bad = s.r#async(async {
                delay(ms(10)).await?;
                Err::<u8, _>(Error::msg("bad"))
            });
            let good = s.r#async(async {
                delay(ms(20)).await?;
                Ok(1u8)
            });
            Ok(scopes::race([bad, good]).await)
        })
    }))
    .await;
    assert_eq!(result.unwrap().unwrap_err().to_string(), "bad");
    assert_eq!(took, ms(10));
}

/// §2b race on lazy children starts them (it awaits them, R11) instead of
/// hanging.
#[tokio::test(start_paused = true)]
async fn race_starts_lazy_children() {
    let (result, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            let a = s.child().start(Start::Lazy).r#async(async {
                delay(ms(20)).await?;
                Ok(1)
            });
            let b = s.child().start(Start::Lazy).r#async(async {
                delay(ms(10)).await?;
                Ok(2)
            });
            scopes::race([a, b]).await
        })
    }))
    .await;
    assert_eq!(result.unwrap(), 2);
    assert_eq!(took, ms(10));
}

/// §2b await_all on lazy children starts them.
#[tokio::test(start_paused = true)]
async fn await_all_starts_lazy_children() {
    let (result, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            let a = s.child().start(Start::Lazy).r#async(async {
                delay(ms(20)).await?;
                Ok(1)
            });
            let b = s.child().start(Start::Lazy).r#async(async {
                delay(ms(10)).await?;
                Ok(2)
            });
            scopes::await_all([a, b]).await
        })
    }))
    .await;
    assert_eq!(result.unwrap(), [1, 2]);
    assert_eq!(took, ms(20));
}

/// §2b join_all is Kotlin's `joinAll` (`forEach { it.join() }`): a lazy
/// job is started when its turn to be joined comes, so lazy jobs run one
/// after another; as_completed, like awaitAll, starts them all.
#[tokio::test(start_paused = true)]
async fn join_all_joins_lazy_jobs_in_turn_and_as_completed_starts_them() {
    use futures_util::StreamExt;
    let (result, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            let a = s
                .child()
                .start(Start::Lazy)
                .launch(async { delay(ms(20)).await });
            let b = s
                .child()
                .start(Start::Lazy)
                .launch(async { delay(ms(10)).await });
            scopes::join_all([&a, &b]).await?;
            let joined_at = tokio::time::Instant::now();
            let c = s.child().start(Start::Lazy).r#async(async {
                delay(ms(5)).await?;
                Ok(3)
            });
            let d = s.child().start(Start::Lazy).r#async(async {
                delay(ms(4)).await?;
                Ok(4)
            });
            let order: Vec<_> = scopes::as_completed([c, d])
                .map(|(i, r)| (i, r.unwrap()))
                .collect()
                .await;
            assert_eq!(joined_at.elapsed(), ms(5));
            Ok(order)
        })
    }))
    .await;
    assert_eq!(result.unwrap(), [(1, 4), (0, 3)]);
    assert_eq!(took, ms(35));
}

/// §2b first_success on lazy children starts them.
#[tokio::test(start_paused = true)]
async fn first_success_starts_lazy_children() {
    let (result, took) = timed(supervisor_scope(|s| {
        Box::pin(async move {
            let a = s.child().start(Start::Lazy).r#async(async {
                delay(ms(5)).await?;
                Err::<u8, _>(Error::msg("a"))
            });
            let b = s.child().start(Start::Lazy).r#async(async {
                delay(ms(10)).await?;
                Ok(2)
            });
            scopes::first_success([a, b]).await
        })
    }))
    .await;
    assert_eq!(result.unwrap(), 2);
    assert_eq!(took, ms(10));
}

/// §2b first_success: all fail: the first failure in completion order,
/// with the others in `suppressed()`, in completion order.
#[tokio::test(start_paused = true)]
async fn first_success_all_failing_gives_the_first_with_the_rest_suppressed() {
    let result: Result<Result<u8>> = supervisor_scope(|s| {
        Box::pin(async move {
            let mut ds = Vec::new();
            for (name, t) in [("c", 30), ("a", 10), ("b", 20)] {
                ds.push(s.r#async(async move {
                    delay(ms(t)).await?;
                    Err::<u8, _>(Error::msg(name))
                }));
            }
            Ok(scopes::first_success(ds).await)
        })
    })
    .await;
    let err = result.unwrap().unwrap_err();
    assert_eq!(err.to_string(), "a");
    let rest: Vec<_> = err.suppressed().iter().map(|e| e.to_string()).collect();
    assert_eq!(rest, ["b", "c"]);
}

/// §2b first_success: the losers are cancelled and have completed when it
/// returns, cleanup included.
#[tokio::test(start_paused = true)]
async fn first_success_returns_after_the_losers_cleanup() {
    let log = Log::default();
    let log = &log;
    let (result, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            let slow = s.r#async(async move {
                let r = delay(ms(100)).await;
                non_cancellable(delay(ms(25))).await?;
                log.push("slow cleaned up");
                r.map(|()| 0u8)
            });
            let fast = s.r#async(async {
                delay(ms(10)).await?;
                Ok(1u8)
            });
            scopes::first_success([slow, fast]).await
        })
    }))
    .await;
    assert_eq!(result.unwrap(), 1);
    assert_eq!(took, ms(35));
    assert_eq!(log.take(), ["slow cleaned up"]);
}

/// §2b await_all in a supervisor: fails at the first failure in completion
/// order and cancels nobody (the slow sibling still gives its value).
#[tokio::test(start_paused = true)]
async fn await_all_in_a_supervisor_cancels_nobody() {
    let (result, took) = timed(supervisor_scope(|s| {
        Box::pin(async move {
            let slow = s.r#async(async {
                delay(ms(50)).await?;
                Ok(5u8)
            });
            let late_bad = s.r#async(async {
                delay(ms(30)).await?;
                Err::<u8, _>(Error::msg("late"))
            });
            let early_bad = s.r#async(async {
                delay(ms(10)).await?;
                Err::<u8, _>(Error::msg("early"))
            });
            let watch = slow.clone();
            let late = late_bad.clone();
            let t0 = Instant::now();
            let e = scopes::await_all([slow, late_bad, early_bad])
                .await
                .unwrap_err();
            assert_eq!(t0.elapsed(), ms(10));
            let late = late.await.unwrap_err().to_string();
            Ok((e.to_string(), late, watch.await?))
        })
    }))
    .await;
    assert_eq!(result.unwrap(), ("early".to_owned(), "late".to_owned(), 5));
    assert_eq!(took, ms(50));
}

/// §2b limit: a waiting child cancelled completes at once; the others keep
/// their start order.
#[tokio::test(start_paused = true)]
async fn limit_a_cancelled_waiting_child_completes_at_once_and_order_is_kept() {
    let log = Log::default();
    let log = &log;
    let (result, took) = timed(coroutine_scope_with(
        scopes::ScopeOptions::new().limit(1),
        |s| {
            Box::pin(async move {
                let mut jobs = Vec::new();
                for i in 0..4 {
                    jobs.push(s.launch(async move {
                        log.push(format!("{i} runs"));
                        delay(ms(10)).await
                    }));
                }
                yield_now().await?;
                jobs[1].cancel();
                assert!(jobs[1].is_completed() && jobs[1].is_cancelled());
                Ok(())
            })
        },
    ))
    .await;
    result.unwrap();
    assert_eq!(took, ms(30));
    assert_eq!(log.take(), ["0 runs", "2 runs", "3 runs"]);
}

/// §2b limit with a failure: fail-fast cancels the running child and the
/// waiting ones (which never run).
#[tokio::test(start_paused = true)]
async fn limit_a_failure_cancels_the_waiting_children_which_never_run() {
    let log = Log::default();
    let log = &log;
    let (result, took) = timed(coroutine_scope_with(
        scopes::ScopeOptions::new().limit(2),
        |s| {
            Box::pin(async move {
                s.launch(async {
                    delay(ms(10)).await?;
                    Err(Error::msg("boom"))
                });
                for i in 0..3 {
                    s.launch(async move {
                        log.push(format!("{i} runs"));
                        delay(ms(100)).await
                    });
                }
                Ok(())
            })
        },
    ))
    .await;
    assert_eq!(result.unwrap_err().to_string(), "boom");
    assert_eq!(took, ms(10));
    assert_eq!(log.take(), ["0 runs"]);
}

/// §2b limit counts the scope's own children only: grandchildren in a
/// child's nested scope do not take places.
#[tokio::test(start_paused = true)]
async fn limit_counts_only_the_scopes_own_children() {
    let (result, took) = timed(coroutine_scope_with(
        scopes::ScopeOptions::new().limit(1),
        |s| {
            Box::pin(async move {
                s.launch(async {
                    coroutine_scope(|inner| {
                        Box::pin(async move {
                            for _ in 0..3 {
                                inner.launch(async { delay(ms(10)).await });
                            }
                            Ok(())
                        })
                    })
                    .await
                });
                Ok(())
            })
        },
    ))
    .await;
    result.unwrap();
    assert_eq!(took, ms(10));
}

/// §2b cancel_children in a body: every child is cancelled (cleanup runs),
/// the body goes on, the scope completes normally.
#[tokio::test(start_paused = true)]
async fn cancel_children_in_a_supervisor_body_leaves_the_body_running() {
    let log = Log::default();
    let log = &log;
    let handled = Log::default();
    let (result, took) = timed(with_exception_handler(
        recording(&handled),
        supervisor_scope(|s| {
            Box::pin(async move {
                for i in 0..2 {
                    s.launch(async move {
                        let r = delay(Duration::from_secs(60)).await;
                        log.push(format!("{i} cancelled: {}", r.is_err()));
                        r
                    });
                }
                delay(ms(5)).await?;
                scopes::cancel_children();
                delay(ms(5)).await?;
                log.push(format!("body active: {}", is_active()));
                Ok("done")
            })
        }),
    ))
    .await;
    assert_eq!(result.unwrap(), "done");
    assert_eq!(took, ms(10));
    assert_eq!(
        log.take(),
        [
            "0 cancelled: true",
            "1 cancelled: true",
            "body active: true"
        ]
    );
    assert!(handled.take().is_empty());
}

/// §2b cancel_on: the signal first: the work is cancelled, its cleanup runs,
/// and `Ok(None)` comes once it has completed, even though the work caught
/// the cancellation and returned a value.
#[tokio::test(start_paused = true)]
async fn cancel_on_waits_for_cleanup_and_gives_none_over_a_value() {
    let (result, took) = timed(scopes::cancel_on(tokio::time::sleep(ms(10)), async {
        match delay(ms(100)).await {
            Ok(()) => Ok(1),
            Err(_) => {
                non_cancellable(delay(ms(5))).await?;
                Ok(2)
            }
        }
    }))
    .await;
    assert_eq!(result.unwrap(), None);
    assert_eq!(took, ms(15));
}

/// §2b cancel_on: work that finishes first gives `Some`; a failure, `Err`.
#[tokio::test(start_paused = true)]
async fn cancel_on_work_first_gives_its_outcome() {
    let r = scopes::cancel_on(tokio::time::sleep(ms(100)), async {
        delay(ms(10)).await?;
        Ok(1)
    })
    .await;
    assert_eq!(r.unwrap(), Some(1));
    let r: Result<Option<u8>> = scopes::cancel_on(tokio::time::sleep(ms(100)), async {
        delay(ms(10)).await?;
        Err(Error::msg("real"))
    })
    .await;
    assert_eq!(r.unwrap_err().to_string(), "real");
}

/// §2b cancel_on around a scope: the signal cancels the scope's children,
/// waits for their cleanup, then gives `Ok(None)` over the body's value.
#[tokio::test(start_paused = true)]
async fn cancel_on_around_a_scope_cancels_its_children() {
    let log = Log::default();
    let log = &log;
    let (result, took) = timed(scopes::cancel_on(
        tokio::time::sleep(ms(10)),
        coroutine_scope(|s| {
            Box::pin(async move {
                s.launch(async move {
                    let r = delay(Duration::from_secs(60)).await;
                    non_cancellable(delay(ms(7))).await?;
                    log.push("child cleaned up");
                    r
                });
                Ok(1)
            })
        }),
    ))
    .await;
    assert_eq!(result.unwrap(), None);
    assert_eq!(took, ms(17));
    assert_eq!(log.take(), ["child cleaned up"]);
}

/// §2b cancel_and_join: cancels, waits for the cleanup, `Ok`.
#[tokio::test(start_paused = true)]
async fn cancel_and_join_waits_for_cleanup() {
    let (result, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            let j = s.launch(async {
                let r = delay(Duration::from_secs(60)).await;
                non_cancellable(delay(ms(20))).await?;
                r
            });
            yield_now().await?;
            j.cancel_and_join().await?;
            assert!(j.is_completed() && j.is_cancelled());
            Ok(())
        })
    }))
    .await;
    result.unwrap();
    assert_eq!(took, ms(20));
}

// ------------------------------------------------------------ §2c

/// §2c: a send to a waiting receiver completes without suspending: the
/// sender goes on before the receiver is resumed.
#[tokio::test(start_paused = true)]
async fn rendezvous_send_to_a_waiting_receiver_does_not_suspend() {
    let log = Log::default();
    let log = &log;
    coroutine_scope(|s| {
        Box::pin(async move {
            let (tx, rx) = scopes::channel::<u8>(0);
            s.launch(async move {
                let v = rx.recv().await?;
                log.push(format!("got {v:?}"));
                Ok(())
            });
            yield_now().await?; // the receiver waits
            tx.send(1).await?;
            log.push("sent");
            Ok(())
        })
    })
    .await
    .unwrap();
    assert_eq!(log.take(), ["sent", "got Some(1)"]);
}

/// §2c: a recv from a waiting sender completes without suspending.
#[tokio::test(start_paused = true)]
async fn rendezvous_recv_from_a_waiting_sender_does_not_suspend() {
    let log = Log::default();
    let log = &log;
    coroutine_scope(|s| {
        Box::pin(async move {
            let (tx, rx) = scopes::channel::<u8>(0);
            s.launch(async move {
                tx.send(1).await?;
                log.push("sender resumed");
                Ok(())
            });
            yield_now().await?; // the sender waits
            let v = rx.recv().await?;
            log.push(format!("got {v:?}"));
            Ok(())
        })
    })
    .await
    .unwrap();
    assert_eq!(log.take(), ["got Some(1)", "sender resumed"]);
}

/// §2c: dropping the last receiver cancels the channel: the producer's send
/// returns a cancellation, it ends cancelled, the scope completes normally.
#[tokio::test(start_paused = true)]
async fn dropping_the_receiver_ends_a_sender_child_cancelled_not_failed() {
    let (result, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            let (tx, rx) = scopes::channel::<u32>(0);
            let j = s.launch(async move {
                let mut i = 0;
                loop {
                    tx.send(i).await?;
                    i += 1;
                }
            });
            assert_eq!(rx.recv().await?, Some(0));
            drop(rx);
            j.join().await?;
            assert!(j.is_cancelled());
            Ok("ok")
        })
    }))
    .await;
    assert_eq!(result.unwrap(), "ok");
    assert_eq!(took, Duration::ZERO);
}

/// §2c: a cancelled child waiting in `send` on a full channel is resumed
/// with the cancellation, and its item is not delivered.
#[tokio::test(start_paused = true)]
async fn a_cancelled_sender_waiting_on_a_full_channel_gets_the_cancellation() {
    let log = Log::default();
    let log = &log;
    coroutine_scope(|s| {
        Box::pin(async move {
            let (tx, rx) = scopes::channel::<u8>(1);
            let j = s.launch(async move {
                tx.send(1).await?;
                let r = tx.send(2).await;
                log.push(format!(
                    "second send cancelled: {}",
                    r.unwrap_err().is_cancellation()
                ));
                Ok(())
            });
            delay(ms(5)).await?;
            j.cancel();
            j.join().await?;
            assert_eq!(rx.recv().await?, Some(1));
            assert_eq!(rx.recv().await?, None);
            Ok(())
        })
    })
    .await
    .unwrap();
    assert_eq!(log.take(), ["second send cancelled: true"]);
}

/// §2c: fan-in: `Ok(None)` only after every sender clone is gone; each item
/// is received once by the receiver clones.
#[tokio::test(start_paused = true)]
async fn fan_in_and_fan_out_each_item_once_none_after_all_senders() {
    let got = coroutine_scope(|s| {
        Box::pin(async move {
            let (tx, rx) = scopes::channel::<u32>(2);
            for k in 0..3u32 {
                let tx = tx.clone();
                s.launch(async move {
                    for i in 0..4 {
                        delay(ms(u64::from(k) + 1)).await?;
                        tx.send(k * 10 + i).await?;
                    }
                    Ok(())
                });
            }
            drop(tx);
            let mut readers = Vec::new();
            for _ in 0..2 {
                let rx = rx.clone();
                readers.push(s.r#async(async move {
                    let mut got = Vec::new();
                    while let Some(v) = rx.recv().await? {
                        got.push(v);
                    }
                    Ok(got)
                }));
            }
            drop(rx);
            let mut all: Vec<u32> = scopes::await_all(readers).await?.concat();
            all.sort_unstable();
            Ok(all)
        })
    })
    .await
    .unwrap();
    assert_eq!(got, [0, 1, 2, 3, 10, 11, 12, 13, 20, 21, 22, 23]);
}

/// §2c: `close_with` delivers the failure after the buffered items, to
/// every `recv`, and a later `send` returns it.
#[tokio::test(start_paused = true)]
async fn close_with_failure_after_items_to_every_recv_and_send() {
    let (tx, rx) = scopes::channel::<u8>(4);
    tx.send(1).await.unwrap();
    tx.send(2).await.unwrap();
    assert!(tx.close_with(Error::msg("gone")));
    assert_eq!(rx.recv().await.unwrap(), Some(1));
    assert_eq!(rx.recv().await.unwrap(), Some(2));
    assert_eq!(rx.recv().await.unwrap_err().to_string(), "gone");
    assert_eq!(rx.recv().await.unwrap_err().to_string(), "gone");
    assert_eq!(tx.send(3).await.unwrap_err().to_string(), "gone");
}

/// §2c produce: the receiver dropped while the producer is in `delay`
/// cancels it at once (its cleanup runs then), not at its next send.
#[tokio::test(start_paused = true)]
async fn produce_dropping_the_receiver_cancels_a_producer_in_delay_at_once() {
    let log = Log::default();
    let log = &log;
    let (result, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            let rx = s.produce(0, |tx| async move {
                tx.send(1u8).await?;
                let r = delay(Duration::from_secs(60)).await;
                log.push(format!(
                    "producer cancelled: {}",
                    r.as_ref().unwrap_err().is_cancellation()
                ));
                r
            });
            assert_eq!(rx.recv().await?, Some(1));
            delay(ms(5)).await?;
            drop(rx);
            Ok(())
        })
    }))
    .await;
    result.unwrap();
    assert_eq!(took, ms(5));
    assert_eq!(log.take(), ["producer cancelled: true"]);
}

/// §2c produce in a supervisor: its failure comes to the receiver after the
/// items and, delivered there, does not go to the handler.
#[tokio::test(start_paused = true)]
async fn produce_failure_after_items_in_a_supervisor_is_not_reported_twice() {
    let handled = Log::default();
    let got = with_exception_handler(
        recording(&handled),
        supervisor_scope(|s| {
            Box::pin(async move {
                let rx = s.produce(4, |tx| async move {
                    tx.send(1u8).await?;
                    tx.send(2).await?;
                    Err(Error::msg("sensor"))
                });
                let mut got = Vec::new();
                loop {
                    match rx.recv().await {
                        Ok(Some(v)) => got.push(v.to_string()),
                        Ok(None) => break,
                        Err(e) => {
                            got.push(e.to_string());
                            break;
                        }
                    }
                }
                Ok(got)
            })
        }),
    )
    .await
    .unwrap();
    assert_eq!(got, ["1", "2", "sensor"]);
    assert!(handled.take().is_empty());
}

/// §2c produce in a coroutine_scope: the producer's failure fails the scope
/// (it is a child) after the receiver got the items.
#[tokio::test(start_paused = true)]
async fn produce_failure_fails_a_coroutine_scope() {
    let result: Result<()> = coroutine_scope(|s| {
        Box::pin(async move {
            let rx = s.produce(0, |tx| async move {
                tx.send(1u8).await?;
                Err(Error::msg("producer failed"))
            });
            assert_eq!(rx.recv().await?, Some(1));
            let _ = rx.recv().await;
            delay(Duration::from_secs(60)).await
        })
    })
    .await;
    assert_eq!(result.unwrap_err().to_string(), "producer failed");
}

/// §2c foreign waits: a cancelled child waiting in `acquire_cancellable`
/// is resumed with the cancellation and cleans up.
#[tokio::test(start_paused = true)]
async fn semaphore_acquire_cancellable_is_resumed_with_the_cancellation() {
    use scopes::sync::SemaphoreExt;
    let sem = tokio::sync::Semaphore::new(0);
    let sem = &sem;
    let log = Log::default();
    let log = &log;
    coroutine_scope(|s| {
        Box::pin(async move {
            let j = s.launch(async move {
                let r = sem.acquire_cancellable().await;
                log.push(format!("acquire: {}", r.unwrap_err().is_cancellation()));
                non_cancellable(delay(ms(3))).await?;
                log.push("cleaned");
                Ok(())
            });
            delay(ms(1)).await?;
            j.cancel();
            Ok(())
        })
    })
    .await
    .unwrap();
    assert_eq!(log.take(), ["acquire: true", "cleaned"]);
}

// ------------------------------------------------------------ §3b

/// §3b: an unnamed child's name is its source location; errors remember the
/// name of the child they came from, also two scopes down.
#[tokio::test(start_paused = true)]
async fn names_default_to_the_location_and_errors_remember_the_deepest_child() {
    let result: Result<()> = coroutine_scope(|s| {
        Box::pin(async move {
            let j = s.launch(async {
                coroutine_scope(|inner| {
                    Box::pin(async move {
                        inner.child().name("leaf").launch(async {
                            yield_now().await?;
                            Err(Error::msg("leaf failed"))
                        });
                        Ok(())
                    })
                })
                .await
            });
            let name = j.name();
            assert!(name.contains("rules_extra"), "{name}");
            assert_eq!(name.matches(':').count(), 2, "{name}");
            Ok(())
        })
    })
    .await;
    let err = result.unwrap_err();
    assert_eq!(err.child_name().as_deref(), Some("leaf"));
}

/// §3b: dump shows a child cancelling while it cleans up in
/// `non_cancellable`, and a scope whose body returned as completing.
#[tokio::test(start_paused = true)]
async fn dump_shows_cancelling_and_completing() {
    let seen = coroutine_scope(|s| {
        Box::pin(async move {
            let cleaning = s.child().name("extra-cleaning").launch(async {
                let r = delay(Duration::from_secs(60)).await;
                non_cancellable(delay(ms(50))).await?;
                r
            });
            let (tx, rx) = std::sync::mpsc::channel::<String>();
            s.child().name("extra-watcher").launch(async move {
                delay(ms(10)).await?;
                let _ = tx.send(scopes::debug::dump());
                Ok(())
            });
            yield_now().await?;
            cleaning.cancel();
            let nested = s.child().name("extra-nested").r#async(async move {
                coroutine_scope(|inner| {
                    Box::pin(async move {
                        inner
                            .child()
                            .name("extra-late")
                            .launch(async { delay(ms(20)).await });
                        Ok(())
                    })
                })
                .await
            });
            nested.await?;
            Ok(rx.recv().unwrap())
        })
    })
    .await
    .unwrap();
    let line = |name: &str| {
        seen.lines()
            .find(|l| l.contains(name))
            .unwrap_or_else(|| panic!("{name} not in\n{seen}"))
            .to_owned()
    };
    assert!(line("extra-cleaning").ends_with("[cancelling]"), "{seen}");
    assert!(line("extra-late").ends_with("[active]"), "{seen}");
    let inner_scope = seen
        .lines()
        .skip_while(|l| !l.contains("extra-nested"))
        .nth(1)
        .unwrap()
        .to_owned();
    assert!(inner_scope.ends_with("[completing]"), "{seen}");
}

/// §3b: a failed Deferred a supervisor body held until it returned, never
/// awaited, is reported to the handler once.
#[tokio::test(start_paused = true)]
async fn an_unawaited_failed_deferred_held_until_the_body_returns_is_reported_once() {
    let handled = Log::default();
    let result = with_exception_handler(
        recording(&handled),
        supervisor_scope(|s| {
            Box::pin(async move {
                let d = s.r#async(async { Err::<u8, _>(Error::msg("unobserved")) });
                delay(ms(5)).await?;
                assert!(d.is_completed());
                let _keep = d;
                Ok(1)
            })
        }),
    )
    .await;
    assert_eq!(result.unwrap(), 1);
    assert_eq!(handled.take(), ["handler: unobserved"]);
}

/// §3b: an unobserved failed Deferred moved into a sibling that is cancelled
/// before awaiting it is reported.
#[tokio::test(start_paused = true)]
async fn an_unawaited_failed_deferred_dropped_by_a_cancelled_sibling_is_reported() {
    let handled = Log::default();
    with_exception_handler(
        recording(&handled),
        supervisor_scope(|s| {
            Box::pin(async move {
                let d = s.r#async(async { Err::<u8, _>(Error::msg("orphan")) });
                let j = s.launch(async move {
                    delay(Duration::from_secs(60)).await?;
                    d.await?;
                    Ok(())
                });
                delay(ms(5)).await?;
                j.cancel();
                Ok(())
            })
        }),
    )
    .await
    .unwrap();
    assert_eq!(handled.take(), ["handler: orphan"]);
}

// ------------------------------------------------------------ batch 3

/// R9: `with_timeout_or_none` maps only its own deadline to `None`: a
/// timeout that reaches it through a sibling's `Deferred` is a failure.
#[tokio::test(start_paused = true)]
async fn r9_timeout_or_none_propagates_a_timeout_awaited_from_a_sibling() {
    let (result, took) = timed(supervisor_scope(|s| {
        Box::pin(async move {
            let d = s.r#async(async {
                with_timeout(ms(10), async {
                    delay(ms(100)).await?;
                    Ok(1u8)
                })
                .await
            });
            Ok(with_timeout_or_none(ms(50), d).await)
        })
    }))
    .await;
    let inner = result.unwrap();
    assert!(inner.unwrap_err().is_timeout());
    assert_eq!(took, ms(10));
}

/// R9: an inner timeout in a child of a scope inside `with_timeout_or_none`
/// fails that scope and propagates, it is not turned into `None`.
#[tokio::test(start_paused = true)]
async fn r9_timeout_or_none_propagates_an_inner_timeout_of_a_nested_child() {
    let (result, took) = timed(with_timeout_or_none(
        ms(50),
        coroutine_scope(|s| {
            Box::pin(async move {
                s.launch(async { with_timeout(ms(10), delay(ms(100))).await });
                delay(ms(100)).await?;
                Ok(1u8)
            })
        }),
    ))
    .await;
    assert!(result.unwrap_err().is_timeout());
    assert_eq!(took, ms(10));
}

/// R7: a child suspended in `with_timeout` that is cancelled gets the
/// cancellation (not a timeout), even when the work catches it and returns
/// a value.
#[tokio::test(start_paused = true)]
async fn r7_with_timeout_in_a_job_cancelled_meanwhile_returns_the_cancellation() {
    let log = Log::default();
    let log = &log;
    coroutine_scope(|s| {
        Box::pin(async move {
            let j = s.launch(async move {
                let r = with_timeout(Duration::from_secs(100), async {
                    match delay(Duration::from_secs(60)).await {
                        Ok(()) => Ok(1),
                        Err(_) => Ok(2),
                    }
                })
                .await;
                log.push(format!(
                    "{:?}",
                    r.map_err(|e| (e.is_cancellation(), e.is_timeout()))
                ));
                Ok(())
            });
            delay(ms(5)).await?;
            j.cancel();
            Ok(())
        })
    })
    .await
    .unwrap();
    assert_eq!(log.take(), ["Err((true, false))"]);
}

/// R7: `with_timeout_or_none` in a job cancelled meanwhile gives the
/// cancellation, not `None`.
#[tokio::test(start_paused = true)]
async fn r7_with_timeout_or_none_in_a_job_cancelled_meanwhile_is_not_none() {
    let log = Log::default();
    let log = &log;
    coroutine_scope(|s| {
        Box::pin(async move {
            let j = s.launch(async move {
                let r = with_timeout_or_none(Duration::from_secs(100), async {
                    delay(Duration::from_secs(60)).await?;
                    Ok(1)
                })
                .await;
                log.push(format!("{:?}", r.map_err(|e| e.is_cancellation())));
                Ok(())
            });
            delay(ms(5)).await?;
            j.cancel();
            Ok(())
        })
    })
    .await
    .unwrap();
    assert_eq!(log.take(), ["Err(true)"]);
}

/// R7: a nested scope whose job is cancelled while it runs returns a
/// cancellation even when its body catches it and returns `Ok`.
#[tokio::test(start_paused = true)]
async fn r7_a_nested_scope_cancelled_meanwhile_returns_a_cancellation_over_ok() {
    let log = Log::default();
    let log = &log;
    coroutine_scope(|s| {
        Box::pin(async move {
            let j = s.launch(async move {
                let r = coroutine_scope(|_inner| {
                    Box::pin(async move {
                        let _ = delay(Duration::from_secs(60)).await;
                        Ok(1)
                    })
                })
                .await;
                log.push(format!("{:?}", r.map_err(|e| e.is_cancellation())));
                Ok(())
            });
            delay(ms(5)).await?;
            j.cancel();
            Ok(())
        })
    })
    .await
    .unwrap();
    assert_eq!(log.take(), ["Err(true)"]);
}

/// §2b cancel_on in a job cancelled from outside: the caller's
/// cancellation, not `None`.
#[tokio::test(start_paused = true)]
async fn cancel_on_in_a_job_cancelled_from_outside_gives_the_cancellation() {
    let log = Log::default();
    let log = &log;
    coroutine_scope(|s| {
        Box::pin(async move {
            let j = s.launch(async move {
                let r = scopes::cancel_on(std::future::pending::<()>(), async {
                    delay(Duration::from_secs(60)).await?;
                    Ok(1)
                })
                .await;
                log.push(format!("{:?}", r.map_err(|e| e.is_cancellation())));
                Ok(())
            });
            delay(ms(5)).await?;
            j.cancel();
            Ok(())
        })
    })
    .await
    .unwrap();
    assert_eq!(log.take(), ["Err(true)"]);
}

/// R7: a cancelled child suspended in two cancellation-aware calls at once
/// (a `join!`) is resumed in both.
#[tokio::test(start_paused = true)]
async fn r7_every_primitive_a_cancelled_child_waits_in_returns_the_cancellation() {
    let log = Log::default();
    let log = &log;
    coroutine_scope(|s| {
        Box::pin(async move {
            let (tx, rx) = scopes::channel::<u8>(0);
            let j = s.launch(async move {
                let (a, b) = futures_util::join!(delay(Duration::from_secs(60)), rx.recv());
                log.push(format!(
                    "delay: {}, recv: {}",
                    a.unwrap_err().is_cancellation(),
                    b.unwrap_err().is_cancellation()
                ));
                Ok(())
            });
            delay(ms(5)).await?;
            j.cancel();
            drop(tx);
            Ok(())
        })
    })
    .await
    .unwrap();
    assert_eq!(log.take(), ["delay: true, recv: true"]);
}

/// R7 in a parallel child: one still suspended in a foreign wait after its
/// resume is dropped; it cannot hold its scope open.
#[tokio::test(start_paused = true)]
async fn r7_a_parallel_child_in_a_foreign_wait_after_cancel_is_dropped() {
    let finished = Arc::new(AtomicBool::new(false));
    let flag = finished.clone();
    let (result, took) = timed(coroutine_scope(move |s| {
        Box::pin(async move {
            let j = s.child().launch_parallel(async move {
                let r = delay(Duration::from_secs(60)).await;
                tokio::time::sleep(Duration::from_secs(60)).await;
                flag.store(true, Ordering::SeqCst);
                r
            });
            delay(ms(5)).await?;
            j.cancel();
            Ok(())
        })
    }))
    .await;
    result.unwrap();
    assert_eq!(took, ms(5));
    tokio::time::sleep(Duration::from_secs(120)).await;
    assert!(!finished.load(Ordering::SeqCst));
}

/// R11 via the scope's failure: a lazy child never started is completed
/// (and cancelled) as soon as a sibling's failure cancels the scope, as the
/// body sees when its own wait is resumed.
#[tokio::test(start_paused = true)]
async fn r11_a_lazy_child_is_completed_as_soon_as_its_scope_fails() {
    let log = Log::default();
    let log = &log;
    let result: Result<()> = coroutine_scope(|s| {
        Box::pin(async move {
            let lazy = s.child().start(Start::Lazy).launch(async { Ok(()) });
            s.launch(async {
                delay(ms(5)).await?;
                Err(Error::msg("sibling"))
            });
            let r = delay(Duration::from_secs(60)).await;
            log.push(format!(
                "lazy completed: {}, cancelled: {}, start: {}",
                lazy.is_completed(),
                lazy.is_cancelled(),
                lazy.start()
            ));
            r
        })
    })
    .await;
    assert_eq!(result.unwrap_err().to_string(), "sibling");
    assert_eq!(
        log.take(),
        ["lazy completed: true, cancelled: true, start: false"]
    );
}

/// R11 via the cancel of the job the scope runs in: a nested scope's lazy
/// child is completed when its body's wait is resumed.
#[tokio::test(start_paused = true)]
async fn r11_a_lazy_child_is_completed_as_soon_as_its_scopes_job_is_cancelled() {
    let log = Log::default();
    let log = &log;
    coroutine_scope(|s| {
        Box::pin(async move {
            let j = s.launch(async move {
                supervisor_scope(|inner| {
                    Box::pin(async move {
                        let lazy = inner.child().start(Start::Lazy).launch(async { Ok(()) });
                        let r = delay(Duration::from_secs(60)).await;
                        log.push(format!(
                            "lazy completed: {}, cancelled: {}",
                            lazy.is_completed(),
                            lazy.is_cancelled()
                        ));
                        r
                    })
                })
                .await
            });
            delay(ms(5)).await?;
            j.cancel();
            Ok(())
        })
    })
    .await
    .unwrap();
    assert_eq!(log.take(), ["lazy completed: true, cancelled: true"]);
}

/// R14/R11: a child whose own scope's body has ended while its child runs
/// is active (Kotlin's Completing), not completed; its Deferred waits for
/// the grandchild.
#[tokio::test(start_paused = true)]
async fn r14_a_completing_async_child_is_active_and_its_await_waits_for_grandchildren() {
    let (result, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            let d = s.r#async(coroutine_scope_with(
                scopes::ScopeOptions::new().body_of_child(),
                |own| {
                    Box::pin(async move {
                        own.launch(async { delay(ms(30)).await });
                        Ok(9u8)
                    })
                },
            ));
            delay(ms(10)).await?;
            assert!(d.is_active() && !d.is_completed());
            let v = d.clone().await?;
            assert!(d.is_completed());
            Ok(v)
        })
    }))
    .await;
    assert_eq!(result.unwrap(), 9);
    assert_eq!(took, ms(30));
}

/// R6 across two levels: a supervised scope's body fails in cleanup while
/// its job is cancelled by a sibling's failure: the outer error is the
/// sibling's, with the cleanup failure suppressed.
#[tokio::test(start_paused = true)]
async fn r6_a_nested_body_failing_during_cancel_is_suppressed_in_the_outer_scope() {
    let result: Result<()> = coroutine_scope(|s| {
        Box::pin(async move {
            s.launch(async {
                supervisor_scope(|_inner| {
                    Box::pin(async move {
                        let _ = delay(Duration::from_secs(60)).await;
                        Err::<(), _>(Error::msg("cleanup"))
                    })
                })
                .await
            });
            s.launch(async {
                delay(ms(5)).await?;
                Err(Error::msg("first"))
            });
            Ok(())
        })
    })
    .await;
    let err = result.unwrap_err();
    assert_eq!(err.to_string(), "first");
    let rest: Vec<_> = err.suppressed().iter().map(|e| e.to_string()).collect();
    assert_eq!(rest, ["cleanup"]);
}

/// §3b: errors remember the name of a parallel child and of a panicking one.
#[tokio::test(start_paused = true)]
async fn errors_remember_the_name_of_parallel_and_panicking_children() {
    scopes_workspace::quiet_panics_starting_with("extra: named panic");
    let r: Result<()> = coroutine_scope(|s| {
        Box::pin(async move {
            s.child()
                .name("remote")
                .launch_parallel(async { Err(Error::msg("x")) });
            Ok(())
        })
    })
    .await;
    assert_eq!(r.unwrap_err().child_name().as_deref(), Some("remote"));
    let r: Result<()> = coroutine_scope(|s| {
        Box::pin(async move {
            s.child().name("panicky").launch(async {
                if true {
                    panic!("extra: named panic");
                }
                Ok(())
            });
            Ok(())
        })
    })
    .await;
    let e = r.unwrap_err();
    assert!(e.is_panic());
    assert_eq!(e.child_name().as_deref(), Some("panicky"));
}

/// §2c: `cancel()` on one receiver clone cancels the channel for all of
/// them; dropping one clone while another lives does not.
#[tokio::test(start_paused = true)]
async fn receiver_clone_drop_does_not_cancel_but_cancel_on_any_does() {
    let (tx, rx) = scopes::channel::<u8>(4);
    let rx2 = rx.clone();
    drop(rx);
    tx.send(1).await.unwrap();
    assert_eq!(rx2.recv().await.unwrap(), Some(1));
    let rx3 = rx2.clone();
    rx3.cancel();
    assert!(rx2.recv().await.unwrap_err().is_cancellation());
    assert!(tx.send(2).await.unwrap_err().is_cancellation());
}

/// §2c produce: `cancel()` on the receiver cancels a producer suspended in
/// `delay` at once, and the scope completes normally.
#[tokio::test(start_paused = true)]
async fn produce_cancelling_the_receiver_cancels_the_producer_at_once() {
    let (result, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            let rx = s.produce(0, |tx| async move {
                tx.send(1u8).await?;
                delay(Duration::from_secs(60)).await?;
                tx.send(2).await
            });
            assert_eq!(rx.recv().await?, Some(1));
            rx.cancel();
            Ok("fine")
        })
    }))
    .await;
    assert_eq!(result.unwrap(), "fine");
    assert_eq!(took, Duration::ZERO);
}

/// R14: a waiting child is polled O(1) times per wake: 200 idle siblings are
/// not polled again while another child yields 100 times.
#[tokio::test(start_paused = true)]
async fn r14_idle_siblings_are_not_polled_by_other_wakes() {
    struct Counted<F>(F, Arc<AtomicUsize>);
    impl<F: std::future::Future + Unpin> std::future::Future for Counted<F> {
        type Output = F::Output;
        fn poll(
            mut self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<F::Output> {
            self.1.fetch_add(1, Ordering::Relaxed);
            std::pin::Pin::new(&mut self.0).poll(cx)
        }
    }
    let polls = Arc::new(AtomicUsize::new(0));
    let p = polls.clone();
    coroutine_scope(move |s| {
        Box::pin(async move {
            let mut idle = Vec::new();
            for _ in 0..200 {
                idle.push(s.launch(Counted(Box::pin(delay(Duration::from_secs(60))), p.clone())));
            }
            s.launch(async {
                for _ in 0..100 {
                    yield_now().await?;
                }
                Ok(())
            })
            .join()
            .await?;
            for j in &idle {
                j.cancel();
            }
            Ok(())
        })
    })
    .await
    .unwrap();
    // One first poll each, one for the cancel.
    assert!(
        polls.load(Ordering::Relaxed) <= 400,
        "{}",
        polls.load(Ordering::Relaxed)
    );
}

// ------------------------------------------------------------ batch 4

/// R4: the handler installed around the scope reaches a supervisor opened
/// inside a parallel child (on a worker thread).
#[tokio::test(start_paused = true)]
async fn r4_the_handler_reaches_a_supervisor_inside_a_parallel_child() {
    let handled = Log::default();
    with_exception_handler(
        recording(&handled),
        coroutine_scope(|s| {
            Box::pin(async move {
                s.child().launch_parallel(async {
                    scopes::supervisor_scope(|inner| {
                        Box::pin(async move {
                            inner.launch(async { Err(Error::msg("far away")) });
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
    assert_eq!(handled.take(), ["handler: far away"]);
}

/// R6: a supervisor cancelled from outside: a launch child failing during
/// its cleanup goes to the handler; the supervisor ends cancelled.
#[tokio::test(start_paused = true)]
async fn r6_a_supervisor_cancelled_from_outside_reports_cleanup_failures() {
    let handled = Log::default();
    let log = Log::default();
    let log = &log;
    with_exception_handler(
        recording(&handled),
        coroutine_scope(|s| {
            Box::pin(async move {
                let j = s.launch(async move {
                    let r = supervisor_scope(|inner| {
                        Box::pin(async move {
                            inner.launch(async {
                                let _ = delay(Duration::from_secs(60)).await;
                                Err::<(), _>(Error::msg("cleanup"))
                            });
                            delay(Duration::from_secs(60)).await
                        })
                    })
                    .await;
                    log.push(format!("{:?}", r.map_err(|e| e.is_cancellation())));
                    Ok(())
                });
                delay(ms(5)).await?;
                j.cancel();
                Ok(())
            })
        }),
    )
    .await
    .unwrap();
    assert_eq!(log.take(), ["Err(true)"]);
    assert_eq!(handled.take(), ["handler: cleanup"]);
}

/// §2c: a receiver cancelled while waiting in `recv` does not take the item
/// a sender hands over afterwards: the next receiver gets it.
#[tokio::test(start_paused = true)]
async fn a_cancelled_waiting_receiver_does_not_swallow_a_later_item() {
    let log = Log::default();
    let log = &log;
    coroutine_scope(|s| {
        Box::pin(async move {
            let (tx, rx) = scopes::channel::<u8>(0);
            let rx2 = rx.clone();
            let first = s.launch(async move {
                let r = rx.recv().await;
                log.push(format!("first: {:?}", r.map_err(|e| e.is_cancellation())));
                Ok(())
            });
            yield_now().await?; // first waits in recv
            first.cancel();
            s.launch(async move {
                let r = rx2.recv().await;
                log.push(format!("second: {:?}", r.map_err(|e| e.is_cancellation())));
                Ok(())
            });
            tx.send(7).await?;
            Ok(())
        })
    })
    .await
    .unwrap();
    let mut got = log.take();
    got.sort();
    assert_eq!(got, ["first: Err(true)", "second: Ok(Some(7))"]);
}

/// §2c: `close()` while a sender waits on a full channel: receivers take the
/// buffered item and the waiting sender's, then `Ok(None)`.
#[tokio::test(start_paused = true)]
async fn close_keeps_items_of_senders_already_waiting() {
    let log = Log::default();
    let log = &log;
    coroutine_scope(|s| {
        Box::pin(async move {
            let (tx, rx) = scopes::channel::<u8>(1);
            let tx2 = tx.clone();
            s.launch(async move {
                tx2.send(1).await?;
                tx2.send(2).await?;
                log.push("second send done");
                Ok(())
            });
            yield_now().await?;
            assert!(tx.close());
            assert_eq!(rx.recv().await?, Some(1));
            assert_eq!(rx.recv().await?, Some(2));
            assert_eq!(rx.recv().await?, None);
            Ok(())
        })
    })
    .await
    .unwrap();
    assert_eq!(log.take(), ["second send done"]);
}

/// §2c produce: a receiver dropped before the producer first ran: the
/// producer never runs (R7), and the scope completes normally.
#[tokio::test(start_paused = true)]
async fn produce_a_receiver_dropped_before_the_producer_ran_means_it_never_runs() {
    let ran = AtomicBool::new(false);
    let ran = &ran;
    coroutine_scope(|s| {
        Box::pin(async move {
            let rx = s.produce(0, |tx| async move {
                ran.store(true, Ordering::SeqCst);
                tx.send(1u8).await
            });
            drop(rx);
            Ok(())
        })
    })
    .await
    .unwrap();
    assert!(!ran.load(Ordering::SeqCst));
}

/// §2c produce: a panicking producer's panic reaches the receiver after the
/// items, as a panic error.
#[tokio::test(start_paused = true)]
async fn produce_a_panic_reaches_the_receiver_after_the_items() {
    scopes_workspace::quiet_panics_starting_with("extra: producer panic");
    let got = supervisor_scope(|s| {
        Box::pin(async move {
            let rx = s.produce(2, |tx| async move {
                tx.send(1u8).await?;
                if true {
                    panic!("extra: producer panic");
                }
                Ok(())
            });
            let first = rx.recv().await?;
            let e = rx.recv().await.unwrap_err();
            Ok((first, e.is_panic()))
        })
    })
    .await
    .unwrap();
    assert_eq!(got, (Some(1), true));
}

/// §2c produce in a supervisor: the producer cancelled by the dropped
/// receiver is not reported to the handler.
#[tokio::test(start_paused = true)]
async fn produce_cancelled_by_the_receiver_is_not_reported() {
    let handled = Log::default();
    with_exception_handler(
        recording(&handled),
        supervisor_scope(|s| {
            Box::pin(async move {
                let rx = s.produce(0, |tx| async move {
                    let mut i = 0u32;
                    loop {
                        tx.send(i).await?;
                        i += 1;
                    }
                });
                assert_eq!(rx.recv().await?, Some(0));
                Ok(())
            })
        }),
    )
    .await
    .unwrap();
    assert!(handled.take().is_empty());
}

/// R7: later calls in a cancelled job fail at once without suspending: a
/// `recv` with an item ready, `cancellable` of a ready future, `yield_now`,
/// `delay(0)`.
#[tokio::test(start_paused = true)]
async fn r7_later_calls_fail_at_once_even_with_something_ready() {
    let log = Log::default();
    let log = &log;
    coroutine_scope(|s| {
        Box::pin(async move {
            let (tx, rx) = scopes::channel::<u8>(4);
            tx.send(1).await?;
            let j = s.launch(async move {
                let _ = delay(Duration::from_secs(60)).await;
                log.push(format!(
                    "recv: {:?}",
                    rx.recv().await.map_err(|e| e.is_cancellation())
                ));
                log.push(format!(
                    "cancellable: {:?}",
                    cancellable(std::future::ready(5))
                        .await
                        .map_err(|e| e.is_cancellation())
                ));
                log.push(format!(
                    "yield: {:?}",
                    yield_now().await.map_err(|e| e.is_cancellation())
                ));
                log.push(format!(
                    "delay0: {:?}",
                    delay(Duration::ZERO).await.map_err(|e| e.is_cancellation())
                ));
                Ok(())
            });
            yield_now().await?;
            j.cancel();
            Ok(())
        })
    })
    .await
    .unwrap();
    assert_eq!(
        log.take(),
        [
            "recv: Err(true)",
            "cancellable: Err(true)",
            "yield: Err(true)",
            "delay0: Err(true)"
        ]
    );
}

/// R8: inside `non_cancellable` in a cancelled job the crate's waits work
/// as if nothing were cancelled: `recv`, `join`, `await`, `with_timeout`,
/// `yield_now`.
#[tokio::test(start_paused = true)]
async fn r8_every_wait_works_inside_non_cancellable_in_a_cancelled_job() {
    let log = Log::default();
    let log = &log;
    let (result, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            let (tx, rx) = scopes::channel::<u8>(0);
            let d = s.r#async(async {
                delay(ms(20)).await?;
                Ok(3u8)
            });
            let j = s.launch(async move {
                let r = delay(Duration::from_secs(60)).await;
                non_cancellable(async {
                    log.push(format!("recv: {:?}", rx.recv().await.ok()));
                    log.push(format!("await: {:?}", d.clone().await.ok()));
                    log.push(format!("join: {:?}", d.join().await.ok()));
                    let t = with_timeout(ms(100), async {
                        delay(ms(5)).await?;
                        Ok(4u8)
                    })
                    .await;
                    log.push(format!("with_timeout: {:?}", t.ok()));
                    log.push(format!("yield: {:?}", yield_now().await.ok()));
                })
                .await;
                r
            });
            delay(ms(5)).await?;
            j.cancel();
            delay(ms(5)).await?;
            tx.send(9).await?;
            Ok(())
        })
    }))
    .await;
    result.unwrap();
    assert_eq!(took, ms(25));
    assert_eq!(
        log.take(),
        [
            "recv: Some(Some(9))",
            "await: Some(3)",
            "join: Some(())",
            "with_timeout: Some(4)",
            "yield: Some(())"
        ]
    );
}

/// §2b limit with parallel children: at most n run at once.
#[tokio::test(start_paused = true)]
async fn limit_holds_for_parallel_children() {
    let running = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let (r, m) = (running.clone(), most.clone());
    let (result, took) = timed(coroutine_scope_with(
        scopes::ScopeOptions::new().limit(2),
        move |s| {
            Box::pin(async move {
                for _ in 0..6 {
                    let (r, m) = (r.clone(), m.clone());
                    s.child().launch_parallel(async move {
                        let now = r.fetch_add(1, Ordering::SeqCst) + 1;
                        m.fetch_max(now, Ordering::SeqCst);
                        delay(ms(10)).await?;
                        r.fetch_sub(1, Ordering::SeqCst);
                        Ok(())
                    });
                }
                Ok(())
            })
        },
    ))
    .await;
    result.unwrap();
    assert_eq!(most.load(Ordering::SeqCst), 2);
    assert_eq!(took, ms(30));
}

/// §2b limit: a lazy child takes a place only once started; a waiting
/// child awaited by the body runs when a place frees.
#[tokio::test(start_paused = true)]
async fn limit_a_waiting_child_awaited_by_the_body_runs_when_a_place_frees() {
    let (result, took) = timed(coroutine_scope_with(
        scopes::ScopeOptions::new().limit(1),
        |s| {
            Box::pin(async move {
                let lazy = s.child().start(Start::Lazy).r#async(async {
                    delay(ms(100)).await?;
                    Ok(0u8)
                });
                let a = s.r#async(async {
                    delay(ms(10)).await?;
                    Ok(1u8)
                });
                let b = s.r#async(async {
                    delay(ms(10)).await?;
                    Ok(2u8)
                });
                let v = b.await? + a.await?;
                lazy.cancel();
                Ok(v)
            })
        },
    ))
    .await;
    assert_eq!(result.unwrap(), 3);
    assert_eq!(took, ms(20));
}

/// §2b cancel_children inside a child with its own scope (the DSL's
/// `launch { launch {..}; cancel_children() }`) cancels that child's
/// children only, not the caller or its siblings.
#[tokio::test(start_paused = true)]
async fn cancel_children_in_a_child_cancels_only_its_own_children() {
    let log = Log::default();
    let log = &log;
    let (result, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            s.launch(async move {
                delay(ms(20)).await?;
                log.push("sibling done");
                Ok(())
            });
            s.launch(coroutine_scope_with(
                scopes::ScopeOptions::new().body_of_child(),
                move |own| {
                    Box::pin(async move {
                        own.launch(async move {
                            let r = delay(Duration::from_secs(60)).await;
                            log.push(format!("grandchild cancelled: {}", r.is_err()));
                            r
                        });
                        delay(ms(5)).await?;
                        scopes::cancel_children();
                        delay(ms(5)).await?;
                        log.push("child goes on");
                        Ok(())
                    })
                },
            ));
            Ok(())
        })
    }))
    .await;
    result.unwrap();
    assert_eq!(took, ms(20));
    assert_eq!(
        log.take(),
        [
            "grandchild cancelled: true",
            "child goes on",
            "sibling done"
        ]
    );
}

// ------------------------------------------------------------ batch 5

/// Sets its flag when dropped.
struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// R1 with R7 on the pool: a parallel child dropped in a foreign wait after
/// its cancel has been dropped (its captures too) by the time its scope
/// returns: nothing started in the scope outlives it.
#[tokio::test(start_paused = true)]
async fn r1_a_parallel_child_dropped_in_a_foreign_wait_is_gone_when_the_scope_returns() {
    let dropped = Arc::new(AtomicBool::new(false));
    let d = dropped.clone();
    coroutine_scope(move |s| {
        Box::pin(async move {
            let j = s.child().launch_parallel(async move {
                let _guard = DropFlag(d);
                let r = delay(Duration::from_secs(60)).await;
                tokio::time::sleep(Duration::from_secs(60)).await;
                r
            });
            delay(ms(5)).await?;
            j.cancel();
            Ok(())
        })
    })
    .await
    .unwrap();
    assert!(dropped.load(Ordering::SeqCst));
}

/// R1 for a cancelled parallel child that cleans up normally: its captures
/// are dropped when its scope returns.
#[tokio::test(start_paused = true)]
async fn r1_a_cancelled_parallel_child_is_gone_when_the_scope_returns() {
    let dropped = Arc::new(AtomicBool::new(false));
    let d = dropped.clone();
    coroutine_scope(move |s| {
        Box::pin(async move {
            let j = s.child().launch_parallel(async move {
                let _guard = DropFlag(d);
                delay(Duration::from_secs(60)).await
            });
            delay(ms(5)).await?;
            j.cancel();
            Ok(())
        })
    })
    .await
    .unwrap();
    assert!(dropped.load(Ordering::SeqCst));
}

/// R2 on the pool: a parallel child whose sibling failed, sitting in a
/// foreign wait, is gone (dropped) when the failed scope returns.
#[tokio::test(start_paused = true)]
async fn r2_a_parallel_sibling_in_a_foreign_wait_is_gone_when_the_failed_scope_returns() {
    let dropped = Arc::new(AtomicBool::new(false));
    let d = dropped.clone();
    let result: Result<()> = coroutine_scope(move |s| {
        Box::pin(async move {
            s.child().launch_parallel(async move {
                let _guard = DropFlag(d);
                tokio::time::sleep(Duration::from_secs(60)).await;
                Ok(())
            });
            s.launch(async {
                delay(ms(5)).await?;
                Err(Error::msg("boom"))
            });
            Ok(())
        })
    })
    .await;
    assert_eq!(result.unwrap_err().to_string(), "boom");
    assert!(dropped.load(Ordering::SeqCst));
}

/// R7 on the pool: a parallel child cancelled after its task was spawned
/// but before the task first ran never runs.
#[tokio::test(start_paused = true)]
async fn r7_a_parallel_child_cancelled_before_its_task_ran_never_runs() {
    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    coroutine_scope(move |s| {
        Box::pin(async move {
            let j = s.child().launch_parallel(async move {
                r.store(true, Ordering::SeqCst);
                Ok(())
            });
            yield_now().await?; // its first run: the task is spawned
            j.cancel();
            j.join().await?;
            assert!(j.is_cancelled());
            Ok(())
        })
    })
    .await
    .unwrap();
    assert!(!ran.load(Ordering::SeqCst));
}

/// R11 for a lazy parallel child: runs only once started; forgotten, it is
/// cancelled when the body returns and never runs.
#[tokio::test(start_paused = true)]
async fn r11_a_lazy_parallel_child_runs_only_when_started() {
    let ran = Arc::new(AtomicUsize::new(0));
    let (r1, r2) = (ran.clone(), ran.clone());
    let (result, took) = timed(coroutine_scope(move |s| {
        Box::pin(async move {
            let a = s.child().start(Start::Lazy).async_parallel(async move {
                r1.fetch_add(1, Ordering::SeqCst);
                delay(ms(10)).await?;
                Ok(1u8)
            });
            let _forgotten = s.child().start(Start::Lazy).launch_parallel(async move {
                r2.fetch_add(10, Ordering::SeqCst);
                Ok(())
            });
            delay(ms(5)).await?;
            assert!(!a.is_active() && !a.is_completed());
            a.await
        })
    }))
    .await;
    assert_eq!(result.unwrap(), 1);
    assert_eq!(took, ms(15));
    assert_eq!(ran.load(Ordering::SeqCst), 1);
}

/// §3b dump: a lazy child not started yet shows `lazy`; a parallel child
/// shows under its scope.
#[tokio::test(start_paused = true)]
async fn dump_shows_lazy_and_parallel_children_under_their_scope() {
    let seen = coroutine_scope(|s| {
        Box::pin(async move {
            let lazy = s
                .child()
                .name("extra-lazy-one")
                .start(Start::Lazy)
                .launch(async { Ok(()) });
            s.child()
                .name("extra-remote-one")
                .launch_parallel(async { delay(ms(10)).await });
            yield_now().await?;
            let dump = scopes::debug::dump();
            lazy.cancel();
            Ok(dump)
        })
    })
    .await
    .unwrap();
    let line = |name: &str| {
        seen.lines()
            .find(|l| l.contains(name))
            .unwrap_or_else(|| panic!("{name} not in\n{seen}"))
            .to_owned()
    };
    assert!(line("extra-lazy-one").ends_with("[lazy]"), "{seen}");
    assert!(line("extra-lazy-one").starts_with("  "), "{seen}");
    assert!(line("extra-remote-one").ends_with("[active]"), "{seen}");
    assert!(line("extra-remote-one").starts_with("  "), "{seen}");
}

/// R6: "each failure is attached once": a body that awaits a failed child
/// in a nested scope and rethrows it does not list it twice in the outer
/// error.
#[tokio::test(start_paused = true)]
async fn r6_a_rethrown_failure_through_two_scopes_is_not_suppressed_twice() {
    let result: Result<()> = coroutine_scope(|s| {
        Box::pin(async move {
            s.launch(async {
                coroutine_scope(|inner| {
                    Box::pin(async move {
                        let d = inner.r#async(async {
                            delay(ms(5)).await?;
                            Err::<u8, _>(Error::msg("leaf"))
                        });
                        d.await?;
                        Ok(())
                    })
                })
                .await
            });
            delay(Duration::from_secs(60)).await
        })
    })
    .await;
    let err = result.unwrap_err();
    assert_eq!(err.to_string(), "leaf");
    assert!(err.suppressed().is_empty(), "{:?}", err.suppressed());
}

/// R3 at one instant: the body catches a child's failure from `await` and
/// returns its own, different error: the child's error still wins (it was
/// first), the body's is a failure during cancelling and is suppressed.
#[tokio::test(start_paused = true)]
async fn r3_a_body_turning_the_await_error_into_its_own_still_fails_with_the_childs() {
    let result: Result<()> = coroutine_scope(|s| {
        Box::pin(async move {
            let d = s.r#async(async {
                delay(ms(5)).await?;
                Err::<u8, _>(Error::msg("child"))
            });
            match d.await {
                Ok(_) => Ok(()),
                Err(_) => Err(Error::msg("body's own")),
            }
        })
    })
    .await;
    let err = result.unwrap_err();
    assert_eq!(err.to_string(), "child");
    let rest: Vec<_> = err.suppressed().iter().map(|e| e.to_string()).collect();
    assert_eq!(rest, ["body's own"]);
}

// ------------------------------------------------------------ batch 6

/// §2b cancel_children cancels the children started so far; one started
/// after it runs normally (Kotlin's `cancelChildren`).
#[tokio::test(start_paused = true)]
async fn cancel_children_spares_children_started_afterwards() {
    let log = Log::default();
    let log = &log;
    let (result, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            s.launch(async move {
                let r = delay(ms(50)).await;
                log.push(format!("old: {}", r.is_ok()));
                r
            });
            yield_now().await?;
            scopes::cancel_children();
            s.launch(async move {
                let r = delay(ms(50)).await;
                log.push(format!("new: {}", r.is_ok()));
                r
            });
            Ok(())
        })
    }))
    .await;
    result.unwrap();
    assert_eq!(took, ms(50));
    assert_eq!(log.take(), ["old: false", "new: true"]);
}

/// R8/§2b: cancel_children inside `non_cancellable` does not cancel the
/// enclosing scope's children.
#[tokio::test(start_paused = true)]
async fn cancel_children_inside_non_cancellable_spares_the_enclosing_children() {
    let log = Log::default();
    let log = &log;
    coroutine_scope(|s| {
        Box::pin(async move {
            s.launch(async move {
                let r = delay(ms(10)).await;
                log.push(format!("child ok: {}", r.is_ok()));
                r
            });
            yield_now().await?;
            non_cancellable(async { scopes::cancel_children() }).await;
            Ok(())
        })
    })
    .await
    .unwrap();
    assert_eq!(log.take(), ["child ok: true"]);
}

/// R9/§2b: `with_timeout` is a scope of its own (Kotlin's withTimeout):
/// cancel_children inside its work spares the enclosing scope's children.
#[tokio::test(start_paused = true)]
async fn cancel_children_inside_with_timeout_spares_the_enclosing_children() {
    let log = Log::default();
    let log = &log;
    coroutine_scope(|s| {
        Box::pin(async move {
            s.launch(async move {
                let r = delay(ms(10)).await;
                log.push(format!("child ok: {}", r.is_ok()));
                r
            });
            yield_now().await?;
            with_timeout(ms(100), async {
                scopes::cancel_children();
                Ok(())
            })
            .await?;
            Ok(())
        })
    })
    .await
    .unwrap();
    assert_eq!(log.take(), ["child ok: true"]);
}

/// R9: inside `with_timeout` after the deadline passed, `is_active()` is
/// false and `ensure_active()` fails with a cancellation.
#[tokio::test(start_paused = true)]
async fn r9_the_work_of_an_expired_timeout_sees_itself_cancelled() {
    let log = Log::default();
    let log = &log;
    let r: Result<()> = with_timeout(ms(10), async move {
        let _ = delay(ms(100)).await;
        log.push(format!(
            "active: {}, ensure: {}",
            is_active(),
            ensure_active().unwrap_err().is_cancellation()
        ));
        Ok(())
    })
    .await;
    assert!(r.unwrap_err().is_timeout());
    assert_eq!(log.take(), ["active: false, ensure: true"]);
}

/// R4: in a supervisor a child whose sibling failed is still active.
#[tokio::test(start_paused = true)]
async fn r4_a_supervised_child_stays_active_after_a_sibling_failed() {
    let handled = Log::default();
    let log = Log::default();
    let log = &log;
    with_exception_handler(
        recording(&handled),
        supervisor_scope(|s| {
            Box::pin(async move {
                s.launch(async { Err(Error::msg("x")) });
                s.launch(async move {
                    delay(ms(5)).await?;
                    log.push(format!("active: {}", is_active()));
                    Ok(())
                });
                Ok(())
            })
        }),
    )
    .await
    .unwrap();
    assert_eq!(log.take(), ["active: true"]);
    assert_eq!(handled.take(), ["handler: x"]);
}

/// Outcomes: a timeout is a failure, not a cancellation; a panic error
/// re-raises its payload; Debug shows what was suppressed.
#[tokio::test(start_paused = true)]
async fn error_kinds_and_debug_show_suppressed() {
    scopes_workspace::quiet_panics_starting_with("extra: payload");
    let t = with_timeout(ms(1), delay(ms(5))).await.unwrap_err();
    assert!(t.is_timeout() && !t.is_cancellation() && !t.is_panic());
    let result: Result<()> = coroutine_scope(|s| {
        Box::pin(async move {
            s.launch(async {
                let _ = delay(ms(50)).await;
                Err(Error::msg("second one"))
            });
            s.launch(async {
                yield_now().await?;
                if true {
                    panic!("extra: payload");
                }
                Ok(())
            });
            Ok(())
        })
    })
    .await;
    let err = result.unwrap_err();
    assert!(err.is_panic());
    let debug = format!("{err:?}");
    assert!(debug.contains("second one"), "{debug}");
    let payload =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| err.resume_panic())).unwrap_err();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"extra: payload"));
}

/// §2a: `Deferred` works with `try_join_all` and `select!` as it is.
#[tokio::test(start_paused = true)]
async fn deferreds_work_with_the_futures_ecosystem() {
    let (result, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            let ds: Vec<_> = (1..=3u64)
                .map(|i| {
                    s.r#async(async move {
                        delay(ms(i * 10)).await?;
                        Ok(i)
                    })
                })
                .collect();
            let all = futures_util::future::try_join_all(ds).await?;
            let mut a = s.r#async(async {
                delay(ms(5)).await?;
                Ok("a")
            });
            let mut b = s.r#async(async {
                delay(ms(7)).await?;
                Ok("b")
            });
            let first = futures_util::select! {
                x = a => x?,
                y = b => y?,
            };
            b.cancel();
            Ok((all, first))
        })
    }))
    .await;
    assert_eq!(result.unwrap(), (vec![1, 2, 3], "a"));
    assert_eq!(took, ms(35));
}

/// Counts the polls of the future it wraps.
struct Counted<F>(F, Arc<AtomicUsize>);

impl<F: std::future::Future + Unpin> std::future::Future for Counted<F> {
    type Output = F::Output;
    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<F::Output> {
        self.1.fetch_add(1, Ordering::Relaxed);
        std::pin::Pin::new(&mut self.0).poll(cx)
    }
}

/// A chain of `depth` nested scopes, each with an idle sibling counted in
/// `polls`; the leaf yields 100 times.
fn chain<'a>(depth: usize, polls: &'a Arc<AtomicUsize>) -> BoxFuture<'a, Result<()>> {
    Box::pin(async move {
        if depth == 0 {
            for _ in 0..100 {
                yield_now().await?;
            }
            return Ok(());
        }
        coroutine_scope(move |s| {
            Box::pin(async move {
                let idle = s.launch(Counted(
                    Box::pin(delay(Duration::from_secs(60))),
                    polls.clone(),
                ));
                s.launch(chain(depth - 1, polls)).join().await?;
                idle.cancel();
                Ok(())
            })
        })
        .await
    })
}

/// R14 in depth: a leaf 20 scopes down that wakes 100 times does not poll
/// the idle siblings along its path (each is polled for its start and its
/// cancel only).
#[tokio::test(start_paused = true)]
async fn r14_idle_siblings_at_every_depth_are_not_polled_by_a_deep_leafs_wakes() {
    let polls = Arc::new(AtomicUsize::new(0));
    chain(20, &polls).await.unwrap();
    assert!(
        polls.load(Ordering::Relaxed) <= 40,
        "{}",
        polls.load(Ordering::Relaxed)
    );
}

/// §2b: outcomes already there are taken in completion order, not input
/// order, by every combinator.
#[tokio::test(start_paused = true)]
async fn combinators_take_outcomes_already_there_in_completion_order() {
    use futures_util::StreamExt;
    let result = supervisor_scope(|s| {
        Box::pin(async move {
            let make = |t: u64, ok: bool| {
                s.r#async(async move {
                    delay(ms(t)).await?;
                    if ok {
                        Ok(t)
                    } else {
                        Err(Error::msg(format!("e{t}")))
                    }
                })
            };
            let (a, b, c) = (make(30, true), make(10, true), make(20, true));
            delay(ms(50)).await?;
            let order: Vec<_> = scopes::as_completed([a, b, c])
                .map(|(i, r)| (i, r.unwrap()))
                .collect()
                .await;
            let (a, b, c) = (make(30, true), make(10, true), make(20, true));
            delay(ms(50)).await?;
            let won = scopes::race([a, b, c]).await?;
            let (a, b, c) = (make(30, false), make(10, false), make(20, true));
            delay(ms(50)).await?;
            let first_failure = scopes::await_all([a, b, c]).await.unwrap_err().to_string();
            let (a, b, c) = (make(30, false), make(10, false), make(20, false));
            delay(ms(50)).await?;
            let all_failed = scopes::first_success([a, b, c]).await.unwrap_err();
            let rest: Vec<_> = all_failed
                .suppressed()
                .iter()
                .map(|e| e.to_string())
                .collect();
            Ok((order, won, first_failure, all_failed.to_string(), rest))
        })
    })
    .await
    .unwrap();
    assert_eq!(result.0, [(1, 10), (2, 20), (0, 30)]);
    assert_eq!(result.1, 10);
    assert_eq!(result.2, "e10");
    assert_eq!(result.3, "e10");
    assert_eq!(result.4, ["e20", "e30"]);
}

/// §2b: `race` at one instant: two children completing at the same virtual
/// time: the one whose timer was registered first wins.
#[tokio::test(start_paused = true)]
async fn race_at_one_instant_the_first_resumed_wins() {
    let won = coroutine_scope(|s| {
        Box::pin(async move {
            let a = s.r#async(async {
                delay(ms(10)).await?;
                Ok("a")
            });
            let b = s.r#async(async {
                delay(ms(10)).await?;
                Ok("b")
            });
            scopes::race([b, a]).await
        })
    })
    .await
    .unwrap();
    assert_eq!(won, "a");
}

/// §2b race called in a job cancelled while it waits: its children are
/// cancelled and have completed when it returns the cancellation.
#[tokio::test(start_paused = true)]
async fn race_in_a_cancelled_job_cancels_and_waits_for_its_children() {
    let log = Log::default();
    let log = &log;
    let (result, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            let a = s.r#async(async move {
                let r = delay(Duration::from_secs(60)).await;
                non_cancellable(delay(ms(10))).await?;
                log.push("a cleaned up");
                r.map(|()| 1)
            });
            let racer = s.launch(async move {
                let r = scopes::race([a]).await;
                log.push(format!("race: {:?}", r.map_err(|e| e.is_cancellation())));
                Ok(())
            });
            delay(ms(5)).await?;
            racer.cancel();
            Ok(())
        })
    }))
    .await;
    result.unwrap();
    assert_eq!(took, ms(15));
    assert_eq!(log.take(), ["a cleaned up", "race: Err(true)"]);
}

/// §2c foreign waits: `lock_cancellable` and `send_cancellable` give a
/// plain `Result` (no `??`); a cancelled child waiting in them gets the
/// cancellation, and its value is not sent.
#[tokio::test(start_paused = true)]
async fn mutex_and_mpsc_cancellable_forms_give_the_cancellation() {
    use scopes::sync::{MpscSenderExt, MutexExt};
    let mutex = tokio::sync::Mutex::new(0u8);
    let mutex = &mutex;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<u8>(1);
    let tx = &tx;
    let log = Log::default();
    let log = &log;
    coroutine_scope(|s| {
        Box::pin(async move {
            let held = mutex.lock().await;
            tx.send(1).await.unwrap(); // full
            let j = s.launch(async move {
                let locked: Result<_> = mutex.lock_cancellable().await;
                log.push(format!("lock: {}", locked.err().unwrap().is_cancellation()));
                let sent: Result<()> = tx.send_cancellable(2).await;
                log.push(format!("send: {}", sent.unwrap_err().is_cancellation()));
                Ok(())
            });
            yield_now().await?;
            j.cancel();
            j.join().await?;
            drop(held);
            Ok(())
        })
    })
    .await
    .unwrap();
    assert_eq!(log.take(), ["lock: true", "send: true"]);
    assert_eq!(rx.recv().await, Some(1));
    assert!(rx.try_recv().is_err());
}

/// §2c: `debug::dump` marks a child in a foreign wait, and shows it
/// cancelling between its cancel and its resume, where it is dropped.
#[tokio::test(start_paused = true)]
async fn dump_marks_a_foreign_wait_cancelling_until_it_is_dropped() {
    let dumps = coroutine_scope(|s| {
        Box::pin(async move {
            let j = s.child().name("extra-foreign-waiter").launch(async {
                std::future::pending::<()>().await;
                Ok(())
            });
            yield_now().await?;
            let before = scopes::debug::dump();
            j.cancel();
            let cancelling = scopes::debug::dump();
            j.join().await?;
            let after = scopes::debug::dump();
            Ok((before, cancelling, after))
        })
    })
    .await
    .unwrap();
    let line = |dump: &str| {
        dump.lines()
            .find(|l| l.contains("extra-foreign-waiter"))
            .map(str::to_owned)
    };
    assert!(
        line(&dumps.0).unwrap().ends_with("[active, foreign wait]"),
        "{}",
        dumps.0
    );
    assert!(
        line(&dumps.1)
            .unwrap()
            .ends_with("[cancelling, foreign wait]"),
        "{}",
        dumps.1
    );
    assert_eq!(line(&dumps.2), None, "{}", dumps.2);
}

/// R14 + R9 at one instant: a deadline and a sibling's timer due at the
/// same time: the sibling's wake runs before the timed-out work resumes,
/// whichever was registered first (the deadline only cancels the work; its
/// resumption is queued behind what was ready, as in Kotlin).
#[tokio::test(start_paused = true)]
async fn r14_a_deadline_and_a_timer_at_one_instant_the_timer_runs_first() {
    for deadline_first in [false, true] {
        let log = Log::default();
        let log = &log;
        let (result, took) = timed(coroutine_scope(|s| {
            Box::pin(async move {
                let sibling = async move {
                    delay(ms(10)).await?;
                    log.push("sibling");
                    Ok(())
                };
                let timed_out = with_timeout(ms(10), async move {
                    let r = delay(ms(100)).await;
                    log.push("work resumed");
                    r
                });
                if deadline_first {
                    s.launch(async move {
                        yield_now().await?;
                        sibling.await
                    });
                } else {
                    s.launch(sibling);
                    yield_now().await?;
                }
                let r = timed_out.await;
                log.push(format!("timeout: {}", r.unwrap_err().is_timeout()));
                Ok(())
            })
        }))
        .await;
        result.unwrap();
        assert_eq!(took, ms(10));
        assert_eq!(
            log.take(),
            ["sibling", "work resumed", "timeout: true"],
            "deadline first: {deadline_first}"
        );
    }
}

/// R6 "each failure is attached once": a child's failure raised again
/// through `await_all` by the body, and through `.await` by a sibling
/// that ends with it, is the scope's error and is not listed in its
/// `suppressed()`.
#[tokio::test(start_paused = true)]
async fn r6_a_failure_raised_again_through_combinators_and_siblings_is_attached_once() {
    let result: Result<()> = coroutine_scope(|s| {
        Box::pin(async move {
            let bad = s.r#async(async {
                delay(ms(5)).await?;
                Err::<u8, _>(Error::msg("once"))
            });
            let again = bad.clone();
            s.launch(async move {
                again.await?;
                Ok(())
            });
            scopes::await_all([bad]).await?;
            Ok(())
        })
    })
    .await;
    let err = result.unwrap_err();
    assert_eq!(err.to_string(), "once");
    assert!(err.suppressed().is_empty(), "{:?}", err.suppressed());
}

/// R11: a lazy child started by a sibling's `await` is started: a later
/// `start()` returns false, and it ran once.
#[tokio::test(start_paused = true)]
async fn r11_start_after_a_siblings_await_started_the_lazy_child_is_false() {
    let runs = AtomicUsize::new(0);
    let runs = &runs;
    let (result, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            let lazy = s.child().start(Start::Lazy).r#async(async move {
                runs.fetch_add(1, Ordering::SeqCst);
                delay(ms(10)).await?;
                Ok(4u8)
            });
            let by_sibling = lazy.clone();
            let sibling = s.r#async(by_sibling);
            yield_now().await?; // the sibling awaits, which starts the child
            assert!(lazy.is_active());
            assert!(!lazy.start());
            Ok(sibling.await? + lazy.await?)
        })
    }))
    .await;
    assert_eq!(result.unwrap(), 8);
    assert_eq!(took, ms(10));
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}
