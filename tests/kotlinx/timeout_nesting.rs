//! R9 nesting (kotlinx WithTimeoutOrNullTest.testOuterTimeout /
//! testNestedTimeout shapes).

use super::common::*;
use scopes::prelude::*;

// Outer or_none deadline first: the inner with_timeout is cancelled (not
// timed out); the outer gives None.
#[tokio::test(start_paused = true)]
async fn outer_or_none_deadline_inside_inner_with_timeout() {
    let start = tokio::time::Instant::now();
    let r: scopes::Result<Option<()>> = coroutine_scope! {
        with_timeout_or_none(ms(10)) {
            let inner: scopes::Result<()> = with_timeout(ms(100)) { delay(FOREVER).await?; Ok(()) };
            let e = inner.unwrap_err();
            assert!(e.is_cancellation() && !e.is_timeout(), "{e:?}");
            Err(e)
        }
    };
    assert_eq!(r.unwrap(), None);
    assert_eq!(start.elapsed(), ms(10));
}

// Outer with_timeout deadline first, inside an inner or_none: the outer's
// timeout, not None.
#[tokio::test(start_paused = true)]
async fn outer_with_timeout_inside_inner_or_none() {
    let start = tokio::time::Instant::now();
    let r: scopes::Result<Option<()>> = coroutine_scope! {
        with_timeout(ms(10)) {
            let inner: Option<()> = with_timeout_or_none(ms(100)) { delay(FOREVER).await?; Ok(()) }?;
            Ok(inner)
        }
    };
    assert!(r.unwrap_err().is_timeout());
    assert_eq!(start.elapsed(), ms(10));
}

// testNestedTimeout: inner with_timeout expires inside an outer or_none:
// the failure propagates (R9).
#[tokio::test(start_paused = true)]
async fn nested_timeout_propagates_through_or_none() {
    let r: scopes::Result<Option<u32>> = coroutine_scope! {
        with_timeout_or_none(std::time::Duration::MAX) {
            with_timeout(ms(10)) { delay(FOREVER).await?; Ok(1u32) }
        }
    };
    assert!(r.unwrap_err().is_timeout());
}

// An inner or_none expiring inside an outer with_timeout: None, the outer
// goes on.
#[tokio::test(start_paused = true)]
async fn inner_or_none_inside_outer_with_timeout() {
    let start = tokio::time::Instant::now();
    let r: scopes::Result<u32> = coroutine_scope! {
        with_timeout(ms(100)) {
            let inner: Option<()> = with_timeout_or_none(ms(10)) { delay(FOREVER).await?; Ok(()) }?;
            assert!(inner.is_none());
            delay(ms(5)).await?;
            Ok(7u32)
        }
    };
    assert_eq!(r.unwrap(), 7);
    assert_eq!(start.elapsed(), ms(15));
}
