//! Ports of python-trio/trio src/trio/_core/_tests/test_run.py, nursery part.
//! nursery ≈ coroutine_scope; checkpoint ≈ yield_now; sleep_forever ≈ delay(forever()).

use super::*;

use scopes::{Error, coroutine_scope, delay, supervisor_scope, yield_now};

// test_nursery_main_block_error_basic
#[tokio::test(start_paused = true)]
async fn trio_nursery_main_block_error_basic() {
    let (r, took) = timed(coroutine_scope(|_s| {
        Box::pin(async move { Err::<(), _>(fail("whoops")) })
    }))
    .await;
    let e = r.unwrap_err();
    assert_eq!(e.to_string(), "whoops");
    assert!(!e.is_cancellation());
    assert!(e.suppressed().is_empty());
    assert_eq!(took, ms(0));
}

// test_child_crash_basic
#[tokio::test(start_paused = true)]
async fn trio_child_crash_basic() {
    let (r, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            s.launch(async move { Err(fail("uh oh")) });
            Ok(())
        })
    }))
    .await;
    let e = r.unwrap_err();
    assert_eq!(e.to_string(), "uh oh");
    assert_eq!(took, ms(0));
}

// test_basic_interleave: two loopers, checkpoint each round; Trio only checks
// per-round sets, SPEC R14 (one FIFO) fixes the exact order.
#[tokio::test(start_paused = true)]
async fn trio_basic_interleave() {
    let log = Log::default();
    let l = &log;
    coroutine_scope(|s| {
        Box::pin(async move {
            for who in ["a", "b"] {
                s.launch(async move {
                    for i in 0..3 {
                        l.push(format!("{who}{i}"));
                        yield_now().await?;
                    }
                    Ok(())
                });
            }
            Ok(())
        })
    })
    .await
    .unwrap();
    assert_eq!(log.take(), ["a0", "b0", "a1", "b1", "a2", "b2"]);
}

// test_task_crash_propagation
#[tokio::test(start_paused = true)]
async fn trio_task_crash_propagation() {
    let log = Log::default();
    let l = &log;
    let (r, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            s.launch(async move {
                loop {
                    if let Err(e) = yield_now().await {
                        assert!(e.is_cancellation());
                        l.push("cancelled");
                        return Err(e);
                    }
                }
            });
            s.launch(async move { Err(fail("argh")) });
            Ok(())
        })
    }))
    .await;
    let e = r.unwrap_err();
    assert_eq!(e.to_string(), "argh");
    assert!(e.suppressed().is_empty());
    assert_eq!(log.take(), ["cancelled"]);
    assert_eq!(took, ms(0));
}

// test_main_and_task_both_crash. Trio collects both. SPEC: the body fails
// first (the crasher has not run yet: R14), the crasher is cancelled before it
// first runs and never runs (R7), so the body's error alone.
#[tokio::test(start_paused = true)]
async fn trio_main_and_task_both_crash_body_first() {
    let log = Log::default();
    let l = &log;
    let r = coroutine_scope(|s| {
        Box::pin(async move {
            s.launch(async move {
                l.push("crasher ran");
                Err(fail("ValueError"))
            });
            Err::<(), _>(fail("KeyError"))
        })
    })
    .await;
    let e = r.unwrap_err();
    assert_eq!(e.to_string(), "KeyError");
    assert!(e.suppressed().is_empty());
    assert!(log.take().is_empty());
}

// test_main_and_task_both_crash, variant where the crasher runs first: the
// body (cancelled in its checkpoint) then raises its own error while the scope
// is cancelling; SPEC R6: the child's error wins, the body's is suppressed.
#[tokio::test(start_paused = true)]
async fn trio_main_and_task_both_crash_child_first() {
    let r = coroutine_scope(|s| {
        Box::pin(async move {
            s.launch(async move { Err(fail("ValueError")) });
            let c = yield_now().await.unwrap_err();
            assert!(c.is_cancellation());
            Err::<(), _>(fail("KeyError"))
        })
    })
    .await;
    let e = r.unwrap_err();
    assert_eq!(e.to_string(), "ValueError");
    let sup: Vec<String> = e.suppressed().iter().map(|e| e.to_string()).collect();
    assert_eq!(sup, ["KeyError"]);
}

// test_two_child_crashes. Both crash at once (same tick). First wins; the
// second, started but cancelled before it first ran, never runs (R7).
#[tokio::test(start_paused = true)]
async fn trio_two_child_crashes_at_start() {
    let log = Log::default();
    let l = &log;
    let r = coroutine_scope(|s| {
        Box::pin(async move {
            s.launch(async move {
                l.push("k");
                Err(fail("KeyError"))
            });
            s.launch(async move {
                l.push("v");
                Err(fail("ValueError"))
            });
            Ok(())
        })
    })
    .await;
    let e = r.unwrap_err();
    assert_eq!(e.to_string(), "KeyError");
    assert!(e.suppressed().is_empty());
    assert_eq!(log.take(), ["k"]);
}

// test_two_child_crashes, variant where both are running (woken by the same
// timer) and the second crashes in its cleanup: suppressed (R6).
#[tokio::test(start_paused = true)]
async fn trio_two_child_crashes_after_same_delay() {
    let (r, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            s.launch(async move {
                delay(secs(1)).await?;
                Err(fail("KeyError"))
            });
            s.launch(async move {
                match delay(secs(1)).await {
                    // the timer fired at the same instant; SPEC R7 (prompt
                    // cancellation) is silent for delay, so accept both
                    Ok(()) => Err(fail("ValueError")),
                    Err(c) => {
                        assert!(c.is_cancellation());
                        Err(fail("ValueError in cleanup"))
                    }
                }
            });
            Ok(())
        })
    }))
    .await;
    let e = r.unwrap_err();
    assert_eq!(e.to_string(), "KeyError");
    assert_eq!(e.suppressed().len(), 1);
    assert!(e.suppressed()[0].to_string().starts_with("ValueError"));
    assert_eq!(took, secs(1));
}

// test_child_crash_wakes_parent
#[tokio::test(start_paused = true)]
async fn trio_child_crash_wakes_parent() {
    let (r, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            s.launch(async move {
                delay(ms(10)).await?;
                Err(fail("this is a crash"))
            });
            let c = delay(forever()).await.unwrap_err();
            assert!(c.is_cancellation());
            Err::<(), _>(c)
        })
    }))
    .await;
    let e = r.unwrap_err();
    assert_eq!(e.to_string(), "this is a crash");
    assert!(e.suppressed().is_empty());
    assert_eq!(took, ms(10));
}

// test_child_crash_wakes_parent with a parent blocked in a foreign future
// (not cancellation-aware): it is dropped there (R7), the scope still returns.
#[tokio::test(start_paused = true)]
async fn trio_child_crash_wakes_parent_in_foreign_wait() {
    let (r, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            s.launch(async move {
                delay(ms(10)).await?;
                Err(fail("this is a crash"))
            });
            std::future::pending::<()>().await;
            Ok(())
        })
    }))
    .await;
    assert_eq!(r.unwrap_err().to_string(), "this is a crash");
    assert_eq!(took, ms(10));
}

// test_cancel_inheritance: cancelling the nursery reaches every grandchild.
#[tokio::test(start_paused = true)]
async fn trio_cancel_inheritance() {
    let log = Log::default();
    let l = &log;
    let (r, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            for w in ["w1", "w2"] {
                s.launch(async move {
                    coroutine_scope(|n| {
                        Box::pin(async move {
                            for leaf in ["l1", "l2"] {
                                n.launch(async move {
                                    let e = delay(forever()).await.unwrap_err();
                                    l.push(format!("{w}-{leaf}"));
                                    Err(e)
                                });
                            }
                            Ok(())
                        })
                    })
                    .await
                });
            }
            // let workers and leaves run and block (wait_all_tasks_blocked)
            delay(ms(1)).await?;
            scopes::cancel_children();
            Ok(())
        })
    }))
    .await;
    r.unwrap();
    let mut got = log.take();
    got.sort();
    assert_eq!(got, ["w1-l1", "w1-l2", "w2-l1", "w2-l2"]);
    assert_eq!(took, ms(1));
}

// test_nursery_closure: a child may start more children in the parent's
// nursery after the body has ended; the scope waits for them (R1).
#[tokio::test(start_paused = true)]
async fn trio_nursery_closure() {
    let log = Log::default();
    let l = &log;
    let (r, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            let s2 = s.clone();
            s.launch(async move {
                delay(ms(100)).await?;
                s2.launch(async move {
                    delay(ms(200)).await?;
                    l.push("child2");
                    Ok(())
                });
                l.push("child1");
                Ok(())
            });
            Ok(5)
        })
    }))
    .await;
    assert_eq!(r.unwrap(), 5);
    assert_eq!(log.take(), ["child1", "child2"]);
    assert_eq!(took, ms(300));
}

// test_nursery_closure, the child started late fails: the scope still fails.
#[tokio::test(start_paused = true)]
async fn trio_nursery_closure_late_child_failure() {
    let (r, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            let s2 = s.clone();
            s.launch(async move {
                delay(ms(100)).await?;
                s2.launch(async move {
                    delay(ms(200)).await?;
                    Err(fail("late"))
                });
                Ok(())
            });
            Ok(5)
        })
    }))
    .await;
    assert_eq!(r.unwrap_err().to_string(), "late");
    assert_eq!(took, ms(300));
}

// test_locals_destroyed_promptly_on_cancel
#[tokio::test(start_paused = true)]
async fn trio_locals_destroyed_promptly_on_cancel() {
    struct A<'a>(&'a std::sync::atomic::AtomicBool);
    impl Drop for A<'_> {
        fn drop(&mut self) {
            self.0.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }
    let destroyed = std::sync::atomic::AtomicBool::new(false);
    let d = &destroyed;
    coroutine_scope(|s| {
        Box::pin(async move {
            // SPEC: a child cancelled before it first runs never runs (R7),
            // so the local is a capture here; it is dropped with the child.
            let a = A(d);
            let j = s.launch(async move {
                let _a = a;
                yield_now().await?;
                Ok(())
            });
            j.cancel();
            Ok(())
        })
    })
    .await
    .unwrap();
    assert!(destroyed.load(std::sync::atomic::Ordering::SeqCst));
}

// test_locals_destroyed_promptly_on_cancel, child that has already run.
#[tokio::test(start_paused = true)]
async fn trio_locals_destroyed_promptly_on_cancel_after_run() {
    struct A<'a>(&'a std::sync::atomic::AtomicBool);
    impl Drop for A<'_> {
        fn drop(&mut self) {
            self.0.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }
    let destroyed = std::sync::atomic::AtomicBool::new(false);
    let d = &destroyed;
    coroutine_scope(|s| {
        Box::pin(async move {
            let j = s.launch(async move {
                let _a = A(d);
                delay(forever()).await?;
                Ok(())
            });
            yield_now().await?;
            j.cancel();
            j.join().await?;
            // joined: the child has completed, its locals are gone
            assert!(d.load(std::sync::atomic::Ordering::SeqCst));
            Ok(())
        })
    })
    .await
    .unwrap();
}

// test_nursery_collapse (SPEC form): nested scope failing inside a failing
// outer scope. The outer crasher runs first (R14: it was started before the
// body suspended), so its error wins; the nested scope's children never run.
#[tokio::test(start_paused = true)]
async fn trio_nursery_collapse() {
    let log = Log::default();
    let l = &log;
    let r = coroutine_scope(|s| {
        Box::pin(async move {
            s.launch(async move { delay(forever()).await });
            s.launch(async move { Err(fail("outer error")) });
            coroutine_scope(|n| {
                Box::pin(async move {
                    n.launch(async move { delay(forever()).await });
                    n.launch(async move {
                        l.push("inner crasher ran");
                        Err(fail("inner error"))
                    });
                    Ok(())
                })
            })
            .await
        })
    })
    .await;
    let e = r.unwrap_err();
    assert_eq!(e.to_string(), "outer error");
    assert!(e.suppressed().is_empty(), "{:?}", e.suppressed());
    assert!(log.take().is_empty());
}

// test_nursery_collapse, the nested crasher yields first: it still fails
// while the outer scope is cancelling (it only needs one yield) -> R6.
#[tokio::test(start_paused = true)]
async fn trio_nursery_collapse_inner_cleanup_failure_suppressed() {
    let r = coroutine_scope(|s| {
        Box::pin(async move {
            s.launch(async move {
                yield_now().await?;
                Err(fail("outer error"))
            });
            coroutine_scope(|n| {
                Box::pin(async move {
                    n.launch(async move {
                        let c = delay(forever()).await.unwrap_err();
                        assert!(c.is_cancellation());
                        Err(fail("inner error"))
                    });
                    Ok(())
                })
            })
            .await
        })
    })
    .await;
    let e = r.unwrap_err();
    assert_eq!(e.to_string(), "outer error");
    let sup: Vec<String> = e.suppressed().iter().map(|e| e.to_string()).collect();
    assert_eq!(sup, ["inner error"]);
}

// test_cancel_scope_exceptiongroup_filtering (SPEC form): children cancelled
// by the nursery, then an outer cancel, then a crasher spawned into the
// cancelled nursery. In SPEC a child started in a cancelled scope never runs
// (R7), so the whole thing ends cancelled (no KeyError). The outer cancel
// scope is a job J that the nursery body cancels synchronously.
#[tokio::test(start_paused = true)]
async fn trio_cancel_scope_exceptiongroup_filtering() {
    let log = Log::default();
    let l = &log;
    let r = coroutine_scope(|outer| {
        Box::pin(async move {
            let me: std::sync::Arc<std::sync::OnceLock<scopes::Job<'_>>> = Default::default();
            let me2 = me.clone();
            let j = outer.launch(async move {
                coroutine_scope(|s| {
                    Box::pin(async move {
                        s.launch(async move { delay(forever()).await });
                        s.launch(async move { delay(forever()).await });
                        yield_now().await?;
                        scopes::cancel_children();
                        scopes::non_cancellable(yield_now()).await?;
                        s.launch(async move {
                            let c = delay(forever()).await.unwrap_err();
                            l.push("t3 cancelled");
                            Err(c)
                        });
                        me2.get().unwrap().cancel();
                        s.launch(async move {
                            l.push("crasher ran");
                            Err(fail("KeyError"))
                        });
                        let c = yield_now().await.unwrap_err();
                        assert!(c.is_cancellation());
                        Err::<(), Error>(c)
                    })
                })
                .await
            });
            me.set(j.clone()).ok().unwrap();
            j.join().await?;
            assert!(j.is_cancelled());
            Ok(())
        })
    })
    .await;
    r.unwrap();
    // t3 was started before the outer cancel but had not run yet: never runs
    assert!(log.take().is_empty());
}

// supervisor analog of test_child_crash_basic: nobody is cancelled (R4).
#[tokio::test(start_paused = true)]
async fn trio_supervisor_child_crash_cancels_nobody() {
    let log = Log::default();
    let l = &log;
    let (r, took) = timed(scopes::with_exception_handler(
        |_e| {},
        supervisor_scope(|s| {
            Box::pin(async move {
                s.launch(async move { Err(fail("uh oh")) });
                s.launch(async move {
                    delay(secs(1)).await?;
                    l.push("sibling done");
                    Ok(())
                });
                delay(ms(500)).await?;
                l.push("body done");
                Ok(1)
            })
        }),
    ))
    .await;
    assert_eq!(r.unwrap(), 1);
    assert_eq!(log.take(), ["body done", "sibling done"]);
    assert_eq!(took, secs(1));
}
