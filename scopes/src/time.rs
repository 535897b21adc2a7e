//! Time: `delay` and timeouts, all on tokio's clock so that tests run with
//! paused time (R12).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::Sleep;

use crate::engine::context;
use crate::engine::name::Name;
use crate::engine::watch::{Ended, Trigger, Watched};
use crate::error::{Error, Result};

/// Suspends for `duration`: Kotlin's `delay`. Cancellation-aware: a
/// cancelled job is resumed from it with `Err` (and a call made in an
/// already cancelled job returns `Err` at once). A zero duration returns at
/// once; `Duration::MAX` sleeps until cancelled.
///
/// ```
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> scopes::Result<()> {
/// use std::time::Duration;
/// let start = tokio::time::Instant::now();
/// scopes::delay(Duration::from_millis(250)).await?;
/// assert_eq!(start.elapsed(), Duration::from_millis(250));
/// # Ok(())
/// # }
/// ```
pub fn delay(duration: Duration) -> Delay {
    Delay {
        sleep: (!duration.is_zero()).then(|| tokio::time::sleep(duration)),
    }
}

pin_project_lite::pin_project! {
    /// Future returned by [`delay`].
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping it (a `select!` branch that lost) loses
    /// nothing but the time already waited; a new `delay` waits afresh.
    /// Dropping it releases its timer; nothing else is held.
    ///
    /// # Tokio's cooperative budget
    ///
    /// A delay whose first poll found its time not yet come ends when its
    /// timer fires without spending the task's budget: a tree of scopes
    /// bounds the entries it runs per poll itself (docs/rules.md, R14),
    /// and in a deep tree each yield to the worker costs a route back down
    /// to the next entry, so timers firing together at every level of a
    /// recursion made it yield every 128 of them (45 polls per level at
    /// 10,000 levels, 7 now). A delay that is over at its first poll
    /// spends budget as tokio's `sleep` does, so a loop of delays too short
    /// to wait still yields.
    #[must_use = "futures do nothing unless polled"]
    pub struct Delay {
        #[pin]
        sleep: Option<Sleep>,
    }
}

impl Future for Delay {
    type Output = Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        if let Some(cancelled) = context::cancellation() {
            return Poll::Ready(Err(cancelled));
        }
        let Some(sleep) = self.project().sleep.as_pin_mut() else {
            return Poll::Ready(Ok(()));
        };
        // Elapsed: registered at an earlier poll, and its timer has fired
        // since (a timer is registered at its first poll).
        let polled = if sleep.is_elapsed() {
            Pin::new(&mut tokio::task::coop::unconstrained(sleep)).poll(cx)
        } else {
            sleep.poll(cx)
        };
        context::aware(polled.map(Ok))
    }
}

/// Runs `fut` for at most `duration`: Kotlin's `withTimeout`, except that
/// the timeout is a failure (`Err(e)` with `e.is_timeout()`), never mistaken
/// for a cancellation (R9).
///
/// When the deadline passes, the work is cancelled (resumed once with a
/// cancellation, dropped if it stays suspended outside `non_cancellable`)
/// and the timeout wins even if the work then returns a value. A real
/// failure raised during that cleanup wins over the timeout. A zero
/// duration times out at once without running the work. Called in a job
/// already cancelled, it is a cancellation-aware call like `delay` (R7):
/// it returns the cancellation at once, without running the work
/// (Kotlin's `withTimeout` runs its block there and throws after it).
///
/// `fut`'s output is [`Result<T>`](crate::Result), like a child body's, so
/// an `async move { ..?; Ok(x) }` block needs no type annotation. In a scope
/// body or a child body, the block form `with_timeout(d) { .. }` says the
/// same (see the crate docs); `with_timeout!(d; ..)` in annotated fns.
///
/// ```
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// use std::time::Duration;
/// use scopes::{delay, with_timeout};
///
/// let fast = with_timeout(Duration::from_secs(1), async move {
///     delay(Duration::from_millis(10)).await?;
///     Ok("done")
/// });
/// assert_eq!(fast.await.unwrap(), "done");
///
/// let slow = with_timeout(Duration::from_secs(1), async move {
///     delay(Duration::from_secs(5)).await?;
///     Ok("done")
/// });
/// assert!(slow.await.unwrap_err().is_timeout());
/// # }
/// ```
///
/// A future with another error type goes through `async move {
/// Ok(fut.await?) }` (`?` converts any `std::error::Error`), or through the
/// `futures` adapter `TryFutureExt::err_into`, whose target type is inferred
/// from `with_timeout`'s:
///
/// ```
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> scopes::Result<()> {
/// use std::time::Duration;
/// use futures_util::TryFutureExt as _; // `futures::TryFutureExt` in most apps
///
/// async fn read_config() -> std::io::Result<String> {
///     Ok("debug = true".to_owned())
/// }
///
/// let d = Duration::from_secs(1);
/// let a = scopes::with_timeout(d, async move { Ok(read_config().await?) }).await?;
/// let b = scopes::with_timeout(d, read_config().err_into()).await?;
/// assert_eq!(a, b);
/// # Ok(())
/// # }
/// ```
pub fn with_timeout<T, F>(duration: Duration, fut: F) -> WithTimeout<F>
where
    F: Future<Output = Result<T>>,
{
    WithTimeout {
        deadline: Watched::new(fut, Timer::new(duration), Name::Timeout),
    }
}

/// Like [`with_timeout`], but its own deadline gives `Ok(None)`: Kotlin's
/// `withTimeoutOrNull`. The timeout of an inner `with_timeout` is a failure
/// and propagates.
///
/// Like `with_timeout`, `fut`'s output is [`Result<T>`](crate::Result);
/// the block form is `with_timeout_or_none(d) { .. }`
/// (`with_timeout_or_none!(d; ..)` in annotated fns).
///
/// ```
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> scopes::Result<()> {
/// use std::time::Duration;
/// let none = scopes::with_timeout_or_none(Duration::from_millis(5), async move {
///     scopes::delay(Duration::from_secs(1)).await?;
///     Ok(1u8)
/// })
/// .await?;
/// assert_eq!(none, None);
/// # Ok(())
/// # }
/// ```
pub fn with_timeout_or_none<T, F>(duration: Duration, fut: F) -> WithTimeoutOrNone<F>
where
    F: Future<Output = Result<T>>,
{
    WithTimeoutOrNone {
        deadline: Watched::new(fut, Timer::new(duration), Name::Timeout),
    }
}

pin_project_lite::pin_project! {
    /// Future returned by [`with_timeout`].
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: dropping it drops the work where it is suspended,
    /// with what it had computed, and without the cancellation delivery
    /// (R7) the deadline gives it, so its async cleanup does not run (a
    /// scope inside it drops its children, R10). Dropping it after it
    /// returned drops nothing but the timer.
    #[must_use = "futures do nothing unless polled"]
    pub struct WithTimeout<F: Future> {
        #[pin]
        deadline: Watched<F, Timer>,
    }
}

pin_project_lite::pin_project! {
    /// Future returned by [`with_timeout_or_none`].
    ///
    /// # Cancel safety
    ///
    /// As [`WithTimeout`]'s: dropping it drops the work and its value,
    /// without cleanup.
    #[must_use = "futures do nothing unless polled"]
    pub struct WithTimeoutOrNone<F: Future> {
        #[pin]
        deadline: Watched<F, Timer>,
    }
}

impl<T, F: Future<Output = Result<T>>> Future for WithTimeout<F> {
    type Output = Result<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T>> {
        let mut deadline = self.project().deadline;
        deadline.as_mut().poll(cx).map(|ended| match ended {
            Ended::Done(result) => result,
            Ended::Fired => Err(deadline.trigger_mut().take_error()),
        })
    }
}

impl<T, F: Future<Output = Result<T>>> Future for WithTimeoutOrNone<F> {
    type Output = Result<Option<T>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<Option<T>>> {
        self.project().deadline.poll(cx).map(|ended| match ended {
            Ended::Done(result) => result.map(Some),
            Ended::Fired => Ok(None),
        })
    }
}

pin_project_lite::pin_project! {
    /// A timeout's trigger: a deadline `duration` after the first poll (a
    /// zero duration fires at once).
    pub(crate) struct Timer {
        duration: Duration,
        #[pin]
        sleep: Option<Sleep>,
        // The timeout's error once fired: the cause its work is cancelled
        // with, and what `with_timeout` returns (one error, as Kotlin's
        // `TimeoutCancellationException` is both).
        error: Option<Error>,
    }
}

impl Timer {
    fn new(duration: Duration) -> Self {
        Self {
            duration,
            sleep: None,
            error: None,
        }
    }

    /// The timeout's error, once the deadline has fired: the one its work
    /// was cancelled with, or a new one for a zero duration (which fires
    /// before the work starts, and cancels nothing).
    fn take_error(self: Pin<&mut Self>) -> Error {
        let this = self.project();
        this.error
            .take()
            .unwrap_or_else(|| Error::timeout(*this.duration))
    }
}

impl Future for Timer {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut this = self.project();
        if this.duration.is_zero() {
            return Poll::Ready(());
        }
        if this.sleep.is_none() {
            this.sleep.set(Some(tokio::time::sleep(*this.duration)));
        }
        match this.sleep.as_pin_mut() {
            Some(sleep) => sleep.poll(cx),
            None => Poll::Pending,
        }
    }
}

impl Trigger for Timer {
    fn fire(self: Pin<&mut Self>) -> Error {
        let this = self.project();
        let timeout = this.error.insert(Error::timeout(*this.duration));
        Error::cancelled_by(timeout)
    }
}

impl fmt::Debug for Delay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let deadline = self.sleep.as_ref().map(|sleep| sleep.deadline());
        f.debug_struct("Delay")
            .field("deadline", &deadline)
            .finish()
    }
}

impl<F: Future> fmt::Debug for WithTimeout<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let after = self.deadline.trigger().duration;
        f.debug_struct("WithTimeout")
            .field("after", &after)
            .finish_non_exhaustive()
    }
}

impl<F: Future> fmt::Debug for WithTimeoutOrNone<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let after = self.deadline.trigger().duration;
        f.debug_struct("WithTimeoutOrNone")
            .field("after", &after)
            .finish_non_exhaustive()
    }
}
