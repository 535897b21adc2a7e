//! The job a piece of code runs in, found through a thread-local frame.
//!
//! Children are polled in place, inside their scope's future, so there is no
//! task per child whose locals could hold "the current job". Instead whoever
//! polls a job's future (a scope polling its body or a child, a `parallel`
//! child's task, `with_timeout`) installs a [`Frame`] for the length of that
//! poll, and the cancellation-aware primitives read it. The frame also
//! carries what Kotlin keeps in the coroutine context: `NonCancellable` and
//! the exception handler.

use std::cell::RefCell;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::error::Error;
use crate::handler::Handler;
use crate::job::JobCore;

#[derive(Default)]
pub(crate) struct Frame {
    /// The job being polled; `None` outside any scope.
    pub(crate) job: Option<Arc<JobCore>>,
    /// Inside `non_cancellable`: the job's cancellation is invisible.
    pub(crate) non_cancellable: bool,
    /// Set during a poll by whatever is pending in a way that must not be cut
    /// short (a `non_cancellable` section, a nested scope): the job then is
    /// not dropped when it stays pending after a cancellation (SPEC R7).
    pub(crate) shielded: bool,
    /// The handler installed by the nearest `with_exception_handler`.
    pub(crate) handler: Option<Handler>,
}

thread_local! {
    static FRAME: RefCell<Frame> = RefCell::new(Frame::default());
}

/// Runs `f` with the current frame.
pub(crate) fn with_frame<R>(f: impl FnOnce(&mut Frame) -> R) -> R {
    FRAME.with(|frame| f(&mut frame.borrow_mut()))
}

/// The current job's cancellation, if it is cancelled and that is visible
/// here (not inside `non_cancellable`).
pub(crate) fn cancellation() -> Option<Error> {
    with_frame(|frame| match &frame.job {
        Some(job) if !frame.non_cancellable && job.is_cancelled() => Some(job.cancellation_error()),
        _ => None,
    })
}

/// The current job, if the code runs in one and cancellation is visible.
pub(crate) fn cancellable_parent() -> Option<Arc<JobCore>> {
    with_frame(|frame| {
        if frame.non_cancellable {
            None
        } else {
            frame.job.clone()
        }
    })
}

pub(crate) fn current_handler() -> Option<Handler> {
    with_frame(|frame| frame.handler.clone())
}

/// Marks the job being polled as suspended in a section that must finish.
pub(crate) fn mark_shielded() {
    with_frame(|frame| frame.shielded = true);
}

/// Replaces the frame's handler for the life of the guard.
pub(crate) struct HandlerGuard {
    previous: Option<Handler>,
}

impl HandlerGuard {
    pub(crate) fn enter(handler: Option<Handler>) -> Self {
        let previous = with_frame(|frame| std::mem::replace(&mut frame.handler, handler));
        Self { previous }
    }
}

impl Drop for HandlerGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        with_frame(|frame| frame.handler = previous);
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
/// a panic, and restoring the caller's frame afterwards.
pub(crate) fn poll_in_job<F: Future + ?Sized>(
    job: &Arc<JobCore>,
    fut: Pin<&mut F>,
    cx: &mut Context<'_>,
) -> Polled<F::Output> {
    poll_in_frame(Some(job.clone()), false, fut, cx)
}

pub(crate) fn poll_in_frame<F: Future + ?Sized>(
    job: Option<Arc<JobCore>>,
    non_cancellable: bool,
    fut: Pin<&mut F>,
    cx: &mut Context<'_>,
) -> Polled<F::Output> {
    let (saved_job, saved_nc, saved_shield) = with_frame(|frame| {
        (
            std::mem::replace(&mut frame.job, job),
            std::mem::replace(&mut frame.non_cancellable, non_cancellable),
            std::mem::replace(&mut frame.shielded, false),
        )
    });
    let result = catch_unwind(AssertUnwindSafe(|| fut.poll(cx)));
    let shielded = with_frame(|frame| {
        frame.job = saved_job;
        frame.non_cancellable = saved_nc;
        std::mem::replace(&mut frame.shielded, saved_shield)
    });
    match result {
        Ok(Poll::Ready(value)) => Polled::Ready(value),
        Ok(Poll::Pending) => Polled::Pending { shielded },
        Err(payload) => Polled::Panicked(Error::panic(payload)),
    }
}
