//! The job a piece of code runs in, found through thread-local state.
//!
//! Children are polled in place, inside their scope's future, so there is no
//! task per child whose locals could hold "the current job". Instead whoever
//! polls a job's future (a scope polling its body or a child, a `parallel`
//! child's task, `with_timeout`) installs the job for the length of that
//! poll, and the cancellation-aware primitives read it. The same state
//! carries what Kotlin keeps in the coroutine context: `NonCancellable` and
//! the exception handler.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::error::Error;
use crate::handler::Handler;
use crate::job::JobCore;

/// Inside `non_cancellable`: the job's cancellation is invisible.
const NON_CANCELLABLE: u8 = 1;
/// Set during a poll by whatever is pending in a way that must not be cut
/// short (a `non_cancellable` section, a nested scope): the job then is not
/// dropped when it stays pending after a cancellation (SPEC R7).
const SHIELDED: u8 = 2;

thread_local! {
    /// The job being polled; `None` outside any scope.
    static JOB: Cell<Option<Arc<JobCore>>> = const { Cell::new(None) };
    static FLAGS: Cell<u8> = const { Cell::new(0) };
    /// The handler installed by the nearest `with_exception_handler`.
    static HANDLER: RefCell<Option<Handler>> = const { RefCell::new(None) };
}

/// Runs `f` with the current job, if any, and whether it is shielded by
/// `non_cancellable`.
fn with_job<R>(f: impl FnOnce(Option<&Arc<JobCore>>, bool) -> R) -> R {
    JOB.with(|cell| {
        let job = cell.take();
        let result = f(job.as_ref(), FLAGS.get() & NON_CANCELLABLE != 0);
        cell.set(job);
        result
    })
}

/// The current job's cancellation, if it is cancelled and that is visible
/// here (not inside `non_cancellable`).
pub(crate) fn cancellation() -> Option<Error> {
    with_job(|job, non_cancellable| match job {
        Some(job) if !non_cancellable && job.is_cancelled() => Some(job.cancellation_error()),
        _ => None,
    })
}

/// The current job, whatever `non_cancellable` says.
pub(crate) fn current_job() -> Option<Arc<JobCore>> {
    with_job(|job, _| job.cloned())
}

/// The current job, if the code runs in one and cancellation is visible.
pub(crate) fn cancellable_parent() -> Option<Arc<JobCore>> {
    with_job(|job, non_cancellable| job.filter(|_| !non_cancellable).cloned())
}

pub(crate) fn current_handler() -> Option<Handler> {
    HANDLER.with(|handler| handler.borrow().clone())
}

/// Marks the job being polled as suspended in a section that must finish.
pub(crate) fn mark_shielded() {
    FLAGS.set(FLAGS.get() | SHIELDED);
}

/// Replaces the current handler for the life of the guard.
pub(crate) struct HandlerGuard {
    previous: Option<Handler>,
}

impl HandlerGuard {
    pub(crate) fn enter(handler: Option<Handler>) -> Self {
        let previous = HANDLER.with(|current| current.replace(handler));
        Self { previous }
    }
}

impl Drop for HandlerGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        HANDLER.with(|current| *current.borrow_mut() = previous);
    }
}

/// What one poll of a job's future gave.
pub(crate) enum Polled<T> {
    Ready(T),
    Panicked(Error),
    /// `shielded`: pending inside a section that must not be cut short.
    Pending {
        shielded: bool,
    },
}

/// Polls `fut` as the code of `job`: with `job` as the current job, catching
/// a panic, and restoring the caller's state afterwards.
pub(crate) fn poll_in_job<F: Future + ?Sized>(
    job: &Arc<JobCore>,
    fut: Pin<&mut F>,
    cx: &mut Context<'_>,
) -> Polled<F::Output> {
    poll_in_frame(Some(job.clone()), false, fut, cx).1
}

/// [`poll_in_job`] for a caller that owns its handle on the job: the handle
/// moves into the thread-local state for the poll and is given back, which
/// spares the two reference-count updates of a clone on the hot path.
pub(crate) fn poll_as_job<F: Future + ?Sized>(
    job: Arc<JobCore>,
    fut: Pin<&mut F>,
    cx: &mut Context<'_>,
) -> (Arc<JobCore>, Polled<F::Output>) {
    let (job, polled) = poll_in_frame(Some(job), false, fut, cx);
    (job.expect("the job polled is given back"), polled)
}

/// Polls `fut` with `job` as the current job and gives `job` back.
pub(crate) fn poll_in_frame<F: Future + ?Sized>(
    job: Option<Arc<JobCore>>,
    non_cancellable: bool,
    fut: Pin<&mut F>,
    cx: &mut Context<'_>,
) -> (Option<Arc<JobCore>>, Polled<F::Output>) {
    let saved_job = JOB.replace(job);
    let saved_flags = FLAGS.replace(if non_cancellable { NON_CANCELLABLE } else { 0 });
    let result = catch_unwind(AssertUnwindSafe(|| fut.poll(cx)));
    let shielded = FLAGS.replace(saved_flags) & SHIELDED != 0;
    let job = JOB.replace(saved_job);
    let polled = match result {
        Ok(Poll::Ready(value)) => Polled::Ready(value),
        Ok(Poll::Pending) => Polled::Pending { shielded },
        Err(payload) => Polled::Panicked(Error::panic(payload)),
    };
    (job, polled)
}
