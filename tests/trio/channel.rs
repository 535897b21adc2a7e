//! Ports of python-trio/trio src/trio/_tests/test_channel.py (cancellation
//! and ordering parts) onto SPEC §2c channels. open_memory_channel(n) ≈
//! channel(n); as_safe_channel ≈ produce.

use super::*;

use scopes::{Error, channel, coroutine_scope, delay, with_timeout_or_none, yield_now};

// test_553: a receive cancelled by move_on_after does not take a slot or
// the next item.
#[tokio::test(start_paused = true)]
async fn trio_553_cancelled_receive_loses_nothing() {
    let (r, took) = timed(coroutine_scope(|_s| {
        Box::pin(async move {
            let (tx, rx) = channel::<&str>(1);
            let got = with_timeout_or_none(secs(10), rx.recv()).await?;
            assert_eq!(got, None);
            tx.send("Test for PR #553").await?;
            assert_eq!(rx.recv().await?, Some("Test for PR #553"));
            Ok(())
        })
    }))
    .await;
    r.unwrap();
    assert_eq!(took, secs(10));
}

// test_553, rendezvous channel: after a receive timed out, a sender and a
// new receiver still meet.
#[tokio::test(start_paused = true)]
async fn trio_553_rendezvous() {
    let (r, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            let (tx, rx) = channel::<u32>(0);
            assert_eq!(with_timeout_or_none(secs(10), rx.recv()).await?, None);
            let rx2 = rx.clone();
            let d = s.r#async(async move { rx2.recv().await });
            tx.send(7).await?;
            assert_eq!(d.await?, Some(7));
            Ok(())
        })
    }))
    .await;
    r.unwrap();
    assert_eq!(took, secs(10));
}

// A send cancelled while waiting on a rendezvous channel must not deliver.
#[tokio::test(start_paused = true)]
async fn trio_cancelled_rendezvous_send_is_not_delivered() {
    let (r, took) = timed(coroutine_scope(|_s| {
        Box::pin(async move {
            let (tx, rx) = channel::<u32>(0);
            assert_eq!(with_timeout_or_none(secs(1), tx.send(1)).await?, None);
            tx.close();
            assert_eq!(rx.recv().await?, None);
            Ok(())
        })
    }))
    .await;
    r.unwrap();
    assert_eq!(took, secs(1));
}

// Same with a full buffered channel.
#[tokio::test(start_paused = true)]
async fn trio_cancelled_buffered_send_is_not_delivered() {
    let (r, took) = timed(coroutine_scope(|_s| {
        Box::pin(async move {
            let (tx, rx) = channel::<u32>(1);
            tx.send(0).await?;
            assert_eq!(with_timeout_or_none(secs(1), tx.send(1)).await?, None);
            tx.close();
            assert_eq!(rx.recv().await?, Some(0));
            assert_eq!(rx.recv().await?, None);
            Ok(())
        })
    }))
    .await;
    r.unwrap();
    assert_eq!(took, secs(1));
}

// test_channel_multiple_producers (rendezvous, clones, close when dropped)
#[tokio::test(start_paused = true)]
async fn trio_channel_multiple_producers() {
    let got = coroutine_scope(|s| {
        Box::pin(async move {
            let (tx, rx) = channel::<u32>(0);
            for i in 0..10u32 {
                let tx = tx.clone();
                s.launch(async move {
                    for j in 3 * i..3 * (i + 1) {
                        tx.send(j).await?;
                    }
                    Ok(())
                });
            }
            drop(tx);
            let mut got = vec![];
            while let Some(v) = rx.recv().await? {
                got.push(v);
            }
            Ok(got)
        })
    })
    .await
    .unwrap();
    let mut sorted = got.clone();
    sorted.sort();
    assert_eq!(sorted, (0..30).collect::<Vec<_>>());
}

// test_channel_multiple_consumers
#[tokio::test(start_paused = true)]
async fn trio_channel_multiple_consumers() {
    let log = Log::default();
    let l = &log;
    coroutine_scope(|s| {
        Box::pin(async move {
            let (tx, rx) = channel::<u32>(1);
            for i in 0..5 {
                let rx = rx.clone();
                s.launch(async move {
                    while let Some(v) = rx.recv().await? {
                        l.push(format!("{i}:{v}"));
                    }
                    Ok(())
                });
            }
            drop(rx);
            yield_now().await?; // wait_all_tasks_blocked
            for i in 0..10 {
                tx.send(i).await?;
            }
            Ok(())
        })
    })
    .await
    .unwrap();
    let got = log.take();
    assert_eq!(got.len(), 10);
    let receivers: std::collections::BTreeSet<_> = got.iter().map(|s| s[..1].to_owned()).collect();
    assert_eq!(receivers.len(), 5, "{got:?}");
    let mut values: Vec<u32> = got.iter().map(|s| s[2..].parse().unwrap()).collect();
    values.sort();
    assert_eq!(values, (0..10).collect::<Vec<_>>());
}

// test_channel_fairness, receive side: a waiting receiver owns the item sent.
#[tokio::test(start_paused = true)]
async fn trio_channel_fairness_receiver_owns_item() {
    let (r, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            let (tx, rx) = channel::<u32>(1);
            tx.send(1).await?;
            assert_eq!(rx.recv().await?, Some(1));
            let rx2 = rx.clone();
            let d = s.r#async(async move { rx2.recv().await });
            yield_now().await?; // the receiver waits
            tx.send(2).await?;
            // we can't take it although we run first
            assert_eq!(with_timeout_or_none(ms(1), rx.recv()).await?, None);
            assert_eq!(d.await?, Some(2));
            Ok(())
        })
    }))
    .await;
    r.unwrap();
    assert_eq!(took, ms(1));
}

// test_channel_fairness, send side: a freed slot belongs to the waiting sender.
#[tokio::test(start_paused = true)]
async fn trio_channel_fairness_waiting_sender_owns_slot() {
    let (r, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            let (tx, rx) = channel::<u32>(1);
            tx.send(1).await?;
            let tx2 = tx.clone();
            s.launch(async move { tx2.send(2).await });
            yield_now().await?; // the sender waits
            assert_eq!(rx.recv().await?, Some(1));
            // the slot went to the waiting sender: our send must wait
            assert_eq!(with_timeout_or_none(ms(1), tx.send(3)).await?, None);
            assert_eq!(rx.recv().await?, Some(2));
            Ok(())
        })
    }))
    .await;
    r.unwrap();
    assert_eq!(took, ms(1));
}

// test_unbuffered
#[tokio::test(start_paused = true)]
async fn trio_unbuffered() {
    let log = Log::default();
    let l = &log;
    coroutine_scope(|s| {
        Box::pin(async move {
            let (tx, rx) = channel::<u32>(0);
            s.launch(async move {
                tx.send(1).await?;
                l.push("sent");
                Ok(())
            });
            assert_eq!(rx.recv().await?, Some(1));
            l.push("received");
            Ok(())
        })
    })
    .await
    .unwrap();
    let mut got = log.take();
    got.sort();
    assert_eq!(got, ["received", "sent"]);
}

// test_as_safe_channel_cancelled: a producer whose scope is cancelled before
// consumption never runs.
#[tokio::test(start_paused = true)]
async fn trio_as_safe_channel_cancelled_before_consumption() {
    let log = Log::default();
    let l = &log;
    coroutine_scope(|s| {
        Box::pin(async move {
            let j = s.launch(async move {
                coroutine_scope(|n| {
                    Box::pin(async move {
                        let rx = n.produce(1, move |tx| async move {
                            l.push("producer ran");
                            tx.send(1u32).await?;
                            Ok(())
                        });
                        scopes::cancel_children();
                        let e = rx.recv().await.unwrap_err();
                        assert!(e.is_cancellation(), "{e:?}");
                        Ok(())
                    })
                })
                .await
            });
            j.join().await?;
            Ok(())
        })
    })
    .await
    .unwrap();
    assert!(log.take().is_empty());
}

// test_as_safe_channel_no_race: producer yields 1 then fails; consumer gets
// the 1 then the failure.
#[tokio::test(start_paused = true)]
async fn trio_as_safe_channel_no_race() {
    let r = scopes::supervisor_scope(|s| {
        Box::pin(async move {
            let rx = s.produce(0, move |tx| async move {
                tx.send(1u32).await?;
                Err(fail("oae"))
            });
            assert_eq!(rx.recv().await?, Some(1));
            let e = rx.recv().await.unwrap_err();
            Ok(e.to_string())
        })
    })
    .await;
    assert_eq!(r.unwrap(), "oae");
}

// test_as_safe_channel_close_during_iteration: consumer stops early (drops
// the receiver); the producer is cancelled and its cleanup runs; the scope
// completes normally.
#[tokio::test(start_paused = true)]
async fn trio_as_safe_channel_close_during_iteration() {
    let log = Log::default();
    let l = &log;
    let (r, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            let rx = s.produce(0, move |tx| async move {
                for i in 0.. {
                    if let Err(e) = tx.send(i).await {
                        assert!(e.is_cancellation());
                        scopes::non_cancellable(delay(ms(5))).await?;
                        l.push("producer cleanup");
                        return Err(e);
                    }
                }
                Ok(())
            });
            assert_eq!(rx.recv().await?, Some(0u32));
            assert_eq!(rx.recv().await?, Some(1));
            drop(rx);
            Ok::<_, Error>(())
        })
    }))
    .await;
    r.unwrap();
    assert_eq!(log.take(), ["producer cleanup"]);
    assert_eq!(took, ms(5));
}

// test_close_basics, SPEC form: closing the sending side while a sender
// waits at a rendezvous: Kotlin delivers what was sent before (also from
// waiting senders), then None; a later send fails (ChannelClosed), not a
// cancellation.
#[tokio::test(start_paused = true)]
async fn trio_close_basics_send_side() {
    let log = Log::default();
    let l = &log;
    coroutine_scope(|s| {
        Box::pin(async move {
            let (tx, rx) = channel::<u32>(0);
            let tx2 = tx.clone();
            s.launch(async move {
                tx2.send(1).await?;
                l.push("blocked send delivered");
                Ok(())
            });
            yield_now().await?;
            assert!(tx.close());
            let e = tx.send(2).await.unwrap_err();
            assert!(!e.is_cancellation());
            assert_eq!(rx.recv().await?, Some(1));
            assert_eq!(rx.recv().await?, None);
            assert_eq!(rx.recv().await?, None);
            Ok(())
        })
    })
    .await
    .unwrap();
    assert_eq!(log.take(), ["blocked send delivered"]);
}

// test_close_basics, receive side: cancelling the receiver wakes a blocked
// sender with a cancellation, and it is persistent.
#[tokio::test(start_paused = true)]
async fn trio_close_basics_receive_side_wakes_blocked_sender() {
    let log = Log::default();
    let l = &log;
    let (r, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            let (tx, rx) = channel::<u32>(0);
            let tx2 = tx.clone();
            s.launch(async move {
                let e = tx2.send(1).await.unwrap_err();
                assert!(e.is_cancellation());
                l.push("sender woke cancelled");
                Err(e)
            });
            delay(ms(5)).await?;
            rx.cancel();
            assert!(tx.send(2).await.unwrap_err().is_cancellation());
            assert!(rx.recv().await.unwrap_err().is_cancellation());
            Ok(())
        })
    }))
    .await;
    r.unwrap();
    assert_eq!(log.take(), ["sender woke cancelled"]);
    assert_eq!(took, ms(5));
}

// test_close_basics, receive side: cancelling (another clone of) the
// receiver wakes a blocked receiver with a cancellation.
#[tokio::test(start_paused = true)]
async fn trio_close_basics_receive_side_wakes_blocked_receiver() {
    let log = Log::default();
    let l = &log;
    let (r, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            let (tx, rx) = channel::<u32>(0);
            let rx2 = rx.clone();
            s.launch(async move {
                let e = rx2.recv().await.unwrap_err();
                assert!(e.is_cancellation());
                l.push("receiver woke cancelled");
                Err(e)
            });
            delay(ms(5)).await?;
            rx.cancel();
            drop(tx);
            Ok(())
        })
    }))
    .await;
    r.unwrap();
    assert_eq!(log.take(), ["receiver woke cancelled"]);
    assert_eq!(took, ms(5));
}

// Dropping the last receiver while a sender waits: the sender gets a
// cancellation and the scope completes normally (SPEC §2c).
#[tokio::test(start_paused = true)]
async fn trio_drop_last_receiver_wakes_blocked_sender() {
    let (r, took) = timed(coroutine_scope(|s| {
        Box::pin(async move {
            let (tx, rx) = channel::<u32>(1);
            s.launch(async move {
                tx.send(1).await?;
                tx.send(2).await?; // blocks: buffer full
                Ok(())
            });
            delay(ms(5)).await?;
            drop(rx);
            Ok(())
        })
    }))
    .await;
    r.unwrap();
    assert_eq!(took, ms(5));
}
