//! Edge inputs have defined results: zero and maximal durations for delays
//! and timeouts, cancelling a completed job, joining twice, awaiting after
//! the scope was cancelled, starting and cancelling twice. Paused clock,
//! exact virtual times.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use scopes::{
    Error, Result, Start, coroutine_scope, delay, ensure_active, supervisor_scope, with_timeout,
    with_timeout_or_none, yield_now,
};
use scopes_workspace::timed;
use tokio::time::Instant;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

// ------------------------------------------------------------- durations

#[tokio::test(start_paused = true)]
async fn delay_zero_returns_at_once_but_checks_cancellation() {
    let (result, took) = timed(delay(Duration::ZERO)).await;
    result.unwrap();
    assert_eq!(took, Duration::ZERO);

    let seen = coroutine_scope(|s| {
        Box::pin(async move {
            let d = s.r#async(async {
                let _ = delay(Duration::from_secs(1)).await; // cancelled here
                Ok(delay(Duration::ZERO).await.unwrap_err().is_cancellation())
            });
            yield_now().await?;
            d.cancel();
            d.join().await?;
            Ok(d.is_cancelled())
        })
    })
    .await;
    assert!(seen.unwrap());
}

#[tokio::test(start_paused = true)]
async fn delay_max_sleeps_until_cancelled() {
    let (result, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            let d =
                s.r#async(async { Ok(delay(Duration::MAX).await.unwrap_err().is_cancellation()) });
            delay(ms(5)).await?;
            d.cancel();
            Ok(d.await.unwrap_err().is_cancellation())
        })
    }))
    .await;
    assert!(result.unwrap());
    assert_eq!(took, ms(5));
}

#[tokio::test(start_paused = true)]
async fn delay_max_under_a_timeout_times_out() {
    let (result, took) = timed(with_timeout(ms(7), delay(Duration::MAX))).await;
    assert!(result.unwrap_err().is_timeout());
    assert_eq!(took, ms(7));
}

#[tokio::test(start_paused = true)]
async fn timeout_max_never_fires() {
    let (result, took) = timed(with_timeout(Duration::MAX, async {
        delay(Duration::from_secs(3600)).await?;
        Ok::<_, Error>("done")
    }))
    .await;
    assert_eq!(result.unwrap(), "done");
    assert_eq!(took, Duration::from_secs(3600));

    let some = with_timeout_or_none(Duration::MAX, async { Ok::<_, Error>(1) }).await;
    assert_eq!(some.unwrap(), Some(1));
}

#[tokio::test(start_paused = true)]
async fn timeout_zero_times_out_at_once_without_running_the_work() {
    let ran = AtomicUsize::new(0);
    let (result, took) = timed(with_timeout(Duration::ZERO, async {
        ran.fetch_add(1, Ordering::SeqCst);
        Ok::<_, Error>(())
    }))
    .await;
    assert!(result.unwrap_err().is_timeout());
    assert_eq!(took, Duration::ZERO);
    let none = with_timeout_or_none(Duration::ZERO, async {
        ran.fetch_add(1, Ordering::SeqCst);
        Ok::<_, Error>(())
    })
    .await;
    assert_eq!(none.unwrap(), None);
    assert_eq!(ran.load(Ordering::SeqCst), 0);
}

#[tokio::test(start_paused = true)]
async fn sub_millisecond_timeout_rounds_up_to_tokios_millisecond() {
    let (result, took) = timed(with_timeout(Duration::from_nanos(1), delay(ms(10)))).await;
    assert!(result.unwrap_err().is_timeout());
    assert_eq!(took, ms(1));
    let (result, took) = timed(delay(Duration::from_nanos(1))).await;
    result.unwrap();
    assert_eq!(took, ms(1));
}

#[tokio::test(start_paused = true)]
async fn timeout_whose_work_finishes_at_the_deadline_instant() {
    // The work's timer was registered after the deadline's: the deadline
    // fires first, so the timeout wins (tokio fires same-instant timers in
    // registration order).
    let (result, took) = timed(with_timeout(ms(10), async {
        delay(ms(10)).await?;
        Ok::<_, Error>("finished")
    }))
    .await;
    assert!(result.unwrap_err().is_timeout());
    assert_eq!(took, ms(10));
}

// ------------------------------------------------------------------ jobs

#[tokio::test(start_paused = true)]
async fn cancel_after_completion_is_a_no_op() {
    let result = coroutine_scope(|s| {
        Box::pin(async move {
            let d = s.r#async(async { Ok(3) });
            let job = s.launch(async { Ok(()) });
            d.join().await?;
            job.join().await?;
            d.cancel();
            job.cancel();
            assert!(!d.is_cancelled() && d.is_completed());
            assert!(!job.is_cancelled() && job.is_completed());
            d.await
        })
    })
    .await;
    assert_eq!(result.unwrap(), 3);
}

#[tokio::test(start_paused = true)]
async fn join_twice_and_from_two_siblings() {
    let (result, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            let job = s.launch(async { delay(ms(10)).await });
            let (j1, j2) = (job.clone(), job.clone());
            let a = s.r#async(async move {
                j1.join().await?;
                Ok(Instant::now())
            });
            let b = s.r#async(async move {
                j2.join().await?;
                Ok(Instant::now())
            });
            job.join().await?;
            job.join().await?;
            Ok(a.await? == b.await?)
        })
    }))
    .await;
    assert!(result.unwrap());
    assert_eq!(took, ms(10));
}

#[tokio::test(start_paused = true)]
async fn join_of_a_failed_supervised_child_is_ok_and_await_gives_the_error() {
    let result = supervisor_scope(|s| {
        Box::pin(async move {
            let d = s.r#async(async { Err::<u8, _>(Error::msg("bad")) });
            d.join().await?;
            d.join().await?;
            Ok(d.await.unwrap_err().to_string())
        })
    })
    .await;
    assert_eq!(result.unwrap(), "bad");
}

#[tokio::test(start_paused = true)]
async fn await_after_the_scope_was_cancelled() {
    let log = scopes_workspace::Log::default();
    let log = &log;
    let result: Result<()> = coroutine_scope(|s| {
        Box::pin(async move {
            let done = s.r#async(async { Ok(1) });
            let slow = s.r#async(async { delay(Duration::from_secs(60)).await.map(|()| 2) });
            s.launch(async {
                delay(ms(5)).await?;
                Err(Error::msg("failure"))
            });
            done.join().await?;
            let _ = delay(Duration::from_secs(60)).await; // cancelled at 5 ms
            // Completed: its value, even in the cancelled body (R7).
            log.push(format!("done: {:?}", done.await.ok()));
            // Not completed: the caller's cancellation, at once.
            let slow = slow.await.unwrap_err();
            log.push(format!("slow: cancelled={}", slow.is_cancellation()));
            log.push(format!("ensure_active: {}", ensure_active().is_err()));
            Ok(())
        })
    })
    .await;
    assert_eq!(result.unwrap_err().to_string(), "failure");
    assert_eq!(
        log.take(),
        [
            "done: Some(1)",
            "slow: cancelled=true",
            "ensure_active: true"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn start_and_cancel_twice_and_start_of_a_started_job() {
    let ran = AtomicUsize::new(0);
    let ran = &ran;
    let result = coroutine_scope(|s| {
        Box::pin(async move {
            let lazy = s.child().start(Start::Lazy).launch(async move {
                ran.fetch_add(1, Ordering::SeqCst);
                Ok(())
            });
            lazy.start();
            lazy.start();
            let eager = s.launch(async { delay(ms(3)).await });
            eager.start(); // already started: nothing
            eager.cancel();
            eager.cancel();
            lazy.join().await?;
            eager.join().await?;
            Ok(eager.is_cancelled())
        })
    })
    .await;
    assert!(result.unwrap());
    assert_eq!(ran.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn cancelled_lazy_child_never_runs_and_joins_at_once() {
    let ran = AtomicUsize::new(0);
    let ran = &ran;
    let (result, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            let lazy = s.child().start(Start::Lazy).r#async(async move {
                ran.fetch_add(1, Ordering::SeqCst);
                Ok(1)
            });
            lazy.cancel();
            lazy.join().await?; // starts nothing: it is cancelled
            Ok(lazy.await.unwrap_err().is_cancellation())
        })
    }))
    .await;
    assert!(result.unwrap());
    assert_eq!(took, Duration::ZERO);
    assert_eq!(ran.load(Ordering::SeqCst), 0);
}

#[tokio::test(start_paused = true)]
async fn empty_scopes_return_at_once() {
    let (result, took) = timed(coroutine_scope(|_s| Box::pin(async { Ok(()) }))).await;
    result.unwrap();
    assert_eq!(took, Duration::ZERO);
    let err = supervisor_scope(|_s| Box::pin(async { Err::<(), _>(Error::msg("x")) }))
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "x");
    let cancelled = coroutine_scope(|_s| Box::pin(async { Err::<(), _>(Error::cancelled()) }))
        .await
        .unwrap_err();
    assert!(cancelled.is_cancellation());
}

// ------------------------------------------- handles used across scopes

#[tokio::test(start_paused = true)]
async fn a_grandchild_awaits_and_starts_an_uncle() {
    let (result, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            let uncle = s.r#async(async {
                delay(ms(10)).await?;
                Ok(5)
            });
            let lazy = s.child().start(Start::Lazy).r#async(async { Ok(1) });
            let (u, l) = (uncle.clone(), lazy.clone());
            let child = s.r#async(async move {
                coroutine_scope(|inner| {
                    Box::pin(async move {
                        let grandchild = inner.r#async(async move { Ok(u.await? + l.await?) });
                        grandchild.await
                    })
                })
                .await
            });
            Ok(child.await? + uncle.await? + lazy.await?)
        })
    }))
    .await;
    assert_eq!(result.unwrap(), 12);
    assert_eq!(took, ms(10));
}

#[tokio::test(start_paused = true)]
async fn a_grandchild_cancels_an_uncle() {
    let (result, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            let uncle = s.launch(async { delay(Duration::from_secs(3600)).await });
            let u = uncle.clone();
            s.launch(async move {
                coroutine_scope(|inner| {
                    Box::pin(async move {
                        inner.launch(async move {
                            delay(ms(3)).await?;
                            u.cancel();
                            Ok(())
                        });
                        Ok(())
                    })
                })
                .await
            });
            uncle.join().await?;
            Ok(uncle.is_cancelled())
        })
    }))
    .await;
    assert!(result.unwrap());
    assert_eq!(took, ms(3));
}

#[tokio::test(start_paused = true)]
async fn an_uncles_failure_awaited_by_a_grandchild_is_one_failure() {
    let (result, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            let uncle = s.r#async(async {
                delay(ms(5)).await?;
                Err::<u8, _>(Error::msg("uncle failed"))
            });
            s.launch(async move {
                coroutine_scope(|inner| {
                    Box::pin(async move {
                        inner.launch(async move { uncle.await.map(drop) });
                        Ok(())
                    })
                })
                .await
            });
            Ok(())
        })
    }))
    .await;
    let err = result.unwrap_err();
    assert_eq!(err.to_string(), "uncle failed");
    assert!(err.suppressed().is_empty(), "{err:?}");
    assert_eq!(took, ms(5));
}

#[tokio::test(start_paused = true)]
async fn a_supervised_uncles_failure_awaited_by_a_grandchild_is_not_reported() {
    let handled = std::sync::Arc::new(AtomicUsize::new(0));
    let seen = handled.clone();
    let result = scopes::with_exception_handler(
        move |_: &Error| {
            seen.fetch_add(1, Ordering::SeqCst);
        },
        supervisor_scope(|s| {
            Box::pin(async move {
                let uncle = s.r#async(async { Err::<u8, _>(Error::msg("uncle failed")) });
                let seen = s.r#async(async move {
                    supervisor_scope(|inner| {
                        Box::pin(async move {
                            let g = inner.r#async(async move { Ok(uncle.await.is_err()) });
                            g.await
                        })
                    })
                    .await
                });
                seen.await
            })
        }),
    )
    .await;
    assert!(result.unwrap());
    assert_eq!(handled.load(Ordering::SeqCst), 0);
}
