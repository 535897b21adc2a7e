//! Checks of the safe floor's semantics (`floor.rs`): no wake is lost
//! (wakes from other tasks and threads, siblings waking siblings, nested
//! scopes), R1 and R2, R7's resume-once and drop, `parallel` children
//! (their sum, a failure among sleepers, a panic). A floor that lost a
//! wake or skipped a child would measure fast for the wrong reason; the
//! floor bench runs these before it measures, and `cargo test --benches`
//! runs them unoptimized.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::*};
use std::time::{Duration, Instant};

use super::floor;

fn rt(multi: bool) -> tokio::runtime::Runtime {
    if multi {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    } else {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }
}

fn within<F: std::future::Future + Send + 'static>(rt: &tokio::runtime::Runtime, f: F) -> F::Output
where
    F::Output: Send + 'static,
{
    rt.block_on(async move {
        tokio::time::timeout(Duration::from_secs(10), tokio::spawn(f))
            .await
            .expect("HANG (lost wake?)")
            .expect("panicked")
    })
}

/// Children each wait for a value sent from a task (remote wakes), nested scopes.
async fn remote_wakes(n: usize, nested: bool) -> u64 {
    let sum = AtomicU64::new(0);
    let sum = &sum;
    let r = floor::scope(|s| {
        Box::pin(async move {
            for i in 0..n {
                let (tx, rx) = tokio::sync::oneshot::channel::<u64>();
                tokio::spawn(async move {
                    if i % 3 == 0 {
                        tokio::task::yield_now().await;
                    }
                    if i % 5 == 0 {
                        tokio::time::sleep(Duration::from_micros(50)).await;
                    }
                    let _ = tx.send(i as u64);
                });
                if nested {
                    s.launch(floor::scope(move |s2| {
                        Box::pin(async move {
                            s2.launch(async move {
                                floor::yield_now().await?;
                                let v = rx.await.unwrap();
                                sum.fetch_add(v, Relaxed);
                                Ok(())
                            });
                            s2.launch(async move { floor::yield_now().await });
                            Ok(())
                        })
                    }));
                } else {
                    s.launch(async move {
                        let v = rx.await.unwrap();
                        floor::yield_now().await?;
                        sum.fetch_add(v, Relaxed);
                        Ok(())
                    });
                }
            }
            Ok::<(), ()>(())
        })
    })
    .await;
    r.unwrap();
    sum.load(Relaxed)
}

/// Siblings waking siblings on the same thread (mpsc ring).
async fn sibling_ring(n: usize) -> u64 {
    let sum = AtomicU64::new(0);
    let sum = &sum;
    let (first_tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<u64>();
    floor::scope(|s| {
        Box::pin(async move {
            for i in 0..n {
                let (tx, next_rx) = tokio::sync::mpsc::unbounded_channel::<u64>();
                let mut my_rx = std::mem::replace(&mut rx, next_rx);
                let last = i == n - 1;
                s.launch(async move {
                    let v = my_rx.recv().await.unwrap();
                    sum.fetch_add(v, Relaxed);
                    if !last {
                        tx.send(v + 1).unwrap();
                    }
                    Ok(())
                });
            }
            first_tx.send(1).unwrap();
            Ok::<(), ()>(())
        })
    })
    .await
    .unwrap();
    sum.load(Relaxed)
}

/// R2 + R7: one child fails; the others (blocked, yielding, nested) see the cancel.
async fn cancel_case(n: usize) -> (usize, usize) {
    let resumed = Arc::new(AtomicUsize::new(0));
    let dropped = Arc::new(AtomicUsize::new(0));
    struct D(Arc<AtomicUsize>);
    impl Drop for D {
        fn drop(&mut self) {
            self.0.fetch_add(1, Relaxed);
        }
    }
    let (r2, d2) = (resumed.clone(), dropped.clone());
    let r = floor::scope(|s| {
        Box::pin(async move {
            for k in 0..n {
                let r2 = r2.clone();
                let d = D(d2.clone());
                s.launch(async move {
                    let _d = d;
                    if k == n - 1 {
                        floor::yield_now().await.map_err(|_| 8u32)?;
                        return Err(7u32);
                    }
                    match k % 3 {
                        0 => {
                            if floor::delay(Duration::from_secs(3600)).await.is_err() {
                                r2.fetch_add(1, Relaxed);
                            }
                        }
                        1 => loop {
                            if floor::yield_now().await.is_err() {
                                r2.fetch_add(1, Relaxed);
                                break;
                            }
                        },
                        _ => {
                            // never completes and ignores cancel: must be dropped
                            std::future::pending::<()>().await;
                        }
                    }
                    Err(1)
                });
            }
            Ok(())
        })
    })
    .await;
    assert_eq!(r, Err(7));
    (resumed.load(Relaxed), dropped.load(Relaxed))
}

async fn parallel_sum(n: u64) -> u64 {
    let sum = Arc::new(AtomicU64::new(0));
    let s2 = sum.clone();
    floor::scope(move |s| {
        Box::pin(async move {
            for i in 0..n {
                let sum = s2.clone();
                s.launch_parallel(async move {
                    floor::yield_now().await?;
                    if i % 7 == 0 {
                        tokio::time::sleep(Duration::from_micros(20)).await;
                    }
                    sum.fetch_add(i, Relaxed);
                    Ok::<(), ()>(())
                });
            }
            Ok(())
        })
    })
    .await
    .unwrap();
    sum.load(Relaxed)
}

async fn parallel_cancel(n: u64) -> Duration {
    let start = Instant::now();
    let r = floor::scope(move |s| {
        Box::pin(async move {
            for i in 0..n {
                s.launch_parallel(async move {
                    if i == n / 2 {
                        floor::yield_now().await.map_err(|_| 8u8)?;
                        return Err(3u8);
                    }
                    floor::delay(Duration::from_secs(3600))
                        .await
                        .map_err(|_| 9)?;
                    Ok(())
                });
            }
            Ok(())
        })
    })
    .await;
    assert!(r == Err(3) || r == Err(9) || r == Err(8), "{r:?}");
    start.elapsed()
}

/// Runs every check `rounds` times, on a current-thread runtime and on a
/// 2-worker one; panics on the first that fails.
pub fn run(rounds: usize) {
    for multi in [false, true] {
        let rt = rt(multi);
        for round in 0..rounds {
            let n = 1 + (round * 37) % 300;
            let got = within(&rt, remote_wakes(n, round % 2 == 0));
            assert_eq!(got, (0..n as u64).sum::<u64>(), "remote_wakes");
            let got = within(&rt, sibling_ring(n));
            assert_eq!(got, (1..=n as u64).sum::<u64>(), "sibling_ring");
            let n3 = 3 * (1 + round % 50) + 1;
            let (resumed, dropped) = within(&rt, cancel_case(n3));
            let per = (n3 - 1) / 3;
            assert_eq!(resumed, 2 * per, "R7 resumed");
            assert_eq!(dropped, n3, "all dropped");
            let np = 1 + (round as u64 * 53) % 500;
            assert_eq!(
                within(&rt, parallel_sum(np)),
                (0..np).sum::<u64>(),
                "parallel_sum"
            );
            let t = within(&rt, parallel_cancel(2 + np));
            assert!(t < Duration::from_secs(5));
        }
        // panic in a parallel child propagates (its expected message and
        // backtrace are kept off the output: nothing else runs meanwhile)
        let report = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let r = rt.block_on(rt.spawn(floor::scope::<()>(|s| {
            Box::pin(async move {
                s.launch_parallel(async { panic!("boom") });
                Ok(())
            })
        })));
        std::panic::set_hook(report);
        assert!(r.is_err(), "parallel panic must propagate");
    }
}
