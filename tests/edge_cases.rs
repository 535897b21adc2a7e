//! Edge cases a Kotlin user would try, beyond the one-rule tests of
//! `rules.rs`: panics everywhere, nested scopes of both kinds, teardown.

use std::time::Duration;

use scopes::{
    Error, Result, coroutine_scope, delay, supervisor_scope, with_exception_handler, yield_now,
};
use scopes_workspace::Log;
use tokio::time::Instant;

#[tokio::test(start_paused = true)]
async fn child_panic_is_a_failure_and_resumes_with_its_payload() {
    let result: Result<()> = coroutine_scope(|s| {
        Box::pin(async move {
            s.child().name("panicky").launch(async {
                yield_now().await?;
                std::panic::panic_any(42_u32);
            });
            Ok(())
        })
    })
    .await;
    let err = result.unwrap_err();
    assert!(err.is_panic());
    assert_eq!(err.child_name().as_deref(), Some("panicky"));
    let payload = std::panic::catch_unwind(move || err.resume_panic()).unwrap_err();
    assert_eq!(payload.downcast_ref::<u32>(), Some(&42));
}

#[tokio::test(start_paused = true)]
async fn supervisor_inside_coroutine_scope_contains_failures() {
    let handled = Log::default();
    let h = handled.clone();
    let result = with_exception_handler(
        move |e: &Error| h.push(e.to_string()),
        coroutine_scope(|s| {
            Box::pin(async move {
                let inner = s.r#async(supervisor_scope(|sup| {
                    Box::pin(async move {
                        sup.launch(async { Err(Error::msg("contained")) });
                        Ok("supervisor done")
                    })
                }));
                inner.await
            })
        }),
    )
    .await;
    assert_eq!(result.unwrap(), "supervisor done");
    assert_eq!(handled.take(), ["contained"]);
}

#[tokio::test(start_paused = true)]
async fn coroutine_scope_inside_supervisor_fails_only_its_child() {
    let handled = Log::default();
    let h = handled.clone();
    let start = Instant::now();
    let result = with_exception_handler(
        move |e: &Error| h.push(format!("{e} from {}", e.child_name().unwrap_or_default())),
        supervisor_scope(|s| {
            Box::pin(async move {
                s.child().name("group").launch(coroutine_scope(|inner| {
                    Box::pin(async move {
                        inner.child().name("leaf").launch(async {
                            delay(Duration::from_millis(5)).await?;
                            Err(Error::msg("leaf failed"))
                        });
                        delay(Duration::from_secs(60)).await
                    })
                }));
                let survivor = s.r#async(async {
                    delay(Duration::from_millis(50)).await?;
                    Ok("survived")
                });
                survivor.await
            })
        }),
    )
    .await;
    assert_eq!(result.unwrap(), "survived");
    assert_eq!(start.elapsed(), Duration::from_millis(50));
    // The innermost origin is kept.
    assert_eq!(handled.take(), ["leaf failed from leaf"]);
}

#[tokio::test(start_paused = true)]
async fn panic_in_drop_during_cancellation_is_suppressed_not_fatal() {
    struct PanicOnDrop;
    impl Drop for PanicOnDrop {
        fn drop(&mut self) {
            if !std::thread::panicking() {
                panic!("drop panicked");
            }
        }
    }
    let result: Result<()> = coroutine_scope(|s| {
        Box::pin(async move {
            s.launch(async {
                let _bomb = PanicOnDrop;
                let _ = delay(Duration::from_secs(60)).await;
                std::future::pending::<()>().await; // dropped here
                Ok(())
            });
            s.launch(async {
                delay(Duration::from_millis(1)).await?;
                Err(Error::msg("first"))
            });
            Ok(())
        })
    })
    .await;
    let err = result.unwrap_err();
    assert_eq!(err.to_string(), "first");
    let suppressed: Vec<String> = err.suppressed().iter().map(ToString::to_string).collect();
    assert_eq!(suppressed, ["panicked: drop panicked"]);
}

#[tokio::test(start_paused = true)]
async fn join_twice_and_await_after_cancel() {
    let result = coroutine_scope(|s| {
        Box::pin(async move {
            let job = s.launch(async { delay(Duration::from_millis(3)).await });
            job.join().await?;
            job.join().await?;
            let d = s.r#async(async { delay(Duration::from_secs(1)).await.map(|()| 1) });
            d.cancel();
            d.cancel();
            Ok(d.await.unwrap_err().is_cancellation())
        })
    })
    .await;
    assert!(result.unwrap());
}

/// A fan-in: many children await clones of one `Deferred`. Each gets the
/// value when it completes, at the exact virtual time, and is polled twice
/// (its first run, and once the value is there), however many wait.
#[tokio::test(start_paused = true)]
async fn a_deferred_awaited_by_many_children_gives_each_its_value_once_ready() {
    use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

    const WAITING: u64 = 5_000;
    let start = Instant::now();
    let (sum, polls) = (AtomicU64::new(0), AtomicU64::new(0));
    let (sum, polls) = (&sum, &polls);
    coroutine_scope(|s| {
        Box::pin(async move {
            let shared = s.r#async(async {
                delay(Duration::from_millis(10)).await?;
                Ok(3u64)
            });
            for _ in 0..WAITING {
                let shared = shared.clone();
                s.launch(async move {
                    let mut shared = std::pin::pin!(shared);
                    let value = std::future::poll_fn(|cx| {
                        polls.fetch_add(1, Relaxed);
                        shared.as_mut().poll(cx)
                    })
                    .await?;
                    assert_eq!(Instant::now() - start, Duration::from_millis(10));
                    sum.fetch_add(value, Relaxed);
                    Ok(())
                });
            }
            Ok(())
        })
    })
    .await
    .unwrap();
    assert_eq!(sum.load(Relaxed), 3 * WAITING);
    assert_eq!(polls.load(Relaxed), 2 * WAITING);
}

#[tokio::test(start_paused = true)]
async fn deeply_nested_scopes_unwind_cancellation() {
    fn nest<'a>(depth: usize, log: &'a Log) -> scopes::BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            if depth == 0 {
                if delay(Duration::from_secs(60)).await.is_err() {
                    log.push("leaf cancelled");
                }
                return Ok(());
            }
            coroutine_scope(|s| {
                Box::pin(async move {
                    s.launch(nest(depth - 1, log));
                    Ok(())
                })
            })
            .await
        })
    }
    let log = Log::default();
    let log = &log;
    let result: Result<()> = coroutine_scope(|s| {
        Box::pin(async move {
            s.launch(nest(50, log));
            delay(Duration::from_millis(1)).await?;
            Err(Error::msg("stop"))
        })
    })
    .await;
    assert_eq!(result.unwrap_err().to_string(), "stop");
    assert_eq!(log.take(), ["leaf cancelled"]);
}
