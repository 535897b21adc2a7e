//! kotlinx exceptions/JobExceptionsStressTest and concurrent/test
//! ConcurrentExceptionsStressTest with `parallel` children on a 4-worker
//! runtime: children failing at the same moment on different threads. One
//! failure is the scope's; every other one happened while the scope was
//! cancelling and is suppressed, once (R6). Kotlin's blocking
//! `CyclicBarrier` is `std::sync::Barrier` (the children block their worker
//! threads, through `block_in_place`: `wait_on_worker`, so none of them can
//! be dropped before it fails: each returns its failure from the poll that
//! passes the barrier).

use super::common::*;
use scopes::prelude::*;
use std::sync::{Arc, Barrier};

const NAMES: [&str; 3] = ["TestException1", "TestException2", "TestException3"];

fn all_three(e: &scopes::Error) -> Vec<&'static str> {
    let mut got: Vec<_> = std::iter::once(e)
        .chain(e.suppressed())
        .map(|e| name_of(e).unwrap_or("?"))
        .collect();
    got.sort_unstable();
    got
}

// JobExceptionsStressTest.testMultipleChildrenThrows, coroutine_scope form.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn multiple_parallel_children_throw_at_once() {
    for i in 0..300 {
        let barrier = Arc::new(Barrier::new(3));
        let r: scopes::Result<()> = coroutine_scope! {
            for name in NAMES {
                let barrier = barrier.clone();
                launch(parallel) {
                    wait_on_worker(&barrier);
                    Err::<(), _>(fail(name))
                };
            }
            delay(ms(1000)).await?;
            Ok(())
        };
        let e = r.unwrap_err();
        assert_eq!(all_three(&e), NAMES, "iteration {i}: {e:?}");
    }
}

// JobExceptionsStressTest.testMultipleChildrenThrows as written: a root
// job (a launch child of a supervisor_scope) owns the three children; the
// handler gets one failure with the other two suppressed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn multiple_parallel_grandchildren_throw_at_once_handler_gets_all() {
    for i in 0..300 {
        let (got, h) = recorder();
        let barrier = Arc::new(Barrier::new(3));
        let r: scopes::Result<()> = with_exception_handler(h, async {
            supervisor_scope! {
                let job = launch {
                    for name in NAMES {
                        let barrier = barrier.clone();
                        launch(parallel) {
                            wait_on_worker(&barrier);
                            Err::<(), _>(fail(name))
                        };
                    }
                    delay(ms(1000)).await?;
                };
                job.join().await?;
                Ok(())
            }
        })
        .await;
        r.unwrap();
        let got = got.lock().unwrap();
        assert_eq!(got.len(), 1, "iteration {i}: {got:?}");
        assert_eq!(all_three(&got[0]), NAMES, "iteration {i}: {:?}", got[0]);
    }
}

// ConcurrentExceptionsStressTest.testStress: an async child (supervised:
// Kotlin's NonCancellable) with four parallel children that fail after a
// random wait, all started before any fails; its Deferred gives one of the
// failures with the other three suppressed, none twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_exceptions_stress() {
    for i in 0..300u64 {
        let barrier = Arc::new(Barrier::new(4));
        let r: scopes::Result<()> = supervisor_scope! {
            let deferred = async {
                for index in 0..4u64 {
                    let barrier = barrier.clone();
                    launch(parallel) {
                        wait_on_worker(&barrier);
                        // randomWait: a short spin of a pseudo-random length
                        let spins = (i * 7 + index * 13) % 5 * 200;
                        for _ in 0..spins {
                            std::hint::spin_loop();
                        }
                        Err::<(), _>(scopes::Error::msg(format!("StressException({index})")))
                    };
                }
                Ok(())
            };
            let job = deferred.job().clone();
            job.join().await?;
            assert!(job.is_cancelled());
            let e = deferred.await.unwrap_err();
            let mut indices: Vec<String> = std::iter::once(&e)
                .chain(e.suppressed())
                .map(|e| e.to_string())
                .collect();
            assert_eq!(indices.len(), 4, "iteration {i}: {e:?}");
            indices.sort();
            assert_eq!(
                indices,
                (0..4).map(|k| format!("StressException({k})")).collect::<Vec<_>>(),
                "iteration {i}: {e:?}"
            );
            Ok(())
        };
        r.unwrap();
    }
}
