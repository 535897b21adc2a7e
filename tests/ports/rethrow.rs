//! R6 "each failure is attached once" with several re-raisers, after kotlinx
//! JobExceptionHandlingTest / SuppressionTests shapes: Kotlin adds an
//! exception once to its one exception object (`addSuppressed` skips the
//! same instance).

use super::common::*;
use scopes::prelude::*;

// SuppressionTests-like (addSuppressed skips the same instance): two siblings and the body all re-raise the same async child's failure.
#[tokio::test(start_paused = true)]
async fn same_failure_raised_again_by_several_awaiters_is_not_suppressed() {
    let r: scopes::Result<()> = coroutine_scope! {
        let d = async { delay(ms(10)).await?; Err::<u32, _>(fail("x")) };
        let (d2, d3) = (d.clone(), d.clone());
        launch { d2.await?; };
        launch { d3.await?; };
        d.await?;
        Ok(())
    };
    let e = r.unwrap_err();
    assert_eq!(name_of(&e), Some("x"), "{e:?}");
    assert!(e.suppressed().is_empty(), "{e:?}");
}

// SuppressionTests-like: the re-raise goes through a nested coroutine_scope in a sibling.
#[tokio::test(start_paused = true)]
async fn same_failure_raised_again_through_a_nested_scope_is_not_suppressed() {
    let r: scopes::Result<()> = coroutine_scope! {
        let d = async { delay(ms(10)).await?; Err::<u32, _>(fail("x")) };
        let d2 = d.clone();
        launch {
            let v: scopes::Result<u32> = coroutine_scope! { d2.await };
            v?;
        };
        delay(FOREVER).await?;
        Ok(())
    };
    let e = r.unwrap_err();
    assert_eq!(name_of(&e), Some("x"), "{e:?}");
    assert!(e.suppressed().is_empty(), "{e:?}");
}

// SupervisorTest-like: in a supervisor_scope, two launch children re-raise one async child's
// failure: each launch child's failure reaches the handler (they are two
// failures of two children), the async child's own is not reported as
// unawaited.
#[tokio::test(start_paused = true)]
async fn supervisor_relaunch_of_the_same_failure() {
    let (got, h) = recorder();
    let r: scopes::Result<()> = with_exception_handler(h, async {
        supervisor_scope! {
            let d = async { delay(ms(10)).await?; Err::<u32, _>(fail("x")) };
            let (d2, d3) = (d.clone(), d.clone());
            launch { d2.await?; };
            launch { d3.await?; };
            drop(d);
            Ok(())
        }
    })
    .await;
    r.unwrap();
    let got: Vec<_> = got.lock().unwrap().iter().map(name_of).collect();
    assert_eq!(got, [Some("x"), Some("x")]);
}

// JobExceptionHandlingTest-like: a failure raised while the scope is cancelling, then the same failure
// raised again by another child: suppressed once.
#[tokio::test(start_paused = true)]
async fn a_suppressed_failure_raised_again_is_suppressed_once() {
    let r: scopes::Result<()> = coroutine_scope! {
        let d = async {
            let _ = delay(FOREVER).await;
            Err::<u32, _>(fail("cleanup"))
        };
        let d2 = d.clone();
        launch {
            let r = d2.await;
            non_cancellable { yield_now().await?; }?;
            r?;
        };
        launch { delay(ms(10)).await?; Err::<(), _>(fail("first")) };
        delay(FOREVER).await?;
        Ok(())
    };
    let e = r.unwrap_err();
    assert_eq!(name_of(&e), Some("first"), "{e:?}");
    let sup: Vec<_> = e.suppressed().iter().map(name_of).collect();
    assert_eq!(sup, [Some("cleanup")], "{e:?}");
}
