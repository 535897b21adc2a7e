//! `parallel` children: spawned on tokio's thread pool, still children.
//!
//! The scope polls a proxy in place, as any child; at its first poll (so
//! R14's order and R7's "cancelled before it runs never runs" hold as for
//! other children) the proxy moves the work into a tokio task. Proxy and
//! task share the child's one job record: the task runs the work as that
//! job's code, so a cancel of the job is seen by the work at once (its
//! next cancellation-aware call fails), and the proxy, which the cancel
//! queues in its scope, wakes the task so that work suspended anywhere is
//! resumed with it (R7). Dropping the proxy aborts the task (R10).
//!
//! Per child this costs the job record and the proxy's box (what every
//! child costs), the tokio task, and one small shared waker slot; the work
//! future is not boxed again (tokio's task holds it).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::task::AtomicWaker;
use tokio::task::JoinHandle;
use tokio::task::coop::unconstrained;

use crate::engine::context;
use crate::engine::handler::{self, Handler};
use crate::engine::job::JobCore;
use crate::engine::trace::Span;
use crate::error::{Error, Result};

/// The in-place side of a `parallel` child whose job record is `job`.
pub(crate) fn child<T, F>(job: Arc<JobCore>, fut: F) -> Proxy<F, T>
where
    F: Future<Output = Result<T>> + Send + 'static,
    T: Send + 'static,
{
    Proxy {
        job,
        work: Some(fut),
        task: None,
    }
}

pub(crate) struct Proxy<F, T> {
    job: Arc<JobCore>,
    /// The work, until the first poll moves it (never polled) into its task.
    work: Option<F>,
    task: Option<Task<T>>,
}

/// The proxy never pins its work: the work is only moved, unpolled, into
/// the task, which pins it there. So the proxy may move freely.
impl<F, T> Unpin for Proxy<F, T> {}

/// The proxy's hold on the running task.
struct Task<T> {
    /// `None` once the task has ended. Polled outside tokio's cooperative
    /// budget: waiting for the task is the scope's bookkeeping, not work,
    /// and a spent budget would turn each poll into a self-wake and a
    /// re-queue (the scope already bounds what it runs per poll, and stops
    /// when the budget that its children's own work spends runs out).
    handle: Option<JoinHandle<Result<T>>>,
    /// The task's waker, registered by the task: how the job's
    /// cancellation wakes it.
    waker: Arc<AtomicWaker>,
    /// The task has been woken for the job's cancellation (once is enough:
    /// from then on it sees the job cancelled at every poll).
    woken_for_cancel: bool,
}

/// R10: dropping the child (its scope's future dropped) aborts the task.
impl<T> Drop for Task<T> {
    fn drop(&mut self) {
        if let Some(handle) = &self.handle {
            handle.abort();
        }
    }
}

impl<F, T> Future for Proxy<F, T>
where
    F: Future<Output = Result<T>> + Send + 'static,
    T: Send + 'static,
{
    type Output = Result<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T>> {
        let this = self.get_mut();
        if let Some(work) = this.work.take() {
            let waker = Arc::new(AtomicWaker::new());
            let remote = Remote {
                job: this.job.clone(),
                waker: waker.clone(),
                registered: false,
                // The handler in force where the child was polled: the
                // scope's, as for a child polled in place.
                handler: handler::current_handler(),
                work: Some(work),
            };
            this.task = Some(Task {
                handle: Some(tokio::spawn(remote)),
                waker,
                woken_for_cancel: false,
            });
        }
        let Some(task) = &mut this.task else {
            return Poll::Pending; // unreachable: the first poll spawned it
        };
        // The scope polls the proxy when its job is cancelled (the cancel
        // queues it): pass the wake on to the task, whose work may be
        // suspended where only a wake resumes it.
        if !task.woken_for_cancel && this.job.is_cancelled() {
            task.woken_for_cancel = true;
            task.waker.wake();
        }
        let Some(handle) = &mut task.handle else {
            return Poll::Pending; // polled after it ended
        };
        let joined = Pin::new(&mut unconstrained(handle)).poll(cx);
        if joined.is_ready() {
            task.handle = None; // ended: nothing left to abort
        }
        match joined {
            Poll::Ready(Ok(result)) => Poll::Ready(result),
            // The work's panics are caught in the task; this is one raised
            // while dropping the work.
            Poll::Ready(Err(join)) if join.is_panic() => {
                Poll::Ready(Err(Error::panic(join.into_panic())))
            }
            Poll::Ready(Err(_aborted)) => Poll::Ready(Err(Error::cancelled())),
            Poll::Pending => {
                // The task meets R7 on its own; the proxy must wait for it.
                // The job's foreign-wait mark is the task's to keep: the
                // proxy's poll (on another thread, maybe after the task's)
                // must not clear it.
                context::mark_delegated();
                Poll::Pending
            }
        }
    }
}

pin_project_lite::pin_project! {
    /// The tokio task of a `parallel` child: the work itself, not boxed
    /// again (the task is tokio's box), run as the child's job.
    struct Remote<F> {
        job: Arc<JobCore>,
        waker: Arc<AtomicWaker>,
        // The task's waker has been registered in `waker`.
        registered: bool,
        handler: Option<Handler>,
        #[pin]
        work: Option<F>,
    }
}

impl<T, F: Future<Output = Result<T>>> Future for Remote<F> {
    type Output = Result<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T>> {
        let mut this = self.project();
        // Registered before the cancelled flag is read below: a cancel
        // either finds this waker or is seen by this poll. Once: this is a
        // tokio task's own future, always polled with that task's waker.
        if !*this.registered {
            *this.registered = true;
            this.waker.register(cx.waker());
        }
        let _span = this.job.span().map(Span::enter);
        let _handler = handler::enter_scope(this.handler);
        let Some(work) = this.work.as_mut().as_pin_mut() else {
            return Poll::Pending;
        };
        let was_cancelled = this.job.is_cancelled();
        let Poll::Ready(ended) = context::resume(this.job, work, cx, was_cancelled, false) else {
            return Poll::Pending;
        };
        this.work.set(None);
        // R11: cancelled and still `Ok` ends cancelled.
        Poll::Ready(this.job.ended(ended.and_then(|result| result)))
    }
}
