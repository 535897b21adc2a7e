//! Dispatch order around deadlines (R14 with R7 and R9), cases of the bug
//! fixed in e167344: a deadline (`with_timeout`, `with_timeout_or_none`,
//! `cancel_on`) cuts short work holding a nested scope, then the caller
//! starts a child and yields. Each case's expected order is Kotlin's (the
//! comment before it gives the Kotlin program; where two timers are due at
//! the same instant, the one registered first fires first). Ported by a
//! helper from kotlinx `WithTimeoutTest`/`WithTimeoutOrNullTest` shapes;
//! shared by both kinds of scope, as `cases.rs` is.

use std::time::Duration;

use scopes::{
    Error, Result, ScopeOptions, Start, cancel_on, delay, non_cancellable, with_timeout,
    with_timeout_or_none, yield_now,
};
use scopes_workspace::Log;

#[allow(unused_imports)]
use super::{Scope, coroutine_scope, coroutine_scope_with, supervisor_scope};
use crate::{ms, timed};

/// `delay(d)`; when cancelled, logs `label` and returns the cancellation.
async fn wait_or_clean(log: &Log, label: &str, d: Duration) -> Result<()> {
    if let Err(e) = delay(d).await {
        log.push(label);
        return Err(e);
    }
    Ok(())
}

/// What most cases do once the deadline has passed: the caller starts a
/// child and yields. Kotlin runs the child first, then the caller.
async fn launch_then_yield<'s, 'env>(s: &Scope<'s, 'env>, log: &'env Log) -> Result<()> {
    log.push("after");
    s.launch(async move {
        log.push("child");
        Ok(())
    });
    yield_now().await?;
    log.push("body after yield");
    Ok(())
}

// ---------------------------------------------------------------- variants
// Kotlin (T1):
//   withTimeoutOrNull(10) { coroutineScope {
//       launch { try { delay(50) } finally { log("a clean") } }
//       try { delay(50) } finally { log("body clean") } } }
//   log("after"); launch { log("child") }; yield(); log("body after yield")
#[tokio::test(start_paused = true)]
async fn t1_cut_short_scope_with_child_then_launch_yield() {
    let log = Log::default();
    let log = &log;
    let (r, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            let r = with_timeout_or_none(
                ms(10),
                coroutine_scope(|inn| {
                    Box::pin(async move {
                        inn.launch(wait_or_clean(log, "a clean", ms(50)));
                        wait_or_clean(log, "body clean", ms(50)).await?;
                        Ok(1)
                    })
                }),
            )
            .await?;
            assert_eq!(r, None);
            launch_then_yield(&s, log).await
        })
    }))
    .await;
    r.unwrap();
    assert_eq!(
        log.take(),
        [
            "a clean",
            "body clean",
            "after",
            "child",
            "body after yield"
        ]
    );
    assert_eq!(took, ms(10));
}

// T2: the nested scope's body has ended; its child is what the deadline
// cancels; the scope completes in that child's step (afterCompletion
// dispatches the block), then the timeout returns.
#[tokio::test(start_paused = true)]
async fn t2_cut_short_scope_completing_with_its_child_then_launch_yield() {
    let log = Log::default();
    let log = &log;
    let (r, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            let r = with_timeout_or_none(
                ms(10),
                coroutine_scope(|inn| {
                    Box::pin(async move {
                        inn.launch(wait_or_clean(log, "a clean", ms(50)));
                        log.push("inner body done");
                        Ok(1)
                    })
                }),
            )
            .await?;
            assert_eq!(r, None);
            launch_then_yield(&s, log).await
        })
    }))
    .await;
    r.unwrap();
    assert_eq!(
        log.take(),
        [
            "inner body done",
            "a clean",
            "after",
            "child",
            "body after yield"
        ]
    );
    assert_eq!(took, ms(10));
}

// T3: after the cut-short scope, two yields interleaved with a child that
// yields too.
#[tokio::test(start_paused = true)]
async fn t3_cut_short_scope_then_interleaved_yields() {
    let log = Log::default();
    let log = &log;
    coroutine_scope(|s| {
        Box::pin(async move {
            let r = with_timeout_or_none(
                ms(10),
                coroutine_scope(|inn| {
                    Box::pin(async move {
                        inn.launch(wait_or_clean(log, "a clean", ms(50)));
                        delay(ms(50)).await?;
                        Ok(1)
                    })
                }),
            )
            .await?;
            assert_eq!(r, None);
            s.launch(async move {
                log.push("c1");
                yield_now().await?;
                log.push("c2");
                yield_now().await?;
                log.push("c3");
                Ok(())
            });
            yield_now().await?;
            log.push("m1");
            yield_now().await?;
            log.push("m2");
            yield_now().await?;
            log.push("m3");
            Ok(())
        })
    })
    .await
    .unwrap();
    assert_eq!(log.take(), ["a clean", "c1", "m1", "c2", "m2", "c3", "m3"]);
}

// T4: the timeout sits in a child K of the top scope; after it, K starts
// a sibling G through the scope handle and yields: G first.
#[tokio::test(start_paused = true)]
async fn t4_timeout_in_a_child_then_sibling_launch_yield() {
    let log = Log::default();
    let log = &log;
    coroutine_scope(|s| {
        Box::pin(async move {
            let s2 = s.clone();
            s.launch(async move {
                let r = with_timeout_or_none(
                    ms(10),
                    coroutine_scope(|inn| {
                        Box::pin(async move {
                            inn.launch(wait_or_clean(log, "a clean", ms(50)));
                            delay(ms(50)).await?;
                            Ok(1)
                        })
                    }),
                )
                .await?;
                assert_eq!(r, None);
                s2.launch(async move {
                    log.push("g");
                    Ok(())
                });
                yield_now().await?;
                log.push("k after yield");
                Ok(())
            });
            Ok(())
        })
    })
    .await
    .unwrap();
    assert_eq!(log.take(), ["a clean", "g", "k after yield"]);
}

// T5: a lazy child created before the timeout, started after it; then yield.
#[tokio::test(start_paused = true)]
async fn t5_lazy_started_after_cut_short_scope() {
    let log = Log::default();
    let log = &log;
    coroutine_scope(|s| {
        Box::pin(async move {
            let lz = s.child().start(Start::Lazy).launch(async move {
                log.push("lazy");
                Ok(())
            });
            let r = with_timeout_or_none(
                ms(10),
                coroutine_scope(|inn| {
                    Box::pin(async move {
                        inn.launch(wait_or_clean(log, "a clean", ms(50)));
                        delay(ms(50)).await?;
                        Ok(1)
                    })
                }),
            )
            .await?;
            assert_eq!(r, None);
            s.launch(async move {
                log.push("eager");
                Ok(())
            });
            assert!(lz.start());
            yield_now().await?;
            log.push("body after yield");
            Ok(())
        })
    })
    .await
    .unwrap();
    assert_eq!(log.take(), ["a clean", "eager", "lazy", "body after yield"]);
}

// T5b: awaiting a lazy deferred after the timeout, with an eager child
// started in between: eager, lazy, then the body.
#[tokio::test(start_paused = true)]
async fn t5b_await_lazy_after_cut_short_scope() {
    let log = Log::default();
    let log = &log;
    coroutine_scope(|s| {
        Box::pin(async move {
            let lz = s.child().start(Start::Lazy).r#async(async move {
                log.push("lazy");
                Ok(5)
            });
            let r = with_timeout_or_none(
                ms(10),
                coroutine_scope(|inn| {
                    Box::pin(async move {
                        inn.launch(wait_or_clean(log, "a clean", ms(50)));
                        delay(ms(50)).await?;
                        Ok(1)
                    })
                }),
            )
            .await?;
            assert_eq!(r, None);
            s.launch(async move {
                log.push("eager");
                yield_now().await?;
                log.push("eager2");
                Ok(())
            });
            let v = lz.await?;
            log.push(format!("got {v}"));
            Ok(())
        })
    })
    .await
    .unwrap();
    assert_eq!(log.take(), ["a clean", "eager", "lazy", "eager2", "got 5"]);
}

// T9: the cut-short scope's async child cleans up in non_cancellable for
// 5 ms; a sibling's timer at 12 ms runs meanwhile; the scope completes in
// that child's step at 15 ms.
#[tokio::test(start_paused = true)]
async fn t9_cut_short_scope_with_noncancellable_cleanup() {
    let log = Log::default();
    let log = &log;
    let (r, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            s.launch(async move {
                delay(ms(12)).await?;
                log.push("x12");
                Ok(())
            });
            let r = with_timeout_or_none(
                ms(10),
                coroutine_scope(|inn| {
                    Box::pin(async move {
                        let d = inn.r#async(async move {
                            if let Err(e) = delay(ms(50)).await {
                                non_cancellable(delay(ms(5))).await?;
                                log.push("d clean");
                                return Err(e);
                            }
                            Ok(1)
                        });
                        let v = d.await;
                        log.push(format!(
                            "body await cancelled={}",
                            v.as_ref().is_err_and(|e| e.is_cancellation())
                        ));
                        v
                    })
                }),
            )
            .await?;
            assert_eq!(r, None);
            launch_then_yield(&s, log).await
        })
    }))
    .await;
    r.unwrap();
    assert_eq!(
        log.take(),
        [
            "body await cancelled=true",
            "x12",
            "d clean",
            "after",
            "child",
            "body after yield"
        ]
    );
    assert_eq!(took, ms(15));
}

// T7: T1 through with_timeout (a failure, R9) and through cancel_on.
#[tokio::test(start_paused = true)]
async fn t7_with_timeout_and_cancel_on_variants() {
    for kind in 0..2 {
        let log = Log::default();
        let log = &log;
        coroutine_scope(|s| {
            Box::pin(async move {
                let work = coroutine_scope(|inn| {
                    Box::pin(async move {
                        inn.launch(wait_or_clean(log, "a clean", ms(50)));
                        wait_or_clean(log, "body clean", ms(50)).await?;
                        Ok(1)
                    })
                });
                if kind == 0 {
                    let e = with_timeout(ms(10), work).await.unwrap_err();
                    assert!(e.is_timeout());
                } else {
                    assert_eq!(cancel_on(delay(ms(10)), work).await?, None);
                }
                launch_then_yield(&s, log).await
            })
        })
        .await
        .unwrap();
        assert_eq!(
            log.take(),
            [
                "a clean",
                "body clean",
                "after",
                "child",
                "body after yield"
            ],
            "kind {kind}"
        );
    }
}

// T8: nested timeouts: the inner one cuts a scope short; the body of the
// outer then launches and yields; later the outer deadline passes.
#[tokio::test(start_paused = true)]
async fn t8_nested_timeouts_then_launch_yield() {
    let log = Log::default();
    let log = &log;
    let (r, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            let s2 = s.clone();
            let outer = with_timeout_or_none(ms(20), async move {
                let inner = with_timeout_or_none(
                    ms(10),
                    coroutine_scope(|inn| {
                        Box::pin(async move {
                            inn.launch(wait_or_clean(log, "a clean", ms(50)));
                            delay(ms(50)).await?;
                            Ok(1)
                        })
                    }),
                )
                .await?;
                assert_eq!(inner, None);
                s2.launch(async move {
                    log.push("child1");
                    Ok(())
                });
                yield_now().await?;
                log.push("outer work after yield");
                wait_or_clean(log, "outer work clean", ms(50)).await?;
                Ok(2)
            })
            .await?;
            assert_eq!(outer, None);
            s.launch(async move {
                log.push("child2");
                Ok(())
            });
            yield_now().await?;
            log.push("body after yield");
            Ok(())
        })
    }))
    .await;
    r.unwrap();
    assert_eq!(
        log.take(),
        [
            "a clean",
            "child1",
            "outer work after yield",
            "outer work clean",
            "child2",
            "body after yield"
        ]
    );
    assert_eq!(took, ms(20));
}

// T8b: both deadlines cut the same nested scope: outer(10) around
// inner(20) around a scope; the outer fires first.
#[tokio::test(start_paused = true)]
async fn t8b_outer_deadline_first_then_launch_yield() {
    let log = Log::default();
    let log = &log;
    coroutine_scope(|s| {
        Box::pin(async move {
            let outer = with_timeout_or_none(ms(10), async move {
                let inner = with_timeout_or_none(
                    ms(20),
                    coroutine_scope(|inn| {
                        Box::pin(async move {
                            inn.launch(wait_or_clean(log, "a clean", ms(50)));
                            wait_or_clean(log, "body clean", ms(50)).await?;
                            Ok(1)
                        })
                    }),
                )
                .await;
                log.push(format!(
                    "inner cancelled={}",
                    inner.as_ref().is_err_and(|e| e.is_cancellation())
                ));
                inner?;
                Ok(2)
            })
            .await?;
            assert_eq!(outer, None);
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
    assert_eq!(
        log.take(),
        [
            "a clean",
            "body clean",
            "inner cancelled=true",
            "child",
            "body after yield"
        ]
    );
}

// T11: the work is a supervisor_scope.
#[tokio::test(start_paused = true)]
async fn t11_cut_short_supervisor_scope_then_launch_yield() {
    let log = Log::default();
    let log = &log;
    coroutine_scope(|s| {
        Box::pin(async move {
            let r = with_timeout_or_none(
                ms(10),
                supervisor_scope(|inn| {
                    Box::pin(async move {
                        inn.launch(wait_or_clean(log, "a clean", ms(50)));
                        inn.launch(wait_or_clean(log, "b clean", ms(50)));
                        wait_or_clean(log, "body clean", ms(50)).await?;
                        Ok(1)
                    })
                }),
            )
            .await?;
            assert_eq!(r, None);
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
    assert_eq!(
        log.take(),
        [
            "a clean",
            "b clean",
            "body clean",
            "child",
            "body after yield"
        ]
    );
}

// T15: deep: top body -> child K -> scope N1 -> timeout -> scope N2 (with
// a grandchild); meanwhile the top body yields in a loop.
#[tokio::test(start_paused = true)]
async fn t15_deep_cut_short_scope_with_top_body_yielding() {
    let log = Log::default();
    let log = &log;
    coroutine_scope(|s| {
        Box::pin(async move {
            s.launch(async move {
                coroutine_scope(|n1| {
                    Box::pin(async move {
                        let r = with_timeout_or_none(
                            ms(10),
                            coroutine_scope(|n2| {
                                Box::pin(async move {
                                    n2.launch(wait_or_clean(log, "g2 clean", ms(50)));
                                    wait_or_clean(log, "n2 body clean", ms(50)).await?;
                                    Ok(1)
                                })
                            }),
                        )
                        .await?;
                        assert_eq!(r, None);
                        log.push("n1 after");
                        n1.launch(async move {
                            log.push("g1");
                            yield_now().await?;
                            log.push("g1b");
                            Ok(())
                        });
                        yield_now().await?;
                        log.push("n1 after yield");
                        yield_now().await?;
                        log.push("n1 after yield2");
                        Ok(())
                    })
                })
                .await
            });
            s.launch(async move {
                delay(ms(10)).await?; // registered after the deadline, due with it
                log.push("m at 10");
                yield_now().await?;
                log.push("m after yield");
                Ok(())
            });
            Ok(())
        })
    })
    .await
    .unwrap();
    // Kotlin: at 10 ms the deadline (registered first) and M's delay are
    // due: the deadline's task cancels N2 (G2, then N2's body, queued
    // behind M's resumption); M logs and yields; G2 and N2's body clean up;
    // N2 completes, the timeout returns, N1's body goes on inline.
    assert_eq!(
        log.take(),
        [
            "m at 10",
            "g2 clean",
            "n2 body clean",
            "n1 after",
            "m after yield",
            "g1",
            "n1 after yield",
            "g1b",
            "n1 after yield2"
        ]
    );
}

// T12: a timer inside the work due at the deadline's instant, registered
// after it. Kotlin: the deadline's task runs first and cancels G's delay,
// whose own resume task then finds it resumed already: G never logs "g".
#[tokio::test(start_paused = true)]
async fn t12_timer_inside_the_work_due_with_the_deadline() {
    let log = Log::default();
    let log = &log;
    let (r, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            let r = with_timeout_or_none(
                ms(10),
                coroutine_scope(|inn| {
                    Box::pin(async move {
                        inn.launch(async move {
                            let r = delay(ms(10)).await;
                            log.push(format!("g delay cancelled={}", r.is_err()));
                            r?;
                            yield_now().await?;
                            log.push("g2");
                            Ok(())
                        });
                        wait_or_clean(log, "body clean", ms(50)).await?;
                        Ok(1)
                    })
                }),
            )
            .await?;
            log.push(format!("r={r:?}"));
            s.launch(async move {
                log.push("child");
                Ok(())
            });
            yield_now().await?;
            log.push("body after yield");
            Ok(())
        })
    }))
    .await;
    r.unwrap();
    assert_eq!(
        log.take(),
        [
            "g delay cancelled=true",
            "body clean",
            "r=None",
            "child",
            "body after yield"
        ]
    );
    assert_eq!(took, ms(10));
}

// T12b: the work's own body in delay(10) with the deadline at 10 (Kotlin:
// withTimeoutOrNull(10) { delay(10); "OK" } is null).
#[tokio::test(start_paused = true)]
async fn t12b_work_delay_due_with_the_deadline() {
    let log = Log::default();
    let log = &log;
    coroutine_scope(|s| {
        Box::pin(async move {
            let r = with_timeout_or_none(ms(10), async move {
                let r = delay(ms(10)).await;
                log.push(format!("work delay cancelled={}", r.is_err()));
                r?;
                Ok("OK")
            })
            .await?;
            log.push(format!("r={r:?}"));
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
    assert_eq!(
        log.take(),
        [
            "work delay cancelled=true",
            "r=None",
            "child",
            "body after yield"
        ]
    );
}

// T4b: the work ends normally, its nested scope completing in its child's
// step (Kotlin dispatches the block's continuation then, behind X's yield).
#[tokio::test(start_paused = true)]
async fn t4b_not_fired_scope_completing_with_child_then_launch_yield() {
    let log = Log::default();
    let log = &log;
    coroutine_scope(|s| {
        Box::pin(async move {
            s.launch(async move {
                delay(ms(10)).await?;
                log.push("x");
                yield_now().await?;
                log.push("x2");
                Ok(())
            });
            let r = with_timeout_or_none(
                ms(100),
                coroutine_scope(|inn| {
                    Box::pin(async move {
                        inn.launch(async move {
                            delay(ms(10)).await?;
                            log.push("a");
                            Ok(())
                        });
                        Ok(1)
                    })
                }),
            )
            .await?;
            assert_eq!(r, Some(1));
            launch_then_yield(&s, log).await
        })
    })
    .await
    .unwrap();
    assert_eq!(
        log.take(),
        ["x", "a", "x2", "after", "child", "body after yield"]
    );
}

// T10: WithTimeoutTest.testDispatch with a nested coroutineScope inside the
// block (its own child and yields), for the three block kinds.
#[tokio::test(start_paused = true)]
async fn t10_dispatch_with_nested_scope_in_block() {
    for kind in 0..3 {
        let log = Log::default();
        let log = &log;
        coroutine_scope(|s| {
            Box::pin(async move {
                s.launch(async move {
                    log.push("3");
                    yield_now().await?;
                    log.push("6");
                    yield_now().await?;
                    log.push("8");
                    yield_now().await?;
                    log.push("10");
                    Ok(())
                });
                log.push("1");
                let work = coroutine_scope(|inn| {
                    Box::pin(async move {
                        inn.launch(async move {
                            log.push("4");
                            yield_now().await?;
                            log.push("7");
                            Ok(())
                        });
                        log.push("2");
                        yield_now().await?;
                        log.push("5");
                        Ok("OK")
                    })
                });
                match kind {
                    0 => assert_eq!(with_timeout(ms(1000), work).await?, "OK"),
                    1 => assert_eq!(with_timeout_or_none(ms(1000), work).await?, Some("OK")),
                    _ => assert_eq!(
                        cancel_on(std::future::pending::<()>(), work).await?,
                        Some("OK")
                    ),
                }
                log.push("9");
                s.launch(async move {
                    log.push("11");
                    Ok(())
                });
                yield_now().await?;
                log.push("12");
                Ok(())
            })
        })
        .await
        .unwrap();
        assert_eq!(
            log.take(),
            (1..=12).map(|n| n.to_string()).collect::<Vec<_>>(),
            "kind {kind}"
        );
    }
}

// T5c: the work is a scope with limit 1: P1 holds the place, P2 waits for
// it when the deadline passes (cancelled while waiting: completes at once,
// never runs).
#[tokio::test(start_paused = true)]
async fn t5c_cut_short_limited_scope_then_launch_yield() {
    let log = Log::default();
    let log = &log;
    coroutine_scope(|s| {
        Box::pin(async move {
            let r = with_timeout_or_none(
                ms(10),
                coroutine_scope_with(ScopeOptions::new().limit(1), |inn| {
                    Box::pin(async move {
                        inn.launch(wait_or_clean(log, "p1 clean", ms(50)));
                        inn.launch(async move {
                            log.push("p2 ran");
                            Ok(())
                        });
                        wait_or_clean(log, "body clean", ms(50)).await?;
                        Ok(1)
                    })
                }),
            )
            .await?;
            assert_eq!(r, None);
            launch_then_yield(&s, log).await
        })
    })
    .await
    .unwrap();
    assert_eq!(
        log.take(),
        [
            "p1 clean",
            "body clean",
            "after",
            "child",
            "body after yield"
        ]
    );
}

// T5d: the caller's scope has limit 1; the child holding the place runs
// the cut-short scope then yields; the waiting sibling runs only after it.
#[tokio::test(start_paused = true)]
async fn t5d_limit_1_holder_with_cut_short_scope() {
    let log = Log::default();
    let log = &log;
    coroutine_scope_with(ScopeOptions::new().limit(1), |s| {
        Box::pin(async move {
            s.launch(async move {
                let r = with_timeout_or_none(
                    ms(10),
                    coroutine_scope(|inn| {
                        Box::pin(async move {
                            inn.launch(wait_or_clean(log, "g clean", ms(50)));
                            delay(ms(50)).await?;
                            Ok(1)
                        })
                    }),
                )
                .await?;
                assert_eq!(r, None);
                log.push("a after");
                yield_now().await?;
                log.push("a after yield");
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
    assert_eq!(log.take(), ["g clean", "a after", "a after yield", "b"]);
}

// T9b: the work awaits a lazy deferred of the outer scope; the deadline
// cancels the await only; the lazy child goes on.
#[tokio::test(start_paused = true)]
async fn t9b_timeout_around_await_of_a_lazy_deferred() {
    let log = Log::default();
    let log = &log;
    let (r, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            let lz = s.child().start(Start::Lazy).r#async(async move {
                log.push("lz start");
                delay(ms(50)).await?;
                log.push("lz end");
                Ok(1)
            });
            let lz2 = lz.clone();
            let r = with_timeout_or_none(ms(10), lz2).await?;
            assert_eq!(r, None);
            log.push("after");
            s.launch(async move {
                log.push("child");
                Ok(())
            });
            yield_now().await?;
            log.push("body after yield");
            let v = lz.await?;
            log.push(format!("v={v}"));
            Ok(())
        })
    }))
    .await;
    r.unwrap();
    assert_eq!(
        log.take(),
        [
            "lz start",
            "after",
            "child",
            "body after yield",
            "lz end",
            "v=1"
        ]
    );
    assert_eq!(took, ms(50));
}

// T8c: the caller's job is cancelled (a sibling fails at 12 ms) while the
// cut-short scope still cleans up (until 15 ms). Kotlin: withTimeoutOrNull
// gives null (its own timeout is the root cause), the body logs "after",
// a child launched then never runs, the next yield throws.
#[tokio::test(start_paused = true)]
async fn t8c_caller_cancelled_during_cleanup_of_cut_short_scope() {
    let log = Log::default();
    let log = &log;
    let (r, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            s.launch(async move {
                delay(ms(12)).await?;
                log.push("f fails");
                Err(Error::msg("boom"))
            });
            let r = with_timeout_or_none(
                ms(10),
                coroutine_scope(|inn| {
                    Box::pin(async move {
                        inn.launch(async move {
                            if let Err(e) = delay(ms(50)).await {
                                non_cancellable(delay(ms(5))).await?;
                                log.push("d clean");
                                return Err(e);
                            }
                            Ok(())
                        });
                        delay(ms(50)).await?;
                        Ok(1)
                    })
                }),
            )
            .await;
            log.push(format!(
                "r ok={:?} cancelled={}",
                r.as_ref().ok(),
                r.as_ref().is_err_and(|e| e.is_cancellation())
            ));
            s.launch(async move {
                log.push("child ran");
                Ok(())
            });
            let y = yield_now().await;
            log.push(format!("yield cancelled={}", y.is_err()));
            y?;
            Ok(())
        })
    }))
    .await;
    assert_eq!(r.unwrap_err().to_string(), "boom");
    assert_eq!(
        log.take(),
        [
            "f fails",
            "d clean",
            "r ok=Some(None) cancelled=false",
            "yield cancelled=true"
        ]
    );
    assert_eq!(took, ms(15));
}

// T16: two cut-short scopes back to back, a child and a yield between.
#[tokio::test(start_paused = true)]
async fn t16_two_cut_short_scopes_back_to_back() {
    let log = Log::default();
    let log = &log;
    let (r, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            let r1 = with_timeout_or_none(
                ms(10),
                coroutine_scope(|inn| {
                    Box::pin(async move {
                        inn.launch(wait_or_clean(log, "a clean", ms(50)));
                        delay(ms(50)).await?;
                        Ok(1)
                    })
                }),
            )
            .await?;
            s.launch(async move {
                log.push("c1");
                Ok(())
            });
            yield_now().await?;
            log.push(format!("r1={r1:?}"));
            let r2 = with_timeout_or_none(
                ms(10),
                coroutine_scope(|inn| {
                    Box::pin(async move {
                        inn.launch(wait_or_clean(log, "b clean", ms(50)));
                        delay(ms(50)).await?;
                        Ok(2)
                    })
                }),
            )
            .await?;
            log.push(format!("r2={r2:?}"));
            s.launch(async move {
                log.push("c2");
                Ok(())
            });
            yield_now().await?;
            log.push("body after yield");
            Ok(())
        })
    }))
    .await;
    r.unwrap();
    assert_eq!(
        log.take(),
        [
            "a clean",
            "c1",
            "r1=None",
            "b clean",
            "r2=None",
            "c2",
            "body after yield"
        ]
    );
    assert_eq!(took, ms(20));
}

// T17: a child G of the cut-short scope waits in a timeout of its own due
// at the same instant, registered after the outer deadline. Kotlin: the
// outer deadline's task runs first and cancels G's timeout block with the
// outer timeout's exception, so G's withTimeoutOrNull throws (not null).
#[tokio::test(start_paused = true)]
async fn t17_inner_timeout_due_with_outer_in_a_child() {
    let log = Log::default();
    let log = &log;
    coroutine_scope(|s| {
        Box::pin(async move {
            let r = with_timeout_or_none(
                ms(10),
                coroutine_scope(|inn| {
                    Box::pin(async move {
                        inn.launch(async move {
                            let r = with_timeout_or_none(
                                ms(10),
                                coroutine_scope(|_n| {
                                    Box::pin(async move {
                                        wait_or_clean(log, "n' clean", ms(50)).await?;
                                        Ok(1)
                                    })
                                }),
                            )
                            .await;
                            log.push(format!(
                                "g inner: none={} cancelled={}",
                                matches!(r, Ok(None)),
                                r.as_ref().is_err_and(|e| e.is_cancellation())
                            ));
                            r?;
                            Ok(())
                        });
                        wait_or_clean(log, "n body clean", ms(50)).await?;
                        Ok(1)
                    })
                }),
            )
            .await?;
            assert_eq!(r, None);
            launch_then_yield(&s, log).await
        })
    })
    .await
    .unwrap();
    assert_eq!(
        log.take(),
        [
            "n' clean",
            "g inner: none=false cancelled=true",
            "n body clean",
            "after",
            "child",
            "body after yield"
        ]
    );
}
