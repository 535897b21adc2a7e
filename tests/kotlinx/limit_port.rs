//! §2b limit with Kotlin-shaped scenarios (SupervisorTest, CoroutineScopeTest).

use super::common::*;
use scopes::prelude::*;

// SupervisorTest.testSupervisorScope under limit = 1: the failures still reach
// the handler in order, each failure frees its place.
#[tokio::test(start_paused = true)]
async fn supervisor_limit_one_failures_in_order() {
    let (got, h) = recorder();
    let log = Log::default();
    let log = &log;
    let start = tokio::time::Instant::now();
    let r: scopes::Result<&str> = with_exception_handler(h, async {
        supervisor_scope! { limit = 1;
            launch { delay(ms(10)).await?; Err::<(), _>(fail("1")) };
            launch { delay(ms(10)).await?; Err::<(), _>(fail("2")) };
            launch { delay(ms(10)).await?; log.push("3 ran"); };
            Ok("OK")
        }
    })
    .await;
    assert_eq!(r.unwrap(), "OK");
    assert_eq!(start.elapsed(), ms(30));
    assert_eq!(log.take(), ["3 ran"]);
    let got: Vec<_> = got.lock().unwrap().iter().map(name_of).collect();
    assert_eq!(got, [Some("1"), Some("2")]);
}

// CoroutineScopeTest.testScopeCancelledFromWithin under limit = 1: the
// failure cancels the waiting children, which never run.
#[tokio::test(start_paused = true)]
async fn coroutine_scope_limit_one_failure_cancels_waiters() {
    let log = Log::default();
    let log = &log;
    let start = tokio::time::Instant::now();
    let r: scopes::Result<()> = coroutine_scope! { limit = 1;
        launch { delay(ms(10)).await?; Err::<(), _>(fail("t")) };
        launch { log.push("never"); };
        launch { log.push("never either"); };
        Ok(())
    };
    assert_eq!(name_of(&r.unwrap_err()), Some("t"));
    assert_eq!(start.elapsed(), ms(10));
    assert!(log.take().is_empty());
}
