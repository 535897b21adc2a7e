//! Cooperative cancellation: checking the current job, yielding, and the
//! two ways to step outside cancellation (`non_cancellable`) or into it
//! (`cancellable`).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::engine::context;
use crate::engine::name::Name;
use crate::engine::watch::{Ended, Trigger, Watched};
use crate::error::Result;

/// `Err` with the cancellation if the current job is cancelled, without
/// suspending: Kotlin's `ensureActive()`. Outside any scope, and inside
/// [`non_cancellable`], always `Ok`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> scopes::Result<()> {
/// scopes::coroutine_scope(|s| Box::pin(async move {
///     let job = s.launch(async {
///         loop {
///             scopes::ensure_active()?; // a CPU loop that checks in
///             scopes::yield_now().await?;
///         }
///     });
///     job.cancel();
///     Ok(())
/// }))
/// .await
/// # }
/// ```
pub fn ensure_active() -> Result<()> {
    match context::cancellation() {
        Some(cancelled) => Err(cancelled),
        None => Ok(()),
    }
}

/// Whether the current job is still active (not cancelled): Kotlin's
/// `isActive`. Outside any scope, and inside [`non_cancellable`], `true`.
///
/// ```
/// assert!(scopes::is_active());
/// ```
pub fn is_active() -> bool {
    context::cancellation().is_none()
}

/// Suspends once, letting every other child of the scope that is ready run
/// first: Kotlin's `yield()`. Cancellation-aware: `Err` at once in a
/// cancelled job.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> scopes::Result<()> {
/// scopes::yield_now().await
/// # }
/// ```
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// Future returned by [`yield_now`].
///
/// # Cancel safety
///
/// Cancel safe: dropping it loses nothing.
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = Result<()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        if let Some(cancelled) = context::cancellation() {
            return Poll::Ready(Err(cancelled));
        }
        if self.yielded {
            return Poll::Ready(Ok(()));
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        context::aware(Poll::Pending)
    }
}

/// Runs `fut` to completion even in a cancelled job: Kotlin's
/// `withContext(NonCancellable)`, for cleanup that must finish.
/// Cancellation-aware calls inside it (`delay`, `yield_now`, ...) do not
/// see the cancellation, and the job is not dropped while it is suspended
/// here (R8).
///
/// ```
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// use std::time::Duration;
/// use scopes::{coroutine_scope, delay, non_cancellable, Error};
///
/// let result: scopes::Result<()> = coroutine_scope(|s| Box::pin(async move {
///     s.launch(async {
///         if let Err(cancelled) = delay(Duration::from_secs(60)).await {
///             non_cancellable(delay(Duration::from_secs(1))).await?; // flush
///             return Err(cancelled);
///         }
///         Ok(())
///     });
///     s.launch(async { Err(Error::msg("fail")) });
///     Ok(())
/// }))
/// .await;
/// assert!(result.is_err());
/// # }
/// ```
pub fn non_cancellable<F: Future>(fut: F) -> NonCancellable<F> {
    NonCancellable { fut }
}

pin_project_lite::pin_project! {
    /// Future returned by [`non_cancellable`].
    ///
    /// # Cancel safety
    ///
    /// It shields the work from its *job's* cancellation, not from its own
    /// future being dropped: dropping it (a `select!` branch that lost, or
    /// the future of the scope around it, R10) drops the work where it is
    /// suspended, as any future. Run cleanup that must finish inside the
    /// job (`non_cancellable(..).await` in a child body), not in a
    /// `select!`.
    #[must_use = "futures do nothing unless polled"]
    pub struct NonCancellable<F> {
        #[pin]
        fut: F,
    }
}

impl<F: Future> Future for NonCancellable<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        match context::poll_non_cancellable(self.project().fut, cx) {
            Ok(Some(output)) => Poll::Ready(output),
            Ok(None) => {
                context::mark_shielded();
                Poll::Pending
            }
            Err(panic) => panic.resume_panic(),
        }
    }
}

/// Makes a foreign future cancellation-aware: when the current job is
/// cancelled, `fut` is dropped and `Err` with the cancellation returned.
///
/// ```
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> scopes::Result<()> {
/// use std::time::Duration;
/// let slept = scopes::cancellable(tokio::time::sleep(Duration::from_millis(5))).await?;
/// assert_eq!(slept, ());
/// # Ok(())
/// # }
/// ```
pub fn cancellable<F: Future>(fut: F) -> Cancellable<F> {
    Cancellable { fut }
}

pin_project_lite::pin_project! {
    /// Future returned by [`cancellable`].
    ///
    /// # Cancel safety
    ///
    /// As cancel safe as the future it wraps: dropping it drops that
    /// future, and when the job is cancelled the future is dropped too
    /// (then `Err` with the cancellation is returned).
    #[must_use = "futures do nothing unless polled"]
    pub struct Cancellable<F> {
        #[pin]
        fut: F,
    }
}

impl<F: Future> Future for Cancellable<F> {
    type Output = Result<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<F::Output>> {
        if let Some(cancelled) = context::cancellation() {
            return Poll::Ready(Err(cancelled));
        }
        context::aware(self.project().fut.poll(cx).map(Ok))
    }
}

/// `.cancellable()` on every future: a shorthand for
/// [`cancellable`]`(fut)`, which makes a foreign wait cancellation-aware
/// (R7). Also in the prelude.
///
/// ```
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// use std::time::Duration;
/// use scopes::{CancellableExt, coroutine_scope};
///
/// let result: scopes::Result<()> = coroutine_scope(|s| Box::pin(async move {
///     let job = s.launch(async {
///         // A tokio sleep is not cancellation-aware; `.cancellable()` makes it so.
///         let slept = tokio::time::sleep(Duration::from_secs(60)).cancellable().await;
///         assert!(slept.unwrap_err().is_cancellation());
///         Ok(())
///     });
///     scopes::yield_now().await?;
///     job.cancel();
///     Ok(())
/// }))
/// .await;
/// assert!(result.is_ok());
/// # }
/// ```
pub trait CancellableExt: Future + Sized {
    /// The same as [`cancellable`]`(self)`.
    fn cancellable(self) -> Cancellable<Self> {
        cancellable(self)
    }
}

impl<F: Future> CancellableExt for F {}

/// Cancels every child of the current scope, not the caller: Kotlin's
/// `coroutineContext.cancelChildren()`. In a scope's body, that scope's
/// children (started so far); in a child whose body has children of its own
/// (a `launch`/`async` body is a scope of its own in the DSL), that
/// child's. Each is cancelled as with [`Job::cancel`](crate::Job::cancel)
/// (R7: resumed once, so it can clean up); the caller goes on and its
/// scope completes normally. Elsewhere it does nothing. The graceful way to
/// stop a server's connections.
///
/// Inside [`non_cancellable`] it does nothing either: that section is
/// Kotlin's `withContext(NonCancellable)`, a scope of its own whose
/// children are the ones started in it (the DSL's block form then opens a
/// nested scope, and a call inside cancels those), not the enclosing
/// scope's.
///
/// ```
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> scopes::Result<()> {
/// use std::time::Duration;
/// use scopes::{cancel_children, coroutine_scope, delay};
///
/// let served = coroutine_scope(|s| Box::pin(async move {
///     for _ in 0..3 {
///         s.launch(async { delay(Duration::from_secs(3600)).await }); // connections
///     }
///     delay(Duration::from_secs(1)).await?; // until shutdown
///     cancel_children();
///     Ok("served")
/// }))
/// .await?;
/// assert_eq!(served, "served"); // not a cancellation, and no hour passed
/// # Ok(())
/// # }
/// ```
pub fn cancel_children() {
    // Outside any `non_cancellable` section of the current job (inside
    // one, the current scope is the section's own, with no children).
    if let Some(job) = context::cancellable_parent() {
        crate::engine::registry::cancel_children_of(&job);
    }
}

/// Runs `fut` until `signal` completes, whichever comes first: like
/// [`with_timeout_or_none`](fn@crate::with_timeout_or_none) with a future
/// instead of a deadline. When `signal` completes first, `fut` is cancelled
/// (R7: resumed once, so its cleanup runs) and, once it has completed, the
/// call returns `Ok(None)` — also when the work caught the cancellation and
/// returned a value, as a timeout wins in R9; a real failure raised during
/// that cleanup is returned instead. `fut`'s own outcome gives `Ok(Some(..))`
/// or its `Err`. A signal complete before the first poll means the work
/// never runs.
///
/// The structured answer to `tokio::select! { r = work => .., _ = ctrl_c() => .. }`,
/// which drops the work (and every child in it) without its cleanup.
///
/// ```
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> scopes::Result<()> {
/// use std::time::Duration;
/// use scopes::{cancel_on, coroutine_scope, delay, non_cancellable};
///
/// let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
/// tokio::spawn(async move {
///     tokio::time::sleep(Duration::from_secs(5)).await;
///     let _ = stop.send(()); // Ctrl-C, say
/// });
/// let served = cancel_on(stopped, coroutine_scope(|s| Box::pin(async move {
///     s.launch(async {
///         if let Err(cancelled) = delay(Duration::from_secs(3600)).await {
///             non_cancellable(delay(Duration::from_millis(100))).await?; // flush
///             return Err(cancelled);
///         }
///         Ok(())
///     });
///     Ok("done")
/// })))
/// .await?;
/// assert_eq!(served, None); // stopped after 5 s, the flush ran
/// # Ok(())
/// # }
/// ```
pub fn cancel_on<S, F, T>(signal: S, fut: F) -> CancelOn<S, F>
where
    S: Future,
    F: Future<Output = Result<T>>,
{
    CancelOn {
        watched: Watched::new(
            fut,
            Signal {
                signal,
                done: false,
            },
            Name::CancelOn,
        ),
    }
}

pin_project_lite::pin_project! {
    /// Future returned by [`cancel_on`].
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: dropping it drops the signal and the work where
    /// they are, with the work's value and without the cleanup (R7) that
    /// the signal firing gives it: the reason to use `cancel_on` rather
    /// than `select!`.
    #[must_use = "futures do nothing unless polled"]
    pub struct CancelOn<S, F: Future> {
        #[pin]
        watched: Watched<F, Signal<S>>,
    }
}

impl<S: Future, T, F: Future<Output = Result<T>>> Future for CancelOn<S, F> {
    type Output = Result<Option<T>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<Option<T>>> {
        self.project().watched.poll(cx).map(|ended| match ended {
            Ended::Done(result) => result.map(Some),
            Ended::Fired => Ok(None),
        })
    }
}

pin_project_lite::pin_project! {
    /// `cancel_on`'s trigger: the signal's completion, whatever its output.
    pub struct Signal<S> {
        #[pin]
        signal: S,
        done: bool,
    }
}

impl<S: Future> Future for Signal<S> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.project();
        if !*this.done && this.signal.poll(cx).is_ready() {
            *this.done = true;
        }
        if *this.done {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl<S: Future> Trigger for Signal<S> {
    fn fire(self: Pin<&mut Self>) -> crate::Error {
        crate::Error::cancelled()
    }
}

impl<F> fmt::Debug for NonCancellable<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NonCancellable").finish_non_exhaustive()
    }
}

impl<F> fmt::Debug for Cancellable<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cancellable").finish_non_exhaustive()
    }
}

impl<S, F: Future> fmt::Debug for CancelOn<S, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelOn").finish_non_exhaustive()
    }
}
