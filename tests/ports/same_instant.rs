//! Timers due at the same virtual instant, in Kotlin's test scheduler order
//! (events by time, then registration; what a resumed job makes ready at
//! that instant comes after the events already due; R12, R14).

use super::common::*;
use scopes::prelude::*;

// DelayTest-like: a job resumed at t yields; the other job due at t runs first.
#[tokio::test(start_paused = true)]
async fn a_yield_at_the_instant_goes_after_the_other_timer_due_then() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        launch { delay(ms(10)).await?; log.push("A1"); yield_now().await?; log.push("A2"); };
        launch { delay(ms(10)).await?; log.push("B1"); };
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), ["A1", "B1", "A2"]);
}

// DelayTest-like: a child launched at the instant runs after the other timer due then.
#[tokio::test(start_paused = true)]
async fn a_child_started_at_the_instant_goes_after_the_other_timer_due_then() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        launch { delay(ms(10)).await?; launch { log.push("C"); }; log.push("A"); };
        launch { delay(ms(10)).await?; log.push("B"); };
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), ["A", "B", "C"]);
}

// DelayTest-like, registration order across depths: a grandchild's delay registered before
// a sibling's resumes first.
#[tokio::test(start_paused = true)]
async fn timers_due_together_resume_in_registration_order_across_depths() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        launch {
            launch { delay(ms(10)).await?; log.push("grandchild"); };
            yield_now().await?; // the grandchild registers its delay now
            delay(ms(10)).await?;
            log.push("child after yield");
        };
        launch { delay(ms(10)).await?; log.push("sibling"); };
        Ok(())
    };
    r.unwrap();
    // The child runs first, launches the grandchild and yields; then the
    // sibling registers its delay, then the grandchild, then the child.
    assert_eq!(log.take(), ["sibling", "grandchild", "child after yield"]);
}

// JobTest-like (cancel at an instant): three timers due at 10 ms; A's cancels B: B's resumption joins the FIFO
// after C, whose timer was due with A's (Kotlin's order, R7/R14).
#[tokio::test(start_paused = true)]
async fn a_cancel_at_the_instant_resumes_the_work_after_the_other_timers() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        let b = launch {
            let r = delay(ms(20)).await;
            log.push("B cleanup");
            r?;
        };
        let b2 = b.clone();
        launch { delay(ms(10)).await?; b2.cancel(); log.push("A"); };
        launch { delay(ms(10)).await?; log.push("C"); };
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), ["A", "C", "B cleanup"]);
}

// WithTimeoutOrNullTest-like, no tie: the deadline alone. Kotlin resumes the timeout coroutine's child
// before the block's own code (handlers in the order they were added: the
// child at its launch, the block's continuation when it suspended; R7's
// "a job's children before the job's own code").
#[tokio::test(start_paused = true)]
async fn a_deadline_resumes_the_blocks_children_before_the_block() {
    let log = Log::default();
    let log = &log;
    let start = tokio::time::Instant::now();
    let r: scopes::Result<()> = coroutine_scope! {
        let r = with_timeout_or_none(ms(10)) {
            launch { let r = delay(FOREVER).await; log.push("child cleanup"); r? };
            let r = delay(FOREVER).await;
            log.push("block cleanup");
            r?;
            Ok(())
        }?;
        log.push(format!("{r:?}"));
        Ok(())
    };
    r.unwrap();
    assert_eq!(start.elapsed(), ms(10));
    assert_eq!(log.take(), ["child cleanup", "block cleanup", "None"]);
}

// WithTimeoutOrNullTest-like: the same block cancelled by its job instead of a deadline.
#[tokio::test(start_paused = true)]
async fn a_cancel_resumes_the_blocks_children_before_the_block() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        let j = launch {
            let r = with_timeout_or_none(FOREVER) {
                launch { let r = delay(FOREVER).await; log.push("child cleanup"); r? };
                let r = delay(FOREVER).await;
                log.push("block cleanup");
                r?;
                Ok(())
            };
            log.push(format!("{:?}", r.map_err(|e| e.is_cancellation())));
        };
        delay(ms(10)).await?;
        j.cancel();
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), ["child cleanup", "block cleanup", "Err(true)"]);
}

// WithTimeoutOrNullTest-like: a tie at the deadline with a block that has a child: Kotlin queues both
// resumptions (child first, then the block) after A's yield.
#[tokio::test(start_paused = true)]
async fn a_deadline_tie_resumes_the_blocks_child_before_the_block() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        launch { delay(ms(10)).await?; log.push("A1"); yield_now().await?; log.push("A2"); };
        launch {
            let r = with_timeout_or_none(ms(10)) {
                launch { let r = delay(FOREVER).await; log.push("X cleanup"); r? };
                let r = delay(FOREVER).await;
                log.push("block cleanup");
                r?;
                Ok(())
            }?;
            log.push(format!("B {r:?}"));
        };
        Ok(())
    };
    r.unwrap();
    assert_eq!(
        log.take(),
        ["A1", "A2", "X cleanup", "block cleanup", "B None"]
    );
}

// AwaitTest-like: a body awaiting a child that completes at an instant
// where another timer is due resumes after that timer's job (the awaiter
// is dispatched).
#[tokio::test(start_paused = true)]
async fn an_await_resumes_after_what_was_due_with_the_awaited_child() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        let d = async { delay(ms(10)).await?; log.push("D"); Ok(1u32) };
        launch { yield_now().await?; delay(ms(10)).await?; log.push("S"); };
        d.await?;
        log.push("after await");
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), ["D", "S", "after await"]);
}

// RendezvousChannelTest-like: a send resumes a waiting receiver through the
// dispatcher: S, due at the same instant, runs before the receiver.
#[tokio::test(start_paused = true)]
async fn a_receiver_woken_by_a_send_at_an_instant_runs_after_what_was_due() {
    let log = Log::default();
    let log = &log;
    let (tx, rx) = channel::<u32>(0);
    let (tx, rx) = (&tx, &rx);
    let r: scopes::Result<()> = coroutine_scope! {
        launch { let v = rx.recv().await?; log.push(format!("R {v:?}")); };
        launch { delay(ms(10)).await?; tx.send(1).await?; log.push("A sent"); };
        launch { delay(ms(10)).await?; log.push("S"); };
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), ["A sent", "S", "R Some(1)"]);
}

// JobTest-like: join of a child completing at an instant where S is due.
#[tokio::test(start_paused = true)]
async fn a_join_resumes_after_what_was_due_with_the_joined_child() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        let c = launch { delay(ms(10)).await?; log.push("C"); };
        launch { yield_now().await?; delay(ms(10)).await?; log.push("S"); };
        c.join().await?;
        log.push("after join");
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), ["C", "S", "after join"]);
}

// RendezvousChannelTest + WithTimeoutOrNullTest: a send at the instant a
// receiver's deadline fires (the send's timer registered first): the
// receiver times out (R9), the item handed to it is not lost (SPEC §2c:
// a woken receiver cancelled before it runs hands the item on).
#[tokio::test(start_paused = true)]
async fn an_item_sent_to_a_receiver_timing_out_at_that_instant_is_not_lost() {
    let log = Log::default();
    let log = &log;
    let (tx, rx) = channel::<u32>(0);
    let (tx, rx) = (&tx, &rx);
    let r: scopes::Result<()> = coroutine_scope! {
        launch { delay(ms(10)).await?; tx.send(7).await?; log.push("sent"); };
        let got = with_timeout_or_none(ms(10)) { rx.recv().await }?;
        log.push(format!("timed out: {got:?}"));
        assert_eq!(rx.recv().await?, Some(7));
        log.push("received 7");
        Ok(())
    };
    r.unwrap();
    let got = log.take();
    assert!(got.contains(&"received 7".to_string()), "{got:?}");
    assert!(got.contains(&"timed out: None".to_string()), "{got:?}");
}
