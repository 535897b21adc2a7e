//! kotlinx WithTimeoutDurationTest and WithTimeoutOrNullDurationTest (R9,
//! R12, R14). Kotlin's `Duration.INFINITE` is `Duration::MAX`; a negative
//! duration is `Duration::ZERO`. A timeout is a failure (R9), so Kotlin's
//! "expected CancellationException" cases assert `is_timeout()`.

use super::common::*;
use scopes::prelude::*;
use std::time::Duration;
use tokio::time::Instant;

// WithTimeoutDurationTest.testBasicNoSuspend
#[tokio::test(start_paused = true)]
async fn with_timeout_duration_basic_no_suspend() {
    let log = Log::default();
    let log = &log;
    log.push(1);
    let r: scopes::Result<&str> = coroutine_scope! {
        with_timeout(Duration::from_secs(10)) { log.push(2); Ok("OK") }
    };
    assert_eq!(r.unwrap(), "OK");
    log.push(3);
    assert_eq!(log.take(), nums(3));
}

// WithTimeoutDurationTest.testBasicSuspend
#[tokio::test(start_paused = true)]
async fn with_timeout_duration_basic_suspend() {
    let log = Log::default();
    let log = &log;
    log.push(1);
    let r: scopes::Result<&str> = coroutine_scope! {
        with_timeout(Duration::from_secs(10)) {
            log.push(2);
            yield_now().await?;
            log.push(3);
            Ok("OK")
        }
    };
    assert_eq!(r.unwrap(), "OK");
    log.push(4);
    assert_eq!(log.take(), nums(4));
}

// WithTimeoutDurationTest.testDispatch
#[tokio::test(start_paused = true)]
async fn with_timeout_duration_dispatch() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        log.push(1);
        launch { log.push(4); yield_now().await?; log.push(7); };
        log.push(2);
        let result = with_timeout(Duration::from_secs(1)) {
            log.push(3);
            yield_now().await?;
            log.push(5);
            Ok("OK")
        }?;
        assert_eq!(result, "OK");
        log.push(6);
        yield_now().await?;
        log.push(8);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), nums(8));
}

// WithTimeoutOrNullDurationTest.testDispatch
#[tokio::test(start_paused = true)]
async fn with_timeout_or_null_duration_dispatch() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        log.push(1);
        launch { log.push(4); yield_now().await?; log.push(7); };
        log.push(2);
        let result = with_timeout_or_none(Duration::from_secs(1)) {
            log.push(3);
            yield_now().await?;
            log.push(5);
            Ok("OK")
        }?;
        assert_eq!(result, Some("OK"));
        log.push(6);
        yield_now().await?;
        log.push(8);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), nums(8));
}

// WithTimeoutDurationTest.testWithTimeoutChildWait
#[tokio::test(start_paused = true)]
async fn with_timeout_duration_child_wait() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        log.push(1);
        with_timeout(ms(100)) {
            log.push(2);
            launch { log.push(4); };
            log.push(3);
        }?;
        log.push(5);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), nums(5));
}

// WithTimeoutDurationTest.testBadClass / WithTimeoutOrNullDurationTest.testBadClass
#[tokio::test(start_paused = true)]
async fn with_timeout_duration_bad_class() {
    struct BadClass(u8); // neither PartialEq nor Debug
    let r = with_timeout(ms(100), async move { Ok(BadClass(1)) }).await;
    assert!(matches!(r, Ok(BadClass(1))));
    let r = with_timeout_or_none(ms(100), async move { Ok(BadClass(2)) }).await;
    assert!(matches!(r, Ok(Some(BadClass(2)))));
}

// WithTimeoutDurationTest.testExceptionOnTimeout
#[tokio::test(start_paused = true)]
async fn with_timeout_duration_exception_on_timeout() {
    let log = Log::default();
    let log = &log;
    let start = Instant::now();
    log.push(1);
    let r: scopes::Result<&str> = coroutine_scope! {
        let r = with_timeout(ms(100)) {
            log.push(2);
            delay(ms(1000)).await?;
            unreachable!();
            #[allow(unreachable_code)]
            Ok("OK")
        };
        let e = r.unwrap_err();
        assert!(e.is_timeout(), "{e:?}");
        log.push(3);
        Ok("caught")
    };
    assert_eq!(r.unwrap(), "caught");
    assert_eq!(start.elapsed(), ms(100));
    assert_eq!(log.take(), nums(3));
}

// WithTimeoutDurationTest.testSuppressExceptionWithResult: the timeout wins
// over the value the work returns after catching its cancellation.
#[tokio::test(start_paused = true)]
async fn with_timeout_duration_suppress_exception_with_result() {
    let log = Log::default();
    let log = &log;
    log.push(1);
    let r = with_timeout(ms(100), async move {
        log.push(2);
        if delay(ms(1000)).await.is_err() {
            log.push(3);
        }
        Ok("OK")
    })
    .await;
    assert!(r.unwrap_err().is_timeout());
    assert_eq!(log.take(), nums(3));
}

// WithTimeoutDurationTest.testSuppressExceptionWithAnotherException
#[tokio::test(start_paused = true)]
async fn with_timeout_duration_suppress_exception_with_another_exception() {
    let log = Log::default();
    let log = &log;
    log.push(1);
    let r: scopes::Result<()> = with_timeout(ms(100), async move {
        log.push(2);
        if delay(ms(1000)).await.is_err() {
            log.push(3);
            return Err(fail("TestException"));
        }
        unreachable!()
    })
    .await;
    let e: scopes::Error = r.unwrap_err();
    assert_eq!(name_of(&e), Some("TestException"), "{e:?}");
    log.push(4);
    assert_eq!(log.take(), nums(4));
}

// WithTimeoutOrNullDurationTest.testSuppressExceptionWithAnotherException
#[tokio::test(start_paused = true)]
async fn with_timeout_or_null_duration_suppress_exception_with_another_exception() {
    let log = Log::default();
    let log = &log;
    log.push(1);
    let r = with_timeout_or_none(ms(100), async move {
        log.push(2);
        if delay(ms(1000)).await.is_err() {
            log.push(3);
            return Err(fail("TestException"));
        }
        unreachable!()
    })
    .await;
    let e: scopes::Error = r.map(|_: Option<()>| ()).unwrap_err();
    assert_eq!(name_of(&e), Some("TestException"), "{e:?}");
    log.push(4);
    assert_eq!(log.take(), nums(4));
}

// WithTimeoutOrNullDurationTest.testSuppressExceptionWithResult
#[tokio::test(start_paused = true)]
async fn with_timeout_or_null_duration_suppress_exception_with_result() {
    let log = Log::default();
    let log = &log;
    log.push(1);
    let r = with_timeout_or_none(ms(100), async move {
        log.push(2);
        if delay(ms(1000)).await.is_err() {
            log.push(3);
        }
        Ok("OK")
    })
    .await;
    assert_eq!(r.unwrap(), None);
    log.push(4);
    assert_eq!(log.take(), nums(4));
}

// WithTimeoutDurationTest.testNegativeTimeout (zero: times out at once
// without running the work, R9)
#[tokio::test(start_paused = true)]
async fn with_timeout_duration_negative_timeout() {
    let r = with_timeout(Duration::ZERO, async move {
        unreachable!();
        #[allow(unreachable_code)]
        Ok("OK")
    })
    .await;
    assert!(r.unwrap_err().is_timeout());
}

// WithTimeoutOrNullDurationTest.testNegativeTimeout
#[tokio::test(start_paused = true)]
async fn with_timeout_or_null_duration_negative_timeout() {
    let r = with_timeout_or_none(Duration::ZERO, async move {
        unreachable!();
        #[allow(unreachable_code)]
        Ok(())
    })
    .await;
    assert_eq!(r.unwrap(), None);
}

// WithTimeoutDurationTest.testExceptionFromWithinTimeout
#[tokio::test(start_paused = true)]
async fn with_timeout_duration_exception_from_within_timeout() {
    let log = Log::default();
    let log = &log;
    log.push(1);
    log.push(2);
    let r = with_timeout(Duration::from_secs(1), async move {
        log.push(3);
        Err::<(), _>(fail("TestException"))
    })
    .await;
    assert_eq!(name_of(&r.unwrap_err()), Some("TestException"));
    log.push(4);
    assert_eq!(log.take(), nums(4));
}

// WithTimeoutOrNullDurationTest.testExceptionFromWithinTimeout
#[tokio::test(start_paused = true)]
async fn with_timeout_or_null_duration_exception_from_within_timeout() {
    let r = with_timeout_or_none(Duration::from_secs(1), async move {
        Err::<(), _>(fail("TestException"))
    })
    .await;
    assert_eq!(name_of(&r.unwrap_err()), Some("TestException"));
}

// WithTimeoutOrNullDurationTest.testThrowException (Duration.INFINITE)
#[tokio::test(start_paused = true)]
async fn with_timeout_or_null_duration_throw_exception() {
    let r = with_timeout_or_none(Duration::MAX, async move {
        Err::<(), _>(fail("AssertionError"))
    })
    .await;
    assert_eq!(name_of(&r.unwrap_err()), Some("AssertionError"));
}

// WithTimeoutOrNullDurationTest.testNestedTimeout: the inner withTimeout's
// timeout is not turned into None by the outer (infinite) withTimeoutOrNull.
#[tokio::test(start_paused = true)]
async fn with_timeout_or_null_duration_nested_timeout() {
    let start = Instant::now();
    let r = with_timeout_or_none(Duration::MAX, async move {
        with_timeout(ms(10), async move {
            delay(Duration::MAX).await?;
            Ok(1)
        })
        .await
    })
    .await;
    assert!(r.unwrap_err().is_timeout());
    assert_eq!(start.elapsed(), ms(10));
}

// WithTimeoutOrNullDurationTest.testInnerTimeout (a delay loop stands in
// for the yield loop, so that the paused clock advances)
#[tokio::test(start_paused = true)]
async fn with_timeout_or_null_duration_inner_timeout() {
    let start = Instant::now();
    let r = with_timeout_or_none(ms(1000), async move {
        with_timeout(ms(10), async move {
            loop {
                delay(ms(1)).await?;
            }
        })
        .await
    })
    .await;
    let e: scopes::Error = r.map(|_: Option<()>| ()).unwrap_err();
    assert!(e.is_timeout());
    assert_eq!(start.elapsed(), ms(10));
}

// WithTimeoutOrNullDurationTest.testOuterTimeout (delay loops: exactly two
// inner timeouts fit in the outer one)
#[tokio::test(start_paused = true)]
async fn with_timeout_or_null_duration_outer_timeout() {
    let start = Instant::now();
    let counter = std::sync::atomic::AtomicU32::new(0);
    let counter = &counter;
    let result = with_timeout_or_none(ms(320), async move {
        loop {
            let inner: Option<()> = with_timeout_or_none(ms(150), async move {
                loop {
                    delay(ms(1)).await?;
                }
            })
            .await?;
            assert!(inner.is_none());
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    })
    .await;
    let none: Option<()> = result.unwrap();
    assert!(none.is_none());
    assert_eq!(counter.load(std::sync::atomic::Ordering::SeqCst), 2);
    assert_eq!(start.elapsed(), ms(320));
}

// WithTimeoutOrNullDurationTest.testSmallTimeout
#[tokio::test(start_paused = true)]
async fn with_timeout_or_null_duration_small_timeout() {
    let (tx, rx) = channel::<u32>(1);
    let start = Instant::now();
    let value = with_timeout_or_none(ms(1), async { rx.recv().await }).await;
    assert_eq!(value.unwrap(), None);
    assert_eq!(start.elapsed(), ms(1));
    drop(tx);
}

// WithTimeoutOrNullDurationTest.testNullOnTimeout
#[tokio::test(start_paused = true)]
async fn with_timeout_or_null_duration_null_on_timeout() {
    let log = Log::default();
    let log = &log;
    let start = Instant::now();
    log.push(1);
    let result = with_timeout_or_none(ms(100), async move {
        log.push(2);
        delay(ms(1000)).await?;
        unreachable!();
        #[allow(unreachable_code)]
        Ok("OK")
    })
    .await;
    assert_eq!(result.unwrap(), None);
    log.push(3);
    assert_eq!(log.take(), nums(3));
    assert_eq!(start.elapsed(), ms(100));
}

// Duration.INFINITE: with_timeout(Duration::MAX) never times out and does
// not overflow the clock (Kotlin's withTimeout(Duration.INFINITE), as in
// WithTimeoutDurationTest.testIncompleteWithTimeoutState).
#[tokio::test(start_paused = true)]
async fn with_timeout_duration_infinite() {
    let start = Instant::now();
    let r = with_timeout(Duration::MAX, async move {
        delay(ms(5)).await?;
        Ok(7)
    })
    .await;
    assert_eq!(r.unwrap(), 7);
    let r = with_timeout_or_none(Duration::MAX, async move {
        delay(ms(5)).await?;
        Ok(8)
    })
    .await;
    assert_eq!(r.unwrap(), Some(8));
    assert_eq!(start.elapsed(), ms(10));
}
