//! Fairness: a child that is always ready (a `yield_now` loop, or a foreign
//! future that wakes itself and stays pending) cannot starve its siblings,
//! the body, a sibling's nested scope, or other tokio tasks on the same
//! worker. Each test counts the busy child's polls between two steps of the
//! one that must progress, and bounds that gap: siblings alternate with it
//! (each wake joins the back of the scope's queue), and a scope gives its
//! worker back after at most 256 polls (driver.rs `POLL_BUDGET`).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll};

use scopes::{Result, coroutine_scope, yield_now};

/// The scope driver's poll budget.
const POLL_BUDGET: usize = 256;

/// A foreign future that is always ready to run again: it wakes itself and
/// returns `Pending`, forever, counting its polls.
struct Spin<'a>(&'a AtomicUsize);

impl Future for Spin<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.0.fetch_add(1, Ordering::SeqCst);
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Records the busy counter at each step of someone who must progress.
#[derive(Default)]
struct Steps(std::sync::Mutex<Vec<usize>>);

impl Steps {
    fn record(&self, busy: &AtomicUsize) {
        self.0.lock().unwrap().push(busy.load(Ordering::SeqCst));
    }

    /// The largest number of busy polls between two recorded steps.
    fn max_gap(&self) -> usize {
        let seen = self.0.lock().unwrap();
        seen.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(0)
    }

    fn count(&self) -> usize {
        self.0.lock().unwrap().len()
    }
}

#[tokio::test]
async fn a_yield_loop_does_not_starve_siblings_or_the_body() {
    let busy = AtomicUsize::new(0);
    let (sibling, body) = (Steps::default(), Steps::default());
    let (busy, sibling_steps, body_steps) = (&busy, &sibling, &body);
    let result: Result<()> = coroutine_scope(|s| {
        Box::pin(async move {
            let spinner = s.launch(async move {
                loop {
                    yield_now().await?;
                    busy.fetch_add(1, Ordering::SeqCst);
                }
            });
            let spinner2 = spinner.clone();
            s.launch(async move {
                for _ in 0..100 {
                    sibling_steps.record(busy);
                    yield_now().await?;
                }
                spinner2.cancel();
                Ok(())
            });
            for _ in 0..100 {
                body_steps.record(busy);
                yield_now().await?;
            }
            spinner.join().await
        })
    })
    .await;
    result.unwrap();
    assert_eq!((sibling.count(), body.count()), (100, 100));
    // Body, sibling and spinner take turns: one spin between two steps.
    assert!(sibling.max_gap() <= 1, "sibling gap {}", sibling.max_gap());
    assert!(body.max_gap() <= 1, "body gap {}", body.max_gap());
}

#[tokio::test]
async fn a_self_waking_foreign_future_does_not_starve_siblings_and_is_dropped_on_cancel() {
    let polls = AtomicUsize::new(0);
    let sibling = Steps::default();
    let (polls, steps) = (&polls, &sibling);
    let result: Result<()> = coroutine_scope(|s| {
        Box::pin(async move {
            let spinner = s.launch(async move {
                Spin(polls).await;
                unreachable!("Spin never completes");
            });
            s.launch(async move {
                for _ in 0..100 {
                    steps.record(polls);
                    yield_now().await?;
                }
                // R7: resumed once, still pending outside non_cancellable:
                // dropped, so the scope can return.
                spinner.cancel();
                Ok(())
            });
            Ok(())
        })
    })
    .await;
    result.unwrap();
    assert_eq!(sibling.count(), 100);
    assert!(sibling.max_gap() <= 1, "sibling gap {}", sibling.max_gap());
}

#[tokio::test]
async fn a_busy_scope_gives_its_worker_to_other_tasks_within_the_poll_budget() {
    // A current-thread runtime: the scope and the other task share one
    // worker thread, so the task runs only when the scope's future returns.
    static POLLS: AtomicUsize = AtomicUsize::new(0);
    static DONE: AtomicBool = AtomicBool::new(false);
    let other = tokio::spawn(async {
        let steps = Steps::default();
        for _ in 0..50 {
            steps.record(&POLLS);
            tokio::task::yield_now().await;
        }
        DONE.store(true, Ordering::SeqCst);
        steps
    });
    let result: Result<()> = coroutine_scope(|s| {
        Box::pin(async move {
            let spinner = s.launch(async {
                Spin(&POLLS).await;
                Ok(())
            });
            while !DONE.load(Ordering::SeqCst) {
                yield_now().await?;
            }
            spinner.cancel();
            Ok(())
        })
    })
    .await;
    result.unwrap();
    let steps = other.await.unwrap();
    assert_eq!(steps.count(), 50);
    assert!(
        steps.max_gap() <= POLL_BUDGET,
        "the other task waited {} spins",
        steps.max_gap()
    );
}

#[tokio::test]
async fn a_busy_grandchild_does_not_starve_its_parents_siblings() {
    let polls = AtomicUsize::new(0);
    let sibling = Steps::default();
    let (polls, steps) = (&polls, &sibling);
    let result: Result<()> = coroutine_scope(|s| {
        Box::pin(async move {
            let host = s.launch(async move {
                coroutine_scope(|inner| {
                    Box::pin(async move {
                        inner.launch(async move {
                            Spin(polls).await;
                            Ok(())
                        });
                        Ok(())
                    })
                })
                .await
            });
            s.launch(async move {
                for _ in 0..50 {
                    steps.record(polls);
                    yield_now().await?;
                }
                host.cancel();
                Ok(())
            });
            Ok(())
        })
    })
    .await;
    result.unwrap();
    assert_eq!(sibling.count(), 50);
    // The nested scope runs its spinner until its own budget runs out, then
    // its host waits behind the sibling.
    assert!(
        sibling.max_gap() <= POLL_BUDGET,
        "sibling gap {}",
        sibling.max_gap()
    );
}
