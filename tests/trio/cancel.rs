//! Ports of python-trio/trio src/trio/_core/_tests/test_run.py, cancel-scope
//! and shielding part. CancelScope.cancel() ≈ Job::cancel (of the current
//! job, reached through a OnceLock) or cancel_on; shield ≈ non_cancellable.

use super::*;

use std::sync::{Arc, OnceLock};

use scopes::{
    Error, Job, cancel_on, coroutine_scope, delay, ensure_active, is_active, non_cancellable,
    with_timeout, with_timeout_or_none, yield_now,
};

type Me<'s> = Arc<OnceLock<Job<'s>>>;

// test_cancel_points main1: checkpoint_if_cancelled ≈ ensure_active
#[tokio::test(start_paused = true)]
async fn trio_cancel_points_checkpoint_if_cancelled() {
    coroutine_scope(|s| {
        Box::pin(async move {
            let me: Me<'_> = Default::default();
            let me2 = me.clone();
            let j = s.launch(async move {
                ensure_active()?;
                me2.get().unwrap().cancel();
                assert!(!is_active());
                let e = ensure_active().unwrap_err();
                assert!(e.is_cancellation());
                Err(e)
            });
            me.set(j.clone()).ok().unwrap();
            j.join().await?;
            assert!(j.is_cancelled() && j.is_completed());
            Ok(())
        })
    })
    .await
    .unwrap();
}

// test_cancel_points main2/main3: checkpoint / sleep_forever after cancel
#[tokio::test(start_paused = true)]
async fn trio_cancel_points_checkpoint_and_sleep_forever() {
    let (r, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            let me: Me<'_> = Default::default();
            let me2 = me.clone();
            let j = s.launch(async move {
                yield_now().await?;
                me2.get().unwrap().cancel();
                let e = yield_now().await.unwrap_err();
                assert!(e.is_cancellation());
                // level-triggered (test_cancel_edge_cases): again, and sleep_forever
                let e = yield_now().await.unwrap_err();
                assert!(e.is_cancellation());
                let e = delay(forever()).await.unwrap_err();
                assert!(e.is_cancellation());
                let e = delay(forever()).await.unwrap_err();
                assert!(e.is_cancellation());
                Err(e)
            });
            me.set(j.clone()).ok().unwrap();
            j.join().await?;
            assert!(j.is_cancelled());
            Ok(())
        })
    }))
    .await;
    r.unwrap();
    assert_eq!(took, ms(0));
}

// test_cancel_points main4: cancel_shielded_checkpoint ≈ non_cancellable(yield_now())
#[tokio::test(start_paused = true)]
async fn trio_cancel_points_shielded_checkpoint() {
    coroutine_scope(|s| {
        Box::pin(async move {
            let me: Me<'_> = Default::default();
            let me2 = me.clone();
            let j = s.launch(async move {
                me2.get().unwrap().cancel();
                me2.get().unwrap().cancel(); // idempotent (test_cancel_edge_cases)
                non_cancellable(yield_now()).await.unwrap();
                non_cancellable(yield_now()).await.unwrap();
                non_cancellable(delay(ms(5))).await.unwrap();
                let e = yield_now().await.unwrap_err();
                assert!(e.is_cancellation());
                Err(e)
            });
            me.set(j.clone()).ok().unwrap();
            j.join().await?;
            assert!(j.is_cancelled());
            Ok(())
        })
    })
    .await
    .unwrap();
}

// test_cancel_edge_cases: a job cancelled that never reaches a checkpoint
// and returns Ok ends cancelled anyway (R11); the scope is fine.
#[tokio::test(start_paused = true)]
async fn trio_cancel_edge_cases_no_checkpoint() {
    coroutine_scope(|s| {
        Box::pin(async move {
            let me: Me<'_> = Default::default();
            let me2 = me.clone();
            let d = s.r#async(async move {
                me2.get().unwrap().cancel();
                me2.get().unwrap().cancel();
                Ok(7)
            });
            me.set(d.job().clone()).ok().unwrap();
            let e = d.await.unwrap_err();
            assert!(e.is_cancellation());
            Ok(())
        })
    })
    .await
    .unwrap();
}

// test_cancel_shielding: shield protects from the outer cancel, but not from
// cancels inside it (a nested scope's own child cancel, a cancel_on inside).
#[tokio::test(start_paused = true)]
async fn trio_cancel_shielding() {
    let log = Log::default();
    let l = &log;
    let (r, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            let me: Me<'_> = Default::default();
            let me2 = me.clone();
            let j = s.launch(async move {
                yield_now().await?;
                me2.get().unwrap().cancel();
                assert!(yield_now().await.unwrap_err().is_cancellation());
                let inner = non_cancellable(async {
                    // shield protects us from 'outer'
                    yield_now().await?;
                    assert!(is_active());
                    // but not from a scope inside it
                    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
                    let innerest = cancel_on(rx, async move {
                        let _ = tx.send(());
                        let e = yield_now().await.unwrap_err();
                        l.push("innerest cancelled");
                        Err::<(), Error>(e)
                    })
                    .await?;
                    assert_eq!(innerest, None);
                    // nor from a child cancelled in a nested scope
                    coroutine_scope(|n| {
                        Box::pin(async move {
                            let c = n.launch(async move {
                                let e = delay(forever()).await.unwrap_err();
                                l.push("nested child cancelled");
                                Err(e)
                            });
                            yield_now().await?;
                            c.cancel();
                            c.join().await?;
                            Ok(())
                        })
                    })
                    .await?;
                    yield_now().await?;
                    delay(ms(10)).await?;
                    Ok::<_, Error>(3)
                })
                .await;
                assert_eq!(inner.unwrap(), 3);
                // unshielded again
                let e = yield_now().await.unwrap_err();
                assert!(e.is_cancellation());
                Err(e)
            });
            me.set(j.clone()).ok().unwrap();
            j.join().await?;
            assert!(j.is_cancelled());
            Ok(())
        })
    }))
    .await;
    r.unwrap();
    assert_eq!(log.take(), ["innerest cancelled", "nested child cancelled"]);
    assert_eq!(took, ms(10));
}

// test_cancel_shield_abort (SPEC form): a child started inside a shield in a
// cancelled job sleeps undisturbed (R8: the shield covers nested scopes).
#[tokio::test(start_paused = true)]
async fn trio_cancel_shield_covers_children_of_nested_scope() {
    let log = Log::default();
    let l = &log;
    let (r, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            let me: Me<'_> = Default::default();
            let me2 = me.clone();
            let j = s.launch(async move {
                me2.get().unwrap().cancel();
                non_cancellable(coroutine_scope(|n| {
                    Box::pin(async move {
                        n.launch(async move {
                            l.push("sleeping");
                            delay(secs(1)).await?;
                            l.push("slept");
                            Ok(())
                        });
                        Ok(())
                    })
                }))
                .await?;
                l.push("after shield");
                ensure_active()
            });
            me.set(j.clone()).ok().unwrap();
            j.join().await?;
            assert!(j.is_cancelled());
            Ok(())
        })
    }))
    .await;
    r.unwrap();
    assert_eq!(log.take(), ["sleeping", "slept", "after shield"]);
    assert_eq!(took, secs(1));
}

// test_cancel_shield_abort, cancel arriving while the shielded child sleeps.
#[tokio::test(start_paused = true)]
async fn trio_cancel_arriving_during_shield_with_nested_child() {
    let log = Log::default();
    let l = &log;
    let (r, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            let j = s.launch(async move {
                non_cancellable(coroutine_scope(|n| {
                    Box::pin(async move {
                        n.launch(async move {
                            delay(secs(1)).await?;
                            l.push("child slept");
                            Ok(())
                        });
                        delay(ms(500)).await?;
                        l.push("body slept");
                        Ok(())
                    })
                }))
                .await?;
                let e = yield_now().await.unwrap_err();
                l.push("cancel seen after shield");
                Err(e)
            });
            delay(ms(100)).await?;
            j.cancel();
            j.join().await?;
            Ok(())
        })
    }))
    .await;
    r.unwrap();
    assert_eq!(
        log.take(),
        ["body slept", "child slept", "cancel seen after shield"]
    );
    assert_eq!(took, secs(1));
}

// test_cancel_scope_nesting, "pending scope popped off the stack": the
// cancel_on work is shielded and returns a value; SPEC: cancel_on still gives
// None, and the cancel does not leak out of cancel_on.
#[tokio::test(start_paused = true)]
async fn trio_cancel_scope_pending_then_popped() {
    coroutine_scope(|_s| {
        Box::pin(async move {
            let (tx, rx) = tokio::sync::oneshot::channel::<()>();
            let r = cancel_on(rx, async move {
                let _ = tx.send(());
                non_cancellable(yield_now()).await?;
                Ok(5)
            })
            .await?;
            assert_eq!(r, None);
            yield_now().await?;
            assert!(is_active());
            Ok(())
        })
    })
    .await
    .unwrap();
}

// test_cancel_unbound "cancel after entry": cancel_on around fail_after(1):
// the signal wins, the inner with_timeout returns a cancellation, not a timeout.
#[tokio::test(start_paused = true)]
async fn trio_cancel_unbound_cancel_after_entry() {
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        tokio::time::sleep(ms(100)).await;
        let _ = tx.send(());
    });
    let (r, took) = timed(coroutine_scope(|_s| {
        Box::pin(async move { cancel_on(rx, with_timeout(secs(1), delay(forever()))).await })
    }))
    .await;
    assert_eq!(r.unwrap(), None);
    assert_eq!(took, ms(100));
}

// test_cancel_unbound "cancel before entry": signal already complete.
#[tokio::test(start_paused = true)]
async fn trio_cancel_unbound_cancel_before_entry() {
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let _ = tx.send(());
    let (r, took) = timed(coroutine_scope(|_s| {
        Box::pin(async move { cancel_on(rx, with_timeout(secs(1), delay(forever()))).await })
    }))
    .await;
    assert_eq!(r.unwrap(), None);
    assert_eq!(took, ms(0));
}

// test_cancel_unbound "cancel before entry" where the work is a nursery with a
// sleeping child.
#[tokio::test(start_paused = true)]
async fn trio_cancel_unbound_cancel_before_entry_nursery() {
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let _ = tx.send(());
    let (r, took) = timed(cancel_on(
        rx,
        coroutine_scope(|s| {
            Box::pin(async move {
                s.launch(async move { with_timeout(secs(1), delay(forever())).await });
                Ok(())
            })
        }),
    ))
    .await;
    assert_eq!(r.unwrap(), None);
    assert_eq!(took, ms(0));
}

// test_trivial_yields, last part: a body failing for real in a cancelled
// job: the failure, not a cancellation (R6/R7).
#[tokio::test(start_paused = true)]
async fn trio_trivial_yields_body_error_in_cancelled_job() {
    coroutine_scope(|s| {
        Box::pin(async move {
            let me: Me<'_> = Default::default();
            let me2 = me.clone();
            let d = s.r#async(async move {
                me2.get().unwrap().cancel();
                let r =
                    coroutine_scope(|_n| Box::pin(async move { Err::<(), _>(fail("KeyError")) }))
                        .await;
                let e = r.unwrap_err();
                assert_eq!(e.to_string(), "KeyError");
                Ok(1)
            });
            me.set(d.job().clone()).ok().unwrap();
            assert!(d.await.unwrap_err().is_cancellation());
            Ok(())
        })
    })
    .await
    .unwrap();
}

// test_trivial_yields: nursery with a no-checkpoint child in a cancelled job.
// SPEC R7: the child never runs, the scope returns a cancellation.
#[tokio::test(start_paused = true)]
async fn trio_trivial_yields_noop_child_in_cancelled_job() {
    let log = Log::default();
    let l = &log;
    coroutine_scope(|s| {
        Box::pin(async move {
            let me: Me<'_> = Default::default();
            let me2 = me.clone();
            let d = s.r#async(async move {
                me2.get().unwrap().cancel();
                let r = coroutine_scope(|n| {
                    Box::pin(async move {
                        n.launch(async move {
                            l.push("noop ran");
                            Ok(())
                        });
                        Ok(())
                    })
                })
                .await;
                assert!(r.unwrap_err().is_cancellation());
                Ok(1)
            });
            me.set(d.job().clone()).ok().unwrap();
            assert!(d.await.unwrap_err().is_cancellation());
            Ok(())
        })
    })
    .await
    .unwrap();
    assert!(log.take().is_empty());
}

// test_yield_briefly_checks_for_timeout: jump past the deadline, then a
// checkpoint must see the timeout.
#[tokio::test(start_paused = true)]
async fn trio_yield_briefly_checks_for_timeout() {
    let counter = std::sync::atomic::AtomicUsize::new(0);
    let c = &counter;
    let (r, took) = timed(coroutine_scope(|_s| {
        Box::pin(async move {
            with_timeout_or_none(secs(5), async move {
                yield_now().await?;
                tokio::time::advance(secs(10)).await;
                loop {
                    c.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    if let Err(e) = yield_now().await {
                        assert!(e.is_cancellation());
                        return Err(e);
                    }
                    assert!(
                        c.load(std::sync::atomic::Ordering::SeqCst) < 10_000,
                        "deadline never seen"
                    );
                }
            })
            .await
        })
    }))
    .await;
    assert_eq!(r.unwrap(), None::<()>);
    assert_eq!(took, secs(10));
}

// test_very_deep_cancel_scope_nesting: many nested cancel scopes, cancel the
// outermost.
#[tokio::test(start_paused = true)]
async fn trio_very_deep_cancel_scope_nesting() {
    fn nest(
        depth: usize,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = scopes::Result<Option<()>>> + Send>>
    {
        Box::pin(async move {
            if depth == 0 {
                delay(forever()).await?;
                Ok(Some(()))
            } else {
                Ok(with_timeout_or_none(forever(), nest(depth - 1))
                    .await?
                    .flatten())
            }
        })
    }
    let (r, took) = timed(with_timeout_or_none(secs(1), nest(300))).await;
    assert_eq!(r.unwrap(), None);
    assert_eq!(took, secs(1));
}
