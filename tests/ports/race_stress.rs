//! kotlinx jvm/test JoinStressTest, AwaitStressTest, JobActivationStressTest
//! and WithTimeoutChildDispatchStressTest with `parallel` children on a
//! multi-thread runtime: a cancel racing with a child that fails without
//! suspending never hides the failure (R6: a real failure beats a
//! cancellation); a cancelled child is a cancellation for `await_all`.
//! Kotlin's blocking `CyclicBarrier` is `std::sync::Barrier`, waited on in
//! the children through `block_in_place` (`wait_on_worker`).

use super::common::*;
use scopes::prelude::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};

// JoinStressTest.testExceptionalJoinWithCancellation: the body cancels a
// parallel child (supervised: Kotlin's NonCancellable) that is failing
// right now; an awaiter on the pool always gets the failure.
#[tokio::test(flavor = "multi_thread", worker_threads = 3)]
async fn exceptional_join_with_cancellation() {
    for i in 0..2000 {
        let barrier = Arc::new(Barrier::new(2));
        let b = barrier.clone();
        let r: scopes::Result<()> = supervisor_scope! {
            let exceptional = async(parallel) {
                wait_on_worker(&b);
                Err::<(), _>(fail("TestException"))
            };
            let e2 = exceptional.clone();
            let awaiter = async {
                match e2.await {
                    Err(e) if name_of(&e) == Some("TestException") => Ok(0),
                    Err(e) if e.is_cancellation() => Ok(1),
                    other => panic!("{other:?}"),
                }
            };
            yield_now().await?; // the awaiter waits; the parallel child runs
            barrier.wait();
            exceptional.cancel();
            assert_eq!(awaiter.await?, 0, "iteration {i}");
            Ok(())
        };
        r.unwrap();
    }
}

// AwaitStressTest.testMultipleExceptions: await_all over two parallel
// children failing at once and one succeeding gives a failure.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn await_all_multiple_exceptions() {
    for i in 0..1000 {
        let barrier = Arc::new(Barrier::new(3));
        let r: scopes::Result<()> = supervisor_scope! {
            let (b1, b2, b3) = (barrier.clone(), barrier.clone(), barrier.clone());
            let d1 = async(parallel) { wait_on_worker(&b1); Err::<u64, _>(fail("TestException")) };
            let d2 = async(parallel) { wait_on_worker(&b2); Err::<u64, _>(fail("TestException")) };
            let d3 = async(parallel) { wait_on_worker(&b3); Ok(1u64) };
            let e = await_all([d1, d2, d3]).await.unwrap_err();
            assert_eq!(name_of(&e), Some("TestException"), "iteration {i}: {e:?}");
            Ok(())
        };
        r.unwrap();
    }
}

// AwaitStressTest.testAwaitAll
#[tokio::test(flavor = "multi_thread", worker_threads = 3)]
async fn await_all_parallel_values() {
    for _ in 0..2000 {
        let barrier = Arc::new(Barrier::new(2));
        let r: scopes::Result<()> = coroutine_scope! {
            let (b1, b2) = (barrier.clone(), barrier.clone());
            let d1 = async(parallel) { wait_on_worker(&b1); Ok(1u64) };
            let d2 = async(parallel) { wait_on_worker(&b2); Ok(2u64) };
            let (j1, j2) = (d1.job().clone(), d2.job().clone());
            assert_eq!(await_all([d1, d2]).await?, [1, 2]);
            assert!(j1.is_completed() && j2.is_completed());
            Ok(())
        };
        r.unwrap();
    }
}

// AwaitStressTest.testConcurrentCancellation: a sibling cancels d1, which
// waits in a delay: await_all gives a cancellation (and the scope, whose
// children only ended cancelled, completes normally).
#[tokio::test(flavor = "multi_thread", worker_threads = 3)]
async fn await_all_concurrent_cancellation() {
    for i in 0..1000 {
        let r: scopes::Result<()> = coroutine_scope! {
            let d1 = async { delay(FOREVER).await?; yield_now().await?; Ok(()) };
            let target = d1.job().clone();
            let d2 = async { target.cancel(); Ok(()) };
            let e = await_all([d1, d2]).await.unwrap_err();
            assert!(e.is_cancellation(), "iteration {i}: {e:?}");
            Ok(())
        };
        r.unwrap();
    }
}

// JobActivationStressTest.testActivation: start() and cancel() of a lazy
// parallel child that fails at once, racing with its run on the pool: if
// its body ran, its outcome is its failure; else it is a cancellation.
#[tokio::test(flavor = "multi_thread", worker_threads = 3)]
async fn lazy_parallel_start_and_cancel_race() {
    for i in 0..3000 {
        let was_started = Arc::new(AtomicBool::new(false));
        let w = was_started.clone();
        let r: scopes::Result<()> = supervisor_scope! {
            let d = async(parallel, start = lazy) {
                w.store(true, Ordering::SeqCst);
                Err::<(), _>(fail("TestException"))
            };
            d.start();
            yield_now().await?; // the started child goes to the pool
            for _ in 0..(i % 100) * 20 {
                std::hint::spin_loop();
            }
            d.cancel();
            d.join().await?;
            let e = d.await.unwrap_err();
            if was_started.load(Ordering::SeqCst) {
                assert_eq!(name_of(&e), Some("TestException"), "iteration {i}: {e:?}");
            } else {
                assert!(e.is_cancellation(), "iteration {i}: {e:?}");
            }
            Ok(())
        };
        r.unwrap();
    }
}

// WithTimeoutChildDispatchStressTest.testChildDispatch: a with_timeout
// block joins its parallel child (which resumes it from another thread).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_timeout_child_dispatch() {
    for _ in 0..3000 {
        let r: scopes::Result<&str> = coroutine_scope! {
            with_timeout(std::time::Duration::from_secs(5)) {
                let job = launch(parallel) {};
                job.join().await?;
                Ok("DONE")
            }
        };
        assert_eq!(r.unwrap(), "DONE");
    }
}
