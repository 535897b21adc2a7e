//! [`Job`], the handle of a child started with `launch`.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::engine::context;
use crate::engine::job::JobCore;
use crate::engine::waiters::WaitPlace;
use crate::error::Result;

/// A handle to a child started with `launch`: Kotlin's `Job`.
///
/// The handle lives no longer than the scope the child runs in (`'s`), so
/// a child can never be observed, or leaked, past its scope. Dropping the
/// handle does not cancel the child; the scope still waits for it.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> scopes::Result<()> {
/// use std::time::Duration;
/// use scopes::{coroutine_scope, delay};
///
/// coroutine_scope(|s| Box::pin(async move {
///     let job = s.launch(async { delay(Duration::from_secs(10)).await });
///     assert!(job.is_active());
///     job.cancel();
///     job.join().await?;
///     assert!(job.is_cancelled() && job.is_completed());
///     Ok(())
/// }))
/// .await
/// # }
/// ```
#[derive(Clone)]
pub struct Job<'s> {
    pub(crate) core: Arc<JobCore>,
    /// Invariant in `'s`: a handle cannot be stretched to outlive its scope.
    pub(crate) _scope: PhantomData<fn(&'s ()) -> &'s ()>,
}

impl<'s> Job<'s> {
    pub(crate) fn new(core: Arc<JobCore>) -> Self {
        Self {
            core,
            _scope: PhantomData,
        }
    }

    /// Cancels the child and its whole subtree (R7). It is resumed once
    /// with a cancellation error from the call it is suspended in; a child
    /// that never ran never runs. A no-op once the child has completed.
    pub fn cancel(&self) {
        self.core.cancel(None);
    }

    /// Starts a child created with `start = lazy`. True only for the call
    /// that started it: false when it was started already, or cancelled
    /// (a lazy child cancelled before it started has completed), as
    /// Kotlin's `Job.start()`.
    pub fn start(&self) -> bool {
        self.core.start()
    }

    /// Waits until the child has completed, whatever its outcome, starting
    /// it if it is lazy. `Err` only when the caller itself is cancelled (then
    /// at once, even if the child has completed, as in Kotlin).
    ///
    /// # Cancel safety
    ///
    /// Dropping the future stops waiting and does nothing to the child.
    pub fn join(&self) -> Join<'_> {
        Join {
            core: &self.core,
            place: WaitPlace::default(),
        }
    }

    /// Cancels the child and waits until it has completed: Kotlin's
    /// `cancelAndJoin`. `Err` only when the caller itself is cancelled.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> scopes::Result<()> {
    /// use std::time::Duration;
    /// scopes::coroutine_scope(|s| Box::pin(async move {
    ///     let ticker = s.launch(async { loop { scopes::delay(Duration::from_secs(1)).await? } });
    ///     ticker.cancel_and_join().await?;
    ///     assert!(ticker.is_completed());
    ///     Ok(())
    /// }))
    /// .await
    /// # }
    /// ```
    ///
    /// # Cancel safety
    ///
    /// The cancel is done when the future is made; dropping it only stops
    /// waiting.
    pub fn cancel_and_join(&self) -> Join<'_> {
        self.cancel();
        self.join()
    }

    /// Whether the child has completed; if not, `cx` is woken when it has
    /// (its waker kept in the waiter's `place`). Starts a lazy child, as
    /// [`join`](Job::join) does.
    pub(crate) fn poll_completed(&self, place: &mut WaitPlace, cx: &Context<'_>) -> bool {
        self.core.start();
        self.core.poll_outcome(place, cx.waker()).is_some()
    }

    /// Started, not completed, not cancelled: Kotlin's `isActive`.
    ///
    /// A child whose body opened a scope of its own (a `launch` body that
    /// starts children, SPEC §2) is not active while that scope is being
    /// cancelled — one of its children or its body failed, and the rest
    /// clean up — as a Kotlin job whose child failed is not: its children
    /// are that scope's. It is active again if its code goes on after the
    /// scope has returned.
    pub fn is_active(&self) -> bool {
        self.core.catch_up_with_cancel_children();
        self.core.is_active()
    }

    /// Cancelled for any reason, as Kotlin's `isCancelled`: by
    /// [`cancel`](Job::cancel), by its scope, or because it ended with a
    /// cancellation or a failure; also while a scope its body opened is
    /// being cancelled (see [`is_active`](Job::is_active)).
    pub fn is_cancelled(&self) -> bool {
        self.core.catch_up_with_cancel_children();
        self.core.is_cancelled_for_any_reason()
    }

    /// Completed, whatever the outcome.
    pub fn is_completed(&self) -> bool {
        self.core.catch_up_with_cancel_children();
        self.core.is_completed()
    }

    /// The `name` option, else the `file:line:col` of its `launch`/`async`.
    pub fn name(&self) -> String {
        self.core.name.to_string()
    }
}

impl<'s> AsRef<Job<'s>> for Job<'s> {
    fn as_ref(&self) -> &Job<'s> {
        self
    }
}

impl fmt::Debug for Job<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        debug_job(&self.core, "Job", f)
    }
}

pub(crate) fn debug_job(core: &JobCore, ty: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    core.catch_up_with_cancel_children(); // as the handle's reads do
    f.debug_struct(ty)
        .field("name", &format_args!("{}", core.name))
        .field("id", &core.id)
        .field("active", &core.is_active())
        .field("cancelled", &core.is_cancelled_for_any_reason())
        .field("completed", &core.is_completed())
        .finish()
}

/// Future returned by [`Job::join`].
///
/// # Cancel safety
///
/// Cancel safe: dropping it stops waiting and loses nothing; the child runs
/// on (a lazy child stays started) and can be joined again.
#[must_use = "futures do nothing unless polled"]
pub struct Join<'a> {
    core: &'a Arc<JobCore>,
    place: WaitPlace,
}

impl Future for Join<'_> {
    type Output = Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        if let Some(cancelled) = context::cancellation() {
            return Poll::Ready(Err(cancelled));
        }
        let this = self.get_mut();
        this.core.start();
        match this.core.poll_outcome(&mut this.place, cx.waker()) {
            Some(_) => Poll::Ready(Ok(())),
            None => context::aware(Poll::Pending),
        }
    }
}

/// A join given up (a timeout around it, a `select!` branch that lost)
/// leaves no waker with the child.
impl Drop for Join<'_> {
    fn drop(&mut self) {
        self.core.stop_waiting(&mut self.place);
    }
}

/// Waiting for jobs to complete one after the other, in order: what
/// `join_all` and the last step of `race` and `first_success` share. Each
/// job completes once, so n jobs cost O(n) however they complete.
#[derive(Debug, Default)]
pub(crate) struct JoinEach {
    /// The jobs before it have completed.
    next: usize,
    /// The wait for the job at `next`.
    place: WaitPlace,
}

impl JoinEach {
    /// Whether every job has completed; if not, `cx` is woken when the
    /// first one that has not does.
    pub(crate) fn poll(&mut self, jobs: &[Job<'_>], cx: &Context<'_>) -> bool {
        while let Some(job) = jobs.get(self.next) {
            if !job.poll_completed(&mut self.place, cx) {
                return false;
            }
            self.next += 1;
            // Its waiters went as it completed.
            self.place = WaitPlace::default();
        }
        true
    }

    /// How many jobs have been seen complete, in order.
    pub(crate) fn joined(&self) -> usize {
        self.next
    }

    /// Stops waiting, as the future holding this is dropped.
    pub(crate) fn stop(&mut self, jobs: &[Job<'_>]) {
        if let Some(job) = jobs.get(self.next) {
            job.core.stop_waiting(&mut self.place);
        }
    }
}

impl fmt::Debug for Join<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        debug_job(self.core, "Join", f)
    }
}
