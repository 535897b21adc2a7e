//! kotlinx RendezvousChannelTest / BasicOperationsTest cases (SPEC §2c).

use super::common::*;
use scopes::prelude::*;

// RendezvousChannelTest.testConsumeAll: ten senders suspended in send; the
// receiver cancels the channel: each send returns a cancellation, the
// senders end cancelled (not failed), the scope completes normally.
#[tokio::test(start_paused = true)]
async fn consume_all_cancel_wakes_every_sender_with_cancellation() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        let (tx, rx) = channel::<u32>(0);
        let mut jobs = Vec::new();
        for i in 1..=10u32 {
            let tx = tx.clone();
            jobs.push(launch {
                log.push(i);
                let r = tx.send(i).await;
                log.push(format!("send {i} {:?}", r.as_ref().map_err(|e| e.is_cancellation())));
                r?;
            });
        }
        yield_now().await?;
        log.push(11);
        rx.cancel();
        assert!(tx.is_closed());
        assert!(rx.is_closed());
        assert!(rx.recv().await.unwrap_err().is_cancellation());
        join_all(&jobs).await?;
        assert!(jobs.iter().all(|j| j.is_cancelled()));
        log.push(12);
        Ok(())
    };
    r.unwrap();
    let mut want: Vec<String> = (1..=11).map(|i| i.to_string()).collect();
    want.extend((1..=10).map(|i| format!("send {i} Err(true)")));
    want.push("12".into());
    assert_eq!(log.take(), want);
}

// BasicOperationsTest.testSendAfterClose: a send after close is a failure
// (ChannelClosed) and fails the coroutine_scope.
#[tokio::test(start_paused = true)]
async fn send_after_close_fails_the_scope() {
    let (tx, rx) = channel::<u32>(1);
    let tx = &tx;
    let r: scopes::Result<()> = coroutine_scope! {
        tx.close();
        launch { tx.send(1).await?; };
        Ok(())
    };
    let e = r.unwrap_err();
    assert!(!e.is_cancellation(), "{e:?}");
    assert!(
        e.downcast_ref::<scopes::channel::ChannelClosed>().is_some(),
        "{e:?}"
    );
    drop(rx);
}

// RendezvousChannelTest.testClosedReceiveCatching
#[tokio::test(start_paused = true)]
async fn closed_receive_catching() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        let (q, rx) = channel::<u32>(0);
        log.push(1);
        launch {
            log.push(3);
            assert_eq!(rx.recv().await?, Some(42));
            log.push(4);
            assert_eq!(rx.recv().await?, None);
            log.push(6);
        };
        log.push(2);
        q.send(42).await?;
        log.push(5);
        q.close();
        assert!(q.is_closed());
        yield_now().await?;
        log.push(7);
        Ok(())
    };
    r.unwrap();
    let want: Vec<String> = (1..=7).map(|i| i.to_string()).collect();
    assert_eq!(log.take(), want);
}

// RendezvousChannelTest.testIteratorTwo: ordering of a rendezvous hand-off.
#[tokio::test(start_paused = true)]
async fn iterator_two() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        let (q, rx) = channel::<u32>(0);
        log.push(1);
        launch {
            log.push(3);
            q.send(1).await?;
            log.push(4);
            q.send(2).await?;
            log.push(7);
            q.close();
            log.push(8);
        };
        log.push(2);
        while let Some(x) = rx.recv().await? {
            match x { 1 => log.push(5), 2 => log.push(6), _ => unreachable!() }
        }
        log.push(9);
        Ok(())
    };
    r.unwrap();
    let want: Vec<String> = (1..=9).map(|i| i.to_string()).collect();
    assert_eq!(log.take(), want);
}

// RendezvousChannelTest.testClosedExceptions
#[tokio::test(start_paused = true)]
async fn closed_exceptions() {
    let log = Log::default();
    let log = &log;
    // The receiver outlives the scope (a receiver moved into the child would be
    // dropped when it ends, which cancels the channel: SPEC §2c).
    let (q, rx) = channel::<u32>(0);
    let (q, rx) = (&q, &rx);
    let r: scopes::Result<()> = coroutine_scope! {
        log.push(1);
        launch { log.push(4); assert_eq!(rx.recv().await?, None); log.push(5); };
        log.push(2);
        q.close();
        log.push(3);
        yield_now().await?;
        log.push(6);
        let e = q.send(42).await.unwrap_err();
        assert!(!e.is_cancellation());
        log.push(7);
        Ok(())
    };
    r.unwrap();
    let want: Vec<String> = (1..=7).map(|i| i.to_string()).collect();
    assert_eq!(log.take(), want);
}

// withTimeout { d.await() } on an outer Deferred: the timeout fails the
// block only; the awaited child is not in its subtree and goes on.
#[tokio::test(start_paused = true)]
async fn with_timeout_around_await_of_outer_deferred() {
    let start = tokio::time::Instant::now();
    let r: scopes::Result<u32> = coroutine_scope! {
        let d = async { delay(ms(100)).await?; Ok(1u32) };
        let d2 = d.clone();
        let t: scopes::Result<u32> = with_timeout(ms(10)) { d2.await };
        assert!(t.unwrap_err().is_timeout());
        assert!(d.is_active());
        d.await
    };
    assert_eq!(r.unwrap(), 1);
    assert_eq!(start.elapsed(), ms(100));
}
