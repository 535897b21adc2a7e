//! `parallel` children share their one job record with their tokio task:
//! a cancel is seen by the work at once, on whichever thread it runs, and
//! the task is woken and resumed once with it (R7), so its cleanup runs,
//! inside `non_cancellable` too; R11 maps a value returned after the
//! cancel to the cancellation. (`tests/parallel_allocations.rs` counts
//! what one such child allocates.)

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use scopes::{
    Result, coroutine_scope, delay, is_active, non_cancellable, supervisor_scope, yield_now,
};

/// The body cancels a running parallel child and, without suspending (so
/// its scope polls nothing meanwhile), waits for the work to notice: the
/// work sees the cancel through the job it shares with the child.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_reaches_a_running_parallel_child_at_once() {
    let (running_tx, running_rx) = tokio::sync::oneshot::channel::<()>();
    let (seen_tx, seen_rx) = mpsc::channel::<bool>();
    let result: Result<()> = coroutine_scope(move |s| {
        Box::pin(async move {
            let job = s.child().launch_parallel(async move {
                running_tx.send(()).unwrap();
                // Busy on its worker, never suspending: only the shared
                // job can tell it about the cancel.
                let deadline = Instant::now() + Duration::from_secs(10);
                while is_active() && Instant::now() < deadline {
                    std::hint::spin_loop();
                }
                seen_tx.send(!is_active()).unwrap();
                Ok(())
            });
            running_rx.await.unwrap();
            job.cancel();
            // Blocks this thread: the scope does not run until the work
            // has reported.
            let seen = seen_rx.recv_timeout(Duration::from_secs(20)).unwrap();
            assert!(seen, "the work did not see its cancel while running");
            job.join().await?;
            assert!(
                job.is_cancelled(),
                "ended Ok after a cancel: cancelled (R11)"
            );
            Ok(())
        })
    })
    .await;
    result.unwrap();
}

/// R7 on the pool: a parallel child suspended in `delay` is woken by its
/// cancel, resumed once with it, cleans up inside `non_cancellable` (which
/// suspends and is not cut short), and every cancellation-aware call after
/// that fails at once. Its scope returns once the cleanup is done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_parallel_child_is_resumed_once_and_its_cleanup_runs() {
    let resumed = Arc::new(AtomicUsize::new(0));
    let log = Arc::new(Mutex::new(Vec::<&str>::new()));
    let (resumed2, log2) = (resumed.clone(), log.clone());
    let result: Result<()> = supervisor_scope(move |s| {
        Box::pin(async move {
            let (waiting_tx, waiting_rx) = tokio::sync::oneshot::channel::<()>();
            let job = s.child().name("sleeper").launch_parallel(async move {
                let _ = waiting_tx.send(());
                let err = delay(Duration::from_secs(3600)).await.unwrap_err();
                assert!(err.is_cancellation());
                resumed2.fetch_add(1, Ordering::SeqCst);
                non_cancellable(async {
                    delay(Duration::from_millis(20)).await.unwrap();
                    log2.lock().unwrap().push("cleaned up");
                })
                .await;
                assert!(yield_now().await.unwrap_err().is_cancellation());
                assert!(delay(Duration::from_secs(1)).await.is_err());
                log2.lock().unwrap().push("later calls failed at once");
                Ok(())
            });
            waiting_rx.await.unwrap();
            delay(Duration::from_millis(10)).await?; // well inside its delay
            job.cancel();
            job.join().await?;
            assert!(job.is_completed() && job.is_cancelled());
            Ok(())
        })
    })
    .await;
    result.unwrap();
    assert_eq!(resumed.load(Ordering::SeqCst), 1);
    assert_eq!(
        *log.lock().unwrap(),
        ["cleaned up", "later calls failed at once"]
    );
}

/// The scope's own cancellation (a sibling's failure, R2) reaches every
/// parallel child through its job; each is resumed once and the scope
/// returns the failure after their cleanup.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_fast_resumes_every_parallel_sibling_once() {
    const SLEEPERS: usize = 50;
    let resumed = Arc::new(AtomicUsize::new(0));
    let counted = resumed.clone();
    let result: Result<()> = coroutine_scope(move |s| {
        Box::pin(async move {
            for _ in 0..SLEEPERS {
                let resumed = counted.clone();
                s.child().launch_parallel(async move {
                    let r = delay(Duration::from_secs(3600)).await;
                    assert!(r.as_ref().unwrap_err().is_cancellation());
                    resumed.fetch_add(1, Ordering::SeqCst);
                    non_cancellable(yield_now()).await?;
                    r
                });
            }
            s.child().launch_parallel(async {
                delay(Duration::from_millis(20)).await?;
                Err(scopes::Error::msg("failed"))
            });
            Ok(())
        })
    })
    .await;
    assert_eq!(result.unwrap_err().to_string(), "failed");
    assert_eq!(resumed.load(Ordering::SeqCst), SLEEPERS);
}

/// A parallel child whose work waits on a future that is not
/// cancellation-aware is shown in a foreign wait by `debug::dump`, like an
/// in-place child: the task keeps that mark on the child's job, which its
/// scope reads but never polls.
#[tokio::test]
async fn a_parallel_child_in_a_foreign_wait_is_marked_in_the_dump() {
    let notify = Arc::new(tokio::sync::Notify::new());
    let waiting = Arc::new(AtomicUsize::new(0));
    let (n, w) = (notify.clone(), waiting.clone());
    let dump = coroutine_scope(move |s| {
        Box::pin(async move {
            s.child().name("remote waiter").launch_parallel(async move {
                w.store(1, Ordering::SeqCst);
                n.notified().await; // a foreign wait
                Ok(())
            });
            // On this current-thread runtime the task runs to its wait in
            // one poll, so once it has begun it is suspended there.
            while waiting.load(Ordering::SeqCst) == 0 {
                yield_now().await?;
            }
            let dump = scopes::debug::dump();
            notify.notify_one();
            Ok(dump)
        })
    })
    .await
    .unwrap();
    let line = dump
        .lines()
        .find(|l| l.contains("remote waiter"))
        .unwrap_or_else(|| panic!("not in:\n{dump}"));
    assert!(line.ends_with("[active, foreign wait]"), "{dump}");
}

/// R7 for a `parallel` child: cancelled after its task was spawned but
/// before the task first ran, its work never runs, as an in-place child
/// cancelled before its first poll (Kotlin checks a dispatched coroutine
/// for cancellation before it runs its body). On one thread the task can
/// only run once the scope yields to tokio, after the body's cancel.
#[tokio::test]
async fn a_parallel_child_cancelled_before_its_task_first_ran_never_runs() {
    let ran = Arc::new(AtomicUsize::new(0));
    let r = ran.clone();
    let cancelled = coroutine_scope(move |s| {
        Box::pin(async move {
            let job = s.child().launch_parallel(async move {
                r.fetch_add(1, Ordering::SeqCst);
                Ok(())
            });
            // The child's first run (its spawn) comes before the body's
            // resumption (R14); its task has not run when the body resumes.
            yield_now().await?;
            job.cancel();
            job.join().await?;
            Ok(job.is_cancelled())
        })
    })
    .await
    .unwrap();
    assert!(cancelled);
    assert_eq!(
        ran.load(Ordering::SeqCst),
        0,
        "the cancelled child's work ran"
    );
}

/// A scope polled outside a tokio runtime cannot spawn a `parallel` child:
/// the child fails with an error that says why, and so does its scope
/// (R2), instead of a panic out of the scope's poll.
#[test]
fn a_parallel_child_outside_a_tokio_runtime_fails_with_an_error_that_says_why() {
    use std::future::Future;
    use std::task::{Context, Poll};

    let mut scope = coroutine_scope(|s| {
        Box::pin(async move {
            s.child().launch_parallel(async { Ok(()) });
            Ok(())
        })
    });
    let waker = futures_util::task::noop_waker();
    let polled = std::pin::Pin::new(&mut scope).poll(&mut Context::from_waker(&waker));
    let Poll::Ready(Err(error)) = polled else {
        panic!("the scope did not fail at its first poll");
    };
    assert!(
        error
            .to_string()
            .contains("its scope must be polled inside a tokio runtime"),
        "{error}"
    );
}
