//! Kotlin's prompt cancellation for join/await (kotlinx
//! CancellableContinuationTest / JoinTest shapes), R7.

use super::common::*;
use scopes::prelude::*;

#[tokio::test(start_paused = true)]
async fn join_woken_by_completion_then_cancelled_gives_cancellation() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        let j = launch { delay(ms(10)).await?; log.push("J done"); };
        let j2 = j.clone();
        let a = launch {
            let r = j2.join().await;
            log.push(format!("join {:?}", r.as_ref().map_err(|e| e.is_cancellation())));
            r?;
        };
        let d = async { delay(ms(10)).await?; Ok(5u8) };
        let b = async {
            let r = d.await;
            log.push(format!("await {:?}", r.as_ref().map_err(|e| e.is_cancellation())));
            r
        };
        yield_now().await?; // J, A, d, B run and wait
        delay(ms(10)).await?; // our timer is after J's and d's
        log.push("body cancels");
        a.cancel();
        b.cancel();
        Ok(())
    };
    r.unwrap();
    assert_eq!(
        log.take(),
        [
            "J done",
            "body cancels",
            "join Err(true)",
            "await Err(true)"
        ]
    );
}

// R14: waiters of one child are resumed in the order their waits began.
#[tokio::test(start_paused = true)]
async fn waiters_resumed_in_wait_order() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        let d = async { delay(ms(10)).await?; Ok(1u8) };
        // The body's wait begins first (children run when it suspends in
        // it); the third child begins its wait before the others, who yield.
        let (d1, d2, d3) = (d.clone(), d.clone(), d.clone());
        launch { yield_now().await?; d1.await?; log.push("w1"); };
        launch { yield_now().await?; d2.await?; log.push("w2"); };
        launch { d3.await?; log.push("w3"); };
        d.await?;
        log.push("body");
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), ["body", "w3", "w1", "w2"]);
}
