//! kotlinx ChannelsTest / ChannelReceiveCatchingTest / ProduceExceptionsTest
//! shapes on closed channels with several receivers (SPEC §2c: both ends
//! clone, Kotlin channels are many-to-many; a closed channel stays closed).

use super::common::*;
use scopes::prelude::*;
use std::sync::{Arc, OnceLock};

// ChannelsTest.testCloseWithMultipleSuspendedReceivers with a failure:
// every waiting receiver gets it, in the order they began waiting.
#[tokio::test(start_paused = true)]
async fn close_with_failure_reaches_every_waiting_receiver() {
    let log = Log::default();
    let log = &log;
    let (tx, rx) = channel::<u32>(0);
    let (tx, rx) = (&tx, &rx);
    let r: scopes::Result<()> = coroutine_scope! {
        for name in ["a", "b"] {
            launch {
                let e = rx.recv().await.unwrap_err();
                log.push(format!("{name} {:?}", name_of(&e)));
            };
        }
        yield_now().await?;
        tx.close_with(fail("TestException"));
        Ok(())
    };
    r.unwrap();
    assert_eq!(
        log.take(),
        ["a Some(\"TestException\")", "b Some(\"TestException\")"]
    );
}

// ChannelReceiveCatchingTest-like: after the failure, every later receive
// (on any clone) gives it again: a closed channel stays closed.
#[tokio::test(start_paused = true)]
async fn a_failed_channel_gives_its_failure_to_every_later_receive() {
    let (tx, rx) = channel::<u32>(2);
    let rx2 = rx.clone();
    tx.send(1).await.unwrap();
    assert!(tx.close_with(fail("TestException")));
    assert_eq!(rx2.recv().await.unwrap(), Some(1));
    for r in [&rx, &rx2, &rx] {
        let e = r.recv().await.unwrap_err();
        assert_eq!(name_of(&e), Some("TestException"), "{e:?}");
    }
}

// ChannelsTest: after close(), every receive on every clone is the end.
#[tokio::test(start_paused = true)]
async fn a_closed_channel_gives_the_end_to_every_later_receive() {
    let (tx, rx) = channel::<u32>(0);
    let rx2 = rx.clone();
    assert!(tx.close());
    assert!(!tx.close());
    for r in [&rx, &rx2, &rx] {
        assert_eq!(r.recv().await.unwrap(), None);
    }
}

// ProduceExceptionsTest-like, two consumers of one failing producer in a
// supervisor_scope: both find the failure in the channel; it was delivered,
// so the handler does not get it (R4).
#[tokio::test(start_paused = true)]
async fn a_producer_failure_reaches_every_consumer_and_not_the_handler() {
    let log = Log::default();
    let log = &log;
    let (got, h) = recorder();
    let r: scopes::Result<()> = with_exception_handler(h, async {
        supervisor_scope! {
            let rx = produce!(|tx: Sender<u32>| {
                tx.send(1).await?;
                Err::<(), _>(fail("TestException"))
            });
            for name in ["a", "b"] {
                let rx = rx.clone();
                launch {
                    loop {
                        match rx.recv().await {
                            Ok(Some(x)) => log.push(format!("{name} got {x}")),
                            Ok(None) => unreachable!(),
                            Err(e) => {
                                log.push(format!("{name} {:?}", name_of(&e)));
                                break;
                            }
                        }
                    }
                };
            }
            drop(rx);
            Ok(())
        }
    })
    .await;
    r.unwrap();
    assert_eq!(
        log.take(),
        [
            "a got 1",
            "a Some(\"TestException\")",
            "b Some(\"TestException\")"
        ]
    );
    assert!(got.lock().unwrap().is_empty());
}

// ProduceExceptionsTest.testCancelProduceChannelWithException: the producer
// cancels its own channel (through a clone of the receiver), then sends:
// the send is a cancellation (not a ChannelClosed failure), the producer
// ends cancelled, the receiver gets a cancellation with nothing suppressed;
// nothing fails.
#[tokio::test(start_paused = true)]
async fn cancel_produce_channel_from_the_producer() {
    let log = Log::default();
    let log = &log;
    let (got, h) = recorder();
    let r: scopes::Result<()> = with_exception_handler(h, async {
        supervisor_scope! {
            let cell: Arc<OnceLock<Receiver<u32>>> = Default::default();
            let own = cell.clone();
            let rx = produce!(|tx: Sender<u32>| {
                log.push(2);
                own.get().unwrap().cancel();
                let r = tx.send(1).await;
                log.push(format!("send cancelled={}", r.as_ref().unwrap_err().is_cancellation()));
                r?;
            });
            let _ = cell.set(rx.clone());
            log.push(1);
            yield_now().await?;
            let e = rx.recv().await.unwrap_err();
            assert!(e.is_cancellation() && e.suppressed().is_empty(), "{e:?}");
            log.push(4);
            Ok(())
        }
    })
    .await;
    r.unwrap();
    assert_eq!(log.take(), ["1", "2", "send cancelled=true", "4"]);
    assert!(got.lock().unwrap().is_empty());
}

// SuppressionTests.testExceptionUnwrapping: in a supervised async child,
// one child sends forever, another cancels the channel and fails: the
// sender ends cancelled (not suppressed), the Deferred gives the failure
// with nothing suppressed.
#[tokio::test(start_paused = true)]
async fn channel_cancelled_by_a_failing_sibling_suppresses_nothing() {
    let r: scopes::Result<()> = supervisor_scope! {
        let deferred = async {
            let (tx, rx) = channel::<u32>(0);
            launch {
                loop { tx.send(1).await?; }
            };
            launch {
                rx.cancel();
                Err::<(), _>(fail("TestException"))
            };
            Ok(())
        };
        let e = deferred.await.unwrap_err();
        assert_eq!(name_of(&e), Some("TestException"), "{e:?}");
        assert!(e.suppressed().is_empty(), "{e:?}");
        Ok(())
    };
    r.unwrap();
}
