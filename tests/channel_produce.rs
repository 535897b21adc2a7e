//! `produce` (SPEC §2c), runtime API: Kotlin's `ProduceTest` cases, the
//! channel closing with the producer's outcome, and the producer cancelled
//! at once when its receiver is cancelled or dropped.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use scopes::channel::UNLIMITED;
use scopes::{
    Error, Receiver, coroutine_scope, delay, non_cancellable, supervisor_scope,
    with_exception_handler, yield_now,
};
use scopes_workspace::Log;
use tokio::time::Instant;

/// kotlinx `ProduceTest.testBasic`, step for step.
#[tokio::test]
async fn produce_runs_in_kotlin_order_and_closes_when_its_body_ends() {
    let log = Log::default();
    let log = &log;
    coroutine_scope(|s| {
        Box::pin(async move {
            let c = s.produce(0, |tx| async move {
                log.push("2");
                tx.send(1).await?;
                log.push("3");
                tx.send(2).await?;
                log.push("6");
                Ok(())
            });
            log.push("1");
            assert_eq!(c.recv().await?, Some(1));
            log.push("4");
            assert_eq!(c.recv().await?, Some(2));
            log.push("5");
            assert_eq!(c.recv().await?, None);
            log.push("7");
            Ok(())
        })
    })
    .await
    .unwrap();
    assert_eq!(log.take(), ["1", "2", "3", "4", "5", "6", "7"]);
}

/// kotlinx `ProduceTest.testCancelWithoutCause`: the consumer cancels the
/// channel; the producer, waiting in `send`, gets a cancellation and the
/// consumer's next `recv` too; the scope completes normally.
#[tokio::test]
async fn cancelling_the_receiver_cancels_the_producer_waiting_in_send() {
    let log = Log::default();
    let log = &log;
    coroutine_scope(|s| {
        Box::pin(async move {
            let c = s.produce(0, |tx| async move {
                log.push("2");
                tx.send(1).await?;
                log.push("3");
                match tx.send(2).await {
                    Ok(()) => unreachable!("the channel was cancelled"),
                    Err(e) => {
                        log.push(format!("7 cancellation={}", e.is_cancellation()));
                        Err(e)
                    }
                }
            });
            log.push("1");
            assert_eq!(c.recv().await?, Some(1));
            log.push("4");
            c.cancel();
            log.push("5");
            assert!(c.recv().await.unwrap_err().is_cancellation());
            log.push("6");
            yield_now().await?; // to the producer
            log.push("8");
            Ok(())
        })
    })
    .await
    .expect("a producer stopped by its consumer is not a failure");
    assert_eq!(
        log.take(),
        ["1", "2", "3", "4", "5", "6", "7 cancellation=true", "8"]
    );
}

/// The take-5 pipeline: the consumer takes 5 items from an endless
/// producer and returns; dropping the receiver cancels the producer, which
/// is suspended in `delay`, not in `send`: it is cancelled at once, runs
/// its cleanup, and the scope completes normally, with no time lost.
#[tokio::test(start_paused = true)]
async fn dropping_the_receiver_cancels_the_producer_at_once_even_in_delay() {
    let log = Log::default();
    let log = &log;
    let start = Instant::now();
    let taken = coroutine_scope(|s| {
        Box::pin(async move {
            let ticks = s.produce(UNLIMITED, |tx| async move {
                for i in 0u32.. {
                    tx.send(i).await?;
                    if let Err(cancelled) = delay(Duration::from_secs(1)).await {
                        log.push(format!("producer cancelled in delay after {i}"));
                        return Err(cancelled);
                    }
                }
                Ok(())
            });
            let mut taken = Vec::new();
            while taken.len() < 5 {
                taken.extend(ticks.recv().await?);
            }
            Ok(taken) // `ticks` dropped here
        })
    })
    .await
    .expect("the scope completes normally");
    assert_eq!(taken, [0, 1, 2, 3, 4]);
    assert_eq!(log.take(), ["producer cancelled in delay after 4"]);
    assert_eq!(start.elapsed(), Duration::from_secs(4));
}

#[tokio::test(start_paused = true)]
async fn receiver_cancel_cancels_the_producer_wherever_it_waits() {
    let log = Log::default();
    let log = &log;
    let start = Instant::now();
    coroutine_scope(|s| {
        Box::pin(async move {
            let rx: Receiver<u32> = s.produce(0, |_tx| async move {
                match delay(Duration::from_secs(3600)).await {
                    Ok(()) => Ok(()),
                    Err(cancelled) => {
                        non_cancellable(delay(Duration::from_secs(1))).await?;
                        log.push("producer cleaned up");
                        Err(cancelled)
                    }
                }
            });
            delay(Duration::from_secs(2)).await?;
            rx.cancel();
            Ok(())
        })
    })
    .await
    .unwrap();
    assert_eq!(log.take(), ["producer cleaned up"]);
    assert_eq!(start.elapsed(), Duration::from_secs(3));
}

/// The receiver is dropped before the producer ever ran: it never runs
/// (a child cancelled before it first runs, R7).
#[tokio::test]
async fn a_producer_whose_receiver_is_dropped_before_it_runs_never_runs() {
    let log = Log::default();
    let log = &log;
    coroutine_scope(|s| {
        Box::pin(async move {
            let rx = s.produce(0, |tx| async move {
                log.push("ran");
                tx.send(1).await
            });
            drop(rx);
            Ok(())
        })
    })
    .await
    .unwrap();
    assert!(log.take().is_empty());
}

/// kotlinx `ProduceTest.testReceivingValuesAfterFailingTheCoroutine`: the
/// receiver gets the items, then the producer's failure. As in Kotlin, a
/// failure the channel delivers is not also the handler's.
#[tokio::test]
async fn a_failed_producer_closes_the_channel_with_its_failure_after_the_items() {
    let handled = Arc::new(Mutex::new(Vec::new()));
    let seen = handled.clone();
    let handler = move |e: &Error| seen.lock().unwrap().push(e.to_string());
    let received = with_exception_handler(
        handler,
        supervisor_scope(|s| {
            Box::pin(async move {
                let c = s.produce(UNLIMITED, |tx| async move {
                    for i in 0..5 {
                        tx.send(i).await?;
                    }
                    Err(Error::msg("producer failed"))
                });
                let mut received = Vec::new();
                loop {
                    match c.recv().await {
                        Ok(Some(i)) => received.push(i),
                        Ok(None) => unreachable!("closed with a failure"),
                        Err(e) => {
                            assert!(!e.is_cancellation());
                            assert_eq!(e.to_string(), "producer failed");
                            break;
                        }
                    }
                }
                assert!(c.recv().await.is_err(), "every later recv");
                Ok(received)
            })
        }),
    )
    .await
    .unwrap();
    assert_eq!(received, [0, 1, 2, 3, 4]);
    assert!(handled.lock().unwrap().is_empty());
}

/// A producer's failure that no receiver takes before the channel goes
/// away is reported then, once, as an unawaited `Deferred`'s is (never
/// lost silently); one whose receivers had already cancelled the channel
/// is reported at once (Kotlin: the channel could not carry it).
#[tokio::test(start_paused = true)]
async fn a_producer_failure_no_receiver_takes_goes_to_the_handler_once() {
    let handled = Arc::new(Mutex::new(Vec::new()));
    let seen = handled.clone();
    let handler = move |e: &Error| seen.lock().unwrap().push(e.to_string());
    let seen = handled.clone();
    with_exception_handler(
        handler,
        supervisor_scope(|s| {
            Box::pin(async move {
                let unread = s.produce(1, |tx| async move {
                    tx.send(1).await?;
                    Err(Error::msg("never read"))
                });
                delay(Duration::from_millis(10)).await?;
                assert!(seen.lock().unwrap().is_empty(), "still in the channel");
                drop(unread);
                assert_eq!(*seen.lock().unwrap(), ["never read"]);
                let gone = s.produce(0, |tx: scopes::Sender<u8>| async move {
                    // Its cleanup fails for real, after the receiver left.
                    let _ = delay(Duration::from_millis(10)).await;
                    drop(tx);
                    Err(Error::msg("nobody listens"))
                });
                yield_now().await?; // it runs, and waits
                gone.cancel();
                Ok(())
            })
        }),
    )
    .await
    .unwrap();
    assert_eq!(*handled.lock().unwrap(), ["never read", "nobody listens"]);
}

/// In a `coroutine_scope` the producer's failure fails the scope (R2),
/// and a consumer that re-raises the failure it received does not add a
/// second one: it is the same failure.
#[tokio::test]
async fn a_failed_producer_fails_the_coroutine_scope_once() {
    let err = coroutine_scope(|s| {
        Box::pin(async move {
            let c = s.child().name("source").produce(4, |tx| async move {
                tx.send(1).await?;
                Err(Error::msg("source broke"))
            });
            let consumer = s.r#async(async move {
                while c.recv().await?.is_some() {}
                Ok(())
            });
            consumer.await
        })
    })
    .await
    .unwrap_err();
    assert_eq!(err.to_string(), "source broke");
    assert_eq!(err.child_name().as_deref(), Some("source"));
    assert!(err.suppressed().is_empty(), "{err:?}");
}

#[tokio::test]
async fn a_panicking_producer_gives_its_panic_to_the_receiver() {
    scopes_workspace::quiet_panics_starting_with("producer panic");
    let handled = Arc::new(Mutex::new(0));
    let count = handled.clone();
    with_exception_handler(
        move |e: &Error| {
            assert!(e.is_panic());
            *count.lock().unwrap() += 1;
        },
        supervisor_scope(|s| {
            Box::pin(async move {
                let c = s.produce(UNLIMITED, |tx| async move {
                    tx.send(1).await?;
                    panic!("producer panic: out of range");
                });
                assert_eq!(c.recv().await?, Some(1));
                let err = c.recv().await.unwrap_err();
                assert!(err.is_panic());
                assert_eq!(err.to_string(), "panicked: producer panic: out of range");
                Ok(())
            })
        }),
    )
    .await
    .unwrap();
    assert_eq!(*handled.lock().unwrap(), 0, "the receiver took it");
}

/// A producer cancelled by its scope (not by its receiver) closes the
/// channel with a cancellation: a receiver outside the cancelled part of
/// the tree takes the items sent, then gets that cancellation.
#[tokio::test(start_paused = true)]
async fn a_producer_cancelled_by_its_scope_closes_the_channel_with_a_cancellation() {
    let shared: Mutex<Option<Receiver<u32>>> = Mutex::new(None);
    let shared = &shared;
    coroutine_scope(|s| {
        Box::pin(async move {
            let holder = s.launch(async move {
                coroutine_scope(|inner| {
                    Box::pin(async move {
                        let rx = inner.produce(UNLIMITED, |tx| async move {
                            tx.send(1).await?;
                            tx.send(2).await?;
                            delay(Duration::from_secs(3600)).await
                        });
                        *shared.lock().unwrap() = Some(rx);
                        delay(Duration::from_secs(3600)).await
                    })
                })
                .await
            });
            delay(Duration::from_secs(1)).await?;
            let rx = shared.lock().unwrap().take().expect("the receiver");
            holder.cancel();
            holder.join().await?;
            assert_eq!(rx.recv().await?, Some(1));
            assert_eq!(rx.recv().await?, Some(2));
            assert!(rx.recv().await.unwrap_err().is_cancellation());
            Ok(())
        })
    })
    .await
    .unwrap();
}

/// The receiver outlives the scope that ran the producer: it keeps what
/// was sent before the producer ended.
#[tokio::test]
async fn the_receiver_may_outlive_the_producers_scope() {
    let rx = coroutine_scope(|s| {
        Box::pin(async move {
            Ok(s.produce(UNLIMITED, |tx| async move {
                for word in ["a", "b"] {
                    tx.send(word).await?;
                }
                Ok(())
            }))
        })
    })
    .await
    .unwrap();
    assert_eq!(rx.recv().await.unwrap(), Some("a"));
    assert_eq!(rx.recv().await.unwrap(), Some("b"));
    assert_eq!(rx.recv().await.unwrap(), None);
}

/// A pipeline of producers: numbers → squares (each stage a `produce`
/// reading the previous one); the consumer takes 3 and returns, which
/// cancels the last stage, whose receiver of the first stage is dropped
/// with it, which cancels the first: everything stops, normally.
#[tokio::test(start_paused = true)]
async fn a_pipeline_of_producers_stops_from_the_end() {
    let log = Log::default();
    let log = &log;
    let firsts = coroutine_scope(|s| {
        Box::pin(async move {
            let numbers = s.child().name("numbers").produce(0, |tx| async move {
                let mut i = 1u64;
                loop {
                    if let Err(e) = tx.send(i).await {
                        log.push("numbers stopped");
                        return Err(e);
                    }
                    i += 1;
                }
            });
            let squares = s.child().name("squares").produce(0, |tx| async move {
                let stage = async {
                    while let Some(n) = numbers.recv().await? {
                        tx.send(n * n).await?;
                    }
                    Ok(())
                };
                let ended: scopes::Result<()> = stage.await;
                if matches!(&ended, Err(e) if e.is_cancellation()) {
                    log.push("squares stopped");
                }
                ended
            });
            let mut firsts = Vec::new();
            for _ in 0..3 {
                firsts.extend(squares.recv().await?);
            }
            Ok(firsts)
        })
    })
    .await
    .expect("the scope completes normally");
    assert_eq!(firsts, [1, 4, 9]);
    let mut log = log.take();
    log.sort();
    assert_eq!(log, ["numbers stopped", "squares stopped"]);
}

/// Fan-out from one producer to several workers, fan-in of their results
/// into another producer's channel.
#[tokio::test]
async fn produce_fan_out_and_fan_in() {
    let total = coroutine_scope(|s| {
        Box::pin(async move {
            let jobs = s.produce(4, |tx| async move {
                for i in 1..=60u64 {
                    tx.send(i).await?;
                }
                Ok(())
            });
            let workers: Vec<_> = (0..3)
                .map(|_| {
                    let jobs = jobs.clone();
                    s.r#async(async move {
                        let mut sum = 0;
                        while let Some(i) = jobs.recv().await? {
                            sum += i;
                            yield_now().await?;
                        }
                        Ok(sum)
                    })
                })
                .collect();
            drop(jobs);
            let results = s.produce(UNLIMITED, |tx| async move {
                for worker in workers {
                    tx.send(worker.await?).await?;
                }
                Ok(())
            });
            let mut total = 0;
            while let Some(partial) = results.recv().await? {
                total += partial;
            }
            Ok(total)
        })
    })
    .await
    .unwrap();
    assert_eq!(total, (1..=60).sum());
}

#[tokio::test]
async fn the_producer_is_named_like_a_launch() {
    let err = coroutine_scope(|s| {
        Box::pin(async move {
            let rx = s.produce(
                0,
                |_tx: scopes::Sender<u8>| async move { Err(Error::msg("x")) },
            );
            rx.recv().await?;
            Ok(())
        })
    })
    .await
    .unwrap_err();
    let name = err.child_name().expect("a child's failure");
    assert!(name.starts_with("tests/channel_produce.rs:"), "{name}");
}
