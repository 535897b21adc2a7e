//! Ports of python-trio/trio src/trio/_tests/test_timeouts.py.
//! move_on_after ≈ with_timeout_or_none, fail_after ≈ with_timeout,
//! shield=True ≈ non_cancellable around it.

use super::*;

use std::sync::{Arc, OnceLock};

use scopes::{
    Error, Job, coroutine_scope, delay, non_cancellable, with_timeout, with_timeout_or_none,
    yield_now,
};

type Me<'s> = Arc<OnceLock<Job<'s>>>;

// test_sleep
#[tokio::test(start_paused = true)]
async fn trio_sleep_takes_exactly() {
    let (r, took) = timed(delay(secs(1))).await;
    r.unwrap();
    assert_eq!(took, secs(1));
    let (r, took) = timed(delay(ms(0))).await;
    r.unwrap();
    assert_eq!(took, ms(0));
}

// test_sleep: sleep(0) is a checkpoint: in a cancelled job it raises.
#[tokio::test(start_paused = true)]
async fn trio_sleep_zero_is_a_checkpoint_in_cancelled_job() {
    coroutine_scope(|s| {
        Box::pin(async move {
            let me: Me<'_> = Default::default();
            let me2 = me.clone();
            let j = s.launch(async move {
                me2.get().unwrap().cancel();
                let e = delay(ms(0)).await.unwrap_err();
                assert!(e.is_cancellation());
                Err(e)
            });
            me.set(j.clone()).ok().unwrap();
            j.join().await?;
            Ok(())
        })
    })
    .await
    .unwrap();
}

// test_sleep: move_on_at(now) with sleep(0) inside. SPEC R9: a zero duration
// times out at once without running the work.
#[tokio::test(start_paused = true)]
async fn trio_move_on_at_now() {
    let ran = std::sync::atomic::AtomicBool::new(false);
    let rr = &ran;
    let (r, took) = timed(with_timeout_or_none(ms(0), async move {
        rr.store(true, std::sync::atomic::Ordering::SeqCst);
        delay(ms(0)).await?;
        Ok(1)
    }))
    .await;
    assert_eq!(r.unwrap(), None);
    assert!(!ran.load(std::sync::atomic::Ordering::SeqCst));
    assert_eq!(took, ms(0));
}

// test_move_on_after
#[tokio::test(start_paused = true)]
async fn trio_move_on_after() {
    let (r, took) = timed(with_timeout_or_none(secs(1), delay(secs(100)))).await;
    assert_eq!(r.unwrap(), None);
    assert_eq!(took, secs(1));
}

// test_fail
#[tokio::test(start_paused = true)]
async fn trio_fail_after() {
    let (r, took) = timed(with_timeout(secs(1), delay(secs(100)))).await;
    assert!(r.unwrap_err().is_timeout());
    assert_eq!(took, secs(1));
    let (r, took) = timed(with_timeout(secs(100), delay(ms(0)))).await;
    r.unwrap();
    assert_eq!(took, ms(0));
    let (r, took) = timed(with_timeout_or_none(secs(100), delay(ms(0)))).await;
    assert_eq!(r.unwrap(), Some(()));
    assert_eq!(took, ms(0));
}

// test_fail inside a nursery: TooSlowError fails the nursery (R9).
#[tokio::test(start_paused = true)]
async fn trio_fail_after_in_child_fails_scope() {
    let log = Log::default();
    let l = &log;
    let (r, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            s.launch(async move { with_timeout(secs(1), delay(secs(100))).await });
            s.launch(async move {
                let e = delay(forever()).await.unwrap_err();
                l.push("sibling cancelled");
                Err(e)
            });
            Ok(())
        })
    }))
    .await;
    let e = r.unwrap_err();
    assert!(e.is_timeout());
    assert!(!e.is_cancellation());
    assert_eq!(log.take(), ["sibling cancelled"]);
    assert_eq!(took, secs(1));
}

fn self_cancelled_then<'s, T: Send + 's>(
    s: &scopes::Scope<'s, '_>,
    work: impl std::future::Future<Output = scopes::Result<T>> + Send + 's,
) -> scopes::Deferred<'s, T> {
    let me: Me<'s> = Default::default();
    let me2 = me.clone();
    let d = s.r#async(async move {
        me2.get().unwrap().cancel();
        work.await
    });
    me.set(d.job().clone()).ok().unwrap();
    d
}

// test_context_shields_from_outer[move_on_after]: shield=True timeout scope
// in a cancelled job: checkpoints inside pass.
#[tokio::test(start_paused = true)]
async fn trio_context_shields_from_outer_move_on_after() {
    let out: Arc<OnceLock<scopes::Result<Option<u8>>>> = Default::default();
    let o = out.clone();
    coroutine_scope(|s| {
        Box::pin(async move {
            let d = self_cancelled_then(&s, async move {
                let r = non_cancellable(with_timeout_or_none(secs(1), async {
                    yield_now().await?;
                    Ok(1u8)
                }))
                .await;
                o.set(r).ok().unwrap();
                yield_now().await?; // unshielded: cancellation
                Ok(())
            });
            let _ = d.await;
            Ok(())
        })
    })
    .await
    .unwrap();
    assert_eq!(out.get().unwrap().as_ref().unwrap(), &Some(1));
}

// test_context_shields_from_outer[fail_after]
#[tokio::test(start_paused = true)]
async fn trio_context_shields_from_outer_fail_after() {
    let out: Arc<OnceLock<scopes::Result<u8>>> = Default::default();
    let o = out.clone();
    coroutine_scope(|s| {
        Box::pin(async move {
            let d = self_cancelled_then(&s, async move {
                let r = non_cancellable(with_timeout(secs(1), async {
                    yield_now().await?;
                    Ok(1u8)
                }))
                .await;
                o.set(r).ok().unwrap();
                yield_now().await?;
                Ok(())
            });
            let _ = d.await;
            Ok(())
        })
    })
    .await
    .unwrap();
    assert_eq!(*out.get().unwrap().as_ref().unwrap(), 1);
}

// test_move_on_after_moves_on_even_if_shielded
#[tokio::test(start_paused = true)]
async fn trio_move_on_after_moves_on_even_if_shielded() {
    let out: Arc<OnceLock<(scopes::Result<Option<()>>, std::time::Duration)>> = Default::default();
    let o = out.clone();
    coroutine_scope(|s| {
        Box::pin(async move {
            let d = self_cancelled_then(&s, async move {
                let r = timed(non_cancellable(with_timeout_or_none(
                    secs(1),
                    delay(forever()),
                )))
                .await;
                o.set(r).ok().unwrap();
                Ok(())
            });
            let _ = d.await;
            Ok(())
        })
    })
    .await
    .unwrap();
    let (r, took) = out.get().unwrap();
    assert_eq!(*r.as_ref().unwrap(), None);
    assert_eq!(*took, secs(1));
}

// test_fail_after_fails_even_if_shielded
#[tokio::test(start_paused = true)]
async fn trio_fail_after_fails_even_if_shielded() {
    let out: Arc<OnceLock<(scopes::Result<()>, std::time::Duration)>> = Default::default();
    let o = out.clone();
    coroutine_scope(|s| {
        Box::pin(async move {
            let d = self_cancelled_then(&s, async move {
                let r = timed(non_cancellable(with_timeout(secs(1), delay(forever())))).await;
                o.set(r).ok().unwrap();
                Ok(())
            });
            let _ = d.await;
            Ok(())
        })
    })
    .await
    .unwrap();
    let (r, took) = out.get().unwrap();
    assert!(r.as_ref().unwrap_err().is_timeout());
    assert_eq!(*took, secs(1));
}

// test_fail_after_fails_even_if_shielded, cancel arriving while inside.
#[tokio::test(start_paused = true)]
async fn trio_fail_after_fails_even_if_shielded_cancel_during() {
    let out: Arc<OnceLock<(scopes::Result<()>, std::time::Duration)>> = Default::default();
    let o = out.clone();
    let (r, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            let j = s.launch(async move {
                let r = timed(non_cancellable(with_timeout(secs(1), delay(forever())))).await;
                o.set(r).ok().unwrap();
                yield_now().await
            });
            delay(ms(100)).await?;
            j.cancel();
            j.join().await?;
            Ok(())
        })
    }))
    .await;
    r.unwrap();
    let (r, t) = out.get().unwrap();
    assert!(r.as_ref().unwrap_err().is_timeout());
    assert_eq!(*t, secs(1));
    assert_eq!(took, secs(1));
}

// test_timeout_deadline_on_entry: the relative deadline is computed when the
// scope is entered (first polled), not when it is created.
#[tokio::test(start_paused = true)]
async fn trio_timeout_deadline_on_entry() {
    let start = tokio::time::Instant::now();
    let f = with_timeout_or_none(secs(5), delay(forever()));
    delay(secs(3)).await.unwrap();
    let r = f.await;
    assert_eq!(r.unwrap(), None);
    assert_eq!(start.elapsed(), secs(8));
}

// test_timeout_deadline_on_entry, fail_after form.
#[tokio::test(start_paused = true)]
async fn trio_fail_after_deadline_on_entry() {
    let start = tokio::time::Instant::now();
    let f = with_timeout(secs(5), delay(forever()));
    delay(secs(3)).await.unwrap();
    assert!(f.await.unwrap_err().is_timeout());
    assert_eq!(start.elapsed(), secs(8));
}

// move_on_after around a nursery: children are cancelled, their cleanup
// (shielded) runs, then None.
#[tokio::test(start_paused = true)]
async fn trio_move_on_after_around_nursery_waits_for_cleanup() {
    let log = Log::default();
    let l = &log;
    let (r, took) = timed(with_timeout_or_none(
        secs(1),
        coroutine_scope(|s| {
            Box::pin(async move {
                for i in 0..2u64 {
                    s.launch(async move {
                        if let Err(e) = delay(forever()).await {
                            non_cancellable(delay(ms(100 * (i + 1)))).await?;
                            l.push(format!("cleanup {i}"));
                            return Err(e);
                        }
                        Ok(())
                    });
                }
                delay(forever()).await?;
                Ok(())
            })
        }),
    ))
    .await;
    assert_eq!(r.unwrap(), None);
    assert_eq!(log.take(), ["cleanup 0", "cleanup 1"]);
    assert_eq!(took, ms(1200));
}

// fail_after whose work swallows the cancellation and returns a value:
// the timeout wins (R9), also for a nursery body.
#[tokio::test(start_paused = true)]
async fn trio_fail_after_swallowed_cancellation_still_times_out() {
    let (r, took) = timed(with_timeout(
        secs(1),
        coroutine_scope(|s| {
            Box::pin(async move {
                s.launch(async move {
                    let _ = delay(forever()).await;
                    Ok(())
                });
                let _ = delay(forever()).await;
                Ok(9)
            })
        }),
    ))
    .await;
    assert!(r.unwrap_err().is_timeout());
    assert_eq!(took, secs(1));
}

// A real failure raised in the cleanup of a timed-out nursery wins (R9) and
// is not turned into None by move_on_after.
#[tokio::test(start_paused = true)]
async fn trio_move_on_after_real_failure_in_cleanup_propagates() {
    let (r, took) = timed(with_timeout_or_none(
        secs(1),
        coroutine_scope(|s| {
            Box::pin(async move {
                s.launch(async move {
                    delay(forever()).await.unwrap_err();
                    Err::<(), Error>(fail("cleanup failed"))
                });
                delay(forever()).await?;
                Ok(())
            })
        }),
    ))
    .await;
    let e = r.unwrap_err();
    assert_eq!(e.to_string(), "cleanup failed");
    assert_eq!(took, secs(1));
}
