//! kotlinx AsyncTest parallel-decomposition cases (R3, R4, R6).

use super::common::*;
use scopes::prelude::*;

// testParallelDecompositionCaughtExceptionWithInheritedParent: the deferred's
// own child fails; catching its await error does not recover (R3): the
// deferred fails with it (awaited in a supervisor: NonCancellable parent).
#[tokio::test(start_paused = true)]
async fn decomposition_caught_exception_with_inherited_parent() {
    let log = Log::default();
    let log = &log;
    let (got, h) = recorder();
    let r: scopes::Result<()> = with_exception_handler(h, async {
        supervisor_scope! {
            log.push(1);
            let deferred = async {
                log.push(2);
                let decomposed = async { log.push(3); Err::<u32, _>(fail("t")) };
                match decomposed.await {
                    Ok(v) => Ok(v),
                    Err(_) => { log.push(4); Ok(42u32) }
                }
            };
            let e = deferred.await.unwrap_err();
            assert_eq!(name_of(&e), Some("t"));
            assert!(e.suppressed().is_empty(), "{e:?}");
            log.push(5);
            Ok(())
        }
    })
    .await;
    r.unwrap();
    assert_eq!(log.take(), ["1", "2", "3", "4", "5"]);
    assert!(got.lock().unwrap().is_empty(), "awaited: not reported");
}

// testParallelDecompositionCaughtException: with the inner async in a
// supervisor (NonCancellable), catching recovers.
#[tokio::test(start_paused = true)]
async fn decomposition_caught_exception_in_supervisor_recovers() {
    let (got, h) = recorder();
    let r: scopes::Result<u32> = with_exception_handler(h, async {
        supervisor_scope! {
            let deferred = async {
                supervisor_scope! {
                    let decomposed = async { Err::<u32, _>(fail("t")) };
                    Ok(decomposed.await.unwrap_or(42))
                }
            };
            deferred.await
        }
    })
    .await;
    assert_eq!(r.unwrap(), 42);
    assert!(got.lock().unwrap().is_empty());
}

// testParallelDecompositionUncaughtExceptionWithInheritedParent: the error
// rethrown by the awaiter is the same failure, listed once (R6).
#[tokio::test(start_paused = true)]
async fn decomposition_uncaught_exception_rethrown_once() {
    let r: scopes::Result<u32> = coroutine_scope! {
        let deferred = async {
            let decomposed = async { Err::<u32, _>(fail("t")) };
            decomposed.await
        };
        deferred.await
    };
    let e = r.unwrap_err();
    assert_eq!(name_of(&e), Some("t"));
    assert!(e.suppressed().is_empty(), "{e:?}");
}

// AsyncTest.testLostException mapped to a supervisor: a failed Deferred only
// joined, never awaited. Kotlin: nothing reported (async failures are never
// handled). SPEC §3b: "A failed Deferred dropped without ever being awaited,
// in a supervisor_scope, is reported to the exception handler".
#[tokio::test(start_paused = true)]
async fn lost_exception_joined_only_is_reported() {
    let (got, h) = recorder();
    let r: scopes::Result<()> = with_exception_handler(h, async {
        supervisor_scope! {
            let deferred = async { Err::<(), _>(fail("lost")) };
            deferred.join().await?;
            Ok(())
        }
    })
    .await;
    r.unwrap();
    let got: Vec<_> = got.lock().unwrap().iter().map(|e| name_of(e)).collect();
    assert_eq!(got, [Some("lost")]);
}
