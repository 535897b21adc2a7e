//! kotlinx AtomicCancellationCommonTest / FailedJobTest cases.

use super::common::*;
use scopes::prelude::*;

// AtomicCancellationCommonTest.testLockCancellable: the lock is released to
// the waiting job, which is cancelled before it resumes: it gets a
// cancellation (R7), not the guard, and the mutex is free again.
#[tokio::test(start_paused = true)]
async fn lock_cancellable_released_then_cancelled() {
    let log = Log::default();
    let log = &log;
    let mutex = tokio::sync::Mutex::new(0u32);
    let mutex = &mutex;
    let r: scopes::Result<()> = coroutine_scope! {
        let guard = mutex.lock().await;
        log.push(1);
        let job = launch {
            log.push(2);
            let g = mutex.lock_cancellable().await;
            log.push(format!("lock {:?}", g.as_ref().map(|_| ()).map_err(|e| e.is_cancellation())));
            let _guard = g?;
            log.push("unreached");
        };
        yield_now().await?;
        log.push(3);
        drop(guard);
        job.cancel();
        yield_now().await?;
        log.push(4);
        assert!(mutex.try_lock().is_ok(), "the mutex is free");
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), ["1", "2", "3", "lock Err(true)", "4"]);
}

// Same with a semaphore permit and a Notify.
#[tokio::test(start_paused = true)]
async fn semaphore_and_notify_released_then_cancelled() {
    let log = Log::default();
    let log = &log;
    let sem = tokio::sync::Semaphore::new(0);
    let sem = &sem;
    let notify = tokio::sync::Notify::new();
    let notify = &notify;
    let r: scopes::Result<()> = coroutine_scope! {
        let a = launch {
            let p = sem.acquire_cancellable().await;
            log.push(format!("acquire {:?}", p.as_ref().map(|_| ()).map_err(|e| e.is_cancellation())));
            let _permit = p?;
        };
        let b = launch {
            let n = notify.notified_cancellable().await;
            log.push(format!("notified {:?}", n.map_err(|e| e.is_cancellation())));
        };
        yield_now().await?;
        sem.add_permits(1);
        notify.notify_one();
        a.cancel();
        b.cancel();
        yield_now().await?;
        assert_eq!(sem.available_permits(), 1, "the permit went back");
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), ["acquire Err(true)", "notified Err(true)"]);
}

// FailedJobTest.testFailedJob / testFailedChildJob (supervisor).
#[tokio::test(start_paused = true)]
async fn failed_job_and_failed_child_job_states() {
    let (got, h) = recorder();
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = with_exception_handler(h, async {
        supervisor_scope! {
            log.push(1);
            let job = launch { log.push(3); Err::<(), _>(fail("t")) };
            let job2 = launch { launch { Err::<(), _>(fail("t2")) }; };
            log.push(2);
            job.join().await?;
            job2.join().await?;
            log.push(4);
            for j in [&job, &job2] {
                assert!(j.is_completed() && !j.is_active() && j.is_cancelled());
            }
            Ok(())
        }
    })
    .await;
    r.unwrap();
    assert_eq!(log.take(), ["1", "2", "3", "4"]);
    let got: Vec<_> = got.lock().unwrap().iter().map(name_of).collect();
    assert_eq!(got, [Some("t"), Some("t2")]);
}

// FailedJobTest.testCancelledJob
#[tokio::test(start_paused = true)]
async fn cancelled_job_never_runs() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        log.push(1);
        let job = launch { log.push("unreached"); };
        log.push(2);
        job.cancel_and_join().await?;
        log.push(3);
        assert!(job.is_completed() && !job.is_active() && job.is_cancelled());
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), ["1", "2", "3"]);
}
