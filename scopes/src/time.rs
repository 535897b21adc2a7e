//! Time: `delay` and timeouts, all on tokio's clock so that tests run with
//! paused time (R12).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::Sleep;

use crate::engine::context;
use crate::engine::job::{Attached, Host, JobCore};
use crate::engine::name::Name;
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
        match self.project().sleep.as_pin_mut() {
            Some(sleep) => context::aware(sleep.poll(cx).map(Ok)),
            None => Poll::Ready(Ok(())),
        }
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
/// duration times out at once without running the work.
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
        deadline: Deadline::new(duration, fut),
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
        deadline: Deadline::new(duration, fut),
    }
}

pin_project_lite::pin_project! {
    /// Future returned by [`with_timeout`].
    #[must_use = "futures do nothing unless polled"]
    pub struct WithTimeout<F> {
        #[pin]
        deadline: Deadline<F>,
    }
}

pin_project_lite::pin_project! {
    /// Future returned by [`with_timeout_or_none`].
    #[must_use = "futures do nothing unless polled"]
    pub struct WithTimeoutOrNone<F> {
        #[pin]
        deadline: Deadline<F>,
    }
}

impl<T, F: Future<Output = Result<T>>> Future for WithTimeout<F> {
    type Output = Result<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T>> {
        let duration = self.deadline.duration;
        self.project().deadline.poll(cx).map(|ended| match ended {
            Ended::Done(result) => result,
            Ended::TimedOut => Err(Error::timeout(duration)),
        })
    }
}

impl<T, F: Future<Output = Result<T>>> Future for WithTimeoutOrNone<F> {
    type Output = Result<Option<T>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<Option<T>>> {
        self.project().deadline.poll(cx).map(|ended| match ended {
            Ended::Done(result) => result.map(Some),
            Ended::TimedOut => Ok(None),
        })
    }
}

enum Ended<T> {
    Done(Result<T>),
    TimedOut,
}

pin_project_lite::pin_project! {
    /// The work of a timeout runs as a job of its own, child of the caller's
    /// job, which the deadline cancels (Kotlin's `TimeoutCoroutine`).
    struct Deadline<F> {
        #[pin]
        fut: Option<F>,
        #[pin]
        sleep: Option<Sleep>,
        job: Option<Arc<JobCore>>,
        parent: Option<Arc<JobCore>>,
        duration: Duration,
        timed_out: bool,
    }
}

impl<F> Deadline<F> {
    fn new(duration: Duration, fut: F) -> Self {
        Self {
            fut: Some(fut),
            sleep: None,
            job: None,
            parent: None,
            duration,
            timed_out: false,
        }
    }
}

impl<T, F: Future<Output = Result<T>>> Deadline<F> {
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Ended<T>> {
        let mut this = self.project();
        if this.fut.is_none() {
            return Poll::Pending; // polled after completion
        }
        let job = match this.job {
            Some(job) => job.clone(),
            None => {
                if let Some(cancelled) = context::cancellation() {
                    this.fut.set(None);
                    return Poll::Ready(Ended::Done(Err(cancelled)));
                }
                if this.duration.is_zero() {
                    this.fut.set(None);
                    return Poll::Ready(Ended::TimedOut);
                }
                this.sleep.set(Some(tokio::time::sleep(*this.duration)));
                *this.parent = context::cancellable_parent();
                let job = JobCore::new(Name::Timeout, Host::Inline, false);
                if let Some(unit) = context::current_unit() {
                    job.set_within(unit);
                }
                if let Some(parent) = this.parent.as_ref() {
                    let attached: Arc<dyn Attached> = job.clone();
                    parent.attach(Arc::downgrade(&attached));
                }
                *this.job = Some(job.clone());
                job
            }
        };
        // The caller's cancellation first: an enclosing deadline that fires
        // at the same instant was registered first and wins, as in Kotlin.
        if let Some(parent) = this.parent
            && parent.is_cancelled()
        {
            job.cancel(Some(&parent.cancellation_error()));
        }
        if !*this.timed_out
            && !job.is_cancelled()
            && let Some(sleep) = this.sleep.as_mut().as_pin_mut()
            && sleep.poll(cx).is_ready()
        {
            *this.timed_out = true;
            job.cancel(Some(&Error::cancelled_by(&Error::timeout(*this.duration))));
        }
        let was_cancelled = job.is_cancelled();
        let Some(fut) = this.fut.as_mut().as_pin_mut() else {
            return Poll::Pending;
        };
        let Poll::Ready(ended) = context::resume(&job, fut, cx, was_cancelled, false) else {
            // The caller's cancellation reaches the work through the
            // deadline's job: the caller is not in a foreign wait here.
            return context::aware(Poll::Pending);
        };
        this.fut.set(None);
        let result = ended.and_then(std::convert::identity);
        Poll::Ready(match job.ended(result) {
            Err(e) if !e.is_cancellation() => Ended::Done(Err(e)),
            _ if *this.timed_out => Ended::TimedOut,
            result => Ended::Done(result),
        })
    }
}
