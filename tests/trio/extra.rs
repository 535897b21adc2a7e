//! More ports from test_run.py / test_timeouts.py: deadline ties, shields
//! under timeouts, timeouts that exited early, fail-fast inside a shield.

use super::*;

use scopes::{
    Error, cancel_on, coroutine_scope, delay, is_active, non_cancellable, with_timeout,
    with_timeout_or_none, yield_now,
};

// test_cancel_scope_nesting "two triggering at once, outer wins":
// fail_after(1) around move_on_after(1): outer wins -> timeout failure.
#[tokio::test(start_paused = true)]
async fn trio_nesting_tie_outer_fail_after_wins() {
    let (r, took) = timed(with_timeout(
        secs(1),
        with_timeout_or_none(secs(1), delay(forever())),
    ))
    .await;
    assert!(r.unwrap_err().is_timeout());
    assert_eq!(took, secs(1));
}

// same, outer move_on_after(1) around fail_after(1): outer wins -> None
#[tokio::test(start_paused = true)]
async fn trio_nesting_tie_outer_move_on_wins() {
    let (r, took) = timed(with_timeout_or_none(
        secs(1),
        with_timeout(secs(1), delay(forever())),
    ))
    .await;
    assert_eq!(r.unwrap(), None);
    assert_eq!(took, secs(1));
}

// tie where the inner scope was entered later with a shorter duration
#[tokio::test(start_paused = true)]
async fn trio_nesting_tie_inner_entered_later() {
    let (r, took) = timed(with_timeout_or_none(secs(2), async move {
        delay(secs(1)).await?;
        with_timeout(secs(1), delay(forever())).await
    }))
    .await;
    assert_eq!(r.unwrap(), None);
    assert_eq!(took, secs(2));
}

// test_basic_timeout: a timeout scope that exited early cancels nothing later
#[tokio::test(start_paused = true)]
async fn trio_basic_timeout_exited_scope_does_nothing() {
    let (r, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            let j = s.launch(async move { delay(secs(3)).await });
            let v = with_timeout(secs(1), async {
                yield_now().await?;
                Ok(4)
            })
            .await?;
            delay(secs(2)).await?;
            yield_now().await?;
            yield_now().await?;
            assert!(is_active());
            j.join().await?;
            assert!(!j.is_cancelled());
            Ok(v)
        })
    }))
    .await;
    assert_eq!(r.unwrap(), 4);
    assert_eq!(took, secs(3));
}

// move_on_after around a shielded sleep: the shield runs to its end, then
// the move_on catches (Trio: with move_on_after(0.1): with shield: sleep(1)).
#[tokio::test(start_paused = true)]
async fn trio_move_on_after_waits_for_shielded_work() {
    let log = Log::default();
    let l = &log;
    let (r, took) = timed(with_timeout_or_none(ms(100), async move {
        non_cancellable(delay(secs(1))).await?;
        l.push("shield done");
        // past the deadline: fails at once (R7)
        let e = delay(secs(1)).await.unwrap_err();
        assert!(e.is_cancellation());
        l.push("second sleep cancelled");
        Ok(1)
    }))
    .await;
    assert_eq!(r.unwrap(), None);
    assert_eq!(log.take(), ["shield done", "second sleep cancelled"]);
    assert_eq!(took, secs(1));
}

// same with fail_after
#[tokio::test(start_paused = true)]
async fn trio_fail_after_waits_for_shielded_work() {
    let (r, took) = timed(with_timeout(ms(100), async move {
        non_cancellable(delay(secs(1))).await?;
        Ok(1)
    }))
    .await;
    assert!(r.unwrap_err().is_timeout());
    assert_eq!(took, secs(1));
}

// cancel_on with shielded work
#[tokio::test(start_paused = true)]
async fn trio_cancel_on_waits_for_shielded_work() {
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        tokio::time::sleep(ms(100)).await;
        let _ = tx.send(());
    });
    let (r, took) = timed(cancel_on(rx, async move {
        non_cancellable(delay(secs(1))).await?;
        Ok(1)
    }))
    .await;
    assert_eq!(r.unwrap(), None);
    assert_eq!(took, secs(1));
}

// A child's failure inside a shielded nursery still cancels its siblings
// (the shield is against the outer cancel only; R2 inside, R8 outside).
#[tokio::test(start_paused = true)]
async fn trio_shielded_nursery_still_fails_fast() {
    let log = Log::default();
    let l = &log;
    let (r, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            let j = s.r#async(async move {
                let r = non_cancellable(coroutine_scope(|n| {
                    Box::pin(async move {
                        n.launch(async move {
                            let e = delay(secs(10)).await.unwrap_err();
                            l.push("sibling cancelled");
                            Err(e)
                        });
                        n.launch(async move {
                            delay(ms(200)).await?;
                            Err(fail("boom"))
                        });
                        Ok(())
                    })
                }))
                .await;
                l.push(format!("inner: {}", r.unwrap_err()));
                Ok(())
            });
            delay(ms(100)).await?;
            j.cancel();
            let e = j.await.unwrap_err();
            assert!(e.is_cancellation());
            Ok(())
        })
    }))
    .await;
    r.unwrap();
    assert_eq!(log.take(), ["sibling cancelled", "inner: boom"]);
    assert_eq!(took, ms(200));
}

// A whole child shielded; cancelled from outside meanwhile: runs to the end,
// then ends cancelled (R8 + R11), its Deferred gives the cancellation.
#[tokio::test(start_paused = true)]
async fn trio_shield_does_not_protect_from_own_cancel_outcome() {
    let (r, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            let d = s.r#async(async move {
                non_cancellable(delay(secs(1))).await?;
                Ok(5)
            });
            delay(ms(100)).await?;
            d.cancel();
            assert!(d.is_cancelled());
            let e = d.await.unwrap_err();
            assert!(e.is_cancellation());
            Ok(())
        })
    }))
    .await;
    r.unwrap();
    assert_eq!(took, secs(1));
}

// move_on_after around a join of a sibling that is outside the cancel scope:
// the sibling is not cancelled.
#[tokio::test(start_paused = true)]
async fn trio_move_on_after_join_does_not_cancel_the_joined_child() {
    let log = Log::default();
    let l = &log;
    let (r, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            let j = s.launch(async move {
                delay(secs(2)).await?;
                l.push("sibling done");
                Ok(())
            });
            let r = with_timeout_or_none(secs(1), async { j.join().await }).await?;
            assert_eq!(r, None);
            assert!(j.is_active());
            l.push("moved on");
            Ok(())
        })
    }))
    .await;
    r.unwrap();
    assert_eq!(log.take(), ["moved on", "sibling done"]);
    assert_eq!(took, secs(2));
}

// with_timeout_or_none whose work fails for real before the deadline
#[tokio::test(start_paused = true)]
async fn trio_move_on_after_real_failure_propagates() {
    let (r, took) = timed(with_timeout_or_none(secs(1), async move {
        delay(ms(10)).await?;
        Err::<(), Error>(fail("real"))
    }))
    .await;
    assert_eq!(r.unwrap_err().to_string(), "real");
    assert_eq!(took, ms(10));
}

// Work finishing exactly at the deadline (SPEC is silent on ties): timers
// due at the same instant fire in the order they were registered, and the
// deadline is registered before the work runs (Kotlin's order), so the
// deadline wins.
#[tokio::test(start_paused = true)]
async fn trio_deadline_tie_with_work_the_deadline_wins() {
    let (r, took) = timed(with_timeout_or_none(secs(1), async move {
        delay(secs(1)).await?;
        Ok(1)
    }))
    .await;
    assert_eq!(r.unwrap(), None);
    assert_eq!(took, secs(1));
}

// Timeout of a child in a supervisor scope: the failure goes to its Deferred
// and cancels nobody (R4 + R9).
#[tokio::test(start_paused = true)]
async fn trio_fail_after_in_supervised_child() {
    let log = Log::default();
    let l = &log;
    let (r, took) = timed(scopes::supervisor_scope(|s| {
        Box::pin(async move {
            let d = s.r#async(async move { with_timeout(secs(1), delay(forever())).await });
            s.launch(async move {
                delay(secs(2)).await?;
                l.push("sibling done");
                Ok(())
            });
            let e = d.await.unwrap_err();
            assert!(e.is_timeout());
            Ok(())
        })
    }))
    .await;
    r.unwrap();
    assert_eq!(log.take(), ["sibling done"]);
    assert_eq!(took, secs(2));
}

// Cancel of an outer job while a fail_after inside it is pending: the
// cancellation wins (no TooSlowError) — Trio: outer cancel delivered, the
// inner fail_after does not raise because its deadline did not pass.
#[tokio::test(start_paused = true)]
async fn trio_outer_cancel_beats_pending_fail_after() {
    let (r, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            let d = s.r#async(async move { with_timeout(secs(1), delay(forever())).await });
            delay(ms(100)).await?;
            d.cancel();
            let e = d.await.unwrap_err();
            assert!(e.is_cancellation());
            assert!(!e.is_timeout());
            Ok(())
        })
    }))
    .await;
    r.unwrap();
    assert_eq!(took, ms(100));
}

// The outer cancel comes at the same instant as the inner deadline (Trio:
// the outer scope wins). The body's timer was registered before the
// child's deadline, so the body runs first and its cancel reaches the work
// before the deadline is seen: the child ends cancelled, not timed out.
#[tokio::test(start_paused = true)]
async fn trio_outer_cancel_tie_with_inner_deadline_the_cancel_wins() {
    let (r, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            let d = s.r#async(async move { with_timeout(secs(1), delay(forever())).await });
            delay(secs(1)).await?;
            d.cancel();
            let e = d.await.unwrap_err();
            assert!(e.is_cancellation() && !e.is_timeout(), "{e:?}");
            Ok(())
        })
    }))
    .await;
    r.unwrap();
    assert_eq!(took, secs(1));
}

// test_timekeeping: on the real clock, a deadline never fires early.
#[tokio::test]
async fn trio_timekeeping_real_clock() {
    let start = std::time::Instant::now();
    let r = with_timeout_or_none(ms(50), delay(forever())).await;
    assert_eq!(r.unwrap(), None);
    // No upper bound: a loaded machine may wake it late, never early.
    let took = start.elapsed();
    assert!(took >= ms(50), "{took:?}");
}

// test_failed_abort: a child that cannot be interrupted (shielded foreign
// wait) is not woken by the cancel; woken by hand later, it then sees the
// cancellation at its next check.
#[tokio::test(start_paused = true)]
async fn trio_failed_abort() {
    let log = Log::default();
    let l = &log;
    let notify = tokio::sync::Notify::new();
    let n = &notify;
    let (r, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            let j = s.launch(async move {
                l.push("sleep");
                non_cancellable(n.notified()).await;
                l.push("woke");
                if let Err(e) = scopes::ensure_active() {
                    l.push("cancelled");
                    return Err(e);
                }
                Ok(())
            });
            delay(ms(10)).await?;
            assert_eq!(l.take(), ["sleep"]);
            j.cancel();
            delay(ms(10)).await?;
            assert!(l.take().is_empty(), "cancel didn't wake it up");
            n.notify_one();
            j.join().await?;
            assert!(j.is_cancelled());
            Ok(())
        })
    }))
    .await;
    r.unwrap();
    assert_eq!(log.take(), ["woke", "cancelled"]);
    assert_eq!(took, ms(20));
}

// cancel_on / move_on_after around a foreign wait: the work is dropped (R7)
// and the call returns at the signal / deadline.
#[tokio::test(start_paused = true)]
async fn trio_move_on_after_foreign_wait_is_dropped() {
    let notify = tokio::sync::Notify::new();
    let (r, took) = timed(with_timeout_or_none(ms(30), async {
        notify.notified().await;
        Ok(1)
    }))
    .await;
    assert_eq!(r.unwrap(), None);
    assert_eq!(took, ms(30));
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        tokio::time::sleep(ms(40)).await;
        let _ = tx.send(());
    });
    let (r, took) = timed(cancel_on(rx, async {
        notify.notified().await;
        Ok(1)
    }))
    .await;
    assert_eq!(r.unwrap(), None);
    assert_eq!(took, ms(40));
}
