//! kotlinx WithTimeoutOrNullJvmTest, CoroutineScopeTest, AsyncTest,
//! SupervisorTest, NonCancellableTest, JobNestedExceptionsTest leftovers and
//! a JobChildStressTest analogue. Kotlin's `Thread.sleep` (blocking while a
//! deadline passes) is `block_for` on tokio's paused clock.

use super::common::*;
use scopes::prelude::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

/// Kotlin's `Thread.sleep` on tokio's paused clock: the clock moves on by
/// `d` while the code does not suspend. (`tokio::time::advance` moves the
/// clock at its first poll, then yields; only that first poll is made.)
fn block_for(d: Duration) {
    use futures_util::FutureExt;
    let _ = tokio::time::advance(d).now_or_never();
}

// WithTimeoutOrNullJvmTest.testIgnoredTimeout: the deadline passes while the
// work blocks, but the work completes without suspending: its value wins.
#[tokio::test(start_paused = true)]
async fn with_timeout_ignored_timeout() {
    let value = with_timeout(ms(1), async move {
        block_for(ms(10));
        Ok(42)
    })
    .await;
    assert_eq!(value.unwrap(), 42);
}

// WithTimeoutOrNullJvmTest.testIgnoredTimeoutOnNull
#[tokio::test(start_paused = true)]
async fn with_timeout_or_null_ignored_timeout_on_null() {
    let value = with_timeout_or_none(ms(1), async move {
        block_for(ms(10));
        Ok(42)
    })
    .await;
    assert_eq!(value.unwrap(), Some(42));
}

// WithTimeoutOrNullJvmTest.testIgnoredTimeoutOnNullThrowsOnYield
#[tokio::test(start_paused = true)]
async fn with_timeout_or_null_ignored_timeout_on_null_throws_on_yield() {
    let value = with_timeout_or_none(ms(1), async move {
        block_for(ms(75));
        yield_now().await
    })
    .await;
    assert_eq!(value.unwrap(), None);
}

// WithTimeoutOrNullJvmTest.testOuterTimeoutFiredBeforeInner
#[tokio::test(start_paused = true)]
async fn with_timeout_or_null_outer_timeout_fired_before_inner() {
    let result = with_timeout_or_none(ms(100), async move {
        block_for(ms(200));
        non_cancellable(yield_now()).await?;
        with_timeout_or_none(ms(100), async move {
            yield_now().await?;
            unreachable!("the outer timeout cancelled the work");
            #[allow(unreachable_code)]
            Ok(())
        })
        .await?;
        unreachable!("should not be reached, because it is the outer timeout");
        #[allow(unreachable_code)]
        Ok(())
    })
    .await;
    assert_eq!(result.unwrap(), None);
}

// CoroutineScopeTest.testExceptionFromWithin
#[tokio::test(start_paused = true)]
async fn scope_exception_from_within() {
    let log = Log::default();
    let log = &log;
    log.push(1);
    log.push(2);
    let r: scopes::Result<()> = coroutine_scope! {
        log.push(3);
        Err(fail("TestException1"))
    };
    assert_eq!(name_of(&r.unwrap_err()), Some("TestException1"));
    log.push(4);
    assert_eq!(log.take(), nums(4));
}

// CoroutineScopeTest.testDocumentationExample
#[tokio::test(start_paused = true)]
async fn scope_documentation_example() {
    let log = Log::default();
    let log = &log;
    let load_data = || async move {
        coroutine_scope! {
            log.push(1);
            let data = async {
                let r = delay(FOREVER).await;
                log.push(3);
                r?;
                Ok(1u32)
            };
            yield_now().await?;
            // UI updater
            log.push(2);
            Err::<u32, _>(fail("TestException1"))?;
            data.await
        }
    };
    let r = load_data().await;
    assert_eq!(name_of(&r.unwrap_err()), Some("TestException1"));
    log.push(4);
    assert_eq!(log.take(), nums(4));
}

// CoroutineScopeTest.testIsActive
#[tokio::test(start_paused = true)]
async fn scope_is_active() {
    let r: scopes::Result<()> = coroutine_scope! {
        assert!(is_active());
        launch { assert!(is_active()); };
        Ok(())
    };
    r.unwrap();
}

// AsyncTest.testSimpleException
#[tokio::test(start_paused = true)]
async fn async_simple_exception() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        log.push(1);
        let d = async { log.push(3); Err::<(), _>(fail("TestException")) };
        log.push(2);
        d.await
    };
    assert_eq!(name_of(&r.unwrap_err()), Some("TestException"));
    assert_eq!(log.take(), nums(3));
}

// AsyncTest.testDeferBadClass
#[tokio::test(start_paused = true)]
async fn async_defer_bad_class() {
    struct BadClass(u8);
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<BadClass> = coroutine_scope! {
        let d = async { log.push(1); Ok(BadClass(9)) };
        let v = d.await?;
        log.push(2);
        Ok(v)
    };
    assert!(matches!(r, Ok(BadClass(9))));
    assert_eq!(log.take(), nums(2));
}

// AsyncTest.testCancellationTransparency (ATOMIC: a yield lets it run; its
// failure wins over the cancel that comes after it)
#[tokio::test(start_paused = true)]
async fn async_cancellation_transparency() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = supervisor_scope! {
        let deferred = async { log.push(2); Err::<(), _>(fail("TestException")) };
        log.push(1);
        yield_now().await?;
        deferred.cancel();
        let e = deferred.await.unwrap_err();
        assert_eq!(name_of(&e), Some("TestException"), "{e:?}");
        log.push(3);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), nums(3));
}

// AsyncTest.testParallelDecompositionUncaughtException
#[tokio::test(start_paused = true)]
async fn async_parallel_decomposition_uncaught_exception() {
    let r: scopes::Result<u32> = supervisor_scope! {
        let deferred = async {
            let decomposed = async { Err::<u32, _>(fail("TestException")) };
            decomposed.await
        };
        deferred.await
    };
    assert_eq!(name_of(&r.unwrap_err()), Some("TestException"));
}

// SupervisorTest.testAsyncCancellation: the supervisor job is failed from
// outside (its body fails, R5): the async child is cancelled and its
// Deferred gives a cancellation.
#[tokio::test(start_paused = true)]
async fn supervisor_async_cancellation() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        let parent = launch {
            supervisor_scope! {
                let deferred = async { log.push(2); delay(FOREVER).await?; Ok(()) };
                let d2 = deferred.clone();
                launch {
                    let e = d2.await.unwrap_err();
                    assert!(e.is_cancellation(), "{e:?}");
                    log.push(4);
                };
                log.push(1);
                yield_now().await?;
                log.push(3);
                Err::<(), _>(fail("TestException1"))
            }?;
        };
        let _ = parent.join().await;
        Ok(())
    };
    assert_eq!(name_of(&r.unwrap_err()), Some("TestException1"));
    assert_eq!(log.take(), nums(4));
}

// NonCancellableTest.testNonCancellableWithException
#[tokio::test(start_paused = true)]
async fn non_cancellable_with_exception() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = supervisor_scope! {
        log.push(1);
        let deferred = async {
            non_cancellable {
                log.push(2);
                yield_now().await?;
                log.push(4);
            }?;
            log.push(5);
            yield_now().await?;
            unreachable!();
            #[allow(unreachable_code)]
            Ok(())
        };
        yield_now().await?;
        deferred.cancel();
        log.push(3);
        assert!(deferred.is_cancelled());
        let e = deferred.await.unwrap_err();
        assert!(e.is_cancellation());
        log.push(6);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), nums(6));
}

// JobNestedExceptionsTest.testExceptionUnwrappingWithSuspensions
#[tokio::test(start_paused = true)]
async fn nested_exception_unwrapping_with_suspensions() {
    let log = Log::default();
    let log = &log;
    let (got, h) = recorder();
    let r: scopes::Result<()> = with_exception_handler(h, async {
        supervisor_scope! {
            let job = launch {
                log.push(2);
                launch {
                    launch {
                        launch {
                            launch { Err::<(), _>(fail("IOException")) };
                            yield_now().await?;
                        };
                        delay(FOREVER).await?;
                    };
                    delay(FOREVER).await?;
                };
                delay(FOREVER).await?;
            };
            log.push(1);
            job.join().await?;
            log.push(3);
            Ok(())
        }
    })
    .await;
    r.unwrap();
    assert_eq!(log.take(), nums(3));
    let got = got.lock().unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(name_of(&got[0]), Some("IOException"), "{:?}", got[0]);
    assert!(got[0].suppressed().is_empty(), "{:?}", got[0]);
}

// JobChildStressTest.testChildAttachmentRacingWithCancellation: a parallel
// child starts a child of its own while its parent cancels it from another
// thread. Whatever the interleaving, the grandchild's failure is reported
// exactly when the grandchild ran, and never lost or doubled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child_attachment_racing_with_cancellation() {
    for i in 0..2000usize {
        let launched = Arc::new(AtomicBool::new(false));
        let (got, h) = recorder();
        let l2 = launched.clone();
        let r: scopes::Result<()> = with_exception_handler(h, async move {
            supervisor_scope! {
                let go = Arc::new(AtomicUsize::new(0));
                let g2 = go.clone();
                let parent = launch(parallel) {
                    g2.fetch_add(1, Ordering::SeqCst);
                    while g2.load(Ordering::SeqCst) < 2 { std::hint::spin_loop(); }
                    for _ in 0..(i % 7) { std::hint::spin_loop(); }
                    let l3 = l2.clone();
                    launch {
                        l3.store(true, Ordering::SeqCst);
                        Err::<(), _>(fail("TestException"))
                    };
                };
                // wait until the parallel child runs, then race with it
                while go.load(Ordering::SeqCst) < 1 { tokio::task::yield_now().await; }
                go.fetch_add(1, Ordering::SeqCst);
                for _ in 0..(i % 5) { std::hint::spin_loop(); }
                parent.cancel();
                parent.join().await?;
                assert!(parent.is_cancelled());
                Ok(())
            }
        })
        .await;
        r.unwrap();
        let got: Vec<_> = got.lock().unwrap().iter().map(name_of).collect();
        if launched.load(Ordering::SeqCst) {
            assert_eq!(got, [Some("TestException")], "iteration {i}");
        } else {
            assert!(got.is_empty(), "iteration {i}: {got:?}");
        }
    }
    let _ = Duration::ZERO;
}
