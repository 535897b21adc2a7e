//! kotlinx ProduceExceptionsTest and ProduceTest cases not yet ported.

use super::common::*;
use scopes::channel::UNLIMITED;
use scopes::prelude::*;

// ProduceExceptionsTest.testFailingProduce: the receiver cancels; the
// producer fails in its cleanup; no receiver can take it: the handler gets it
// once; the supervisor_scope completes normally.
#[tokio::test(start_paused = true)]
async fn failing_produce_in_cleanup_after_receiver_cancel_goes_to_handler() {
    let log = Log::default();
    let log = &log;
    let (got, h) = recorder();
    let r: scopes::Result<()> = with_exception_handler(h, async {
        supervisor_scope! {
            log.push(1);
            let producer = produce!(|_tx: Sender<u32>| {
                log.push(2);
                let _ = yield_now().await;
                let _ = delay(FOREVER).await;
                log.push(3);
                Err::<(), _>(fail("t"))
            });
            yield_now().await?;
            producer.cancel();
            yield_now().await?;
            log.push(4);
            Ok(())
        }
    })
    .await;
    r.unwrap();
    assert_eq!(log.take(), ["1", "2", "3", "4"]);
    let got: Vec<_> = got.lock().unwrap().iter().map(|e| name_of(e)).collect();
    assert_eq!(got, [Some("t")]);
}

// ProduceExceptionsTest.testSuppressedException: the producer's child fails,
// the producer's cleanup fails too: the receiver gets the first failure with
// the second suppressed.
#[tokio::test(start_paused = true)]
async fn produce_suppressed_exception_reaches_receiver() {
    let (got, h) = recorder();
    let r: scopes::Result<()> = with_exception_handler(h, async {
        supervisor_scope! {
            let rx = produce!(|_tx: Sender<u32>| {
                launch { Err::<(), _>(fail("t1")) };
                let _ = delay(FOREVER).await;
                Err::<(), _>(fail("t2"))
            });
            let e = rx.recv().await.unwrap_err();
            assert_eq!(name_of(&e), Some("t1"), "{e:?}");
            let sup: Vec<_> = e.suppressed().iter().map(|e| name_of(e)).collect();
            assert_eq!(sup, [Some("t2")], "{e:?}");
            Ok(())
        }
    })
    .await;
    r.unwrap();
    assert!(
        got.lock().unwrap().is_empty(),
        "the receiver took it: {:?}",
        got.lock().unwrap()
    );
}

// ProduceExceptionsTest.testSuppressedExceptionUncaught: the same, but the
// receiver cancels the channel: the handler gets t1 with t2 suppressed.
#[tokio::test(start_paused = true)]
async fn produce_suppressed_exception_uncaught_goes_to_handler() {
    let (got, h) = recorder();
    let r: scopes::Result<()> = with_exception_handler(h, async {
        supervisor_scope! {
            let rx = produce!(|_tx: Sender<u32>| {
                launch { Err::<(), _>(fail("t1")) };
                let _ = delay(FOREVER).await;
                Err::<(), _>(fail("t2"))
            });
            // Kotlin's child is ATOMIC; here it must run before the cancel
            // (one cancelled before its first run never runs, R7).
            yield_now().await?;
            yield_now().await?;
            rx.cancel();
            Ok(())
        }
    })
    .await;
    r.unwrap();
    let got = got.lock().unwrap();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(name_of(&got[0]), Some("t1"), "{got:?}");
    let sup: Vec<_> = got[0].suppressed().iter().map(|e| name_of(e)).collect();
    assert_eq!(sup, [Some("t2")]);
}

// ProduceExceptionsTest.testCancelProduceChannel: the producer cancels its own
// channel (through a receiver clone) and then sends: the send is a
// cancellation; the receiver gets a cancellation with nothing suppressed;
// the scope completes normally.
#[tokio::test(start_paused = true)]
async fn cancel_produce_channel_from_the_producer() {
    let log = Log::default();
    let log = &log;
    let cell: std::sync::OnceLock<Receiver<u32>> = std::sync::OnceLock::new();
    let cell = &cell;
    let r: scopes::Result<()> = coroutine_scope! {
        let rx = produce!(|tx| {
            log.push(2);
            cell.get().unwrap().cancel();
            let sent = tx.send(1).await;
            match sent {
                Err(e) => { log.push(format!("3 cancellation={}", e.is_cancellation())); return Err(e); }
                Ok(()) => { log.push("sent"); }
            }
        });
        cell.set(rx.clone()).ok().unwrap();
        log.push(1);
        yield_now().await?;
        let e = rx.recv().await.unwrap_err();
        assert!(e.is_cancellation());
        assert!(e.suppressed().is_empty());
        log.push(4);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), ["1", "2", "3 cancellation=true", "4"]);
}

// ProduceTest.testCancelWhenTheChannelIsClosed: the producer closed its
// channel and waits for a child of its own; cancelling the receiver still
// cancels the producer (and its child) at once.
#[tokio::test(start_paused = true)]
async fn cancel_when_the_channel_is_closed_cancels_the_producer() {
    let log = Log::default();
    let log = &log;
    let start = tokio::time::Instant::now();
    let r: scopes::Result<()> = coroutine_scope! {
        let channel = produce!(|tx| {
            tx.send(1).await?;
            tx.close();
            log.push(2);
            launch {
                log.push(3);
                let r = delay(FOREVER).await;
                log.push(5);
                r
            };
        });
        log.push(1);
        assert_eq!(channel.recv().await?, Some(1));
        yield_now().await?;
        log.push(4);
        channel.cancel();
        Ok(())
    };
    r.unwrap();
    log.push(6);
    assert_eq!(start.elapsed(), ms(0));
    assert_eq!(log.take(), ["1", "2", "3", "4", "5", "6"]);
}

// Same, the receiver dropped instead of cancelled.
#[tokio::test(start_paused = true)]
async fn dropping_the_receiver_of_a_closed_channel_cancels_the_producer() {
    let log = Log::default();
    let log = &log;
    let start = tokio::time::Instant::now();
    let r: scopes::Result<()> = coroutine_scope! {
        let channel = produce!(|tx| {
            tx.send(1).await?;
            tx.close();
            let r = delay(FOREVER).await;
            log.push("producer cleanup");
            r?;
        });
        assert_eq!(channel.recv().await?, Some(1));
        yield_now().await?;
        drop(channel);
        Ok(())
    };
    r.unwrap();
    assert_eq!(start.elapsed(), ms(0));
    assert_eq!(log.take(), ["producer cleanup"]);
}

// ProduceTest.testCancellingProduceCoroutineButNotChannel: the producer is
// cancelled by its own child's failure; what it sends in its cleanup is
// still received, then the failure.
#[tokio::test(start_paused = true)]
async fn cancelling_produce_coroutine_but_not_channel() {
    let (got, h) = recorder();
    let r: scopes::Result<()> = with_exception_handler(h, async {
        supervisor_scope! {
            let c = produce!(capacity = UNLIMITED; |tx| {
                launch { Err::<(), _>(fail("t")) };
                if yield_now().await.is_err() {
                    non_cancellable {
                        for i in 0..10u32 { tx.send(i).await?; }
                    }?;
                }
            });
            for i in 0..10u32 { assert_eq!(c.recv().await?, Some(i)); }
            let e = c.recv().await.unwrap_err();
            assert_eq!(name_of(&e), Some("t"));
            Ok(())
        }
    })
    .await;
    r.unwrap();
    assert!(got.lock().unwrap().is_empty());
}

// ProduceTest.testCancelWithCause analogue / cancelOnCompletion: a producer
// waiting in another channel's recv is cancelled at once by its receiver's
// cancel.
#[tokio::test(start_paused = true)]
async fn producer_waiting_in_another_recv_is_cancelled_by_its_receiver() {
    let log = Log::default();
    let log = &log;
    let (_stx, srx) = channel::<u32>(0);
    let srx = &srx;
    let r: scopes::Result<()> = coroutine_scope! {
        log.push(1);
        let produced = produce!(|_tx: Sender<u32>| {
            log.push(2);
            let r = srx.recv().await;
            log.push(format!("source recv cancellation={:?}", r.as_ref().map_err(|e| e.is_cancellation())));
            r?;
        });
        yield_now().await?;
        log.push(3);
        produced.cancel();
        yield_now().await?;
        log.push(4);
        Ok(())
    };
    r.unwrap();
    assert_eq!(
        log.take(),
        ["1", "2", "3", "source recv cancellation=Err(true)", "4"]
    );
}
