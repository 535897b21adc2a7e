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
//! The scope then keeps a [`PoolChild`]: a link it shares with the task,
//! holding the work until its first run (when that is not its adoption),
//! the task's waker, and, once the task has ended, its outcome. The task
//! runs the work as the child's job, so a cancel of the job is seen by the
//! work at once (its next cancellation-aware call fails); the cancel also
//! queues the job in its scope, which wakes the task through the link, so
//! that work suspended anywhere is resumed with it (R7). However the task
//! ends (its work returned, its work's drop panicked, it was aborted, its
//! runtime shut down), it leaves its outcome in the link and queues the job
//! once more as its future is dropped; the scope then takes the outcome and
//! completes the child as any other.
//!
//! The scope keeps no `JoinHandle`: it is dropped at the spawn, so the
//! scope's thread (which every child's completion goes through, SPEC §6
//! W1p) does not read the output through tokio's handle, and the work's
//! output is let go on the worker that ran it. The task's own memory is
//! still freed by the scope's thread, which allocated it: the link keeps
//! the task's waker (a reference to the task) until the scope drops the
//! link. Letting the worker free it instead was measured slower: glibc
//! hands a block freed on another thread back to its arena under a lock.
//! Dropping the child (R10) asks the task to stop instead of calling
//! `abort`: the link says so and wakes the task, which drops its work at
//! that poll without polling it (what tokio's abort does, at the same
//! point: the task's next suspension).

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use futures_util::task::AtomicWaker;
use tokio::runtime::Handle;

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
    /// sharing `link` with the scope.
    fn spawn(
        self: Box<Self>,
        runtime: &Handle,
        job: Arc<JobCore>,
        handler: Option<Handler>,
        link: Arc<Link>,
    );
}

impl<W: TaskWork> Spawn for W {
    fn spawn(
        self: Box<Self>,
        runtime: &Handle,
        job: Arc<JobCore>,
        handler: Option<Handler>,
        link: Arc<Link>,
    ) {
        spawn_on(runtime, *self, job, handler, link);
    }
}

fn spawn_on<W: TaskWork>(
    runtime: &Handle,
    work: W,
    job: Arc<JobCore>,
    handler: Option<Handler>,
    link: Arc<Link>,
) {
    // The handle is not kept: the outcome comes through the link, and a
    // drop of the child stops the task through it (see the module's docs).
    drop(runtime.spawn(Task {
        ran: false,
        work: Some(work),
        end: TaskEnd {
            link: Some(link),
            job,
            handler,
            ended: false,
        },
    }));
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
    let link = Arc::new(Link::new(work.task_sink(), State::Running));
    spawn_on(&runtime, work, job.clone(), handler, link.clone());
    Ok(PoolChild { link })
}

/// A `parallel` child whose first run comes later (a lazy one, one under
/// a `limit`): its work waits in the link until `PoolChild::run`.
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

/// What an entry of a `parallel` child found.
pub(crate) enum Run {
    /// Its first run: it spawned its task.
    Spawned,
    /// Its first run, outside a tokio runtime: it could not be spawned.
    NoRuntime,
    /// Its task runs (a cancel has woken it, if this entry was one).
    Running,
    /// Its task has ended, with this outcome.
    Ended(Result<()>),
}

/// A `parallel` child as its scope keeps it once adopted: one word in the
/// child's slot (a slot stays the size of an in-place child's).
pub struct PoolChild {
    link: Arc<Link>,
}

/// What the scope and the task share: the task's waker, whether the scope
/// let go of the child (R10), and, under the lock, the work until its
/// first run, then the task's outcome once it has ended; and where a
/// supervised failure goes (kept here, not sent with the outcome: a task
/// that ends without returning one, as when its work's drop panics, still
/// has it).
struct Link {
    waker: AtomicWaker,
    /// The child was dropped with its scope: the task drops its work at
    /// its next poll.
    dropped: AtomicBool,
    state: Mutex<State>,
    sink: Option<TaskSink>,
}

enum State {
    Unspawned(Box<dyn Spawn>),
    Running,
    Ended(Result<()>),
    /// The outcome was taken, or the work was dropped unspawned.
    Gone,
}

impl Link {
    fn new(sink: Option<TaskSink>, state: State) -> Self {
        Self {
            waker: AtomicWaker::new(),
            dropped: AtomicBool::new(false),
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
    /// An entry of the child (one lock): its first run spawns the work as
    /// the task of `job` under `handler`, if its adoption did not; after a
    /// cancel (`was_cancelled`) it wakes the task, so that the work is
    /// resumed with the cancellation wherever it is suspended (R7); once the
    /// task has ended, it takes the outcome.
    pub(crate) fn run(
        &self,
        job: &Arc<JobCore>,
        handler: impl FnOnce() -> Option<Handler>,
        was_cancelled: bool,
    ) -> Run {
        let mut state = lock(&self.link.state);
        match std::mem::replace(&mut *state, State::Gone) {
            State::Unspawned(work) => {
                let Ok(runtime) = Handle::try_current() else {
                    *state = State::Unspawned(work);
                    return Run::NoRuntime;
                };
                *state = State::Running;
                drop(state);
                work.spawn(&runtime, job.clone(), handler(), self.link.clone());
                Run::Spawned
            }
            State::Running => {
                *state = State::Running;
                drop(state);
                // Every entry after a cancel says so; waking the task again
                // costs it a poll at most.
                if was_cancelled {
                    self.link.waker.wake();
                }
                Run::Running
            }
            State::Ended(outcome) => Run::Ended(outcome),
            // Taken already: a late entry finds nothing new.
            State::Gone => Run::Running,
        }
    }

    /// Where a supervised failure goes (`async` children).
    pub(crate) fn sink(&self) -> Option<TaskSink> {
        self.link.sink.clone()
    }
}

/// R10: a child dropped with its scope's future stops its task, which
/// drops its work at its next poll (a task inside a poll finishes that
/// poll first); one never spawned drops its work here.
impl Drop for PoolChild {
    fn drop(&mut self) {
        let state = std::mem::replace(&mut *lock(&self.link.state), State::Gone);
        if let State::Running = state {
            self.link.dropped.store(true, Ordering::Release);
            self.link.waker.wake();
        }
    }
}

/// The task's end, dropped last of its fields: the task's outcome is in
/// the link by then (however the task ended: its work returned, the drop
/// of its work panicked, it was stopped, its runtime shut down), and
/// dropping this queues the job in its scope, which takes the outcome at
/// that entry.
///
/// No bigger than the handle it replaces: tokio moves a task's whole
/// future and output around in its stage (three times per task), and a few
/// words more turn each move into a `memcpy` call.
struct TaskEnd {
    /// Until the task is dropped (`Drop` lets go of it inside a catch).
    link: Option<Arc<Link>>,
    job: Arc<JobCore>,
    /// The scope's exception handler, in force while the work runs.
    handler: Option<Handler>,
    /// The outcome is in the link.
    ended: bool,
}

impl TaskEnd {
    fn end_with(&mut self, outcome: Result<()>) {
        self.ended = true;
        let mut state = lock(&self.link().state);
        // Unless the scope let go of the child (R10): nobody takes it.
        if let State::Running = *state {
            *state = State::Ended(outcome);
        }
    }
}

impl TaskEnd {
    fn link(&self) -> &Link {
        self.link
            .as_deref()
            .expect("the link is let go only as the task drops")
    }
}

impl Drop for TaskEnd {
    fn drop(&mut self) {
        // The task's pinned drop, which runs first, left the outcome.
        self.job.schedule();
        // The scope may have taken the outcome and let go of its side
        // already: then this is the link's last reference, and with it
        // goes an `async` child's value kept for failures (the sink), which
        // may panic as it is dropped. Caught, and reported as the scope's
        // handler is for what has no result to go to (R4: never lost).
        let link = self.link.take();
        if let Err(payload) = catch_unwind(AssertUnwindSafe(|| drop(link))) {
            let panic = Error::panic(payload).with_origin(&self.job.name);
            handler::report(self.handler.as_ref(), &panic);
        }
    }
}

pin_project_lite::pin_project! {
    /// The tokio task of a `parallel` child: the work itself, not boxed
    /// again (the task is tokio's box), run as the child's job.
    struct Task<W> {
        // The task has been polled: its waker is in the link.
        ran: bool,
        #[pin]
        work: Option<W>,
        end: TaskEnd,
    }

    /// Dropped before it ended (its runtime shut down): the child ends
    /// cancelled, or failed if dropping its work panics; nobody holds
    /// tokio's handle to read that panic from. Before the fields: the
    /// outcome is in the link when `TaskEnd` queues the job.
    impl<W> PinnedDrop for Task<W> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if !this.end.ended {
                let outcome = drop_work(this.work, Err(Error::cancelled()));
                this.end.end_with(outcome);
            }
        }
    }
}

impl<W: TaskWork> Future for Task<W> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut this = self.project();
        let end = this.end;
        let (ran, work) = (this.ran, this.work.as_mut());
        let polled = catch_unwind(AssertUnwindSafe(|| {
            run_work(ran, &end.handler, work, end.link(), &end.job, cx)
        }));
        let outcome = match polled {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(outcome)) => outcome,
            // A panic outside the work, whose own are caught where it is
            // polled (a `tracing` subscriber entering its span): the
            // child's failure, with the work dropped.
            Err(payload) => drop_work(this.work, Err(Error::panic(payload))),
        };
        end.end_with(outcome);
        Poll::Ready(())
    }
}

/// A poll of a `parallel` child's task: its work's outcome once it has
/// ended and been dropped.
fn run_work<W: TaskWork>(
    ran: &mut bool,
    handler: &Option<Handler>,
    mut work: Pin<&mut Option<W>>,
    link: &Link,
    job: &Arc<JobCore>,
    cx: &mut Context<'_>,
) -> Poll<Result<()>> {
    let first = !*ran;
    // Left before the flags are read below: a cancel or a drop of the
    // child either finds this waker or is seen by this poll. At the first
    // poll, and again once cancelled, since the cancel's wake took it (a
    // drop of the child may still need it); a tokio task's own future is
    // always polled with that task's waker.
    if first || job.is_cancelled() {
        *ran = true;
        link.waker.register(cx.waker());
    }
    // R10: the scope let go of the child; its work is dropped unpolled.
    if link.dropped.load(Ordering::Acquire) {
        return Poll::Ready(drop_work(work, Err(Error::cancelled())));
    }
    // Cancelled before the task first ran: the work never runs (R7), as an
    // in-place child cancelled before its first poll (Kotlin checks for
    // cancellation as a dispatched coroutine starts).
    if first && job.is_cancelled() {
        return Poll::Ready(drop_work(work, Err(job.cancellation_error())));
    }
    let _span = job.span().map(Span::enter);
    let _handler = handler::enter_scope(handler);
    let Some(running) = work.as_mut().as_pin_mut() else {
        return Poll::Ready(Err(Error::cancelled())); // polled after it ended
    };
    let was_cancelled = job.is_cancelled();
    let Poll::Ready(ended) = context::resume(job, running, cx, was_cancelled, false, false) else {
        return Poll::Pending;
    };
    // R11: cancelled and still `Ok` ends cancelled.
    let result = job.ended(ended.and_then(|result| result));
    Poll::Ready(drop_work(work, result))
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
