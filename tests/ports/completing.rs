//! A scope cancelled while it is completing (its body returned, children
//! still running): Kotlin's ScopeCoroutine then completes with the
//! cancellation, not the body's value (JobSupport.finalizeFinishingState
//! takes the root cause over the proposed value).

use super::common::*;
use scopes::prelude::*;
use tokio::time::Instant;

// CoroutineScopeTest.testOuterJobIsCancelled, with a body that already
// returned its value when the cancel comes.
#[tokio::test(start_paused = true)]
async fn scope_cancelled_while_completing_returns_cancellation() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        let job = launch {
            let r: scopes::Result<u32> = coroutine_scope! {
                launch { let r = delay(FOREVER).await; log.push("child cleanup"); r? };
                Ok(42)
            };
            log.push(format!("scope gave {:?}", r.as_ref().map_err(|e| e.is_cancellation())));
            r?;
        };
        yield_now().await?;
        yield_now().await?;
        job.cancel_and_join().await?;
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), ["child cleanup", "scope gave Err(true)"]);
}

// CoroutineScopeTest.testOuterJobIsCancelled on supervisorScope (SupervisorTest), same
#[tokio::test(start_paused = true)]
async fn supervisor_scope_cancelled_while_completing_returns_cancellation() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        let job = launch {
            let r: scopes::Result<u32> = supervisor_scope! {
                launch { let r = delay(FOREVER).await; log.push("child cleanup"); r? };
                Ok(42)
            };
            log.push(format!("scope gave {:?}", r.as_ref().map_err(|e| e.is_cancellation())));
            r?;
        };
        yield_now().await?;
        yield_now().await?;
        job.cancel_and_join().await?;
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), ["child cleanup", "scope gave Err(true)"]);
}

// WithTimeoutTest.testWithTimeoutChildWait with a child outliving the deadline: the deadline
// cancels the child and the timeout wins (R9).
#[tokio::test(start_paused = true)]
async fn with_timeout_completing_block_times_out() {
    let start = Instant::now();
    let r: scopes::Result<()> = coroutine_scope! {
        let t: scopes::Result<u32> = with_timeout(ms(10)) {
            launch { delay(FOREVER).await?; };
            Ok(1)
        };
        assert!(t.unwrap_err().is_timeout());
        let n: Option<u32> = with_timeout_or_none(ms(10)) {
            launch { delay(FOREVER).await?; };
            Ok(1)
        }?;
        assert_eq!(n, None);
        Ok(())
    };
    r.unwrap();
    assert_eq!(start.elapsed(), ms(20));
}

// JobStatesTest-like (Completing state): an `async` child whose own body returned, cancelled while its children
// run: it ends cancelled (JobStatesTest-like, R11).
#[tokio::test(start_paused = true)]
async fn child_cancelled_while_completing_ends_cancelled() {
    let r: scopes::Result<()> = coroutine_scope! {
        let d = async {
            launch { delay(FOREVER).await?; };
            Ok(5u32)
        };
        yield_now().await?;
        assert!(d.is_active());
        d.cancel();
        let e = d.await.unwrap_err();
        assert!(e.is_cancellation(), "{e:?}");
        Ok(())
    };
    r.unwrap();
}
