//! Children started and not yet taken by their scope (started in the step
//! running now), reached by `cancel_children()` or the cancel of their
//! scope (R7, R11): what `debug::dump` and a handle's `Debug` show, the
//! cause they end with under a `limit`, the order they are resumed in; and
//! `dump` showing them from their launch on, also after a root polled
//! inside the step has drained (SPEC §3b). Found by a review of the
//! session that made those children visible.

use std::time::Duration;

use scopes::{Error, Start, cancel_children, coroutine_scope, delay, yield_now};

fn line<'a>(dump: &'a str, name: &str) -> &'a str {
    dump.lines()
        .find(|l| l.contains(name))
        .map(str::trim)
        .unwrap_or("<absent>")
}

/// `debug::dump` shows a child started in this step, before its scope takes
/// it, as `cancel_children()` left it (`cancelling`; a lazy one completed
/// and gone), whether or not the code has read one of its handles.
#[tokio::test(start_paused = true)]
async fn dump_after_cancel_children_shows_a_child_started_this_step_as_cancelled() {
    let (before_read, after_read) = coroutine_scope(|s| {
        Box::pin(async move {
            let worker = s
                .child()
                .name("pending-worker")
                .launch(async { delay(Duration::from_secs(1)).await });
            let _lazy = s
                .child()
                .name("pending-lazy")
                .start(Start::Lazy)
                .launch(async { Ok(()) });
            cancel_children();
            let before_read = scopes::debug::dump();
            let _ = worker.is_active(); // catches the worker up
            let _ = _lazy.is_active(); // and the lazy one (completes it)
            let after_read = scopes::debug::dump();
            Ok((before_read, after_read))
        })
    })
    .await
    .unwrap();
    // After the read: as Kotlin's cancelChildren leaves them at once.
    assert_eq!(
        line(&after_read, "pending-worker").split(" [").nth(1),
        Some("cancelling]")
    );
    assert_eq!(
        line(&after_read, "pending-lazy"),
        "<absent>",
        "{after_read}"
    );
    // The same state, whether or not a handle was read first.
    assert_eq!(
        line(&before_read, "pending-worker").split(" [").nth(1),
        Some("cancelling]"),
        "{before_read}"
    );
    assert_eq!(
        line(&before_read, "pending-lazy"),
        "<absent>",
        "{before_read}"
    );
}

/// A scope's cancel (here its body's failure) gives every child it cancels
/// the scope's cause: a child waiting for a place under the limit that the
/// scope took in an earlier step, and one started in the body's last step
/// alike.
#[tokio::test(start_paused = true)]
async fn a_limited_scope_s_cancel_gives_a_child_it_has_not_taken_yet_its_cause() {
    use std::sync::{Arc, Mutex};
    let log = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen = log.clone();
    let result = scopes::coroutine_scope_with(scopes::ScopeOptions::new().limit(1), |s| {
        Box::pin(async move {
            let (tx, rx) = tokio::sync::oneshot::channel();
            s.child()
                .name("watcher")
                .launch(scopes::non_cancellable(async move {
                    let (b1, b2): (scopes::Deferred<'_, u32>, scopes::Deferred<'_, u32>) =
                        rx.await.unwrap();
                    let b1 = b1.await.unwrap_err();
                    let b2 = b2.await.unwrap_err();
                    seen.lock()
                        .unwrap()
                        .push(format!("taken: {b1:?} ({})", b1.is_cancellation()));
                    seen.lock()
                        .unwrap()
                        .push(format!("not taken: {b2:?} ({})", b2.is_cancellation()));
                    Ok(())
                }));
            let b1 = s.r#async(async { Ok(1) });
            yield_now().await?; // b1 is taken, and waits for a place
            let b2 = s.r#async(async { Ok(2) }); // not taken when the body fails
            tx.send((b1, b2)).ok().unwrap();
            Err::<(), _>(Error::msg("boom"))
        })
    })
    .await;
    assert_eq!(result.unwrap_err().to_string(), "boom");
    let log = log.lock().unwrap().clone();
    let taken = log[0].strip_prefix("taken: ").unwrap();
    let not_taken = log[1].strip_prefix("not taken: ").unwrap();
    assert_eq!(taken, not_taken, "{log:?}");
}

/// The same for a handle's `Debug`: `cancelled: true` right after
/// `cancel_children()`, before any other read of the handle.
#[tokio::test(start_paused = true)]
async fn a_handle_s_debug_after_cancel_children_says_cancelled() {
    let (before_read, after_read) = coroutine_scope(|s| {
        Box::pin(async move {
            let worker = s.launch(async { delay(Duration::from_secs(1)).await });
            cancel_children();
            let before_read = format!("{worker:?}");
            assert!(worker.is_cancelled());
            let after_read = format!("{worker:?}");
            Ok((before_read, after_read))
        })
    })
    .await
    .unwrap();
    assert!(after_read.contains("cancelled: true"), "{after_read}");
    assert!(before_read.contains("cancelled: true"), "{before_read}");
}

/// Polls its future with a waker of its own (as `FuturesUnordered`, or any
/// combinator that wraps wakers, does): a scope inside is a root of its own.
struct OwnWaker<F>(std::pin::Pin<Box<F>>);

struct Forward(std::task::Waker);

impl std::task::Wake for Forward {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.wake_by_ref();
    }
}

impl<F: std::future::Future> std::future::Future for OwnWaker<F> {
    type Output = F::Output;
    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<F::Output> {
        let waker = std::task::Waker::from(std::sync::Arc::new(Forward(cx.waker().clone())));
        self.0
            .as_mut()
            .poll(&mut std::task::Context::from_waker(&waker))
    }
}

/// A child is in `debug::dump` from its launch on (SPEC §3b), also when a
/// scope that runs as a root of its own is entered later in the same step:
/// its drain leaves the outer step's list of started children alone.
#[tokio::test(start_paused = true)]
async fn dump_still_shows_a_child_launched_before_an_inner_root_scope_ran() {
    let dump = coroutine_scope(|s| {
        Box::pin(async move {
            s.child()
                .name("pending-outer-child")
                .launch(async { delay(Duration::from_secs(1)).await });
            OwnWaker(Box::pin(coroutine_scope(|t| {
                Box::pin(async move {
                    t.launch(async { Ok(()) });
                    Ok(())
                })
            })))
            .await?;
            Ok(scopes::debug::dump())
        })
    })
    .await
    .unwrap();
    assert!(dump.contains("pending-outer-child"), "{dump}");
}

/// R7: a scope's cancel marks every child before any is resumed, and they
/// resume in start order, also when a child started in this step under the
/// scope's `limit` (not taken yet) completes at the cancel: here `a2` waits
/// for `b`, which it has just started, and cancels the job the scope runs
/// in; `a1`, started before `a2`, resumes first.
#[tokio::test(start_paused = true)]
async fn r7_a_limited_scope_s_cancel_resumes_its_children_in_start_order() {
    let log = scopes_workspace::Log::default();
    let log = &log;
    coroutine_scope(|outer| {
        Box::pin(async move {
            let (tx, rx) = tokio::sync::oneshot::channel();
            let me = outer.r#async(async move {
                let me: scopes::Deferred<'_, ()> = rx.await.unwrap();
                scopes::coroutine_scope_with(scopes::ScopeOptions::new().limit(2), |s| {
                    Box::pin(async move {
                        s.launch(async move {
                            let r = delay(Duration::from_secs(10)).await;
                            log.push("a1 resumed");
                            r
                        });
                        let s2 = s.clone();
                        s.launch(async move {
                            delay(Duration::from_millis(1)).await?;
                            let b = s2.launch(async { Ok(()) }); // no place: a1, a2 hold them
                            let (joined, ()) = tokio::join!(b.join(), async { me.cancel() });
                            log.push("a2 resumed");
                            joined
                        });
                        delay(Duration::from_secs(10)).await?;
                        log.push("body resumed");
                        Ok(())
                    })
                })
                .await
            });
            tx.send(me.clone()).ok().unwrap();
            assert!(me.await.unwrap_err().is_cancellation());
            Ok(())
        })
    })
    .await
    .unwrap();
    assert_eq!(log.take(), ["a1 resumed", "a2 resumed"]);
}
