//! The job a piece of code runs in, found through thread-local state.
//!
//! Children are polled in place, inside their scope's future, so there is no
//! task per child whose locals could hold "the current job". Instead whoever
//! polls a job's future (a scope polling its body or a child, a `parallel`
//! child's task, `with_timeout`) installs the job for the length of that
//! poll, and the cancellation-aware primitives read it. The same state
//! carries what Kotlin keeps in the coroutine context: `NonCancellable`
//! (the exception handler is in `handler.rs`).

use std::cell::Cell;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use super::job::JobCore;
use crate::error::Error;

/// Inside `non_cancellable`: the job's cancellation is invisible.
const NON_CANCELLABLE: u8 = 1;
/// Set during a poll by whatever is pending in a way that must not be cut
/// short (a `non_cancellable` section, a nested scope): the job then is not
/// dropped when it stays pending after a cancellation (SPEC R7).
const SHIELDED: u8 = 2;

scoped_tls::scoped_thread_local! {
    /// The job being polled; unset outside any scope. Scoped: the poller
    /// lends its handle for the poll, so installing a job costs no
    /// reference-count update.
    static JOB: Arc<JobCore>
}

scoped_tls::scoped_thread_local! {
    /// The job a scope is polling right now (a body or a child, not the
    /// work of a timeout): a scope entered during that poll is nested in it.
    static UNIT: Arc<JobCore>
}

thread_local! {
    static FLAGS: Cell<u8> = const { Cell::new(0) };
}

/// Runs `f` with the current job, if any, and whether it is shielded by
/// `non_cancellable`.
#[inline]
fn with_job<R>(f: impl FnOnce(Option<&Arc<JobCore>>, bool) -> R) -> R {
    let non_cancellable = FLAGS.get() & NON_CANCELLABLE != 0;
    if JOB.is_set() {
        JOB.with(|job| f(Some(job), non_cancellable))
    } else {
        f(None, non_cancellable)
    }
}

/// The current job's cancellation, if it is cancelled and that is visible
/// here (not inside `non_cancellable`).
#[inline]
pub(crate) fn cancellation() -> Option<Error> {
    with_job(|job, non_cancellable| match job {
        Some(job) if !non_cancellable && job.is_cancelled() => Some(job.cancellation_error()),
        _ => None,
    })
}

/// The current job, if the code runs in one and cancellation is visible.
pub(crate) fn cancellable_parent() -> Option<Arc<JobCore>> {
    with_job(|job, non_cancellable| job.filter(|_| !non_cancellable).cloned())
}

/// Marks the job being polled as suspended in a section that must finish.
pub(crate) fn mark_shielded() {
    FLAGS.set(FLAGS.get() | SHIELDED);
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
#[inline]
pub(crate) fn poll_in_job<F: Future + ?Sized>(
    job: &Arc<JobCore>,
    fut: Pin<&mut F>,
    cx: &mut Context<'_>,
) -> Polled<F::Output> {
    JOB.set(job, || poll_in_frame(false, fut, cx))
}

/// Polls `fut` as a job its scope runs (a body or a child): like
/// [`poll_in_job`], and a scope entered during the poll nests in `job`.
#[inline]
pub(crate) fn poll_unit<F: Future + ?Sized>(
    job: &Arc<JobCore>,
    fut: Pin<&mut F>,
    cx: &mut Context<'_>,
) -> Polled<F::Output> {
    UNIT.set(job, || poll_in_job(job, fut, cx))
}

/// The job a scope is polling right now, if `waker` is that job's own
/// waker: then whoever polls with it is that job's code, and a scope
/// polled with it runs as part of that job (nested in its tree).
pub(crate) fn hosting_unit(waker: &Waker) -> Option<Arc<JobCore>> {
    if !UNIT.is_set() {
        return None;
    }
    // Compared by the data pointer alone: `will_wake` also compares the
    // vtable, whose address differs between codegen units in a release
    // build. Every waker whose data is a job's record wakes that job.
    UNIT.with(|unit| {
        let own = Arc::as_ptr(unit).cast::<()>();
        std::ptr::eq(waker.data(), own).then(|| unit.clone())
    })
}

/// R7's resume-once step, for whoever polls a job's code (a scope polling
/// its body or a child, a `parallel` child's task, the work of a timeout):
/// polls `fut` as `job`'s code, `Ready` once it has ended — with its
/// output, with a panic as a failure, or with the job's cancellation when
/// `resumed` (this poll is its resume after a cancellation) and it is still
/// suspended outside `non_cancellable`: then the caller drops it, which is
/// Rust's cancellation. A job suspended in a section that must finish
/// shields the code polling it too.
pub(crate) fn resume<F: Future + ?Sized>(
    job: &Arc<JobCore>,
    fut: Pin<&mut F>,
    cx: &mut Context<'_>,
    resumed: bool,
    unit: bool,
) -> Poll<Result<F::Output, Error>> {
    let polled = if unit {
        poll_unit(job, fut, cx)
    } else {
        poll_in_job(job, fut, cx)
    };
    match polled {
        Polled::Ready(output) => Poll::Ready(Ok(output)),
        Polled::Panicked(panic) => Poll::Ready(Err(panic)),
        Polled::Pending { shielded: false } if resumed => {
            Poll::Ready(Err(job.cancellation_error()))
        }
        Polled::Pending { shielded } => {
            if shielded {
                mark_shielded();
            }
            Poll::Pending
        }
    }
}

/// Polls `fut` in the current job, inside `non_cancellable` or not, catching
/// a panic and restoring the caller's state afterwards.
#[inline]
pub(crate) fn poll_in_frame<F: Future + ?Sized>(
    non_cancellable: bool,
    fut: Pin<&mut F>,
    cx: &mut Context<'_>,
) -> Polled<F::Output> {
    let saved_flags = FLAGS.replace(if non_cancellable { NON_CANCELLABLE } else { 0 });
    let result = catch_unwind(AssertUnwindSafe(|| fut.poll(cx)));
    let shielded = FLAGS.replace(saved_flags) & SHIELDED != 0;
    match result {
        Ok(Poll::Ready(value)) => Polled::Ready(value),
        Ok(Poll::Pending) => Polled::Pending { shielded },
        Err(payload) => Polled::Panicked(Error::panic(payload)),
    }
}
