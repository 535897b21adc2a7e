//! Tests for the paths the in-place driver's optimisations take: each would
//! catch one going wrong (slot reuse, wakes from other threads or from a
//! nested scope's poll, starts while completing, the poll budget, the
//! lock-free job state).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Waker;
use std::time::Duration;

use scopes::{Error, Result, coroutine_scope, delay, supervisor_scope, yield_now};
use scopes_workspace::Log;
use tokio::time::Instant;

/// A future that parks its waker in `slot` and completes on the second poll.
struct Park<'a> {
    slot: &'a std::sync::Mutex<Option<Waker>>,
    parked: bool,
}

impl<'a> Park<'a> {
    fn new(slot: &'a std::sync::Mutex<Option<Waker>>) -> Self {
        Self {
            slot,
            parked: false,
        }
    }
}

impl std::future::Future for Park<'_> {
    type Output = ();
    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        if self.parked {
            return std::task::Poll::Ready(());
        }
        self.parked = true;
        *self.slot.lock().unwrap() = Some(cx.waker().clone());
        std::task::Poll::Pending
    }
}

#[tokio::test(start_paused = true)]
async fn a_stale_waker_after_the_scope_ended_is_harmless() {
    let slot = std::sync::Mutex::new(None);
    let slot_ref = &slot;
    coroutine_scope(|s| {
        Box::pin(async move {
            let job = s.launch(async move {
                Park::new(slot_ref).await;
                Ok(())
            });
            yield_now().await?;
            slot_ref.lock().unwrap().as_ref().unwrap().wake_by_ref();
            job.join().await
        })
    })
    .await
    .unwrap();
    // The child and its scope are gone; its waker still works, does nothing.
    let waker = slot.lock().unwrap().take().unwrap();
    waker.wake();
}

#[tokio::test(start_paused = true)]
async fn a_stale_wake_of_a_reused_slot_only_repolls_the_new_child() {
    let slot = std::sync::Mutex::new(None);
    let slot_ref = &slot;
    let log = Log::default();
    let log = &log;
    let (result, took) = {
        let start = Instant::now();
        let r = coroutine_scope(|s| {
            Box::pin(async move {
                // Child 1 parks its waker and finishes; its slab slot is freed.
                let first = s.launch(async move {
                    Park::new(slot_ref).await;
                    Ok(())
                });
                yield_now().await?;
                slot_ref.lock().unwrap().as_ref().unwrap().wake_by_ref();
                first.join().await?;
                // Child 2 reuses the slot and sleeps.
                let second = s.launch(async move {
                    delay(Duration::from_millis(30)).await?;
                    log.push("second woke on time");
                    Ok(())
                });
                yield_now().await?;
                // The old waker now points at the reused slot.
                slot_ref.lock().unwrap().take().unwrap().wake();
                second.join().await
            })
        })
        .await;
        (r, start.elapsed())
    };
    result.unwrap();
    assert_eq!(took, Duration::from_millis(30));
    assert_eq!(log.take(), ["second woke on time"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wake_from_another_thread_reaches_an_in_place_child() {
    let (tx, rx) = tokio::sync::oneshot::channel::<u32>();
    let value = coroutine_scope(|s| {
        Box::pin(async move {
            let d = s.r#async(async move { Ok(rx.await.map_err(Error::new)? + 1) });
            // Sent from a plain OS thread: the wake takes the locked path.
            let sender = std::thread::spawn(move || tx.send(41).unwrap());
            let v = d.await?;
            sender.join().unwrap();
            Ok(v)
        })
    })
    .await
    .unwrap();
    assert_eq!(value, 42);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_from_another_thread_resumes_the_child() {
    let log = Log::default();
    let log = &log;
    coroutine_scope(|s| {
        Box::pin(async move {
            let job = s.launch(async move {
                let r = delay(Duration::from_secs(3600)).await;
                log.push(format!("cancelled: {}", r.unwrap_err().is_cancellation()));
                Ok(())
            });
            yield_now().await?;
            std::thread::scope(|t| {
                t.spawn(|| job.cancel());
            });
            job.join().await
        })
    })
    .await
    .unwrap();
    assert_eq!(log.take(), ["cancelled: true"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_child_started_from_another_thread_is_adopted() {
    let ran = AtomicUsize::new(0);
    let ran_ref = &ran;
    coroutine_scope(|s| {
        Box::pin(async move {
            let handle = s.clone();
            let started = std::thread::scope(|t| {
                t.spawn(move || {
                    handle.launch(async move {
                        ran_ref.fetch_add(1, Ordering::SeqCst);
                        Ok(())
                    })
                })
                .join()
                .unwrap()
            });
            started.join().await
        })
    })
    .await
    .unwrap();
    assert_eq!(ran.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn a_child_started_while_the_scope_is_completing_runs() {
    let log = Log::default();
    let log = &log;
    let start = Instant::now();
    coroutine_scope(|s| {
        Box::pin(async move {
            let handle = s.clone();
            s.launch(async move {
                delay(Duration::from_millis(10)).await?;
                // The body has returned: the scope is completing.
                handle.launch(async move {
                    delay(Duration::from_millis(5)).await?;
                    log.push("late child ran");
                    Ok(())
                });
                Ok(())
            });
            Ok(())
        })
    })
    .await
    .unwrap();
    assert_eq!(start.elapsed(), Duration::from_millis(15));
    assert_eq!(log.take(), ["late child ran"]);
}

#[tokio::test(start_paused = true)]
async fn a_nested_scope_child_wakes_an_outer_sibling() {
    // The wake happens while the nested scope polls on the same thread:
    // it must reach the outer scope's queue, not the nested one's.
    let (result, took) = {
        let start = Instant::now();
        let r = coroutine_scope(|s| {
            Box::pin(async move {
                let value = s.r#async(async {
                    delay(Duration::from_millis(20)).await?;
                    Ok(5)
                });
                let value2 = value.clone();
                let waiter = s.r#async(async move { Ok(value2.await? * 2) });
                let nested = s.r#async(async move {
                    coroutine_scope(|inner| {
                        Box::pin(async move {
                            let d = inner.r#async(value);
                            d.await
                        })
                    })
                    .await
                });
                Ok(waiter.await? + nested.await?)
            })
        })
        .await;
        (r, start.elapsed())
    };
    assert_eq!(result.unwrap(), 15);
    assert_eq!(took, Duration::from_millis(20));
}

#[tokio::test(start_paused = true)]
async fn more_ready_children_than_the_poll_budget_all_run_in_order() {
    let order = std::sync::Mutex::new(Vec::new());
    let order_ref = &order;
    coroutine_scope(|s| {
        Box::pin(async move {
            for i in 0..1000 {
                s.launch(async move {
                    yield_now().await?;
                    order_ref.lock().unwrap().push(i);
                    Ok(())
                });
            }
            Ok(())
        })
    })
    .await
    .unwrap();
    let order = order.into_inner().unwrap();
    assert_eq!(order, (0..1000).collect::<Vec<_>>());
}

#[tokio::test(start_paused = true)]
async fn an_always_ready_child_does_not_starve_other_tasks() {
    // Another task on the same current-thread runtime must get to run while
    // a child spins on yield_now: the scope yields to tokio every budget.
    let other = Arc::new(AtomicUsize::new(0));
    let other2 = other.clone();
    let ticker = tokio::spawn(async move {
        loop {
            other2.fetch_add(1, Ordering::SeqCst);
            tokio::task::yield_now().await;
        }
    });
    let other3 = other.clone();
    coroutine_scope(|s| {
        Box::pin(async move {
            s.launch(async move {
                while other3.load(Ordering::SeqCst) < 5 {
                    yield_now().await?;
                }
                Ok(())
            });
            Ok(())
        })
    })
    .await
    .unwrap();
    ticker.abort();
    assert!(other.load(Ordering::SeqCst) >= 5);
}

#[tokio::test(start_paused = true)]
async fn a_job_awaited_by_many_wakes_them_all_once_it_completes() {
    let result: Result<usize> = supervisor_scope(|s| {
        Box::pin(async move {
            let slow = s.r#async(async {
                delay(Duration::from_millis(10)).await?;
                Ok(1usize)
            });
            let mut waiters = Vec::new();
            for _ in 0..50 {
                let slow = slow.clone();
                waiters.push(s.r#async(slow));
            }
            let mut total = 0;
            for w in waiters {
                total += w.await?;
            }
            Ok(total + slow.await?)
        })
    })
    .await;
    assert_eq!(result.unwrap(), 51);
}

/// A run of starts is one thread-local marker with a count; a wake in the
/// middle of a run must split it, so that the order stays start, start,
/// wake, start (R14).
#[tokio::test(start_paused = true)]
async fn a_wake_between_two_runs_of_starts_keeps_its_place() {
    let log = Log::default();
    let log = &log;
    let slot = std::sync::Mutex::new(None);
    let slot = &slot;
    coroutine_scope(|s| {
        Box::pin(async move {
            s.launch(async move {
                Park::new(slot).await;
                log.push("woken");
                Ok(())
            });
            yield_now().await?; // the parked child runs and parks
            for name in ["a", "b"] {
                s.launch(async move {
                    log.push(name);
                    Ok(())
                });
            }
            slot.lock().unwrap().take().unwrap().wake();
            for name in ["c", "d"] {
                s.launch(async move {
                    log.push(name);
                    Ok(())
                });
            }
            Ok(())
        })
    })
    .await
    .unwrap();
    assert_eq!(log.take(), ["a", "b", "woken", "c", "d"]);
}

/// Counts the polls of a future it wraps.
struct CountPolls<'a, F> {
    inner: F,
    polls: &'a AtomicUsize,
}

impl<F: std::future::Future + Unpin> std::future::Future for CountPolls<'_, F> {
    type Output = F::Output;
    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<F::Output> {
        self.polls.fetch_add(1, Ordering::SeqCst);
        std::pin::Pin::new(&mut self.inner).poll(cx)
    }
}

/// Cancelling a child that is already queued (woken, not yet polled) marks
/// it cancelled and queued in one step: it must run exactly once more, and
/// that run is its resume after the cancellation (R7).
#[tokio::test(start_paused = true)]
async fn a_child_cancelled_while_queued_is_resumed_once() {
    let polls = AtomicUsize::new(0);
    let polls = &polls;
    let log = Log::default();
    let log = &log;
    let slot = std::sync::Mutex::new(None);
    let slot = &slot;
    coroutine_scope(|s| {
        Box::pin(async move {
            let job = s.launch(async move {
                CountPolls {
                    inner: Park::new(slot),
                    polls,
                }
                .await;
                log.push("resumed");
                match yield_now().await {
                    Err(e) if e.is_cancellation() => log.push("cancelled"),
                    other => log.push(format!("{other:?}")),
                }
                Ok(())
            });
            yield_now().await?; // the child parks
            slot.lock().unwrap().take().unwrap().wake(); // queued
            job.cancel(); // cancelled while queued
            assert!(job.is_cancelled() && !job.is_completed());
            job.join().await
        })
    })
    .await
    .unwrap();
    assert_eq!(log.take(), ["resumed", "cancelled"]);
    assert_eq!(polls.load(Ordering::SeqCst), 2);
}

/// A child that stopped waiting on a job leaves its waker behind in that
/// job's waiters. When the job completes, that stale waker queues the
/// child's old slot, which a child started later may have taken: the new
/// child must still first run in start order (R14), not at the stale
/// entry's place.
#[tokio::test(start_paused = true)]
async fn a_stale_wake_of_a_reused_slot_does_not_run_a_new_child_early() {
    let log = Log::default();
    let log = &log;
    coroutine_scope(|s| {
        Box::pin(async move {
            let slow = s.launch(async { delay(Duration::from_millis(10)).await });
            let slow2 = slow.clone();
            let waiter = s.launch(async move {
                let _ = slow2.join().await;
                Ok(())
            });
            s.launch(async move {
                delay(Duration::from_millis(1)).await?;
                waiter.cancel(); // its waker stays among `slow`'s waiters
                Ok(())
            });
            slow.join().await?;
            s.launch(async move {
                log.push("A");
                Ok(())
            });
            s.launch(async move {
                log.push("B"); // takes the waiter's old slot
                Ok(())
            });
            Ok(())
        })
    })
    .await
    .unwrap();
    assert_eq!(log.take(), ["A", "B"]);
}

/// R7 for a scope run as the work of `cancel_on` (a job that is not a
/// scope's unit, so the scope drains its own children as a root): when the
/// signal fires, the scope is pending while its children clean up (10 ms
/// in `non_cancellable`), so the work is not dropped there, and `cancel_on`
/// returns once the cleanup is done.
#[tokio::test(start_paused = true)]
async fn a_scope_under_cancel_on_lets_its_children_clean_up_when_the_signal_fires() {
    let log = Log::default();
    let start = Instant::now();
    let stopped = scopes::cancel_on(
        delay(Duration::from_millis(100)),
        coroutine_scope(|s| {
            let log = log.clone();
            Box::pin(async move {
                s.launch(async move {
                    let waited = delay(Duration::from_secs(60)).await;
                    scopes::non_cancellable(async {
                        delay(Duration::from_millis(10)).await?;
                        log.push(format!("cleaned up, cancelled: {}", waited.is_err()));
                        Ok(())
                    })
                    .await
                });
                Ok(())
            })
        }),
    )
    .await;
    assert!(matches!(stopped, Ok(None)), "the signal stopped the work");
    assert_eq!(Instant::now() - start, Duration::from_millis(110));
    assert_eq!(log.take(), ["cleaned up, cancelled: true"]);
}

/// Children in one burst: more than the registry shows at once (1,024),
/// so a burst is published in parts.
const BURST: usize = 3_500;

/// R14 across published parts of a burst: the children of a long burst run
/// in start order, in a root scope and in a nested one, and
/// `cancel_children()` covers exactly those started before it (they never
/// run, R7), the later ones running in order.
#[tokio::test(start_paused = true)]
async fn a_burst_longer_than_a_published_part_keeps_start_order_and_cancel_children_covers_it() {
    for nested in [false, true] {
        let log = std::sync::Mutex::new(Vec::new());
        let log = &log;
        let burst = move || {
            coroutine_scope(move |s| {
                Box::pin(async move {
                    for i in 0..BURST {
                        s.launch(async move {
                            log.lock().unwrap().push(i);
                            Ok(())
                        });
                    }
                    scopes::cancel_children();
                    yield_now().await?;
                    for i in BURST..2 * BURST {
                        s.launch(async move {
                            log.lock().unwrap().push(i);
                            Ok(())
                        });
                    }
                    Ok(())
                })
            })
        };
        if nested {
            coroutine_scope(|outer| {
                Box::pin(async move {
                    outer.launch(async move { burst().await });
                    Ok(())
                })
            })
            .await
            .unwrap();
        } else {
            burst().await.unwrap();
        }
        let ran = log.lock().unwrap().clone();
        assert_eq!(
            ran,
            (BURST..2 * BURST).collect::<Vec<_>>(),
            "nested: {nested}"
        );
    }
}

/// R10 mid-burst: dropping a scope whose children are in every stage of
/// adoption (placed, taken from the start list but not placed, still in
/// the start list) drops each child's future exactly once.
#[tokio::test(start_paused = true)]
async fn dropping_a_scope_mid_burst_drops_every_child_once() {
    struct Counted(Arc<AtomicUsize>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    for n in [0, 1, 4, 5, 1_024, 1_025, 3_000] {
        let drops = Arc::new(AtomicUsize::new(0));
        let counter = drops.clone();
        let scope = coroutine_scope(move |s| {
            Box::pin(async move {
                for _ in 0..n {
                    let counted = Counted(counter.clone());
                    s.launch(async move {
                        let _counted = counted;
                        delay(Duration::from_secs(3600)).await
                    });
                }
                // A child that starts `n` more while it runs: they wait in
                // the start list when the scope is dropped.
                let handle = s.clone();
                let more = counter.clone();
                s.launch(async move {
                    for _ in 0..n {
                        let counted = Counted(more.clone());
                        handle.launch(async move {
                            let _counted = counted;
                            Ok(())
                        });
                    }
                    std::future::pending::<Result<()>>().await
                });
                delay(Duration::from_secs(3600)).await
            })
        });
        let timed_out = tokio::time::timeout(Duration::from_millis(20), scope).await;
        assert!(timed_out.is_err(), "the scope waits for an hour");
        assert_eq!(drops.load(Ordering::SeqCst), 2 * n, "n = {n}");
    }
}

/// After a burst of children has ended, the scope's slots start over: the
/// next children take the lowest slots. A late wake of a burst's child
/// (its slot now beyond the storage) is skipped, and `cancel_children`
/// reaches the children started after the burst.
#[tokio::test(start_paused = true)]
async fn after_a_burst_has_ended_new_children_run_and_cancel_children_reaches_them() {
    let late = std::sync::Mutex::new(None::<Waker>);
    let late = &late;
    let cancelled = AtomicUsize::new(0);
    let cancelled = &cancelled;
    coroutine_scope(|s| {
        Box::pin(async move {
            for i in 0..5_000 {
                s.launch(async move {
                    if i == 4_999 {
                        // Keeps its waker: woken after the burst has ended.
                        std::future::poll_fn(|cx| {
                            *late.lock().unwrap() = Some(cx.waker().clone());
                            std::task::Poll::Ready(())
                        })
                        .await;
                    }
                    yield_now().await
                });
            }
            delay(Duration::from_millis(1)).await?;
            for _ in 0..3 {
                s.launch(async move {
                    let ended = delay(Duration::from_secs(3600)).await;
                    assert!(ended.unwrap_err().is_cancellation());
                    cancelled.fetch_add(1, Ordering::Relaxed);
                    Ok(())
                });
            }
            yield_now().await?;
            late.lock().unwrap().take().expect("parked").wake();
            yield_now().await?;
            scopes::cancel_children();
            Ok(())
        })
    })
    .await
    .unwrap();
    assert_eq!(cancelled.load(Ordering::Relaxed), 3);
}

/// A job's id, as its `Debug` shows it.
fn id_of(job: &scopes::Job<'_>) -> u64 {
    let shown = format!("{job:?}");
    let id = shown
        .split("id: ")
        .nth(1)
        .and_then(|rest| rest.split(',').next());
    id.and_then(|id| id.parse().ok()).expect("an id")
}

/// A thread keeps the job records of children nobody holds any more for
/// its next children (`engine/job.rs`): a handle kept after its child
/// completed still holds its own record, with its outcome and name, while
/// later scopes on the thread start and end thousands of children; their
/// ids are new.
#[tokio::test(start_paused = true)]
async fn a_kept_handle_keeps_its_own_job_record_while_later_children_reuse_records() {
    coroutine_scope(|s| {
        Box::pin(async move {
            let mut kept = Vec::new();
            for i in 0..100 {
                let job = s.child().name(format!("kept {i}")).launch(async move {
                    yield_now().await?;
                    if i % 3 == 0 {
                        return Err(Error::cancelled());
                    }
                    Ok(())
                });
                if i % 2 == 0 {
                    kept.push(job);
                }
            }
            scopes::join_all(&kept).await?;
            delay(Duration::from_millis(1)).await?; // the odd ones are gone too
            let kept_ids: Vec<u64> = kept.iter().map(id_of).collect();
            for _ in 0..3 {
                let later = coroutine_scope(|s| {
                    Box::pin(async move {
                        let jobs: Vec<_> = (0..2_000)
                            .map(|_| s.launch(async { yield_now().await }))
                            .collect();
                        Ok(jobs.iter().map(id_of).collect::<Vec<_>>())
                    })
                })
                .await?;
                assert!(later.iter().all(|job| !kept_ids.contains(job)));
            }
            for (n, job) in kept.iter().enumerate() {
                let i = 2 * n;
                assert_eq!(job.name(), format!("kept {i}"));
                assert!(job.is_completed());
                assert_eq!(job.is_cancelled(), i % 3 == 0, "kept {i}");
                assert_eq!(id_of(job), kept_ids[n]);
            }
            Ok(())
        })
    })
    .await
    .unwrap();
}
