//! kotlinx WithTimeoutTest.testTimeoutCancellationExceptionIncludesCoroutineName
//! and WithTimeoutOrNullJvmTest.testIgnoredTimeoutOnNullThrowsCancellation
//! (SPEC §3b: errors remember the child they came from; R9).

use super::common::*;
use scopes::prelude::*;
use std::time::Duration;

/// Kotlin's `Thread.sleep` on tokio's paused clock (as in misc.rs).
fn block_for(d: Duration) {
    use futures_util::FutureExt;
    let _ = tokio::time::advance(d).now_or_never();
}

// WithTimeoutTest.testTimeoutCancellationExceptionIncludesCoroutineName: a
// timeout raised in a named child names it; its Display says it timed out.
#[tokio::test(start_paused = true)]
async fn timeout_error_remembers_the_child_name() {
    let r: scopes::Result<()> = coroutine_scope! {
        launch(name = "waiting for x") {
            with_timeout(ms(1)) {
                delay(FOREVER).await?;
            }?;
        };
        Ok(())
    };
    let e = r.unwrap_err();
    assert!(e.is_timeout(), "{e:?}");
    assert_eq!(e.child_name().as_deref(), Some("waiting for x"), "{e:?}");
    assert!(e.to_string().to_lowercase().contains("time"), "{e}");
    assert!(format!("{e:?}").contains("waiting for x"), "{e:?}");
}

// WithTimeoutOrNullJvmTest.testIgnoredTimeoutOnNullThrowsCancellation: the
// deadline passes while the work blocks; the work then ends, without
// suspending, with a cancellation of its own: that cancellation is the
// result, not None (the work's outcome wins, as its value does in
// testIgnoredTimeoutOnNull).
#[tokio::test(start_paused = true)]
async fn ignored_timeout_on_null_throws_cancellation() {
    let log = Log::default();
    let r = with_timeout_or_none(ms(1), async {
        log.push(1);
        block_for(ms(10));
        Err::<(), _>(scopes::Error::cancelled())
    })
    .await;
    assert!(r.unwrap_err().is_cancellation());
    log.push(2);
    assert_eq!(log.take(), ["1", "2"]);
}
