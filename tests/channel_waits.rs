//! Foreign waits made cancellation-aware (SPEC §2c): `.cancellable()` on
//! any future, and the `*_cancellable` forms of tokio's `Semaphore`,
//! `Mutex`, `Notify` and `mpsc` waits, which return `scopes::Result<T>`
//! (one `?`). A child cancelled while waiting in one is resumed with a
//! cancellation and runs its cleanup (R7); in an already cancelled job they
//! fail at once; the plain tokio wait, for contrast, drops the child.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use scopes::prelude::*;
use scopes_workspace::Log;
use tokio::sync::{Mutex, Notify, Semaphore, mpsc};
use tokio::time::Instant;

/// Runs `wait` in a child, cancels the child after 1 s, and returns the
/// log and the virtual time the scope took: the child logs what its wait
/// returned, then runs a 1 s `non_cancellable` cleanup. The scope must
/// complete normally.
async fn cancel_while_waiting<F, T>(wait: impl FnOnce() -> F + Send) -> (Vec<String>, Duration)
where
    F: Future<Output = scopes::Result<T>> + Send,
    T: Send,
{
    let log = Log::default();
    let log = &log;
    let start = Instant::now();
    scopes::coroutine_scope(|s| {
        Box::pin(async move {
            let child = s.launch(async move {
                match wait().await {
                    Ok(_) => {
                        log.push("woke with a value");
                        Ok(())
                    }
                    Err(e) => {
                        log.push(format!("cancellation={}", e.is_cancellation()));
                        non_cancellable(delay(Duration::from_secs(1))).await?;
                        log.push("cleaned up");
                        Err(e)
                    }
                }
            });
            delay(Duration::from_secs(1)).await?;
            child.cancel();
            Ok(())
        })
    })
    .await
    .expect("a cancelled child does not fail the scope");
    (log.take(), start.elapsed())
}

/// What `cancel_while_waiting` gives for a cancellation-aware wait: the
/// wait returned a cancellation at 1 s, and the cleanup ran to its end.
fn cancelled_and_cleaned_up() -> (Vec<String>, Duration) {
    let log = ["cancellation=true", "cleaned up"]
        .map(String::from)
        .to_vec();
    (log, Duration::from_secs(2))
}

#[tokio::test(start_paused = true)]
async fn cancellable_ext_makes_a_tokio_sleep_cancellation_aware() {
    let log =
        cancel_while_waiting(|| tokio::time::sleep(Duration::from_secs(60)).cancellable()).await;
    assert_eq!(log, cancelled_and_cleaned_up());
}

#[tokio::test]
async fn cancellable_ext_passes_the_output_through() {
    let n = async { 7 }.cancellable().await.unwrap();
    assert_eq!(n, 7);
}

#[tokio::test(start_paused = true)]
async fn mutex_lock_cancellable_resumes_a_cancelled_waiter() {
    let mutex = Mutex::new(0u32);
    let _held = mutex.lock().await;
    let log = cancel_while_waiting(|| mutex.lock_cancellable()).await;
    assert_eq!(log, cancelled_and_cleaned_up());
}

#[tokio::test]
async fn mutex_lock_cancellable_locks() {
    let mutex = Arc::new(Mutex::new(0u32));
    scopes::coroutine_scope(|s| {
        Box::pin(async move {
            let held = mutex.lock_cancellable().await?;
            let m = mutex.clone();
            let waiter = s.r#async(async move {
                let mut guard = m.lock_cancellable().await?; // waits for `held`
                *guard += 1;
                Ok(*guard)
            });
            yield_now().await?;
            drop(held);
            assert_eq!(waiter.await?, 1);
            Ok(())
        })
    })
    .await
    .unwrap();
}

#[tokio::test(start_paused = true)]
async fn semaphore_acquire_cancellable_resumes_a_cancelled_waiter() {
    let semaphore = Semaphore::new(0);
    let log = cancel_while_waiting(|| semaphore.acquire_cancellable()).await;
    assert_eq!(log, cancelled_and_cleaned_up());
    let log = cancel_while_waiting(|| semaphore.acquire_many_cancellable(2)).await;
    assert_eq!(log, cancelled_and_cleaned_up());
    assert_eq!(semaphore.available_permits(), 0);
}

#[tokio::test]
async fn semaphore_acquire_cancellable_reports_a_closed_semaphore_with_one_question_mark() {
    let semaphore = Semaphore::new(1);
    semaphore.close();
    let err = semaphore.acquire_cancellable().await.unwrap_err();
    assert!(!err.is_cancellation());
    assert!(err.downcast_ref::<tokio::sync::AcquireError>().is_some());
}

#[tokio::test]
async fn semaphore_acquire_cancellable_waits_for_a_permit() {
    let semaphore = Semaphore::new(1);
    let semaphore = &semaphore;
    scopes::coroutine_scope(|s| {
        Box::pin(async move {
            let first = semaphore.acquire_cancellable().await?;
            let second = s.r#async(async move {
                let _permit = semaphore.acquire_cancellable().await?;
                Ok("acquired")
            });
            yield_now().await?;
            assert!(!second.is_completed(), "waiting for the permit");
            drop(first);
            assert_eq!(second.await?, "acquired");
            Ok(())
        })
    })
    .await
    .unwrap();
}

#[tokio::test(start_paused = true)]
async fn notify_notified_cancellable_resumes_a_cancelled_waiter() {
    let notify = Notify::new();
    let log = cancel_while_waiting(|| notify.notified_cancellable()).await;
    assert_eq!(log, cancelled_and_cleaned_up());
}

#[tokio::test]
async fn notify_notified_cancellable_is_woken_by_notify() {
    let notify = Notify::new();
    let notify = &notify;
    scopes::coroutine_scope(|s| {
        Box::pin(async move {
            let waiter = s.r#async(async move { notify.notified_cancellable().await });
            yield_now().await?;
            notify.notify_waiters();
            waiter.await
        })
    })
    .await
    .unwrap();
}

#[tokio::test(start_paused = true)]
async fn mpsc_recv_cancellable_resumes_a_cancelled_waiter() {
    let (_tx, rx) = mpsc::channel::<u32>(1);
    let rx = std::sync::Mutex::new(Some(rx));
    let log = cancel_while_waiting(|| async {
        let mut rx = rx.lock().unwrap().take().unwrap();
        rx.recv_cancellable().await
    })
    .await;
    assert_eq!(log, cancelled_and_cleaned_up());

    let (_tx, rx) = mpsc::unbounded_channel::<u32>();
    let rx = std::sync::Mutex::new(Some(rx));
    let log = cancel_while_waiting(|| async {
        let mut rx = rx.lock().unwrap().take().unwrap();
        rx.recv_cancellable().await
    })
    .await;
    assert_eq!(log, cancelled_and_cleaned_up());
}

#[tokio::test]
async fn mpsc_recv_cancellable_receives_until_closed() {
    let (tx, mut rx) = mpsc::channel(2);
    tx.send(1).await.unwrap();
    drop(tx);
    assert_eq!(rx.recv_cancellable().await.unwrap(), Some(1));
    assert_eq!(rx.recv_cancellable().await.unwrap(), None);
}

#[tokio::test(start_paused = true)]
async fn mpsc_send_cancellable_resumes_a_cancelled_waiter_and_drops_its_value() {
    let (tx, mut rx) = mpsc::channel::<&str>(1);
    tx.send("fills the channel").await.unwrap();
    let log = cancel_while_waiting(|| tx.send_cancellable("never sent")).await;
    assert_eq!(log, cancelled_and_cleaned_up());
    assert_eq!(rx.recv().await, Some("fills the channel"));
    assert!(rx.try_recv().is_err(), "the waiting value was not sent");
}

#[tokio::test]
async fn mpsc_send_cancellable_sends_and_reports_a_closed_channel() {
    let (tx, mut rx) = mpsc::channel(1);
    tx.send_cancellable(1).await.unwrap();
    assert_eq!(rx.recv().await, Some(1));
    drop(rx);
    let err = tx.send_cancellable(2).await.unwrap_err();
    assert!(
        err.downcast_ref::<scopes::channel::ChannelClosed>()
            .is_some()
    );
}

/// R7: in an already cancelled job every form fails at once, even when
/// the wait could complete (an unlocked mutex, a free permit, a message).
#[tokio::test(start_paused = true)]
async fn r7_every_form_fails_at_once_in_a_cancelled_job() {
    let mutex = Mutex::new(());
    let semaphore = Semaphore::new(1);
    let notify = Notify::new();
    notify.notify_one();
    let (tx, mut rx) = mpsc::unbounded_channel::<u8>();
    tx.send(1).unwrap();
    let (btx, _brx) = mpsc::channel::<u8>(1);
    let (mutex, semaphore, notify, btx) = (&mutex, &semaphore, &notify, &btx);
    let waiting_rx = &mut rx;
    scopes::coroutine_scope(|s| {
        Box::pin(async move {
            let job = s.launch(async move {
                let cancelled = delay(Duration::from_secs(60)).await.unwrap_err();
                let is_cancel = |r: Result<()>| r.is_err_and(|e| e.is_cancellation());
                assert!(is_cancel(mutex.lock_cancellable().await.map(drop)));
                assert!(is_cancel(semaphore.acquire_cancellable().await.map(drop)));
                assert!(is_cancel(notify.notified_cancellable().await));
                assert!(is_cancel(waiting_rx.recv_cancellable().await.map(drop)));
                assert!(is_cancel(btx.send_cancellable(1).await));
                assert!(is_cancel(async {}.cancellable().await));
                Err(cancelled)
            });
            yield_now().await?;
            job.cancel();
            Ok(())
        })
    })
    .await
    .unwrap();
    assert_eq!(semaphore.available_permits(), 1);
    assert_eq!(rx.recv().await, Some(1), "the message is still there");
}

/// The trap these forms close: a child cancelled while suspended in a
/// plain tokio wait is dropped there (R7), and its cleanup never runs.
#[tokio::test(start_paused = true)]
async fn a_plain_tokio_wait_is_not_cancellation_aware_and_skips_cleanup() {
    let mutex = Mutex::new(());
    let _held = mutex.lock().await;
    let log = cancel_while_waiting(|| async {
        let _guard = mutex.lock().await; // not cancellation-aware
        Ok::<_, Error>(())
    })
    .await;
    assert_eq!(
        log,
        (vec![], Duration::from_secs(1)),
        "dropped at once, without its cleanup"
    );
}

/// The lock and send forms are `Unpin` (found by a review: holding tokio's
/// future in place had made them `!Unpin`), so `&mut` of them goes in a
/// `select!` as before.
#[tokio::test(start_paused = true)]
async fn lock_and_send_forms_are_unpin_for_select() {
    fn unpin<F: Future + Unpin>(f: F) -> F {
        f
    }
    let mutex = Mutex::new(0u32);
    let held = mutex.lock().await;
    let mut locking = unpin(mutex.lock_cancellable());
    let (tx, _rx) = mpsc::channel::<u32>(1);
    tx.try_send(0).unwrap(); // full
    let mut sending = unpin(tx.send_cancellable(1));
    tokio::select! {
        _ = &mut locking => panic!("the lock is held"),
        _ = &mut sending => panic!("the channel is full"),
        _ = tokio::time::sleep(Duration::from_millis(10)) => {}
    }
    drop(held);
    assert!(locking.await.is_ok());
}

/// A lock or send wait ended by a cancellation leaves tokio's queue then,
/// not when its future is dropped: the lock it would have been given goes
/// to the next waiter (found by a review: a cancelled `lock_cancellable`
/// kept its place, and the lock went to it, stuck).
#[tokio::test(start_paused = true)]
async fn a_cancelled_lock_wait_leaves_the_queue_at_once() {
    let mutex = Mutex::new(0u32);
    let mutex = &mutex;
    let start = Instant::now();
    scopes::coroutine_scope(|s| {
        Box::pin(async move {
            let held = mutex.lock().await;
            let waiter = s.launch(async move {
                let locking = mutex.lock_cancellable();
                tokio::pin!(locking);
                assert!((&mut locking).await.unwrap_err().is_cancellation());
                // The future is still alive here: the lock must not be its.
                let mut guard = non_cancellable(mutex.lock()).await;
                *guard += 1;
                Ok(())
            });
            delay(Duration::from_millis(10)).await?;
            waiter.cancel();
            delay(Duration::from_millis(10)).await?;
            drop(held);
            waiter.join().await?;
            Ok(())
        })
    })
    .await
    .unwrap();
    assert_eq!(*mutex.lock().await, 1);
    assert_eq!(start.elapsed(), Duration::from_millis(20));
}
