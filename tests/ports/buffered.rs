//! kotlinx channels/BufferedChannelTest, ChannelsTest, ConsumeTest and
//! ProduceConsumeTest cases (SPEC §2c). `isEmpty` is `is_empty()`,
//! `receiveCatching` is `recv() -> Result<Option<T>>`, `consumeEach` is a
//! `recv` loop followed by `cancel()`; Kotlin's ClosedReceiveChannelException
//! is `Ok(None)`.

use super::common::*;
use scopes::channel::UNLIMITED;
use scopes::prelude::*;

// BufferedChannelTest.testSimple: the receiver takes from the buffer
// without suspending; the suspended sender's item then takes the freed
// place; the second receive takes it without suspending.
#[tokio::test(start_paused = true)]
async fn buffered_simple() {
    let log = Log::default();
    let log = &log;
    let (tx, rx) = channel::<u32>(1);
    let (tx, rx) = (&tx, &rx);
    assert!(rx.is_empty());
    let r: scopes::Result<()> = coroutine_scope! {
        log.push(1);
        let sender = launch {
            log.push(4);
            tx.send(1).await?;
            assert!(!rx.is_empty());
            log.push(5);
            tx.send(2).await?;
            log.push(9);
        };
        log.push(2);
        let receiver = launch {
            log.push(6);
            assert_eq!(rx.recv().await?, Some(1));
            assert!(!rx.is_empty(), "the waiting sender's item moved to the buffer");
            log.push(7);
            assert_eq!(rx.recv().await?, Some(2));
            log.push(8);
        };
        log.push(3);
        sender.join().await?;
        receiver.join().await?;
        assert!(rx.is_empty());
        log.push(10);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), nums(10));
}

// BufferedChannelTest.testClosedBufferedReceiveCatching
#[tokio::test(start_paused = true)]
async fn buffered_closed_receive_catching() {
    let log = Log::default();
    let log = &log;
    let (tx, rx) = channel::<u32>(1);
    let (tx, rx) = (&tx, &rx);
    assert!(rx.is_empty() && !tx.is_closed() && !rx.is_closed());
    let r: scopes::Result<()> = coroutine_scope! {
        log.push(1);
        launch {
            log.push(5);
            assert!(!rx.is_empty() && tx.is_closed() && !rx.is_closed());
            assert_eq!(rx.recv().await?, Some(42));
            log.push(6);
            assert!(rx.is_empty() && rx.is_closed());
            assert_eq!(rx.recv().await?, None);
            log.push(7);
        };
        log.push(2);
        tx.send(42).await?;
        log.push(3);
        assert!(tx.close());
        log.push(4);
        assert!(!rx.is_empty() && tx.is_closed() && !rx.is_closed());
        yield_now().await?;
        assert!(rx.is_empty() && rx.is_closed());
        log.push(8);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), nums(8));
}

// BufferedChannelTest.testClosedExceptions: a receive waiting when the
// channel closes gets the end; a send after close fails (not cancelled).
#[tokio::test(start_paused = true)]
async fn buffered_closed_exceptions() {
    let log = Log::default();
    let log = &log;
    let (tx, rx) = channel::<u32>(1);
    let (tx, rx) = (&tx, &rx);
    let r: scopes::Result<()> = coroutine_scope! {
        log.push(1);
        launch {
            log.push(4);
            assert_eq!(rx.recv().await?, None);
            log.push(5);
        };
        log.push(2);
        assert!(tx.close());
        log.push(3);
        yield_now().await?;
        log.push(6);
        let e = tx.send(42).await.unwrap_err();
        assert!(!e.is_cancellation(), "{e:?}");
        assert!(e.downcast_ref::<scopes::channel::ChannelClosed>().is_some(), "{e:?}");
        log.push(7);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), nums(7));
}

// BufferedChannelTest.testBufferSize / testBufferSizeFromTheMiddle: the
// sender fills the 42 places without suspending, suspends on the 43rd; the
// receiver gets every item in order.
#[tokio::test(start_paused = true)]
async fn buffered_buffer_size() {
    for prefill in [0, 4] {
        let log = Log::default();
        let log = &log;
        let (tx, rx) = channel::<i32>(42);
        let (tx, rx) = (&tx, &rx);
        for _ in 0..prefill {
            tx.send(-1).await.unwrap();
        }
        for _ in 0..prefill {
            assert_eq!(rx.recv().await.unwrap(), Some(-1));
        }
        let r: scopes::Result<Vec<i32>> = coroutine_scope! {
            launch {
                log.push(2);
                for i in 0..42 { tx.send(i).await?; }
                log.push(3);
                tx.send(42).await?;
                log.push(5);
                tx.close();
            };
            log.push(1);
            yield_now().await?;
            log.push(4);
            let mut got = Vec::new();
            while let Some(x) = rx.recv().await? {
                got.push(x);
            }
            log.push(6);
            Ok(got)
        };
        assert_eq!(r.unwrap(), (0..=42).collect::<Vec<_>>());
        assert_eq!(log.take(), nums(6), "prefill {prefill}");
    }
}

// ChannelsTest.testCloseWithMultipleSuspendedReceivers: the waiting
// receivers get the end in the order they began waiting.
#[tokio::test(start_paused = true)]
async fn close_with_multiple_suspended_receivers() {
    let log = Log::default();
    let log = &log;
    let (tx, rx) = channel::<u32>(0);
    let (tx, rx) = (&tx, &rx);
    let r: scopes::Result<()> = coroutine_scope! {
        launch {
            log.push(2);
            assert_eq!(rx.recv().await?, None);
            log.push(5);
        };
        launch {
            log.push(3);
            assert_eq!(rx.recv().await?, None);
            log.push(6);
        };
        log.push(1);
        yield_now().await?;
        log.push(4);
        tx.close();
        yield_now().await?;
        log.push(7);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), nums(7));
}

// ChannelsTest.testCloseWithMultipleSuspendedSenders: cancelling the
// channel resumes the waiting senders with a cancellation, in the order
// they began waiting; they end cancelled, the scope completes normally.
#[tokio::test(start_paused = true)]
async fn cancel_with_multiple_suspended_senders() {
    let log = Log::default();
    let log = &log;
    let (tx, rx) = channel::<u32>(0);
    let (tx, rx) = (&tx, &rx);
    let r: scopes::Result<()> = coroutine_scope! {
        let a = launch {
            log.push(2);
            let e = tx.send(42).await.unwrap_err();
            assert!(e.is_cancellation(), "{e:?}");
            log.push(5);
            Err::<(), _>(e)
        };
        let b = launch {
            log.push(3);
            let e = tx.send(42).await.unwrap_err();
            assert!(e.is_cancellation(), "{e:?}");
            log.push(6);
            Err::<(), _>(e)
        };
        log.push(1);
        yield_now().await?;
        log.push(4);
        rx.cancel();
        yield_now().await?;
        log.push(7);
        assert!(a.is_cancelled() && b.is_cancelled());
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), nums(7));
}

// ChannelsTest.testToListOnFailedChannel / ConsumeTest
// .testConsumeEachThrowingOnChannelClosing: a channel closed with a
// failure gives it to the receiver at once.
#[tokio::test(start_paused = true)]
async fn consume_each_on_failed_channel_gives_the_failure() {
    let (tx, rx) = channel::<u32>(0);
    assert!(tx.close_with(fail("TestException")));
    let e = rx.recv().await.unwrap_err();
    assert_eq!(name_of(&e), Some("TestException"));
}

// ConsumeTest.testConsumeEachClosesOnSuccess
#[tokio::test(start_paused = true)]
async fn consume_each_on_closed_channel_ends_at_once() {
    let (tx, rx) = channel::<u32>(UNLIMITED);
    let (tx, rx) = (&tx, &rx);
    let r: scopes::Result<()> = coroutine_scope! {
        launch { tx.close(); };
        assert_eq!(rx.recv().await?, None, "no item reaches the loop's body");
        rx.cancel();
        assert!(rx.is_closed());
        Ok(())
    };
    r.unwrap();
}

// ConsumeTest.testConsumeEachExitsOnCancellation (R7: a receive in a
// cancelled job fails at once, items still in the buffer included): the
// consumer cancels itself on its first item; its next receive is a
// cancellation; dropping its receiver cancels the channel. The producer's
// send of 2, which the first receive made room for, has completed (Kotlin:
// the waiting sender's item moves into the buffer); its next send returns a
// cancellation and it ends cancelled.
#[tokio::test(start_paused = true)]
async fn consume_each_exits_on_cancellation() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        let (tx, rx) = channel::<u32>(2);
        let producer = launch {
            for i in 0..3 {
                tx.send(i).await?;
                log.push(format!("sent {i}"));
            }
            yield_now().await?;
            let r = tx.send(3).await;
            log.push(format!("send 3 cancelled={}", r.as_ref().unwrap_err().is_cancellation()));
            r?;
            log.push("unreached");
        };
        let me = std::sync::Arc::new(std::sync::OnceLock::<Job<'_>>::new());
        let own = me.clone();
        let consumer = launch {
            let rx = rx;
            loop {
                match rx.recv().await {
                    Ok(Some(x)) => {
                        log.push(format!("got {x}"));
                        own.get().unwrap().cancel();
                    }
                    Ok(None) => unreachable!(),
                    Err(e) => {
                        log.push(format!("recv cancelled={}", e.is_cancellation()));
                        return Err(e);
                    }
                }
            }
        };
        let _ = me.set(consumer.clone());
        join_all([&producer, &consumer]).await?;
        assert!(producer.is_cancelled() && consumer.is_cancelled());
        Ok(())
    };
    r.unwrap();
    assert_eq!(
        log.take(),
        [
            "sent 0",
            "sent 1",
            "got 0",
            "recv cancelled=true",
            "sent 2",
            "send 3 cancelled=true"
        ]
    );
}

// ProduceConsumeTest (testRendezvous, testSmallBuffer, testMediumBuffer,
// testLargeMediumBuffer, testUnlimited): a producer of 10k items and a
// consumer, for each capacity; every item arrives once, in order.
#[tokio::test(start_paused = true)]
async fn produce_consume_every_capacity() {
    for capacity in [0, 1, 10, 1000, UNLIMITED] {
        let n = 10_000u32;
        let r: scopes::Result<u32> = coroutine_scope! {
            let rx = produce!(capacity = capacity; |tx: Sender<u32>| {
                for i in 1..=n { tx.send(i).await?; }
            });
            let mut expected = 1;
            while let Some(x) = rx.recv().await? {
                assert_eq!(x, expected, "capacity {capacity}");
                expected += 1;
            }
            Ok(expected - 1)
        };
        assert_eq!(r.unwrap(), n, "capacity {capacity}");
    }
}
