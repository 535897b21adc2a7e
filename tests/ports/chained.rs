//! Kotlin's chained forms, as kotlinx's tests write them:
//! `launch { .. }.join()` (CoroutineExceptionHandlerJvmTest,
//! JobExceptionHandlingTest.testCancelledParent), `async { .. }.await()`
//! (AsyncTest), `launch { }.cancel()`.

use super::common::*;
use scopes::prelude::*;

// CoroutineExceptionHandlerJvmTest.testLastResortHandlerContainsContextualInformation
#[tokio::test(start_paused = true)]
async fn launch_join_chained_and_named() {
    let log = Log::default();
    let log = &log;
    let (got, h) = recorder();
    let r: scopes::Result<()> = with_exception_handler(h, async {
        supervisor_scope! {
            log.push(1);
            launch(name = "last-resort") {
                log.push(2);
                Err::<(), _>(fail("TestException"))
            }.join().await?;
            log.push(3);
            Ok(())
        }
    })
    .await;
    r.unwrap();
    assert_eq!(log.take(), ["1", "2", "3"]);
    let got = got.lock().unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(name_of(&got[0]), Some("TestException"));
    assert_eq!(got[0].child_name().as_deref(), Some("last-resort"));
}

// AsyncTest-like: async { .. }.await in an expression
#[tokio::test(start_paused = true)]
async fn async_await_chained() {
    let r: scopes::Result<u32> = coroutine_scope! {
        let v = async { delay(ms(1)).await?; Ok(41u32) }.await?;
        Ok(v + 1)
    };
    assert_eq!(r.unwrap(), 42);
}

// JobExceptionHandlingTest.testCancelledParent-like: launch { }.cancel()
#[tokio::test(start_paused = true)]
async fn launch_cancel_chained_never_runs() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        launch { log.push("unreached"); }.cancel();
        yield_now().await?;
        Ok(())
    };
    r.unwrap();
    assert!(log.take().is_empty());
}
