//! kotlinx concurrent/test JobStructuredJoinStressTest and
//! sync/SemaphoreStressTest with `parallel` children (Dispatchers.Default)
//! on a 2-worker runtime.

use super::common::*;
use scopes::prelude::*;
use std::sync::Arc;
use tokio::sync::Semaphore;

// JobStructuredJoinStressTest.testStressRegularJoin: the body joins a
// parallel child that crashes; the join always ends with a cancellation
// (the child's failure cancelled the body first, R2/R7) and the scope fails
// with the child's failure.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn structured_join_stress_regular_join() {
    for i in 0..5000 {
        let r: scopes::Result<()> = coroutine_scope! {
            let job = launch(parallel) { Err::<(), _>(fail("OK")) };
            match job.join().await {
                Err(e) if e.is_cancellation() => Ok(()),
                other => panic!("iteration {i}: join gave {other:?}"),
            }
        };
        assert_eq!(name_of(&r.unwrap_err()), Some("OK"), "iteration {i}");
    }
}

// JobStructuredJoinStressTest.testStressSuspendCancellable: the same with an
// await of an async child
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn structured_join_stress_await() {
    for i in 0..5000 {
        let r: scopes::Result<()> = coroutine_scope! {
            let d = async(parallel) { Err::<u32, _>(fail("OK")) };
            match d.await {
                Err(e) if name_of(&e) == Some("OK") || e.is_cancellation() => Ok(()),
                other => panic!("iteration {i}: await gave {other:?}"),
            }
        };
        assert_eq!(name_of(&r.unwrap_err()), Some("OK"), "iteration {i}");
    }
}

// SemaphoreStressTest.testStressCancellation
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn semaphore_stress_cancellation() {
    let semaphore = Arc::new(Semaphore::new(1));
    semaphore.try_acquire().unwrap().forget();
    for _ in 0..3000 {
        let sem = semaphore.clone();
        let r: scopes::Result<()> = coroutine_scope! {
            let job = launch(parallel) { sem.acquire_cancellable().await?.forget(); };
            yield_now().await?;
            job.cancel_and_join().await?;
            Ok(())
        };
        r.unwrap();
    }
    assert_eq!(semaphore.available_permits(), 0);
    semaphore.add_permits(1);
    assert_eq!(semaphore.available_permits(), 1);
}

// SemaphoreStressTest.testShouldBeUnlockedOnCancellation
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn semaphore_should_be_unlocked_on_cancellation() {
    let semaphore = Arc::new(Semaphore::new(1));
    for i in 0..3000 {
        let sem = semaphore.clone();
        let semaphore = &semaphore;
        let r: scopes::Result<()> = coroutine_scope! {
            let job = launch(parallel) {
                let _p = sem.acquire_cancellable().await?;
            };
            {
                let _p = semaphore.acquire_cancellable().await?;
                job.cancel();
            }
            job.join().await?;
            assert_eq!(semaphore.available_permits(), 1, "iteration {i}");
            Ok(())
        };
        r.unwrap();
    }
}

// SemaphoreStressTest.testStressReleaseCancelRace: a release on another
// thread races with the cancel of the waiting acquirer; no permit is lost
// or duplicated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn semaphore_stress_release_cancel_race() {
    let semaphore = Arc::new(Semaphore::new(0));
    for i in 0..3000 {
        assert_eq!(semaphore.available_permits(), 0, "iteration {i}");
        let entered = std::sync::atomic::AtomicBool::new(false);
        let entered = &entered;
        let sem2 = semaphore.clone();
        let semaphore_ref = &semaphore;
        let r: scopes::Result<()> = coroutine_scope! {
            let job1 = launch {
                let p = semaphore_ref.acquire_cancellable().await?;
                entered.store(true, std::sync::atomic::Ordering::SeqCst);
                drop(p);
            };
            yield_now().await?;
            assert!(!entered.load(std::sync::atomic::Ordering::SeqCst));
            let job2 = launch(parallel) { sem2.add_permits(1); };
            job1.cancel_and_join().await?;
            job2.join().await?;
            Ok(())
        };
        r.unwrap();
        assert_eq!(semaphore.available_permits(), 1, "iteration {i}");
        semaphore.acquire().await.unwrap().forget();
    }
}
