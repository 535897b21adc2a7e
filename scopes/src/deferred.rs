//! [`Deferred`]: the handle of an `async` child, awaitable for its value.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use crate::engine::context::{self, Wait};
use crate::engine::handler::{self, FailureSink, Handler};
use crate::engine::job::Outcome;
use crate::engine::waiters::WaitPlace;
use crate::error::{Error, Result};
use crate::job::{Job, Join, debug_job};

/// A handle to a child started with `async`: Kotlin's `Deferred<T>`.
///
/// `deferred.await` gives the child's `Result<T>`, starting a lazy child.
/// It has everything [`Job`] has (`cancel`, `start`, `join`, `is_active`,
/// ...). When `T: Clone` the handle is `Clone`, and every handle's `.await`
/// gives the same outcome, in this child or in others.
///
/// Awaiting does not recover a failure in a `coroutine_scope`: the scope
/// fails with the child's error even if the `Err` of `.await` is handled
/// (R3). In a `supervisor_scope` the failure stays in the `Deferred`; one
/// dropped without ever being awaited is reported to the exception handler
/// so it is not lost.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> scopes::Result<()> {
/// use std::time::Duration;
/// use scopes::{coroutine_scope, delay};
///
/// let sum = coroutine_scope(|s| Box::pin(async move {
///     let a = s.r#async(async { delay(Duration::from_millis(10)).await?; Ok(1) });
///     let b = s.r#async(async { delay(Duration::from_millis(20)).await?; Ok(2) });
///     Ok(a.await? + b.await?)
/// }))
/// .await?;
/// assert_eq!(sum, 3);
/// # Ok(())
/// # }
/// ```
pub struct Deferred<'s, T> {
    job: Job<'s>,
    slot: Arc<Slot<T>>,
    /// This handle's `.await` (R7: prompt cancellation).
    wait: Wait,
    /// This handle's place among its child's waiters while it waits.
    place: WaitPlace,
    /// This handle's `.await` has given its outcome (`FusedFuture`).
    ended: bool,
}

/// Where an `async` child leaves its value, shared by its handles.
pub(crate) struct Slot<T> {
    state: Mutex<SlotState<T>>,
}

struct SlotState<T> {
    value: Option<T>,
    handles: usize,
    /// `T::clone`, known once a handle has been cloned (only possible when
    /// `T: Clone`); the last handle to await takes the value instead.
    cloner: Option<fn(&T) -> T>,
    observed: bool,
    /// A failure in a `supervisor_scope` nobody has awaited yet, with the
    /// handler to report it to if nobody ever does.
    unobserved: Option<(Error, Option<Handler>)>,
}

impl<T> Slot<T> {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(SlotState {
                value: None,
                handles: 1,
                cloner: None,
                observed: false,
                unobserved: None,
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, SlotState<T>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn set(&self, value: T) {
        self.lock().value = Some(value);
    }
}

impl<T> FailureSink for Slot<T> {
    fn supervised_failure(&self, error: &Error, handler: Option<Handler>) {
        let mut state = self.lock();
        if state.observed {
            return;
        }
        if state.handles == 0 {
            drop(state);
            handler::report(handler.as_ref(), error);
        } else {
            state.unobserved = Some((error.clone(), handler));
        }
    }
}

impl<'s, T> Deferred<'s, T> {
    pub(crate) fn new(job: Job<'s>, slot: Arc<Slot<T>>) -> Self {
        Self {
            job,
            slot,
            wait: Wait::default(),
            place: WaitPlace::default(),
            ended: false,
        }
    }

    /// The child as a [`Job`].
    pub fn job(&self) -> &Job<'s> {
        &self.job
    }

    /// Cancels the child and its subtree; see [`Job::cancel`]. Its `.await`
    /// then gives a cancellation error.
    pub fn cancel(&self) {
        self.job.cancel();
    }

    /// Starts a lazy child; true only for the call that started it. See
    /// [`Job::start`].
    pub fn start(&self) -> bool {
        self.job.start()
    }

    /// Cancels the child and waits until it has completed; see
    /// [`Job::cancel_and_join`].
    pub fn cancel_and_join(&self) -> Join<'_> {
        self.job.cancel_and_join()
    }

    /// Waits for the child to complete without taking its value; see
    /// [`Job::join`].
    pub fn join(&self) -> Join<'_> {
        self.job.join()
    }

    /// See [`Job::is_active`].
    pub fn is_active(&self) -> bool {
        self.job.is_active()
    }

    /// See [`Job::is_cancelled`].
    pub fn is_cancelled(&self) -> bool {
        self.job.is_cancelled()
    }

    /// See [`Job::is_completed`].
    pub fn is_completed(&self) -> bool {
        self.job.is_completed()
    }

    /// See [`Job::name`].
    pub fn name(&self) -> String {
        self.job.name()
    }

    /// The outcome if it is there (starting a lazy child; else `cx` is
    /// woken when it is), or the caller's cancellation: an outcome already
    /// there is given even in a cancelled job.
    pub(crate) fn poll_outcome(&mut self, cx: &Context<'_>) -> Option<Result<T>> {
        let core = &self.job.core;
        core.start();
        if let Some(outcome) = core.poll_outcome(&mut self.place, cx.waker()) {
            return Some(self.take_outcome(outcome));
        }
        context::cancellation().map(Err)
    }

    /// R7 for an `.await` whose job was cancelled while it was suspended:
    /// the awaited child's error if it has ended with one (Kotlin's await
    /// resumes with the awaited job's cause: in a `coroutine_scope`, a
    /// child's failure cancels the job awaiting it, which still sees that
    /// failure, R3), else the caller's cancellation, even if the child
    /// ended with a value (prompt cancellation).
    fn cancelled_await(&self, cancelled: Error) -> Error {
        match self.job.core.outcome() {
            Some(Outcome::Failed(e) | Outcome::Cancelled(e)) => {
                drop(self.observed());
                e
            }
            _ => cancelled,
        }
    }

    /// An outcome was taken: a supervised failure is not reported.
    fn observed(&self) -> MutexGuard<'_, SlotState<T>> {
        let mut state = self.slot.lock();
        state.observed = true;
        state.unobserved = None;
        state
    }

    fn take_outcome(&self, outcome: Outcome) -> Result<T> {
        let mut state = self.observed();
        match outcome {
            Outcome::Failed(e) | Outcome::Cancelled(e) => Err(e),
            Outcome::Ok => {
                let value = match (state.handles, state.cloner) {
                    (1, _) | (_, None) => state.value.take(),
                    (_, Some(clone)) => state.value.as_ref().map(clone),
                };
                value.ok_or_else(|| {
                    Error::msg(
                        "the value of this `Deferred` was taken by an earlier `.await` of this \
                         handle: to await a value more than once, clone the handle \
                         (`T: Clone`) and await the clones",
                    )
                })
            }
        }
    }
}

impl<'s, T> AsRef<Job<'s>> for Deferred<'s, T> {
    fn as_ref(&self) -> &Job<'s> {
        &self.job
    }
}

impl<T: Clone> Clone for Deferred<'_, T> {
    fn clone(&self) -> Self {
        let mut state = self.slot.lock();
        state.handles += 1;
        state.cloner = Some(T::clone);
        drop(state);
        Self {
            job: self.job.clone(),
            slot: self.slot.clone(),
            wait: Wait::default(),
            place: WaitPlace::default(),
            ended: false,
        }
    }
}

/// A handle dropped while it waited (a timeout around its `.await`, a
/// `select!` branch that lost) leaves no waker with the child; the last
/// one reports a supervised failure nobody took (SPEC §3).
impl<T> Drop for Deferred<'_, T> {
    fn drop(&mut self) {
        self.job.core.stop_waiting(&mut self.place);
        let mut state = self.slot.lock();
        state.handles -= 1;
        if state.handles == 0
            && let Some((error, handler)) = state.unobserved.take()
        {
            drop(state);
            handler::report(handler.as_ref(), &error);
        }
    }
}

impl<T> fmt::Debug for Deferred<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        debug_job(&self.job.core, "Deferred", f)
    }
}

/// `deferred.await` waits for the child's outcome, starting it if it is
/// lazy. An outcome already there is returned even in a cancelled job;
/// while waiting, the caller's cancellation ends the wait with `Err`: the
/// child's error if it has ended with one (in a `coroutine_scope`, the
/// failure that cancelled the caller), else the cancellation, also when
/// the child's value came just before (R7: a job cancelled while suspended
/// does not run on with a value).
///
/// A handle gives its value once (it moves out, so `T` need not be
/// `Clone`): awaiting the same handle again through `&mut` after that is
/// an `Err` saying so. To await a value more than once, clone the handle
/// (`T: Clone`) and await the clones.
///
/// A handle remembers that its last poll left it waiting: polled through
/// `&mut` in a `select!` branch that lost, it counts as waiting until it
/// is polled again. If its job is cancelled meanwhile, that next poll
/// gives the cancellation even when the child's value is there (the value
/// stays: a clone of the handle still gets it).
///
/// A `Deferred` is itself the future (not only `IntoFuture`), so it goes
/// straight into the futures ecosystem: `try_join_all(ds)`, `select!` on
/// `&mut d`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> scopes::Result<()> {
/// use std::time::Duration;
/// use scopes::{coroutine_scope, delay};
///
/// let sum: u64 = coroutine_scope(|s| Box::pin(async move {
///     let ds: Vec<_> = (1..=3u64)
///         .map(|i| s.r#async(async move { delay(Duration::from_millis(i)).await?; Ok(i) }))
///         .collect();
///     Ok(futures_util::future::try_join_all(ds).await?.into_iter().sum())
/// }))
/// .await?;
/// assert_eq!(sum, 6);
/// # Ok(())
/// # }
/// ```
///
/// # Cancel safety
///
/// Dropping the handle (or the future) does nothing to the child, which
/// runs on and is waited for by its scope. But a `Deferred` awaited by
/// value in a `select!` branch that loses is dropped with it, and so is the
/// way to its value (lost, unless another handle, a clone, has it): in a
/// `select!` loop, poll `&mut deferred` instead, which loses nothing.
impl<T> Future for Deferred<'_, T> {
    type Output = Result<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T>> {
        let deferred = self.get_mut();
        if let Some(cancelled) = deferred.wait.cancelled_while_suspended() {
            deferred.ended = true;
            return Poll::Ready(Err(deferred.cancelled_await(cancelled)));
        }
        match deferred.poll_outcome(cx) {
            Some(outcome) => {
                deferred.ended = true;
                Poll::Ready(outcome)
            }
            None => deferred.wait.suspend(),
        }
    }
}

/// `futures::select!` takes a `Deferred` as it is (SPEC §2a: it works with
/// the futures ecosystem): a handle is terminated once its `.await` has
/// given the outcome, so a `select!` in a loop skips it from then on.
///
/// ```
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> scopes::Result<()> {
/// use futures_util::future::FusedFuture;
/// use scopes::coroutine_scope;
///
/// coroutine_scope(|s| Box::pin(async move {
///     let mut d = s.r#async(async { Ok(7) });
///     assert!(!d.is_terminated());
///     assert_eq!((&mut d).await?, 7);
///     assert!(d.is_terminated());
///     Ok(())
/// }))
/// .await
/// # }
/// ```
impl<T> futures_util::future::FusedFuture for Deferred<'_, T> {
    fn is_terminated(&self) -> bool {
        self.ended
    }
}
