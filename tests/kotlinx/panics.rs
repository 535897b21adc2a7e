//! "A panic is a failure like any other" (SPEC §3) in Kotlin-shaped
//! scenarios where Kotlin would throw an Error from the block.

use super::common::*;
use scopes::prelude::*;

// WithTimeoutTest.testExceptionFromWithinTimeout with a panic.
#[tokio::test(start_paused = true)]
async fn panic_inside_with_timeout_block_is_a_failure() {
    let r: scopes::Result<()> = coroutine_scope! {
        launch {
            with_timeout(ms(1000)) {
                if true { panic!("in timeout"); }
                Ok(())
            }?;
        };
        Ok(())
    };
    let e = r.unwrap_err();
    assert!(e.is_panic() && !e.is_timeout(), "{e:?}");
}

// Caught by hand: the with_timeout block's panic comes back as an Err.
#[tokio::test(start_paused = true)]
async fn panic_inside_with_timeout_block_can_be_handled() {
    let r: scopes::Result<bool> = coroutine_scope! {
        let r: scopes::Result<()> = with_timeout(ms(1000)) {
            if true { panic!("in timeout"); }
            Ok(())
        };
        Ok(r.unwrap_err().is_panic())
    };
    assert!(r.unwrap());
}

// A panic in a cleanup after fail-fast is suppressed like any failure (R6).
#[tokio::test(start_paused = true)]
async fn panic_in_cleanup_is_suppressed() {
    let r: scopes::Result<()> = coroutine_scope! {
        launch {
            let _ = delay(FOREVER).await;
            non_cancellable { if true { panic!("cleanup panic"); } }?;
        };
        launch { delay(ms(10)).await?; Err::<(), _>(fail("first")) };
        Ok(())
    };
    let e = r.unwrap_err();
    assert_eq!(name_of(&e), Some("first"));
    assert_eq!(e.suppressed().len(), 1, "{e:?}");
    assert!(e.suppressed()[0].is_panic());
}

// A panic in a supervisor_scope's body: the scope's result (R5).
#[tokio::test(start_paused = true)]
async fn panic_in_supervisor_body_cancels_children() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = supervisor_scope! {
        launch { let r = delay(FOREVER).await; log.push("child cleanup"); r };
        yield_now().await?;
        if true { panic!("body"); }
        Ok(())
    };
    assert!(r.unwrap_err().is_panic());
    assert_eq!(log.take(), ["child cleanup"]);
}
