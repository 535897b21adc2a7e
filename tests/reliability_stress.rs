//! Stress: a million children in one scope, a hundred thousand cancelled
//! by one failure, and deep nesting of scopes.
//!
//! Nesting depth is bounded by the thread's stack, as for any nested Rust
//! future: polling a scope nested N deep runs N nested `poll` calls (the
//! driver's poll, its body's poll, the body's nested scope's poll, ...).
//! Measured per level of nesting: 3216 bytes of stack in a debug build,
//! 1136 in release (rustc 1.95, x86_64), so a default 2 MiB thread holds
//! about 650 levels in debug and 1800 in release; 10,000 levels need about
//! 31 MiB (debug) or 11 MiB (release) of stack.
//!
//! `SCOPES_STRESS_CHILDREN=N` changes the number of children of the first
//! test (default 1,000,000: about 2.5 s in a debug build, 0.4 s in release).

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::Poll;
use std::time::Duration;

use scopes::{BoxFuture, Error, Result, coroutine_scope, delay, with_timeout, yield_now};
use tokio::time::Instant;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn children() -> u64 {
    std::env::var("SCOPES_STRESS_CHILDREN")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000)
}

#[tokio::test]
async fn a_million_children_in_one_scope() {
    let n = children();
    let sum = AtomicU64::new(0);
    let sum_ref = &sum;
    coroutine_scope(|s| {
        Box::pin(async move {
            for i in 0..n {
                s.launch(async move {
                    yield_now().await?;
                    sum_ref.fetch_add(i, Ordering::Relaxed);
                    Ok(())
                });
            }
            Ok(())
        })
    })
    .await
    .unwrap();
    assert_eq!(sum.load(Ordering::Relaxed), n * (n - 1) / 2);
}

#[tokio::test(start_paused = true)]
async fn a_hundred_thousand_sleeping_children_cancelled_by_one_failure() {
    let cancelled = AtomicUsize::new(0);
    let cancelled_ref = &cancelled;
    let start = Instant::now();
    let result: Result<()> = coroutine_scope(|s| {
        Box::pin(async move {
            for _ in 0..100_000 {
                s.launch(async move {
                    let slept = delay(Duration::from_secs(3600)).await;
                    if slept.is_err() {
                        cancelled_ref.fetch_add(1, Ordering::Relaxed);
                    }
                    slept
                });
            }
            s.launch(async {
                delay(ms(1)).await?;
                Err(Error::msg("one failure"))
            });
            Ok(())
        })
    })
    .await;
    let err = result.unwrap_err();
    assert_eq!(err.to_string(), "one failure");
    assert!(err.suppressed().is_empty());
    assert_eq!(start.elapsed(), ms(1));
    assert_eq!(cancelled.load(Ordering::Relaxed), 100_000);
}

/// A chain of `depth` nested scopes; the innermost body runs `leaf`.
fn nest(
    depth: usize,
    leaf: fn() -> BoxFuture<'static, Result<usize>>,
) -> BoxFuture<'static, Result<usize>> {
    Box::pin(coroutine_scope(move |_s| {
        Box::pin(async move {
            if depth == 0 {
                leaf().await
            } else {
                Ok(nest(depth - 1, leaf).await? + 1)
            }
        })
    }))
}

/// Runs `depth`-deep nesting three ways on a thread with `stack` bytes of
/// stack and a paused clock: success, a failure at the bottom that unwinds
/// every level, and a timeout at the top that cancels every level.
fn nesting(depth: usize, stack: usize) {
    std::thread::Builder::new()
        .stack_size(stack)
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .start_paused(true)
                .build()
                .unwrap();
            runtime.block_on(async {
                let ok = nest(depth, || Box::pin(async { Ok(0) })).await;
                assert_eq!(ok.unwrap(), depth);

                let failed = nest(depth, || {
                    Box::pin(async {
                        delay(ms(1)).await?;
                        Err(Error::msg("bottom failed"))
                    })
                })
                .await;
                assert_eq!(failed.unwrap_err().to_string(), "bottom failed");

                let start = Instant::now();
                let timed_out = with_timeout(
                    ms(5),
                    nest(depth, || {
                        Box::pin(async { delay(Duration::from_secs(3600)).await.map(|()| 0) })
                    }),
                )
                .await;
                assert!(timed_out.unwrap_err().is_timeout());
                assert_eq!(start.elapsed(), ms(5));
            });
        })
        .unwrap()
        .join()
        .unwrap();
}

/// Stack bytes per level of nesting, an upper bound with some margin over
/// what was measured (see the file's docs).
const STACK_PER_LEVEL: usize = if cfg!(debug_assertions) { 4096 } else { 1536 };

#[test]
fn nesting_400_deep_fits_a_default_2_mib_thread() {
    const { assert!(400 * STACK_PER_LEVEL < 2 << 20) };
    nesting(400, 2 << 20);
}

#[test]
fn nesting_10_000_deep_with_the_stack_it_needs() {
    nesting(10_000, 10_000 * STACK_PER_LEVEL + (1 << 20));
}

#[test]
fn nesting_costs_a_bounded_amount_of_stack_per_level() {
    static SEEN: Mutex<Vec<usize>> = Mutex::new(Vec::new());
    fn record() -> BoxFuture<'static, Result<usize>> {
        Box::pin(async {
            std::future::poll_fn(|_| {
                let marker = 0u8;
                let at = std::hint::black_box(&marker) as *const u8 as usize;
                SEEN.lock().unwrap().push(at);
                Poll::Ready(())
            })
            .await;
            Ok(0)
        })
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    // The leaf records where the stack is when polled at depth 10 and 110.
    runtime.block_on(nest(10, record)).unwrap();
    runtime.block_on(nest(110, record)).unwrap();
    let seen = SEEN.lock().unwrap();
    let per_level = (seen[0] - seen[1]) / 100;
    assert!(
        per_level <= STACK_PER_LEVEL,
        "{per_level} bytes of stack per level of nesting"
    );
}
