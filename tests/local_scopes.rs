//! Local scopes (SPEC §2d) with children that are not `Send`: `Rc`,
//! `RefCell` and `!Send` values held across awaits, on a `current_thread`
//! runtime and in a `LocalSet`. The rules themselves run on local scopes
//! in `tests/rules.rs` (`local::`) and against the model in
//! `tests/prop_model.rs`; these tests check what only a local scope can
//! hold, how it mixes with plain scopes, and its `parallel` children.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use scopes::{
    Error, Result, ScopeOptions, coroutine_scope, coroutine_scope_local,
    coroutine_scope_local_with, delay, supervisor_scope_local, supervisor_scope_local_with,
    with_exception_handler, yield_now,
};
use scopes_workspace::Log;
use tokio::task::LocalSet;
use tokio::time::Instant;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// An ordered log children share through an `Rc`: not `Send`.
type RcLog = Rc<RefCell<Vec<String>>>;

fn push(log: &RcLog, entry: impl Into<String>) {
    log.borrow_mut().push(entry.into());
}

#[tokio::test(start_paused = true)]
async fn children_share_rc_refcell_state_across_awaits() {
    let log = RcLog::default();
    let start = Instant::now();
    let total = coroutine_scope_local(|s| {
        let log = log.clone();
        Box::pin(async move {
            let counter = Rc::new(Cell::new(0u32));
            for (i, wait) in [30u64, 10, 20].into_iter().enumerate() {
                let (log, counter) = (log.clone(), counter.clone());
                s.launch(async move {
                    delay(ms(wait)).await?;
                    counter.set(counter.get() + 1);
                    push(&log, format!("child {i} at {wait} ms"));
                    Ok(())
                });
            }
            push(&log, "body");
            delay(ms(25)).await?;
            push(&log, format!("body sees {}", counter.get()));
            Ok(counter)
        })
    })
    .await
    .unwrap();
    assert_eq!(total.get(), 3);
    assert_eq!(start.elapsed(), ms(30));
    assert_eq!(
        *log.borrow(),
        [
            "body",
            "child 1 at 10 ms",
            "child 2 at 20 ms",
            "body sees 2",
            "child 0 at 30 ms"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_failing_child_cancels_its_non_send_siblings_and_they_clean_up() {
    let log = RcLog::default();
    let start = Instant::now();
    let result: Result<()> = coroutine_scope_local(|s| {
        let log = log.clone();
        Box::pin(async move {
            let held = Rc::new(RefCell::new(String::from("open")));
            let sibling = held.clone();
            let cleanup = log.clone();
            s.launch(async move {
                if let Err(e) = delay(Duration::from_secs(3600)).await {
                    // Cleanup that touches the `RefCell` after the cancel.
                    *sibling.borrow_mut() = String::from("closed");
                    push(
                        &cleanup,
                        format!("sibling cancelled: {}", e.is_cancellation()),
                    );
                    return Err(e);
                }
                Ok(())
            });
            s.launch(async {
                delay(ms(10)).await?;
                Err(Error::msg("boom"))
            });
            let waited = delay(Duration::from_secs(3600)).await;
            push(&log, format!("body cancelled: {}", waited.is_err()));
            push(&log, format!("resource {}", held.borrow()));
            waited
        })
    })
    .await;
    assert_eq!(result.unwrap_err().to_string(), "boom");
    assert_eq!(start.elapsed(), ms(10));
    // Everything is cancelled at once (R7); the sibling is resumed before
    // the body (Kotlin's order: the body's code registered for cancellation
    // when it suspended, after it started its children), so the body sees
    // the resource the sibling's cleanup closed.
    assert_eq!(
        *log.borrow(),
        [
            "sibling cancelled: true",
            "body cancelled: true",
            "resource closed"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_supervisor_keeps_a_failure_in_a_deferred_of_a_non_send_value() {
    let handled = Log::default();
    let recorder = handled.clone();
    let start = Instant::now();
    let value = with_exception_handler(
        move |e: &Error| recorder.push(e.to_string()),
        supervisor_scope_local(|s| {
            Box::pin(async move {
                let bad = s.r#async(async {
                    delay(ms(5)).await?;
                    Err::<Rc<u32>, _>(Error::msg("bad"))
                });
                let good = s.r#async(async {
                    delay(ms(20)).await?;
                    Ok(Rc::new(21))
                });
                // Awaited twice, from the body and from a sibling (R11).
                let again = good.clone();
                let doubled = s.r#async(async move { Ok(*again.await? * 2) });
                s.launch(async { Err(Error::msg("launched failure")) });
                assert_eq!(bad.await.unwrap_err().to_string(), "bad");
                Ok(*good.await? + doubled.await?)
            })
        }),
    )
    .await
    .unwrap();
    assert_eq!(value, 63);
    assert_eq!(start.elapsed(), ms(20));
    // Only the `launch` failure reaches the handler (R4).
    assert_eq!(handled.take(), ["launched failure"]);
}

#[tokio::test(start_paused = true)]
async fn limit_lets_n_non_send_children_run_at_once() {
    let running = Rc::new(Cell::new(0usize));
    let most = Rc::new(Cell::new(0usize));
    let start = Instant::now();
    let options = ScopeOptions::new().limit(3);
    coroutine_scope_local_with(options, |s| {
        let (running, most) = (running.clone(), most.clone());
        Box::pin(async move {
            for _ in 0..9 {
                let (running, most) = (running.clone(), most.clone());
                s.launch(async move {
                    running.set(running.get() + 1);
                    most.set(most.get().max(running.get()));
                    delay(ms(10)).await?;
                    running.set(running.get() - 1);
                    Ok(())
                });
            }
            Ok(())
        })
    })
    .await
    .unwrap();
    assert_eq!(most.get(), 3);
    assert_eq!(start.elapsed(), ms(30));

    let order = RcLog::default();
    let n = supervisor_scope_local_with(ScopeOptions::new().limit(1), |s| {
        let order = order.clone();
        Box::pin(async move {
            let ds: Vec<_> = (1..=3u64)
                .map(|i| {
                    let order = order.clone();
                    s.r#async(async move {
                        push(&order, format!("start {i}"));
                        yield_now().await?;
                        push(&order, format!("end {i}"));
                        Ok(i)
                    })
                })
                .collect();
            let mut sum = 0;
            for d in ds {
                sum += d.await?;
            }
            Ok(sum)
        })
    })
    .await
    .unwrap();
    assert_eq!(n, 6);
    // One at a time, in start order.
    assert_eq!(
        *order.borrow(),
        ["start 1", "end 1", "start 2", "end 2", "start 3", "end 3"]
    );
}

/// R14 across kinds: a plain scope nested in a local scope's child joins
/// the local tree's one FIFO, like any nested scope.
#[tokio::test(start_paused = true)]
async fn a_plain_scope_nested_in_a_local_child_shares_the_trees_fifo() {
    let log = Log::default();
    let log = &log;
    coroutine_scope_local(|s| {
        Box::pin(async move {
            let rc = Rc::new("local");
            s.launch(async move {
                log.push(format!("a: {rc}"));
                coroutine_scope(|inner| {
                    Box::pin(async move {
                        inner.launch(async move {
                            log.push("a.1");
                            yield_now().await?;
                            log.push("a.1 again");
                            Ok(())
                        });
                        Ok(())
                    })
                })
                .await
            });
            s.launch(async move {
                log.push("b");
                yield_now().await?;
                log.push("b again");
                Ok(())
            });
            Ok(())
        })
    })
    .await
    .unwrap();
    assert_eq!(log.take(), ["a: local", "b", "a.1", "b again", "a.1 again"]);
}

#[tokio::test(start_paused = true)]
async fn local_scopes_in_spawn_local_tasks_of_a_local_set_run_concurrently() {
    let local = LocalSet::new();
    let start = Instant::now();
    let shared = Rc::new(RefCell::new(Vec::new()));
    let tasks: Vec<_> = (0..3u64)
        .map(|t| {
            let shared = shared.clone();
            local.spawn_local(coroutine_scope_local(move |s| {
                Box::pin(async move {
                    for c in 0..2u64 {
                        let shared = shared.clone();
                        s.launch(async move {
                            delay(ms(10 * (t + 1))).await?;
                            shared.borrow_mut().push((t, c));
                            Ok(())
                        });
                    }
                    Ok(t)
                })
            }))
        })
        .collect();
    let ids = local
        .run_until(async {
            let mut ids = Vec::new();
            for task in tasks {
                ids.push(task.await.unwrap().unwrap());
            }
            ids
        })
        .await;
    assert_eq!(ids, [0, 1, 2]);
    // The three tasks waited at once: 30 ms in all, not 60.
    assert_eq!(start.elapsed(), ms(30));
    assert_eq!(
        *shared.borrow(),
        [(0, 0), (0, 1), (1, 0), (1, 1), (2, 0), (2, 1)]
    );
}

/// A `parallel` child of a local scope is a `Send + 'static` tokio task
/// (`tokio::spawn`, so it needs no `LocalSet` and runs outside it); it is
/// still a child: cancelled by the scope's failure, and its failure is the
/// scope's.
#[tokio::test(start_paused = true)]
async fn parallel_children_of_a_local_scope_are_tokio_tasks_and_still_children() {
    let start = Instant::now();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let result: Result<()> = LocalSet::new()
        .run_until(coroutine_scope_local(|s| {
            Box::pin(async move {
                let local_state = Rc::new(Cell::new(0));
                s.child().launch_parallel(async move {
                    let slept = delay(Duration::from_secs(3600)).await;
                    let _ = tx.send(slept.as_ref().map_err(Error::is_cancellation).err());
                    slept
                });
                let computed = s.child().async_parallel(async {
                    delay(ms(10)).await?;
                    Ok(6 * 7)
                });
                local_state.set(computed.await?);
                assert_eq!(local_state.get(), 42);
                s.child().launch_parallel(async {
                    delay(ms(5)).await?;
                    Err(Error::msg("remote failure"))
                });
                Ok(())
            })
        }))
        .await;
    assert_eq!(result.unwrap_err().to_string(), "remote failure");
    assert_eq!(start.elapsed(), ms(15));
    // The sleeper was cancelled (R7), not dropped: it saw the cancellation.
    assert_eq!(rx.await.unwrap(), Some(true));
}

/// R10: dropping a local scope's future drops its non-`Send` children at
/// once, and aborts its `parallel` ones.
#[tokio::test(start_paused = true)]
async fn dropping_a_local_scope_drops_every_child() {
    struct Dropped(Rc<Cell<u32>>);
    impl Drop for Dropped {
        fn drop(&mut self) {
            self.0.set(self.0.get() + 1);
        }
    }
    struct Aborted(Option<tokio::sync::oneshot::Sender<()>>);
    impl Drop for Aborted {
        fn drop(&mut self) {
            let _ = self.0.take().map(|tx| tx.send(()));
        }
    }
    let drops = Rc::new(Cell::new(0));
    let (tx, rx) = tokio::sync::oneshot::channel();
    let scope = coroutine_scope_local(|s| {
        let drops = drops.clone();
        Box::pin(async move {
            for _ in 0..3 {
                let guard = Dropped(drops.clone());
                s.launch(async move {
                    let _guard = guard;
                    delay(Duration::from_secs(3600)).await
                });
            }
            s.child().launch_parallel(async move {
                let _guard = Aborted(Some(tx));
                std::future::pending::<()>().await;
                Ok(())
            });
            std::future::pending::<Result<()>>().await
        })
    });
    let outcome = tokio::time::timeout(ms(10), scope).await;
    assert!(outcome.is_err(), "the scope was still running");
    assert_eq!(drops.get(), 3);
    rx.await.expect("the parallel child's task was aborted");
}

/// `produce` in a local scope (SPEC §2c, §2d): a producer of `Rc` items,
/// cancelled at once while in `delay` when its receiver is dropped, its
/// cleanup run; the DSL's `produce!` in a `local` scope body alike.
#[tokio::test(start_paused = true)]
async fn produce_in_a_local_scope_sends_non_send_items_and_is_cancelled_with_its_receiver() {
    let log: RcLog = Rc::default();
    let start = Instant::now();
    let firsts = coroutine_scope_local(|s| {
        let log = log.clone();
        Box::pin(async move {
            let rx = s.produce(0, |tx| async move {
                for i in 1.. {
                    tx.send(Rc::new(i)).await?;
                    if let Err(cancelled) = delay(ms(10)).await {
                        push(
                            &log,
                            format!("cancelled at {}", start.elapsed().as_millis()),
                        );
                        return Err(cancelled);
                    }
                }
                Ok(())
            });
            let mut firsts = Vec::new();
            while firsts.len() < 3 {
                firsts.extend(rx.recv().await?.map(|i| *i));
            }
            Ok(firsts) // `rx` dropped: the producer is cancelled in `delay`
        })
    })
    .await
    .unwrap();
    assert_eq!(firsts, [1, 2, 3]);
    assert_eq!(*log.borrow(), ["cancelled at 20"]);
    assert_eq!(start.elapsed(), ms(20));

    let total: Result<i32> = scopes::coroutine_scope!(local;
        let rx = produce!(|tx| { tx.send(Rc::new(4)).await?; tx.send(Rc::new(5)).await?; });
        let mut total = 0;
        while let Some(item) = rx.recv().await? {
            total += *item;
        }
        Ok(total)
    );
    assert_eq!(total.unwrap(), 9);
}

/// SPEC §2c's cancellation-aware tokio waits (`scopes::sync`) with data that
/// is not `Send`, in a local scope (§2d: every rule holds there): a mutex
/// of `Rc<RefCell<_>>` taken while contended, then an `mpsc` channel of
/// `Rc` sent on while full.
#[tokio::test(start_paused = true)]
async fn sync_waits_take_values_that_are_not_send() {
    use scopes::sync::{MpscReceiverExt, MpscSenderExt, MutexExt};
    let count = tokio::sync::Mutex::new(Rc::new(RefCell::new(0u32)));
    let count = &count;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Rc<u32>>(1);
    tx.try_send(Rc::new(0)).unwrap(); // full
    let tx = &tx;
    let start = Instant::now();
    let received = coroutine_scope_local(|s| {
        Box::pin(async move {
            let held = count.lock().await;
            s.launch(async move {
                let guard = count.lock_cancellable().await?; // waits 10 ms
                *guard.borrow_mut() += 1;
                drop(guard);
                tx.send_cancellable(Rc::new(1)).await?; // waits 10 ms more
                Ok(())
            });
            delay(ms(10)).await?;
            drop(held);
            delay(ms(10)).await?;
            let mut received = Vec::new();
            for _ in 0..2 {
                received.push(*rx.recv_cancellable().await?.expect("a value"));
            }
            Ok(received)
        })
    })
    .await
    .unwrap();
    assert_eq!(received, [0, 1]);
    assert_eq!(*count.lock().await.borrow(), 1);
    assert_eq!(start.elapsed(), ms(20));
}

/// The same waits cancelled while they wait (R7): each child gets the
/// cancellation, and the `Rc` it was sending is dropped, not sent.
#[tokio::test(start_paused = true)]
async fn sync_waits_on_values_that_are_not_send_end_with_a_cancellation() {
    use scopes::sync::{MpscSenderExt, MutexExt};
    let count = tokio::sync::Mutex::new(Rc::new(0u32));
    let count = &count;
    let (tx, rx) = tokio::sync::mpsc::channel::<Rc<u32>>(1);
    tx.try_send(Rc::new(0)).unwrap(); // full
    let tx = &tx;
    let unsent = Rc::new(7);
    let sent = unsent.clone();
    let outcomes = coroutine_scope_local(|s| {
        Box::pin(async move {
            let held = count.lock().await;
            let locking = s.r#async(async move { count.lock_cancellable().await.map(|_| ()) });
            let sending = s.r#async(async move { tx.send_cancellable(sent).await });
            delay(ms(10)).await?;
            locking.job().cancel();
            sending.job().cancel();
            let outcomes = [locking.await, sending.await];
            drop(held);
            Ok(outcomes.map(|outcome| outcome.unwrap_err().is_cancellation()))
        })
    })
    .await
    .unwrap();
    assert_eq!(outcomes, [true, true]);
    assert_eq!(Rc::strong_count(&unsent), 1, "the unsent value was dropped");
    assert_eq!(rx.len(), 1, "nothing was sent");
}
