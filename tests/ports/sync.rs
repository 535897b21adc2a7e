//! kotlinx sync/SemaphoreTest and sync/MutexTest on tokio's primitives through
//! the cancellation-aware forms (SPEC §2c). Kotlin's unpaired
//! `acquire()`/`release()` are `acquire_cancellable().await?.forget()` and
//! `add_permits(1)`; a mutex held across yields is a `MutexGuard`.

use super::common::*;
use scopes::prelude::*;
use tokio::sync::{Mutex, Semaphore};

// SemaphoreTest.testSimple
#[tokio::test(start_paused = true)]
async fn semaphore_simple() {
    let log = Log::default();
    let log = &log;
    let semaphore = Semaphore::new(2);
    let semaphore = &semaphore;
    let r: scopes::Result<()> = coroutine_scope! {
        launch { log.push(3); semaphore.add_permits(1); log.push(4); };
        log.push(1);
        semaphore.acquire_cancellable().await?.forget();
        semaphore.acquire_cancellable().await?.forget();
        log.push(2);
        semaphore.acquire_cancellable().await?.forget();
        log.push(5);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), nums(5));
}

// SemaphoreTest.testSimpleAsMutex
#[tokio::test(start_paused = true)]
async fn semaphore_simple_as_mutex() {
    let log = Log::default();
    let log = &log;
    let semaphore = Semaphore::new(1);
    let semaphore = &semaphore;
    let r: scopes::Result<()> = coroutine_scope! {
        log.push(1);
        launch {
            log.push(4);
            semaphore.acquire_cancellable().await?.forget();
            log.push(7);
            semaphore.add_permits(1);
            log.push(8);
        };
        log.push(2);
        semaphore.acquire_cancellable().await?.forget();
        log.push(3);
        yield_now().await?;
        log.push(5);
        semaphore.add_permits(1);
        log.push(6);
        yield_now().await?;
        log.push(9);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), nums(9));
}

// SemaphoreTest.withSemaphoreOnFailureTest
#[tokio::test(start_paused = true)]
async fn semaphore_with_permit_on_failure() {
    let semaphore = Semaphore::new(1);
    let r: scopes::Result<()> = async {
        let _permit = semaphore.acquire_cancellable().await?;
        assert_eq!(semaphore.available_permits(), 0);
        Err(fail("TestException"))
    }
    .await;
    assert_eq!(name_of(&r.unwrap_err()), Some("TestException"));
    assert_eq!(semaphore.available_permits(), 1);
}

// SemaphoreTest.fairnessTest
#[tokio::test(start_paused = true)]
async fn semaphore_fairness() {
    let log = Log::default();
    let log = &log;
    let semaphore = Semaphore::new(1);
    let semaphore = &semaphore;
    let r: scopes::Result<()> = coroutine_scope! {
        semaphore.acquire_cancellable().await?.forget();
        launch { log.push(2); semaphore.acquire_cancellable().await?.forget(); log.push(6); };
        launch { log.push(3); semaphore.acquire_cancellable().await?.forget(); log.push(9); };
        log.push(1);
        yield_now().await?;
        log.push(4);
        semaphore.add_permits(1);
        log.push(5);
        yield_now().await?;
        log.push(7);
        semaphore.add_permits(1);
        log.push(8);
        yield_now().await?;
        log.push(10);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), nums(10));
}

// SemaphoreTest.testCancellationReturnsPermitBack
#[tokio::test(start_paused = true)]
async fn semaphore_cancellation_returns_permit_back() {
    let semaphore = Semaphore::new(1);
    let semaphore = &semaphore;
    let r: scopes::Result<()> = coroutine_scope! {
        semaphore.acquire_cancellable().await?.forget();
        assert_eq!(semaphore.available_permits(), 0);
        let job = launch {
            assert!(semaphore.try_acquire().is_err());
            semaphore.acquire_cancellable().await?.forget();
        };
        yield_now().await?;
        job.cancel_and_join().await?;
        assert!(job.is_cancelled());
        assert_eq!(semaphore.available_permits(), 0);
        semaphore.add_permits(1);
        assert_eq!(semaphore.available_permits(), 1);
        Ok(())
    };
    r.unwrap();
}

// SemaphoreTest.testCancellationDoesNotResumeWaitingAcquirers
#[tokio::test(start_paused = true)]
async fn semaphore_cancellation_does_not_resume_waiting_acquirers() {
    let log = Log::default();
    let log = &log;
    let semaphore = Semaphore::new(1);
    let semaphore = &semaphore;
    let r: scopes::Result<()> = coroutine_scope! {
        semaphore.acquire_cancellable().await?.forget();
        let job1 = launch {
            log.push(2);
            semaphore.acquire_cancellable().await?.forget();
            unreachable!();
        };
        let job2 = launch {
            log.push(3);
            semaphore.acquire_cancellable().await?.forget();
            unreachable!();
        };
        log.push(1);
        yield_now().await?;
        log.push(4);
        job2.cancel();
        yield_now().await?;
        log.push(5);
        job1.cancel();
        log.push(6);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), nums(6));
    assert_eq!(semaphore.available_permits(), 0);
}

// SemaphoreTest fairness under prompt cancellation: the permit handed to a
// waiter that is cancelled before it resumes goes to the next waiter.
#[tokio::test(start_paused = true)]
async fn semaphore_permit_of_a_waiter_cancelled_before_it_resumed_goes_to_the_next() {
    let log = Log::default();
    let log = &log;
    let semaphore = Semaphore::new(1);
    let semaphore = &semaphore;
    let r: scopes::Result<()> = coroutine_scope! {
        semaphore.acquire_cancellable().await?.forget();
        let job1 = launch {
            let r = semaphore.acquire_cancellable().await;
            log.push(format!("job1 cancelled={}", r.as_ref().unwrap_err().is_cancellation()));
            r?.forget();
        };
        launch {
            semaphore.acquire_cancellable().await?.forget();
            log.push("job2 acquired");
        };
        yield_now().await?;
        semaphore.add_permits(1); // to job1
        job1.cancel(); // before it resumed
        log.push("main");
        yield_now().await?;
        log.push("main again");
        Ok(())
    };
    r.unwrap();
    // Kotlin: job1 gives the permit back as it resumes cancelled, which
    // queues job2 after main.
    assert_eq!(
        log.take(),
        ["main", "job1 cancelled=true", "main again", "job2 acquired"]
    );
    assert_eq!(semaphore.available_permits(), 0);
}

// MutexTest.testSimple
#[tokio::test(start_paused = true)]
async fn mutex_simple() {
    let log = Log::default();
    let log = &log;
    let mutex = Mutex::new(());
    let mutex = &mutex;
    let r: scopes::Result<()> = coroutine_scope! {
        log.push(1);
        launch {
            log.push(4);
            let g = mutex.lock_cancellable().await?;
            log.push(7);
            drop(g);
            log.push(8);
        };
        log.push(2);
        let g = mutex.lock_cancellable().await?;
        log.push(3);
        yield_now().await?;
        log.push(5);
        drop(g);
        log.push(6);
        yield_now().await?;
        log.push(9);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), nums(9));
}

// MutexTest.testWithLockFailureUnlocksTheMutex
#[tokio::test(start_paused = true)]
async fn mutex_with_lock_failure_unlocks_the_mutex() {
    let mutex = Mutex::new(());
    let r: scopes::Result<()> = async {
        let _g = mutex.lock_cancellable().await?;
        Err(fail("TestException"))
    }
    .await;
    assert_eq!(name_of(&r.unwrap_err()), Some("TestException"));
    assert!(mutex.try_lock().is_ok());
}

// MutexTest.holdLock / testUnlockWithoutOwnerWithLockedQueue: a job waiting
// for the lock, cancelled, never holds it; the lock goes on.
#[tokio::test(start_paused = true)]
async fn mutex_waiter_cancelled_never_holds_the_lock() {
    let log = Log::default();
    let log = &log;
    let mutex = Mutex::new(0u32);
    let mutex = &mutex;
    let r: scopes::Result<()> = coroutine_scope! {
        let g = mutex.lock_cancellable().await?;
        let second = launch {
            log.push(2);
            let r = mutex.lock_cancellable().await;
            log.push(format!("second cancelled={}", r.is_err()));
            *r? += 1;
        };
        log.push(1);
        yield_now().await?;
        log.push(3);
        drop(g); // the lock is handed to `second`
        second.cancel(); // before it ran
        second.join().await?;
        assert!(mutex.try_lock().is_ok());
        log.push(4);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), ["1", "2", "3", "second cancelled=true", "4"]);
    assert_eq!(*mutex.lock().await, 0);
}
