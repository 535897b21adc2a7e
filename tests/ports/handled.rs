//! R4 / SPEC §3b: a failed Deferred dropped without ever being awaited in a
//! supervisor_scope goes to the handler, but one whose failure was handed to
//! the caller (by a combinator standing for await: Kotlin's awaitAll,
//! select onAwait) has been observed and is not reported again.

use super::common::*;
use futures_util::StreamExt;
use scopes::prelude::*;

// SelectDeferredTest-like: race returning a child's failure
#[tokio::test(start_paused = true)]
async fn race_failure_returned_is_not_reported_again() {
    let (got, h) = recorder();
    let r: scopes::Result<()> = with_exception_handler(h, async {
        supervisor_scope! {
            let a = async { Err::<u32, _>(fail("a")) };
            let b = async { delay(FOREVER).await?; Ok(1u32) };
            let e = race([a, b]).await.unwrap_err();
            assert_eq!(name_of(&e), Some("a"));
            Ok(())
        }
    })
    .await;
    r.unwrap();
    assert_eq!(names(&got), Vec::<Option<&str>>::new());
}

// AwaitTest.testAwaitAll-like: the failure await_all returns
#[tokio::test(start_paused = true)]
async fn await_all_failure_returned_is_not_reported_again() {
    let (got, h) = recorder();
    let r: scopes::Result<()> = with_exception_handler(h, async {
        supervisor_scope! {
            let a = async { delay(ms(10)).await?; Err::<u32, _>(fail("a")) };
            let b = async { delay(ms(20)).await?; Ok(1u32) };
            let e = await_all([a, b]).await.unwrap_err();
            assert_eq!(name_of(&e), Some("a"));
            Ok(())
        }
    })
    .await;
    r.unwrap();
    assert_eq!(names(&got), Vec::<Option<&str>>::new());
}

// AwaitTest-like (awaitAll over failures), first_success, every child fails: the first failure, the others suppressed
// in it; none is reported again.
#[tokio::test(start_paused = true)]
async fn first_success_all_failed_is_not_reported_again() {
    let (got, h) = recorder();
    let r: scopes::Result<()> = with_exception_handler(h, async {
        supervisor_scope! {
            let a = async { delay(ms(10)).await?; Err::<u32, _>(fail("a")) };
            let b = async { delay(ms(20)).await?; Err::<u32, _>(fail("b")) };
            let e = first_success([a, b]).await.unwrap_err();
            assert_eq!(name_of(&e), Some("a"));
            let sup: Vec<_> = e.suppressed().iter().map(name_of).collect();
            assert_eq!(sup, [Some("b")]);
            Ok(())
        }
    })
    .await;
    r.unwrap();
    assert_eq!(names(&got), Vec::<Option<&str>>::new());
}

// AwaitTest-like: as_completed hands every outcome to the caller
#[tokio::test(start_paused = true)]
async fn as_completed_failures_taken_are_not_reported_again() {
    let (got, h) = recorder();
    let r: scopes::Result<()> = with_exception_handler(h, async {
        supervisor_scope! {
            let a = async { delay(ms(20)).await?; Err::<u32, _>(fail("a")) };
            let b = async { delay(ms(10)).await?; Err::<u32, _>(fail("b")) };
            let c = async { delay(ms(5)).await?; Ok(3u32) };
            let outs: Vec<(usize, scopes::Result<u32>)> = as_completed([a, b, c]).collect().await;
            let seen: Vec<_> = outs.iter().map(|(i, r)| (*i, r.as_ref().map_err(name_of).copied())).collect();
            assert_eq!(seen, [(2, Ok(3)), (1, Err(Some("b"))), (0, Err(Some("a")))]);
            Ok(())
        }
    })
    .await;
    r.unwrap();
    assert_eq!(names(&got), Vec::<Option<&str>>::new());
}

// AwaitTest-like: await through a clone: the failure was observed; dropping the other
// handle does not report it.
#[tokio::test(start_paused = true)]
async fn failure_awaited_through_a_clone_is_not_reported() {
    let (got, h) = recorder();
    let r: scopes::Result<()> = with_exception_handler(h, async {
        supervisor_scope! {
            let a = async { Err::<u32, _>(fail("a")) };
            let a2 = a.clone();
            let e = a2.await.unwrap_err();
            assert_eq!(name_of(&e), Some("a"));
            drop(a);
            Ok(())
        }
    })
    .await;
    r.unwrap();
    assert_eq!(names(&got), Vec::<Option<&str>>::new());
}

// AsyncTest-like (SPEC §3b difference): a failed Deferred never awaited is reported once.
#[tokio::test(start_paused = true)]
async fn failure_never_awaited_is_reported_once() {
    let (got, h) = recorder();
    let r: scopes::Result<()> = with_exception_handler(h, async {
        supervisor_scope! {
            let a = async { Err::<u32, _>(fail("a")) };
            let _a2 = a.clone();
            yield_now().await?;
            Ok(())
        }
    })
    .await;
    r.unwrap();
    assert_eq!(names(&got), [Some("a")]);
}
