//! `parallel` children: tokio tasks their scope tracks directly.
//!
//! A `parallel` child is one job record and one tokio task, as a child of
//! `JoinSet` is one task. Its work waits boxed as any child's future until
//! its scope takes it; its first run spawns it ([`spawn`]), where an in-place
//! child would first be polled: at its adoption for a child started at its
//! launch (so it first runs once its parent suspends, in start order:
//! R14), at its start for a lazy one, at its admission under a `limit`. A
//! child cancelled before that never runs (R7).
//!
//! The scope then keeps a [`PoolChild`]: the work until its first run (when
//! that is not its adoption), then the task's handle, and the slot where
//! the task leaves its waker. The task
//! runs the work as the child's job, so a cancel of the job is seen by the
//! work at once (its next cancellation-aware call fails); the cancel also
//! queues the job in its scope, which wakes the task through that slot, so
//! that work suspended anywhere is resumed with it (R7). However the task
//! ends (its work returned, its work's drop panicked, it was aborted, its
//! runtime shut down), it queues the job once more as its future is
//! dropped; the scope then takes the outcome from the handle (or is woken
//! through it, when the outcome is not there yet) and completes the child
//! as any other. Dropping the child aborts the task (R10), which stops at
//! its next suspension point.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use futures_util::task::AtomicWaker;
use tokio::runtime::Handle;
use tokio::task::JoinHandle;
use tokio::task::coop::unconstrained;

use super::context;
use super::handler::{self, FailureSink, Handler};
use super::job::JobCore;
use super::trace::Span;
use crate::error::{Error, Result};

/// Where a supervised failure of a `parallel` `async` child goes: its
/// `Deferred`'s slot.
pub(crate) type TaskSink = Arc<dyn FailureSink + Send + Sync>;

/// The work of a `parallel` child, as its task runs it: a `launch` or
/// `async` child's future (the latter leaves its value in its `Deferred`).
pub(crate) trait TaskWork: Future<Output = Result<()>> + Send + 'static {
    /// Where a failure in a `supervisor_scope` is kept (`async` children).
    fn task_sink(&self) -> Option<TaskSink>;
}

/// A `parallel` child's work waiting for its first run in its scope's
/// slot (a lazy child, one under a `limit`): boxed again, `Send` and
/// `'static`, so that the link can hold it.
trait Spawn: Send + 'static {
    /// Spawns the work as the task of `job` on `runtime`, under `handler`,
    /// leaving its waker in `link`.
    fn spawn(
        self: Box<Self>,
        runtime: &Handle,
        job: Arc<JobCore>,
        handler: Option<Handler>,
        link: Arc<Link>,
    ) -> JoinHandle<Result<()>>;
}

impl<W: TaskWork> Spawn for W {
    fn spawn(
        self: Box<Self>,
        runtime: &Handle,
        job: Arc<JobCore>,
        handler: Option<Handler>,
        link: Arc<Link>,
    ) -> JoinHandle<Result<()>> {
        spawn_on(runtime, *self, job, handler, link)
    }
}

fn spawn_on<W: TaskWork>(
    runtime: &Handle,
    work: W,
    job: Arc<JobCore>,
    handler: Option<Handler>,
    link: Arc<Link>,
) -> JoinHandle<Result<()>> {
    runtime.spawn(Task {
        link,
        ran: false,
        handler,
        work: Some(work),
        job: JobHold(job),
    })
}

/// Spawns `work` as the task of `job`, under `handler` (the scope's, as
/// for a child polled in place): a `parallel` child's first run at its
/// adoption. Gives the work back when there is no tokio runtime to spawn
/// it on.
pub(crate) fn spawn<W: TaskWork>(
    work: W,
    job: &Arc<JobCore>,
    handler: Option<Handler>,
) -> std::result::Result<PoolChild, W> {
    let Ok(runtime) = Handle::try_current() else {
        return Err(work);
    };
    // The task needs the link before its handle exists: the link says
    // `Ended` for the moment in between, which only the scope reads.
    let link = Arc::new(Link::new(work.task_sink(), State::Ended));
    let handle = spawn_on(&runtime, work, job.clone(), handler, link.clone());
    *lock(&link.state) = State::Running(handle);
    Ok(PoolChild { link })
}

/// A `parallel` child whose first run comes later (a lazy one, one under
/// a `limit`): its work waits in the link until `PoolChild::spawn`.
pub(crate) fn unspawned<W: TaskWork>(work: W) -> PoolChild {
    let sink = work.task_sink();
    let link = Link::new(sink, State::Unspawned(Box::new(work)));
    PoolChild {
        link: Arc::new(link),
    }
}

/// The error of a `parallel` child that could not be spawned.
pub(crate) fn no_runtime() -> Error {
    Error::msg(
        "a `parallel` child runs as a tokio task: its scope must be polled inside a tokio runtime",
    )
}

/// What a child's first run did.
pub(crate) enum FirstRun {
    /// Spawned its task.
    Spawned,
    /// Nothing: it was spawned before.
    AlreadySpawned,
    /// It could not be spawned: the scope is polled outside a tokio
    /// runtime.
    NoRuntime,
}

/// A `parallel` child as its scope keeps it once adopted: one word in the
/// child's slot (a slot stays the size of an in-place child's).
pub struct PoolChild {
    link: Arc<Link>,
}

/// What the scope and the task share: where the task leaves its waker;
/// and, for the scope alone (the lock is only for `Sync`), the work until
/// its first run or the task's handle, and where a supervised failure goes
/// (kept here, not sent with the outcome: a task that ends without
/// returning one, as when its work's drop panics, still has it).
struct Link {
    waker: AtomicWaker,
    state: Mutex<State>,
    sink: Option<TaskSink>,
}

enum State {
    Unspawned(Box<dyn Spawn>),
    Running(JoinHandle<Result<()>>),
    Ended,
}

impl Link {
    fn new(sink: Option<TaskSink>, state: State) -> Self {
        Self {
            waker: AtomicWaker::new(),
            sink,
            state: Mutex::new(state),
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing panics while the lock is held; recover anyway.
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl PoolChild {
    /// Its first run, when its adoption did not spawn it: spawns the work
    /// as the task of `job` under `handler`.
    pub(crate) fn spawn(&self, job: &Arc<JobCore>, handler: Option<Handler>) -> FirstRun {
        let mut state = lock(&self.link.state);
        if !matches!(*state, State::Unspawned(_)) {
            return FirstRun::AlreadySpawned;
        }
        let Ok(runtime) = Handle::try_current() else {
            return FirstRun::NoRuntime;
        };
        if let State::Unspawned(work) = std::mem::replace(&mut *state, State::Ended) {
            let link = self.link.clone();
            *state = State::Running(work.spawn(&runtime, job.clone(), handler, link));
        }
        FirstRun::Spawned
    }

    /// Where a supervised failure goes (`async` children).
    pub(crate) fn sink(&self) -> Option<TaskSink> {
        self.link.sink.clone()
    }

    /// Wakes the task for the job's cancellation: its work is resumed with
    /// it wherever it is suspended (R7). Once is enough, and later calls do
    /// nothing: the task leaves no new waker, and from then on sees the job
    /// cancelled at every poll.
    pub(crate) fn wake_for_cancel(&self) {
        self.link.waker.wake();
    }

    /// How the task ended, once it has; until then the job (whose waker
    /// `cx` holds) is woken when it does.
    pub(crate) fn poll_end(&self, cx: &mut Context<'_>) -> Poll<Result<()>> {
        let mut state = lock(&self.link.state);
        let State::Running(handle) = &mut *state else {
            return Poll::Pending; // not spawned, or polled after it ended
        };
        // Outside tokio's cooperative budget: reading the outcome is the
        // scope's bookkeeping, not work, and a spent budget would turn the
        // read into a self-wake and a re-queue.
        let Poll::Ready(joined) = Pin::new(&mut unconstrained(handle)).poll(cx) else {
            return Poll::Pending;
        };
        *state = State::Ended;
        Poll::Ready(match joined {
            Ok(result) => result,
            // The task catches its work's panics, in its polls and its
            // drop; this one came from elsewhere in the task.
            Err(join) if join.is_panic() => Err(Error::panic(join.into_panic())),
            // Aborted by its runtime's shutdown before it ended.
            Err(_aborted) => Err(Error::cancelled()),
        })
    }
}

/// R10: a child dropped with its scope's future aborts its task (which
/// stops at its next suspension point: a task inside a poll finishes that
/// poll first); one never spawned drops its work here.
impl Drop for PoolChild {
    fn drop(&mut self) {
        let state = std::mem::replace(&mut *lock(&self.link.state), State::Ended);
        if let State::Running(handle) = &state {
            handle.abort();
        }
    }
}

/// The task's hold on its job. However the task ends (its work returned,
/// the drop of its work panicked, it was aborted, its runtime shut down),
/// dropping the hold queues the job in its scope, which takes the outcome
/// from the task's handle then (or is woken through the handle, if the
/// outcome is not there yet). The last field of the task: dropped after
/// the work.
struct JobHold(Arc<JobCore>);

impl Drop for JobHold {
    fn drop(&mut self) {
        self.0.schedule();
    }
}

pin_project_lite::pin_project! {
    /// The tokio task of a `parallel` child: the work itself, not boxed
    /// again (the task is tokio's box), run as the child's job.
    struct Task<W> {
        link: Arc<Link>,
        // The task has been polled: its waker is in the link.
        ran: bool,
        handler: Option<Handler>,
        #[pin]
        work: Option<W>,
        job: JobHold,
    }
}

impl<W: TaskWork> Future for Task<W> {
    type Output = Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        let mut this = self.project();
        let job = &this.job.0;
        // Left before the cancelled flag is read below: a cancel either
        // finds this waker or is seen by this poll. Once: this is a tokio
        // task's own future, always polled with that task's waker.
        if !*this.ran {
            *this.ran = true;
            this.link.waker.register(cx.waker());
            // Cancelled before the task first ran: the work never runs
            // (R7), as an in-place child cancelled before its first poll
            // (Kotlin checks for cancellation as a dispatched coroutine
            // starts).
            if job.is_cancelled() {
                let cancelled = Err(job.cancellation_error());
                return Poll::Ready(drop_work(this.work, cancelled));
            }
        }
        let _span = job.span().map(Span::enter);
        let _handler = handler::enter_scope(this.handler);
        let Some(work) = this.work.as_mut().as_pin_mut() else {
            return Poll::Pending; // polled after it ended
        };
        let was_cancelled = job.is_cancelled();
        let Poll::Ready(ended) = context::resume(job, work, cx, was_cancelled, false) else {
            return Poll::Pending;
        };
        // R11: cancelled and still `Ok` ends cancelled.
        let result = job.ended(ended.and_then(|result| result));
        Poll::Ready(drop_work(this.work, result))
    }
}

/// Drops the task's work once it has ended with `result`, catching a
/// panic of its drop: a failure, like a panic in its polls; with a failure
/// of its own, that one stays and the panic is suppressed by it, as for a
/// child polled in place.
fn drop_work<W>(mut work: Pin<&mut Option<W>>, result: Result<()>) -> Result<()> {
    let dropped = catch_unwind(AssertUnwindSafe(|| work.set(None)));
    let Err(payload) = dropped else {
        return result;
    };
    let panic = Error::panic(payload);
    match result {
        Err(e) if !e.is_cancellation() => Err(e.with_suppressed(vec![panic])),
        _ => Err(panic),
    }
}
