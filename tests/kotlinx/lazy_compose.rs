//! R11 "lazy children run only when started, awaited or joined" meets §2b
//! composition: race / first_success / as_completed over lazy Deferreds
//! (Kotlin: select's onAwait and awaitAll start a lazy Deferred).

use super::common::*;
use scopes::prelude::*;

#[tokio::test(start_paused = true)]
async fn race_of_lazy_children_starts_them() {
    let r = tokio::time::timeout(ms(3_600_000), async {
        let r: scopes::Result<u32> = coroutine_scope! {
            let a = async(start = lazy) { delay(ms(20)).await?; Ok(1u32) };
            let b = async(start = lazy) { delay(ms(10)).await?; Ok(2u32) };
            race([a, b]).await
        };
        r
    })
    .await
    .expect("race of lazy children hung");
    assert_eq!(r.unwrap(), 2);
}

#[tokio::test(start_paused = true)]
async fn first_success_of_lazy_children_starts_them() {
    let r = tokio::time::timeout(ms(3_600_000), async {
        let r: scopes::Result<u32> = supervisor_scope! {
            let a = async(start = lazy) { delay(ms(5)).await?; Err::<u32, _>(fail("a")) };
            let b = async(start = lazy) { delay(ms(10)).await?; Ok(2u32) };
            first_success([a, b]).await
        };
        r
    })
    .await
    .expect("first_success of lazy children hung");
    assert_eq!(r.unwrap(), 2);
}

#[tokio::test(start_paused = true)]
async fn as_completed_of_lazy_children_starts_them() {
    use futures_util::StreamExt;
    let r = tokio::time::timeout(ms(3_600_000), async {
        let r: scopes::Result<Vec<usize>> = coroutine_scope! {
            let a = async(start = lazy) { delay(ms(20)).await?; Ok(1u32) };
            let b = async(start = lazy) { delay(ms(10)).await?; Ok(2u32) };
            Ok(as_completed([a, b]).map(|(i, _)| i).collect().await)
        };
        r
    })
    .await
    .expect("as_completed of lazy children hung");
    assert_eq!(r.unwrap(), [1, 0]);
}

// cancel_on with a lazy... (plain) and the Deferred as a signal.
#[tokio::test(start_paused = true)]
async fn cancel_on_with_a_deferred_signal() {
    let log = Log::default();
    let log = &log;
    let start = tokio::time::Instant::now();
    let r: scopes::Result<Option<u32>> = coroutine_scope! {
        let signal = async { delay(ms(10)).await?; Ok(()) };
        cancel_on(signal, async move {
            let r = delay(FOREVER).await;
            log.push("work cleanup");
            r?;
            Ok(1u32)
        }).await
    };
    assert_eq!(r.unwrap(), None);
    assert_eq!(start.elapsed(), ms(10));
    assert_eq!(log.take(), ["work cleanup"]);
}
