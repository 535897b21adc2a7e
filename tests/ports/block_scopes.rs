//! The block forms are scopes (SPEC §2a; kotlinx WithTimeoutTest,
//! WithTimeoutOrNullTest, NonCancellableTest, WithContextTest shapes with
//! children in the block): children started in a `with_timeout`,
//! `with_timeout_or_none` or `non_cancellable` block are its own; it waits
//! for them, a deadline cancels them, and a failing child fails the block.

use super::common::*;
use scopes::prelude::*;
use tokio::time::Instant;

// WithTimeoutTest-like: the block's body returned, its child still runs
// when the deadline passes: the child is cancelled (its cleanup runs) and
// the block times out (R9: the timeout wins).
#[tokio::test(start_paused = true)]
async fn with_timeout_block_times_out_while_waiting_for_its_child() {
    let log = Log::default();
    let log = &log;
    let start = Instant::now();
    let r: scopes::Result<()> = coroutine_scope! {
        let r: scopes::Result<u8> = with_timeout(ms(10)) {
            launch {
                let r = delay(FOREVER).await;
                log.push(format!("child cancelled={}", r.as_ref().unwrap_err().is_cancellation()));
                r?;
            };
            Ok(1)
        };
        let e = r.unwrap_err();
        log.push(format!("timeout={}", e.is_timeout()));
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), ["child cancelled=true", "timeout=true"]);
    assert_eq!(start.elapsed(), ms(10));
}

// WithTimeoutOrNullTest-like: the same with with_timeout_or_none: None.
#[tokio::test(start_paused = true)]
async fn with_timeout_or_none_block_gives_none_while_waiting_for_its_child() {
    let log = Log::default();
    let log = &log;
    let start = Instant::now();
    let r: scopes::Result<()> = coroutine_scope! {
        let r: Option<u8> = with_timeout_or_none(ms(10)) {
            launch {
                let r = delay(FOREVER).await;
                log.push("child cleanup");
                r?;
            };
            Ok(1)
        }?;
        log.push(format!("{r:?}"));
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), ["child cleanup", "None"]);
    assert_eq!(start.elapsed(), ms(10));
}

// The block waits for its child that ends before the deadline: the body's
// value, at the child's end.
#[tokio::test(start_paused = true)]
async fn with_timeout_block_waits_for_its_child() {
    let log = Log::default();
    let log = &log;
    let start = Instant::now();
    let r: scopes::Result<u8> = coroutine_scope! {
        let v = with_timeout(ms(100)) {
            launch { delay(ms(30)).await?; log.push("child done"); };
            log.push("body done");
            Ok(7u8)
        }?;
        log.push("after block");
        Ok(v)
    };
    assert_eq!(r.unwrap(), 7);
    assert_eq!(log.take(), ["body done", "child done", "after block"]);
    assert_eq!(start.elapsed(), ms(30));
}

// WithTimeoutTest-like: a child of the block fails: the block fails with it
// at once (fail-fast: its body, in a long delay, is cancelled), not with a
// timeout; the caller catches it and carries on.
#[tokio::test(start_paused = true)]
async fn with_timeout_block_child_failure_fails_the_block_at_once() {
    let log = Log::default();
    let log = &log;
    let start = Instant::now();
    let r: scopes::Result<()> = coroutine_scope! {
        let r: scopes::Result<()> = with_timeout(ms(100)) {
            launch { delay(ms(5)).await?; Err::<(), _>(fail("TestException")) };
            let r = delay(FOREVER).await;
            log.push(format!("body cancelled={}", r.as_ref().unwrap_err().is_cancellation()));
            r
        };
        let e = r.unwrap_err();
        log.push(format!("{:?} timeout={}", name_of(&e), e.is_timeout()));
        Ok(())
    };
    r.unwrap();
    assert_eq!(
        log.take(),
        [
            "body cancelled=true",
            "Some(\"TestException\") timeout=false"
        ]
    );
    assert_eq!(start.elapsed(), ms(5));
}

// NonCancellableTest-like: in a cancelled job, a child started in a
// non_cancellable block runs to its end (Kotlin: the child of
// withContext(NonCancellable) is not cancelled), and the block waits for it.
#[tokio::test(start_paused = true)]
async fn non_cancellable_block_child_runs_in_a_cancelled_job() {
    let log = Log::default();
    let log = &log;
    let start = Instant::now();
    let r: scopes::Result<()> = coroutine_scope! {
        let job = launch {
            let cancelled = delay(FOREVER).await.unwrap_err();
            non_cancellable {
                launch {
                    delay(ms(10)).await?;
                    log.push("nc child done");
                };
                log.push("nc body done");
            }?;
            log.push("after block");
            Err::<(), _>(cancelled)
        };
        yield_now().await?;
        job.cancel();
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), ["nc body done", "nc child done", "after block"]);
    assert_eq!(start.elapsed(), ms(10));
}

// The block-form timeout in a supervisor child's launch: the child is its
// own; a deadline of an outer with_timeout block cancels the inner
// with_timeout_or_none block's child, which is no None of the inner one:
// the outer timeout is what the caller sees (R9).
#[tokio::test(start_paused = true)]
async fn outer_block_deadline_cancels_inner_block_child() {
    let log = Log::default();
    let log = &log;
    let start = Instant::now();
    let r: scopes::Result<()> = coroutine_scope! {
        let r: scopes::Result<Option<u8>> = with_timeout(ms(10)) {
            with_timeout_or_none(ms(50)) {
                launch {
                    let r = delay(FOREVER).await;
                    log.push("inner child cleanup");
                    r?;
                };
                Ok(1u8)
            }
        };
        let e = r.unwrap_err();
        log.push(format!("timeout={}", e.is_timeout()));
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), ["inner child cleanup", "timeout=true"]);
    assert_eq!(start.elapsed(), ms(10));
}
