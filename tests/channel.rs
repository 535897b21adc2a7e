//! Channels (SPEC §2c): hand-off, buffering, every order of close, cancel
//! and failure, cancellation of a job waiting in `send`/`recv` (R7), many
//! senders and receivers. Several follow kotlinx.coroutines'
//! `RendezvousChannelTest` and `ChannelsTest`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use scopes::channel::{ChannelClosed, UNLIMITED};
use scopes::{
    Error, Receiver, Sender, channel, coroutine_scope, delay, non_cancellable, unbounded_channel,
    yield_now,
};
use scopes_workspace::Log;
use tokio::time::Instant;

/// One poll with a waker that does nothing, outside any scope.
fn poll_once<F: Future + Unpin>(fut: &mut F) -> Poll<F::Output> {
    Pin::new(fut).poll(&mut Context::from_waker(Waker::noop()))
}

fn is_cancellation<T>(result: &scopes::Result<T>) -> bool {
    matches!(result, Err(e) if e.is_cancellation())
}

// ---- hand-off and buffering ----

#[test]
fn send_to_a_waiting_receiver_completes_without_suspending() {
    let (tx, rx) = channel::<u32>(0);
    let mut recv = rx.recv();
    assert!(poll_once(&mut recv).is_pending());
    assert!(matches!(poll_once(&mut tx.send(1)), Poll::Ready(Ok(()))));
    assert!(matches!(poll_once(&mut recv), Poll::Ready(Ok(Some(1)))));
}

#[test]
fn recv_from_a_waiting_sender_completes_without_suspending() {
    let (tx, rx) = channel::<u32>(0);
    let mut send = tx.send(1);
    assert!(poll_once(&mut send).is_pending());
    assert!(matches!(
        poll_once(&mut rx.recv()),
        Poll::Ready(Ok(Some(1)))
    ));
    assert!(matches!(poll_once(&mut send), Poll::Ready(Ok(()))));
}

#[test]
fn rendezvous_send_without_receiver_waits() {
    let (tx, rx) = channel::<u32>(0);
    let mut send = tx.send(1);
    assert!(poll_once(&mut send).is_pending());
    assert!(poll_once(&mut send).is_pending());
    assert_eq!(rx.len(), 0, "a rendezvous channel buffers nothing");
}

#[test]
fn buffered_channel_sends_without_waiting_until_full() {
    let (tx, rx) = channel::<u32>(2);
    assert!(matches!(poll_once(&mut tx.send(1)), Poll::Ready(Ok(()))));
    assert!(matches!(poll_once(&mut tx.send(2)), Poll::Ready(Ok(()))));
    let mut third = tx.send(3);
    assert!(poll_once(&mut third).is_pending());
    assert_eq!(rx.len(), 2);
    // Taking one makes room: the waiting item moves into the buffer.
    assert!(matches!(
        poll_once(&mut rx.recv()),
        Poll::Ready(Ok(Some(1)))
    ));
    assert!(matches!(poll_once(&mut third), Poll::Ready(Ok(()))));
    assert_eq!(rx.len(), 2);
    assert!(matches!(
        poll_once(&mut rx.recv()),
        Poll::Ready(Ok(Some(2)))
    ));
    assert!(matches!(
        poll_once(&mut rx.recv()),
        Poll::Ready(Ok(Some(3)))
    ));
}

#[test]
fn unbounded_channel_never_waits() {
    let (tx, rx) = unbounded_channel::<u32>();
    for i in 0..10_000 {
        assert!(matches!(poll_once(&mut tx.send(i)), Poll::Ready(Ok(()))));
    }
    assert_eq!(rx.len(), 10_000);
    assert_eq!(rx.capacity(), UNLIMITED);
    for i in 0..10_000 {
        assert!(matches!(poll_once(&mut rx.recv()), Poll::Ready(Ok(Some(n))) if n == i));
    }
    assert!(rx.is_empty());
}

/// kotlinx `RendezvousChannelTest.testSimple`: the sender suspends first;
/// the receiver takes from it without suspending; the second send finds
/// the receiver waiting and does not suspend.
#[tokio::test]
async fn rendezvous_hand_off_in_kotlin_order() {
    let log = Log::default();
    let log = &log;
    coroutine_scope(|s| {
        Box::pin(async move {
            let (tx, rx) = channel::<u32>(0);
            log.push("1");
            let sender = s.launch(async move {
                log.push("4");
                tx.send(1).await?; // suspends: first at the rendezvous
                log.push("7");
                tx.send(2).await?; // the receiver waits: no suspension
                log.push("8");
                Ok(())
            });
            log.push("2");
            let receiver = s.launch(async move {
                log.push("5");
                assert_eq!(rx.recv().await?, Some(1)); // the sender waits: no suspension
                log.push("6");
                assert_eq!(rx.recv().await?, Some(2)); // suspends
                log.push("9");
                Ok(())
            });
            log.push("3");
            sender.join().await?;
            receiver.join().await?;
            log.push("10");
            Ok(())
        })
    })
    .await
    .unwrap();
    assert_eq!(
        log.take(),
        ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10"]
    );
}

// ---- close, close_with, senders gone ----

#[tokio::test]
async fn close_delivers_buffered_items_then_none() {
    let (tx, rx) = channel(4);
    tx.send(1).await.unwrap();
    tx.send(2).await.unwrap();
    assert!(tx.close());
    assert!(tx.is_closed());
    assert!(!rx.is_closed(), "items are still buffered");
    assert_eq!(rx.recv().await.unwrap(), Some(1));
    assert_eq!(rx.recv().await.unwrap(), Some(2));
    assert_eq!(rx.recv().await.unwrap(), None);
    assert_eq!(rx.recv().await.unwrap(), None, "every later recv too");
    assert!(rx.is_closed());
}

#[tokio::test]
async fn send_after_close_fails_with_channel_closed_not_a_cancellation() {
    let (tx, _rx) = channel(4);
    tx.close();
    let err = tx.send(1).await.unwrap_err();
    assert!(!err.is_cancellation());
    assert!(err.downcast_ref::<ChannelClosed>().is_some());
    assert!(!tx.close(), "closing twice");
}

#[tokio::test]
async fn close_with_failure_gives_it_after_the_buffered_items() {
    let (tx, rx) = channel(4);
    tx.send(1).await.unwrap();
    tx.send(2).await.unwrap();
    assert!(tx.close_with(Error::msg("disk full")));
    assert_eq!(rx.recv().await.unwrap(), Some(1));
    assert_eq!(rx.recv().await.unwrap(), Some(2));
    for _ in 0..2 {
        let err = rx.recv().await.unwrap_err();
        assert_eq!(err.to_string(), "disk full");
        assert!(!err.is_cancellation());
    }
    assert_eq!(tx.send(3).await.unwrap_err().to_string(), "disk full");
}

/// kotlinx `RendezvousChannelTest.testSuspendSendOnClosedChannel`: a send
/// waiting when the channel is closed still delivers its item.
#[test]
fn a_send_waiting_at_close_still_delivers() {
    let (tx, rx) = channel::<u32>(0);
    let mut send = tx.send(42);
    assert!(poll_once(&mut send).is_pending());
    tx.close();
    assert!(poll_once(&mut send).is_pending());
    assert!(matches!(
        poll_once(&mut rx.recv()),
        Poll::Ready(Ok(Some(42)))
    ));
    assert!(matches!(poll_once(&mut send), Poll::Ready(Ok(()))));
    assert!(matches!(poll_once(&mut rx.recv()), Poll::Ready(Ok(None))));
}

#[tokio::test]
async fn dropping_every_sender_ends_the_channel_after_its_items() {
    let (tx, rx) = channel(4);
    let tx2 = tx.clone();
    tx.send(1).await.unwrap();
    drop(tx);
    tx2.send(2).await.unwrap();
    let mut recv = rx.recv();
    assert!(matches!(poll_once(&mut recv), Poll::Ready(Ok(Some(1)))));
    assert_eq!(rx.recv().await.unwrap(), Some(2));
    let mut waiting = rx.recv();
    assert!(poll_once(&mut waiting).is_pending(), "a sender is left");
    drop(tx2);
    assert!(matches!(poll_once(&mut waiting), Poll::Ready(Ok(None))));
}

#[tokio::test]
async fn a_receiver_waiting_when_the_channel_closes_gets_none() {
    coroutine_scope(|s| {
        Box::pin(async move {
            let (tx, rx) = channel::<u32>(0);
            let got = s.r#async(async move { rx.recv().await });
            yield_now().await?; // the receiver waits
            tx.close();
            assert_eq!(got.await?, None);
            Ok(())
        })
    })
    .await
    .unwrap();
}

// ---- cancel, receivers gone ----

#[tokio::test]
async fn cancel_drops_the_items_and_both_sides_get_a_cancellation() {
    let (tx, rx) = channel(4);
    tx.send(1).await.unwrap();
    let rx2 = rx.clone();
    rx2.cancel();
    assert!(is_cancellation(&rx.recv().await), "recv after cancel");
    assert!(is_cancellation(&rx2.recv().await));
    assert!(is_cancellation(&tx.send(2).await), "send after cancel");
    assert!(tx.is_closed() && rx.is_closed());
    assert!(rx.is_empty(), "the buffered item was dropped");
    assert!(!tx.close(), "a cancelled channel cannot be closed");
}

#[test]
fn cancel_after_close_still_cancels() {
    let (tx, rx) = channel::<u32>(4);
    assert!(matches!(poll_once(&mut tx.send(1)), Poll::Ready(Ok(()))));
    tx.close();
    rx.cancel();
    assert!(matches!(poll_once(&mut rx.recv()), Poll::Ready(Err(e)) if e.is_cancellation()));
}

/// "Receiver dropped while a sender waits": the waiting send is resumed
/// with a cancellation, so the producer ends cancelled, not failed, and
/// the scope completes normally.
#[tokio::test(start_paused = true)]
async fn receiver_dropped_while_a_sender_waits_ends_the_producer_cancelled() {
    let log = Log::default();
    let log = &log;
    let start = Instant::now();
    coroutine_scope(|s| {
        Box::pin(async move {
            let (tx, rx) = channel::<u32>(0);
            let producer = s.launch(async move {
                let mut i = 0;
                loop {
                    if let Err(e) = tx.send(i).await {
                        log.push(format!(
                            "producer stopped after {i}: cancellation={}",
                            e.is_cancellation()
                        ));
                        return Err(e);
                    }
                    i += 1;
                }
            });
            assert_eq!(rx.recv().await?, Some(0));
            assert_eq!(rx.recv().await?, Some(1));
            delay(Duration::from_secs(1)).await?; // the producer waits in send(2)
            drop(rx);
            producer.join().await?;
            assert!(producer.is_cancelled(), "ended with a cancellation");
            Ok(())
        })
    })
    .await
    .expect("the scope completes normally");
    assert_eq!(log.take(), ["producer stopped after 2: cancellation=true"]);
    assert_eq!(start.elapsed(), Duration::from_secs(1));
}

#[test]
fn dropping_one_receiver_clone_does_not_cancel() {
    let (tx, rx) = channel::<u32>(1);
    let rx2 = rx.clone();
    drop(rx);
    assert!(matches!(poll_once(&mut tx.send(1)), Poll::Ready(Ok(()))));
    assert!(matches!(
        poll_once(&mut rx2.recv()),
        Poll::Ready(Ok(Some(1)))
    ));
    drop(rx2);
    assert!(matches!(poll_once(&mut tx.send(2)), Poll::Ready(Err(e)) if e.is_cancellation()));
}

// ---- R7: a job cancelled while it waits in send / recv ----

/// "Consumer cancelled mid-send": a job cancelled while its `send` waits
/// is resumed with a cancellation, cleans up, and its item is not sent.
#[tokio::test(start_paused = true)]
async fn r7_a_job_cancelled_while_waiting_in_send_is_resumed_and_its_item_not_sent() {
    let log = Log::default();
    let log = &log;
    coroutine_scope(|s| {
        Box::pin(async move {
            let (tx, rx) = channel::<&str>(0);
            let sender = s.launch(async move {
                match tx.send("never delivered").await {
                    Ok(()) => Ok(()),
                    Err(cancelled) => {
                        non_cancellable(delay(Duration::from_millis(10))).await?;
                        log.push(format!(
                            "sender cleaned up, cancellation={}",
                            cancelled.is_cancellation()
                        ));
                        Err(cancelled)
                    }
                }
            });
            delay(Duration::from_secs(1)).await?;
            sender.cancel();
            sender.join().await?;
            // The sender (and so its `tx`) is gone; its item never arrived.
            assert_eq!(rx.recv().await?, None);
            Ok(())
        })
    })
    .await
    .unwrap();
    assert_eq!(log.take(), ["sender cleaned up, cancellation=true"]);
}

#[tokio::test(start_paused = true)]
async fn r7_a_job_cancelled_while_waiting_in_recv_is_resumed_and_cleans_up() {
    let log = Log::default();
    let log = &log;
    let start = Instant::now();
    coroutine_scope(|s| {
        Box::pin(async move {
            let (tx, rx) = channel::<u32>(0);
            let rx2 = rx.clone();
            let consumer = s.launch(async move {
                match rx2.recv().await {
                    Ok(item) => panic!("unexpected {item:?}"),
                    Err(cancelled) => {
                        non_cancellable(delay(Duration::from_secs(2))).await?;
                        log.push("consumer flushed");
                        Err(cancelled)
                    }
                }
            });
            delay(Duration::from_secs(1)).await?;
            consumer.cancel();
            consumer.join().await?;
            // The channel is intact: another receiver gets the next item.
            let next = s.r#async(async move { rx.recv().await });
            tx.send(7).await?;
            assert_eq!(next.await?, Some(7));
            Ok(())
        })
    })
    .await
    .unwrap();
    assert_eq!(log.take(), ["consumer flushed"]);
    assert_eq!(start.elapsed(), Duration::from_secs(3));
}

/// Called in an already cancelled job, send and recv fail at once, even
/// when they could complete (room in the buffer, an item waiting).
#[tokio::test(start_paused = true)]
async fn r7_send_and_recv_in_an_already_cancelled_job_fail_at_once() {
    coroutine_scope(|s| {
        Box::pin(async move {
            let (tx, rx) = channel::<u32>(4);
            tx.send(1).await?;
            let (tx2, rx2) = (tx.clone(), rx.clone());
            let job = s.launch(async move {
                let cancelled = delay(Duration::from_secs(60)).await.unwrap_err();
                assert!(cancelled.is_cancellation());
                assert!(is_cancellation(&tx2.send(2).await), "room, but cancelled");
                assert!(is_cancellation(&rx2.recv().await), "an item, but cancelled");
                Err(cancelled)
            });
            yield_now().await?;
            job.cancel();
            job.join().await?;
            assert_eq!(rx.len(), 1, "nothing was sent or taken");
            assert_eq!(rx.recv().await?, Some(1));
            Ok(())
        })
    })
    .await
    .unwrap();
}

/// R8: inside `non_cancellable`, a cancelled job still sends and receives.
#[tokio::test(start_paused = true)]
async fn r8_send_and_recv_inside_non_cancellable_work_in_a_cancelled_job() {
    coroutine_scope(|s| {
        Box::pin(async move {
            let (tx, rx) = channel::<u32>(0);
            let (out_tx, out_rx) = channel::<u32>(0);
            let job = s.launch(async move {
                let cancelled = delay(Duration::from_secs(60)).await.unwrap_err();
                non_cancellable(async {
                    let n = rx.recv().await?.unwrap_or_default();
                    out_tx.send(n * 10).await
                })
                .await?;
                Err(cancelled)
            });
            yield_now().await?;
            job.cancel();
            tx.send(4).await?;
            assert_eq!(out_rx.recv().await?, Some(40));
            Ok(())
        })
    })
    .await
    .unwrap();
}

/// Rendezvous hand-off under cancellation: the receiver a send woke is
/// cancelled before it runs; the item goes to the next waiting receiver.
#[tokio::test]
async fn a_woken_receiver_cancelled_before_it_runs_hands_the_item_on() {
    coroutine_scope(|s| {
        Box::pin(async move {
            let (tx, rx) = channel::<u32>(0);
            let (rx1, rx2) = (rx.clone(), rx.clone());
            let first = s.r#async(async move { rx1.recv().await });
            let second = s.r#async(async move { rx2.recv().await });
            yield_now().await?; // both wait, `first` in front
            tx.send(1).await?; // hands 1 to `first`, without suspending
            first.cancel(); // before `first` runs
            assert!(is_cancellation(&first.await));
            assert_eq!(second.await?, Some(1));
            drop(rx);
            Ok(())
        })
    })
    .await
    .unwrap();
}

/// A job cancelled while its send waits at a rendezvous: its item is
/// withdrawn, so a receiver arriving later gets the next sender's item.
#[tokio::test]
async fn a_cancelled_waiting_sender_withdraws_its_item() {
    coroutine_scope(|s| {
        Box::pin(async move {
            let (tx, rx) = channel::<&str>(0);
            let tx2 = tx.clone();
            let first = s.launch(async move { tx.send("first").await });
            let second = s.launch(async move { tx2.send("second").await });
            yield_now().await?; // both wait
            first.cancel();
            first.join().await?;
            assert_eq!(rx.recv().await?, Some("second"));
            second.join().await?;
            assert!(!second.is_cancelled());
            Ok(())
        })
    })
    .await
    .unwrap();
}

// ---- items are dropped, not leaked, and their drop may use the channel ----

struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn cancel_drops_buffered_and_waiting_items() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = channel::<Counted>(2);
    for _ in 0..2 {
        assert!(poll_once(&mut tx.send(Counted(drops.clone()))).is_ready());
    }
    let mut waiting = tx.send(Counted(drops.clone()));
    assert!(poll_once(&mut waiting).is_pending());
    rx.cancel();
    assert_eq!(drops.load(Ordering::SeqCst), 3);
    assert!(matches!(poll_once(&mut waiting), Poll::Ready(Err(e)) if e.is_cancellation()));
}

#[test]
fn a_waiting_send_dropped_drops_its_item() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = channel::<Counted>(0);
    let mut waiting = tx.send(Counted(drops.clone()));
    assert!(poll_once(&mut waiting).is_pending());
    drop(waiting);
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    let mut recv = rx.recv();
    assert!(poll_once(&mut recv).is_pending(), "nothing left to receive");
}

/// An item whose drop uses the channel (it holds a sender of it): the
/// channel drops items outside its lock, so this does not deadlock.
#[test]
fn items_that_hold_the_channel_are_dropped_outside_its_lock() {
    struct Item(#[allow(dead_code, reason = "held for its drop")] Sender<Item>);
    let (tx, rx) = unbounded_channel::<Item>();
    assert!(poll_once(&mut tx.send(Item(tx.clone()))).is_ready());
    assert!(poll_once(&mut tx.send(Item(tx.clone()))).is_ready());
    rx.cancel(); // drops both items, each dropping a sender
    drop(tx);
    assert!(rx.is_closed());
}

// ---- many senders, many receivers ----

/// Fan-in: three producers, one consumer; every item arrives once, and
/// each producer's items in order.
#[tokio::test]
async fn fan_in_every_item_arrives_once_in_each_senders_order() {
    let received = coroutine_scope(|s| {
        Box::pin(async move {
            let (tx, rx) = channel::<(usize, u32)>(4);
            for producer in 0..3 {
                let tx = tx.clone();
                s.launch(async move {
                    for i in 0..100 {
                        tx.send((producer, i)).await?;
                        if i % 7 == 0 {
                            yield_now().await?;
                        }
                    }
                    Ok(())
                });
            }
            drop(tx);
            let mut received = Vec::new();
            while let Some(item) = rx.recv().await? {
                received.push(item);
            }
            Ok(received)
        })
    })
    .await
    .unwrap();
    assert_eq!(received.len(), 300);
    for producer in 0..3 {
        let theirs: Vec<u32> = received
            .iter()
            .filter(|(p, _)| *p == producer)
            .map(|(_, i)| *i)
            .collect();
        assert_eq!(theirs, (0..100).collect::<Vec<_>>());
    }
}

/// Fan-out: one producer, three consumers sharing the receiver; each item
/// is received by exactly one of them.
#[tokio::test]
async fn fan_out_each_item_is_received_once() {
    let per_consumer = coroutine_scope(|s| {
        Box::pin(async move {
            let (tx, rx) = channel::<u32>(0);
            let consumers: Vec<_> = (0..3)
                .map(|_| {
                    let rx = rx.clone();
                    s.r#async(async move {
                        let mut got = Vec::new();
                        while let Some(i) = rx.recv().await? {
                            got.push(i);
                            yield_now().await?;
                        }
                        Ok(got)
                    })
                })
                .collect();
            drop(rx);
            for i in 0..300 {
                tx.send(i).await?;
            }
            drop(tx);
            let mut all = Vec::new();
            for consumer in consumers {
                all.push(consumer.await?);
            }
            Ok(all)
        })
    })
    .await
    .unwrap();
    let mut all: Vec<u32> = per_consumer.iter().flatten().copied().collect();
    all.sort_unstable();
    assert_eq!(all, (0..300).collect::<Vec<_>>());
    for got in &per_consumer {
        assert!(
            !got.is_empty(),
            "every consumer took part: {per_consumer:?}"
        );
        assert!(got.windows(2).all(|w| w[0] < w[1]), "in channel order");
    }
}

/// Many senders and receivers on several threads (`parallel` children),
/// for each capacity kind: nothing lost, nothing duplicated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_to_many_across_threads_loses_and_duplicates_nothing() {
    for capacity in [0, 1, 16, UNLIMITED] {
        let sums = coroutine_scope(|s| {
            Box::pin(async move {
                let (tx, rx) = channel::<u64>(capacity);
                for p in 0..4u64 {
                    let tx = tx.clone();
                    s.child().launch_parallel(async move {
                        for i in 0..2_000 {
                            tx.send(p * 10_000 + i).await?;
                        }
                        Ok(())
                    });
                }
                drop(tx);
                let consumers: Vec<_> = (0..4)
                    .map(|_| {
                        let rx: Receiver<u64> = rx.clone();
                        s.child().async_parallel(async move {
                            let (mut n, mut sum) = (0u64, 0u64);
                            while let Some(i) = rx.recv().await? {
                                n += 1;
                                sum += i;
                            }
                            Ok((n, sum))
                        })
                    })
                    .collect();
                drop(rx);
                let mut total = (0, 0);
                for consumer in consumers {
                    let (n, sum) = consumer.await?;
                    total = (total.0 + n, total.1 + sum);
                }
                Ok(total)
            })
        })
        .await
        .unwrap();
        let expected: u64 = (0..4u64)
            .map(|p| (0..2_000).map(|i| p * 10_000 + i).sum::<u64>())
            .sum();
        assert_eq!(sums, (8_000, expected), "capacity {capacity}");
    }
}

// ---- fairness: a receiver that waited is served first (Kotlin) ----

/// Kotlin's channels are fair: the first to call `receive` gets the
/// element. An item sent to a waiting receiver is kept for it, though it
/// stays in the channel until that receiver runs (so a receiver cancelled
/// before it runs loses nothing): a receive that runs first takes the next
/// item, not that one. (Ported from Trio's `test_channel_fairness`.)
#[tokio::test(start_paused = true)]
async fn a_receive_that_runs_first_leaves_the_item_sent_to_a_waiting_receiver() {
    let start = Instant::now();
    coroutine_scope(|s| {
        Box::pin(async move {
            let (tx, rx) = channel::<u32>(1);
            let waiting = rx.clone();
            let d = s.r#async(async move { waiting.recv().await });
            yield_now().await?; // the child waits in `recv`
            tx.send(2).await?; // to the waiting child, which has not run yet
            let mine = scopes::with_timeout_or_none(Duration::from_millis(1), rx.recv()).await?;
            assert_eq!(mine, None, "the body took the child's item");
            assert_eq!(d.await?, Some(2));
            Ok(())
        })
    })
    .await
    .unwrap();
    assert_eq!(start.elapsed(), Duration::from_millis(1));
}

/// A rendezvous send to a waiting receiver keeps the item for it; a
/// receiver started later, which runs first, takes the next item (from a
/// sender that had to wait for it).
#[tokio::test(start_paused = true)]
async fn a_waiting_receiver_gets_the_item_sent_to_it_before_a_later_receiver() {
    let log = Log::default();
    let l = &log;
    coroutine_scope(|s| {
        Box::pin(async move {
            let (tx, rx) = channel::<u32>(0);
            let first = rx.clone();
            s.launch(async move {
                let item = first.recv().await?;
                l.push(format!("waited: {item:?}"));
                Ok(())
            });
            yield_now().await?; // `first` waits
            let later = rx.clone();
            s.launch(async move {
                let item = later.recv().await?;
                l.push(format!("later: {item:?}"));
                Ok(())
            });
            tx.send(1).await?; // to `first`, without suspending
            tx.send(2).await?; // waits for `later`
            Ok(())
        })
    })
    .await
    .unwrap();
    // `later` was started before `first` was woken, so it runs first (R14).
    assert_eq!(log.take(), ["later: Some(2)", "waited: Some(1)"]);
}

/// An item kept for a waiting receiver that is cancelled before it runs,
/// with nobody else waiting, goes to the next `recv` first: it is older
/// than what was buffered after it.
#[tokio::test(start_paused = true)]
async fn an_item_kept_for_a_receiver_cancelled_before_it_ran_comes_out_first() {
    coroutine_scope(|s| {
        Box::pin(async move {
            let (tx, rx) = channel::<u32>(1);
            let waiting = rx.clone();
            let d = s.r#async(async move { waiting.recv().await });
            yield_now().await?; // the child waits in `recv`
            tx.send(1).await?; // kept for the child
            tx.send(2).await?; // buffered
            d.cancel();
            assert!(is_cancellation(&d.await));
            assert_eq!(rx.recv().await?, Some(1));
            assert_eq!(rx.recv().await?, Some(2));
            Ok(())
        })
    })
    .await
    .unwrap();
}

/// Five consumers waiting on a channel of capacity 1 each get the item
/// sent while they waited, in the order they came; none of them takes the
/// others' by looping back first. (Trio's `test_channel_multiple_consumers`
/// expects every consumer to get one.)
#[tokio::test(start_paused = true)]
async fn consumers_that_wait_each_get_the_item_sent_while_they_waited() {
    let log = Log::default();
    let l = &log;
    coroutine_scope(|s| {
        Box::pin(async move {
            let (tx, rx) = channel::<u32>(1);
            for consumer in 0..5 {
                let rx = rx.clone();
                s.launch(async move {
                    while let Some(item) = rx.recv().await? {
                        l.push(format!("{consumer}:{item}"));
                    }
                    Ok(())
                });
            }
            drop(rx);
            yield_now().await?; // every consumer waits
            for item in 0..10 {
                tx.send(item).await?;
            }
            Ok(())
        })
    })
    .await
    .unwrap();
    let got = log.take();
    for consumer in 0..5 {
        let first = got
            .iter()
            .find(|entry| entry.starts_with(&format!("{consumer}:")));
        assert_eq!(first, Some(&format!("{consumer}:{consumer}")), "{got:?}");
    }
    let mut items: Vec<u32> = got.iter().map(|e| e[2..].parse().unwrap()).collect();
    items.sort_unstable();
    assert_eq!(items, (0..10).collect::<Vec<_>>());
}

// ---- pipelines ----

/// A pipeline of plain channels: numbers → 3 squaring workers → a
/// collector; closing flows down the stages and the scope completes.
#[tokio::test]
async fn pipeline_fan_out_then_fan_in_completes_normally() {
    let total = coroutine_scope(|s| {
        Box::pin(async move {
            let (numbers_tx, numbers) = channel::<u64>(0);
            let (squares_tx, squares) = channel::<u64>(2);
            s.launch(async move {
                for i in 1..=100 {
                    numbers_tx.send(i).await?;
                }
                Ok(())
            });
            for _ in 0..3 {
                let (numbers, squares_tx) = (numbers.clone(), squares_tx.clone());
                s.launch(async move {
                    while let Some(i) = numbers.recv().await? {
                        squares_tx.send(i * i).await?;
                    }
                    Ok(())
                });
            }
            drop((numbers, squares_tx));
            let mut total = 0;
            while let Some(sq) = squares.recv().await? {
                total += sq;
            }
            Ok(total)
        })
    })
    .await
    .unwrap();
    assert_eq!(total, (1..=100u64).map(|i| i * i).sum());
}

/// A failure in the middle of a pipeline fails the scope with it (R2) and
/// cancels the other stages, wherever they wait.
#[tokio::test(start_paused = true)]
async fn pipeline_stage_failure_fails_the_scope_and_cancels_the_rest() {
    let log = Log::default();
    let log = &log;
    let err = coroutine_scope(|s| {
        Box::pin(async move {
            let (tx, rx) = channel::<u32>(0);
            s.launch(async move {
                let mut i = 0;
                loop {
                    if let Err(e) = tx.send(i).await {
                        log.push("source cancelled");
                        return Err(e);
                    }
                    i += 1;
                }
            });
            s.launch(async move {
                while let Some(i) = rx.recv().await? {
                    if i == 3 {
                        return Err(Error::msg("bad item 3"));
                    }
                }
                Ok(())
            });
            delay(Duration::from_secs(3600)).await?;
            Ok(())
        })
    })
    .await
    .unwrap_err();
    assert_eq!(err.to_string(), "bad item 3");
    assert_eq!(log.take(), ["source cancelled"]);
}

#[test]
fn debug_shows_the_state() {
    let (tx, rx) = channel::<u32>(3);
    assert!(poll_once(&mut tx.send(1)).is_ready());
    assert_eq!(
        format!("{tx:?}"),
        "Sender { capacity: 3, len: 1, closed_for_send: false }"
    );
    assert_eq!(
        format!("{rx:?}"),
        "Receiver { capacity: 3, len: 1, closed_for_send: false }"
    );
    assert_eq!(format!("{:?}", rx.recv()), "Recv { waiting: false }");
}

/// Deterministic pseudo-random numbers (a linear congruential generator).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

/// 300 receivers wait with `with_timeout_or_none` and random deadlines,
/// so they give up (leave their place in line) in random order, while 600
/// items are sent: each item is received exactly once, and the scope ends.
async fn receivers_giving_up_at_random(capacity: usize, seed: u64) {
    const ITEMS: usize = 600;
    const RECEIVERS: u64 = 300;
    let got = std::sync::Mutex::new(vec![0usize; ITEMS]);
    let got = &got;
    let (tx, rx) = channel::<usize>(capacity);
    let rx = &rx;
    coroutine_scope(|s| {
        Box::pin(async move {
            for r in 0..RECEIVERS {
                s.launch(async move {
                    let mut rng = Rng(seed * 1000 + r);
                    loop {
                        let wait = Duration::from_micros(1 + rng.below(50));
                        match scopes::with_timeout_or_none(wait, rx.recv()).await? {
                            None => {} // gave up: waits again, at the back
                            Some(Some(i)) => {
                                got.lock().unwrap()[i] += 1;
                                if rng.below(3) == 0 {
                                    delay(Duration::from_micros(rng.below(20))).await?;
                                }
                            }
                            Some(None) => return Ok(()),
                        }
                    }
                });
            }
            let mut rng = Rng(seed);
            for i in 0..ITEMS {
                if rng.below(4) == 0 {
                    delay(Duration::from_micros(rng.below(30))).await?;
                }
                tx.send(i).await?;
            }
            drop(tx);
            Ok(())
        })
    })
    .await
    .unwrap();
    for (i, &n) in got.lock().unwrap().iter().enumerate() {
        assert_eq!(
            n, 1,
            "item {i} received {n} times (capacity {capacity}, seed {seed})"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn receivers_giving_up_in_random_order_at_a_rendezvous_receive_each_item_once() {
    for seed in 1..6 {
        receivers_giving_up_at_random(0, seed).await;
    }
}

#[tokio::test(start_paused = true)]
async fn receivers_giving_up_in_random_order_at_a_buffer_receive_each_item_once() {
    for seed in 1..6 {
        receivers_giving_up_at_random(3, seed).await;
    }
}

/// Receivers handed an item (woken for it, not yet run) and cancelled
/// before they run pass it on at once: every item sent reaches one
/// receiver while the channel is still open.
#[tokio::test(start_paused = true)]
async fn an_item_handed_to_a_receiver_cancelled_before_it_runs_goes_to_the_next() {
    for capacity in [0usize, 1, 4] {
        let got = std::sync::Mutex::new(Vec::new());
        let got = &got;
        let (tx, rx) = channel::<usize>(capacity);
        let rx = &rx;
        coroutine_scope(|s| {
            Box::pin(async move {
                let mut jobs = Vec::new();
                for _ in 0..50 {
                    jobs.push(s.launch(async move {
                        if let Some(v) = rx.recv().await? {
                            got.lock().unwrap().push(v);
                        }
                        Ok(())
                    }));
                }
                yield_now().await?; // all 50 wait
                // Ten are handed an item each; a third of all, handed or
                // waiting, are cancelled before they run.
                for i in 0..10 {
                    tx.send(i).await?;
                }
                for (k, job) in jobs.iter().enumerate() {
                    if k % 3 == 1 {
                        job.cancel();
                    }
                }
                delay(Duration::from_millis(1)).await?;
                // Passed on at once, not when the channel closes.
                assert_eq!(got.lock().unwrap().len(), 10, "capacity {capacity}");
                drop(tx);
                Ok(())
            })
        })
        .await
        .unwrap();
        let mut got = got.lock().unwrap().clone();
        got.sort_unstable();
        assert_eq!(got, (0..10).collect::<Vec<_>>(), "capacity {capacity}");
    }
}

/// SPEC §2c: "each item is received once", "`Ok(None)` after the senders
/// are gone and the buffer is drained". Two receivers wait; two items are
/// handed to them; the second receiver is cancelled before it runs and the
/// last sender is dropped (not closed): the first receiver takes the item
/// kept for the second, rather than seeing the end and leaving it behind
/// (found by a multi-thread stress; 10,000 of 10,000 runs lost it).
#[tokio::test]
async fn an_item_kept_for_a_receiver_cancelled_after_the_last_sender_went_is_received() {
    let got = std::sync::Mutex::new(Vec::new());
    let got = &got;
    scopes::coroutine_scope(|s| {
        Box::pin(async move {
            let (tx, rx) = channel::<u32>(0);
            let rx_a = rx.clone();
            let a = s.launch(async move {
                while let Some(v) = rx_a.recv().await? {
                    got.lock().unwrap().push(('A', v));
                }
                Ok(())
            });
            let b = s.launch(async move {
                while let Some(v) = rx.recv().await? {
                    got.lock().unwrap().push(('B', v));
                }
                Ok(())
            });
            yield_now().await?; // A, then B, wait in recv
            tx.send(1).await?; // kept for A
            tx.send(2).await?; // kept for B
            b.cancel(); // B is cancelled before it runs: item 2 must reach A
            drop(tx); // the last sender, gone without close()
            a.join().await
        })
    })
    .await
    .unwrap();
    assert_eq!(*got.lock().unwrap(), [('A', 1), ('A', 2)]);
}

/// SPEC §2c, Kotlin's hand-off: an item handed to a waiting receiver (the
/// send resumes it with the item) stays that receiver's once the last
/// sender is gone; a later `recv` sees the end (a first fix of the test
/// above gave the item to the later one; found by a review).
#[tokio::test(start_paused = true)]
async fn an_item_handed_to_a_waiting_receiver_stays_its_own_after_the_sender_goes() {
    let log = Log::default();
    let log = &log;
    let (tx, rx) = scopes::channel::<u32>(0);
    let rx2 = rx.clone();
    let r: scopes::Result<()> = coroutine_scope! {
        launch { let v = rx.recv().await?; log.push(format!("R1 {v:?}")); };
        launch {
            tx.send(1).await?;
            drop(tx);
            let v = rx2.recv().await?;
            log.push(format!("R2 {v:?}"));
        };
        Ok(())
    };
    r.unwrap();
    let mut got = log.take();
    got.sort();
    assert_eq!(got, ["R1 Some(1)", "R2 None"]);
}

/// The same when the channel is closed rather than its sender dropped:
/// `close()` does not take back an item already handed to a waiting
/// receiver; a later `recv` sees the end, and so does the failure of
/// `close_with` (found by a helper checking the fix above).
#[tokio::test(start_paused = true)]
async fn an_item_handed_to_a_waiting_receiver_stays_its_own_after_close() {
    for failure in [false, true] {
        let log = Log::default();
        let log = &log;
        let (tx, rx) = scopes::channel::<u32>(0);
        let rx2 = rx.clone();
        let r: scopes::Result<()> = coroutine_scope! {
            launch { let v = rx.recv().await?; log.push(format!("R1 {v:?}")); };
            launch {
                tx.send(1).await?;
                if failure {
                    tx.close_with(Error::msg("producer failed"));
                } else {
                    tx.close();
                }
                let v = rx2.recv().await.map_err(|e| e.to_string());
                log.push(format!("R2 {v:?}"));
            };
            Ok(())
        };
        r.unwrap();
        let mut got = log.take();
        got.sort();
        let end = if failure {
            "R2 Err(\"producer failed\")"
        } else {
            "R2 Ok(None)"
        };
        assert_eq!(got, ["R1 Some(1)", end], "close_with: {failure}");
    }
}
