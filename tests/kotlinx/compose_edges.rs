//! §2a/§2b composition edges (kotlinx AwaitTest/SelectDeferredTest-like).

use super::common::*;
use scopes::prelude::*;

// §2a: Deferred works with try_join_all; in a coroutine_scope a failure fails
// the scope (R3) whatever try_join_all does.
#[tokio::test(start_paused = true)]
async fn try_join_all_of_deferreds() {
    let start = tokio::time::Instant::now();
    let r: scopes::Result<Vec<u32>> = coroutine_scope! {
        let a = async { delay(ms(10)).await?; Ok(1u32) };
        let b = async { delay(ms(20)).await?; Ok(2u32) };
        futures_util::future::try_join_all([a, b]).await
    };
    assert_eq!(r.unwrap(), [1, 2]);
    assert_eq!(start.elapsed(), ms(20));
}

// §2a: select! between two Deferreds in a supervisor: the first wins; the
// loser is still a child, awaited later through a clone.
#[tokio::test(start_paused = true)]
async fn select_between_deferreds() {
    let r: scopes::Result<(u32, u32)> = supervisor_scope! {
        let a = async { delay(ms(10)).await?; Ok(1u32) };
        let b = async { delay(ms(20)).await?; Ok(2u32) };
        let b2 = b.clone();
        let first = tokio::select! {
            v = a => v?,
            v = b => v?,
        };
        Ok((first, b2.await?))
    };
    assert_eq!(r.unwrap(), (1, 2));
}

// §2b race in a coroutine_scope: a loser failing in its cleanup fails the
// scope (R2/R6) — race cannot hide a real failure.
#[tokio::test(start_paused = true)]
async fn race_loser_failing_in_cleanup_fails_coroutine_scope() {
    let r: scopes::Result<u32> = coroutine_scope! {
        let a = async { delay(ms(10)).await?; Ok(1u32) };
        let b = async {
            let _ = delay(FOREVER).await;
            Err::<u32, _>(fail("loser cleanup"))
        };
        race([a, b]).await
    };
    let e = r.unwrap_err();
    assert_eq!(name_of(&e), Some("loser cleanup"), "{e:?}");
}

// §2b race in a supervisor_scope: a loser failing in its cleanup — its
// Deferred was consumed by race and never awaited: reported (§3b) — and the
// race's value stands.
#[tokio::test(start_paused = true)]
async fn race_loser_failing_in_cleanup_in_supervisor() {
    let (got, h) = recorder();
    let r: scopes::Result<u32> = with_exception_handler(h, async {
        supervisor_scope! {
            let a = async { delay(ms(10)).await?; Ok(1u32) };
            let b = async {
                let _ = delay(FOREVER).await;
                Err::<u32, _>(fail("loser cleanup"))
            };
            race([a, b]).await
        }
    })
    .await;
    assert_eq!(r.unwrap(), 1);
    let got: Vec<_> = got.lock().unwrap().iter().map(|e| name_of(e)).collect();
    // SPEC is silent on whether race "awaits" its losers; a failure is never
    // lost silently (R4): it is either reported or... nowhere else to go.
    assert_eq!(got, [Some("loser cleanup")]);
}

// §2b first_success: all fail: first failure in completion order with the
// others suppressed.
#[tokio::test(start_paused = true)]
async fn first_success_all_fail() {
    let r: scopes::Result<u32> = supervisor_scope! {
        let a = async { delay(ms(30)).await?; Err::<u32, _>(fail("a")) };
        let b = async { delay(ms(10)).await?; Err::<u32, _>(fail("b")) };
        let c = async { delay(ms(20)).await?; Err::<u32, _>(fail("c")) };
        first_success([a, b, c]).await
    };
    let e = r.unwrap_err();
    assert_eq!(name_of(&e), Some("b"));
    let sup: Vec<_> = e.suppressed().iter().map(|e| name_of(e)).collect();
    assert_eq!(sup, [Some("c"), Some("a")]);
}

// §2b await_all in a supervisor: d3 fails *after* await_all returned with
// d2's failure; d3's handle was consumed by await_all. Is d3's failure lost?
#[tokio::test(start_paused = true)]
async fn await_all_later_failure_of_consumed_handle_is_not_lost() {
    let (got, h) = recorder();
    let r: scopes::Result<()> = with_exception_handler(h, async {
        supervisor_scope! {
            let d2 = async { delay(ms(10)).await?; Err::<(), _>(fail("d2")) };
            let d3 = async { delay(ms(20)).await?; Err::<(), _>(fail("d3")) };
            let e = await_all([d2, d3]).await.unwrap_err();
            assert_eq!(name_of(&e), Some("d2"));
            Ok(())
        }
    })
    .await;
    r.unwrap();
    let got: Vec<_> = got.lock().unwrap().iter().map(|e| name_of(e)).collect();
    assert_eq!(
        got,
        [Some("d3")],
        "d3's failure was never awaited by anyone"
    );
}

// as_completed in completion order.
#[tokio::test(start_paused = true)]
async fn as_completed_order() {
    use futures_util::StreamExt;
    let r: scopes::Result<Vec<(usize, bool)>> = supervisor_scope! {
        let a = async { delay(ms(30)).await?; Ok(1u32) };
        let b = async { delay(ms(10)).await?; Err::<u32, _>(fail("b")) };
        let c = async { delay(ms(20)).await?; Ok(3u32) };
        let v: Vec<(usize, bool)> = as_completed([a, b, c]).map(|(i, r)| (i, r.is_ok())).collect().await;
        Ok(v)
    };
    assert_eq!(r.unwrap(), [(1, false), (2, true), (0, true)]);
}
