//! Jobs: the state every child and scope carries (name, id, cancellation,
//! completion, who waits for it), and [`Job`], the handle of a child.

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::panic::Location;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::task::{Context, Poll, Wake, Waker};

use futures_util::task::AtomicWaker;

use crate::context;
use crate::error::{Error, Result};
use crate::ready::ReadyQueue;

/// The name of a child or scope: its `name` option, else where it started.
/// Kept unformatted so naming costs nothing until someone reads it.
#[derive(Clone)]
pub(crate) enum Name {
    Static(&'static str),
    Owned(Arc<str>),
    Location(&'static Location<'static>),
    Scope(&'static str, &'static Location<'static>),
}

impl From<Cow<'static, str>> for Name {
    fn from(name: Cow<'static, str>) -> Self {
        match name {
            Cow::Borrowed(s) => Name::Static(s),
            Cow::Owned(s) => Name::Owned(s.into()),
        }
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Name::Static(s) => f.write_str(s),
            Name::Owned(s) => f.write_str(s),
            Name::Location(at) => write!(f, "{}:{}:{}", at.file(), at.line(), at.column()),
            Name::Scope(kind, at) => {
                write!(f, "{kind} at {}:{}:{}", at.file(), at.line(), at.column())
            }
        }
    }
}

const CANCELLED: u8 = 1;
const STARTED: u8 = 2;
const COMPLETED: u8 = 4;
const QUEUED: u8 = 8;
const COMPLETING: u8 = 16;
/// Someone registered a waker; completion must take the waiters' lock.
const WAITED_ON: u8 = 32;
/// The scope has polled the child at least once.
const POLLED: u8 = 64;

/// Not yet placed in its scope's child storage.
pub(crate) const UNPLACED: usize = usize::MAX;

/// Who runs a job's future, and so what waking the job means.
pub(crate) enum Host {
    /// Polled in place by a scope: waking queues its slot index there.
    InPlace(Arc<ReadyQueue>),
    /// A `parallel` child's tokio task.
    Task(Arc<AtomicWaker>),
    /// Polled by whoever owns it (`with_timeout`): it is woken through the
    /// future it wraps.
    Inline,
}

/// How a job ended.
#[derive(Clone)]
pub(crate) enum Outcome {
    Ok,
    Failed(Error),
    Cancelled(Error),
}

/// The shared state of one job. It is also the job's waker.
///
/// The hot path (start, poll, complete without waiters) is lock-free:
/// flags are one atomic byte, the outcome and the cancellation are each set
/// once. Only waiting for a job (`join`, `.await`) takes a lock.
pub(crate) struct JobCore {
    pub(crate) id: u64,
    pub(crate) name: Name,
    flags: AtomicU8,
    /// The slot index in the scope that polls it, for `Host::InPlace`.
    idx: AtomicUsize,
    host: Host,
    outcome: OnceLock<Outcome>,
    /// What the job's cancellation-aware calls return once it is cancelled.
    cancellation: OnceLock<Error>,
    waiters: Mutex<Vec<Waker>>,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

impl JobCore {
    pub(crate) fn new(name: Name, host: Host, lazy: bool) -> Arc<Self> {
        Arc::new(Self {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            name,
            flags: AtomicU8::new(if lazy { 0 } else { STARTED }),
            idx: AtomicUsize::new(UNPLACED),
            host,
            outcome: OnceLock::new(),
            cancellation: OnceLock::new(),
            waiters: Mutex::new(Vec::new()),
        })
    }

    fn waiters(&self) -> MutexGuard<'_, Vec<Waker>> {
        // A panic never happens while the lock is held; recover anyway.
        self.waiters.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn has(&self, flag: u8) -> bool {
        self.flags.load(Ordering::Acquire) & flag != 0
    }

    pub(crate) fn is_cancelled(&self) -> bool {
        self.has(CANCELLED)
    }

    pub(crate) fn is_completed(&self) -> bool {
        self.has(COMPLETED)
    }

    pub(crate) fn is_started(&self) -> bool {
        self.has(STARTED)
    }

    pub(crate) fn is_active(&self) -> bool {
        self.flags.load(Ordering::Acquire) & (CANCELLED | COMPLETED | STARTED) == STARTED
    }

    pub(crate) fn is_completing(&self) -> bool {
        self.has(COMPLETING)
    }

    pub(crate) fn set_completing(&self) {
        self.flags.fetch_or(COMPLETING, Ordering::AcqRel);
    }

    /// Marks the first poll; true if this was it.
    pub(crate) fn first_poll(&self) -> bool {
        self.flags.fetch_or(POLLED, Ordering::AcqRel) & POLLED == 0
    }

    pub(crate) fn was_polled(&self) -> bool {
        self.has(POLLED)
    }

    /// Cancels the job with `cause` as what its calls return, and wakes it
    /// so that it is resumed. False if it was already cancelled or done.
    pub(crate) fn cancel(self: &Arc<Self>, cause: Option<&Error>) -> bool {
        if self.has(CANCELLED | COMPLETED) {
            return false;
        }
        self.cancellation
            .get_or_init(|| cause.cloned().unwrap_or_else(Error::cancelled));
        let cancelled = self
            .flags
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |flags| {
                (flags & (CANCELLED | COMPLETED) == 0).then_some(flags | CANCELLED)
            })
            .is_ok();
        if cancelled {
            self.schedule();
        }
        cancelled
    }

    pub(crate) fn cancellation_error(&self) -> Error {
        self.cancellation
            .get()
            .cloned()
            .unwrap_or_else(Error::cancelled)
    }

    /// Starts a lazy job; a no-op for one already started.
    pub(crate) fn start(self: &Arc<Self>) {
        if self.flags.fetch_or(STARTED, Ordering::AcqRel) & STARTED == 0 {
            self.schedule();
        }
    }

    pub(crate) fn place(&self, idx: usize) {
        self.idx.store(idx, Ordering::Release);
    }

    /// Clears the queued mark as the scope takes the job off its queue.
    pub(crate) fn unqueue(&self) {
        self.flags.fetch_and(!QUEUED, Ordering::AcqRel);
    }

    /// Asks whoever polls the job to poll it again.
    pub(crate) fn schedule(&self) {
        match &self.host {
            Host::InPlace(queue) => {
                let idx = self.idx.load(Ordering::Acquire);
                if idx != UNPLACED && self.flags.fetch_or(QUEUED, Ordering::AcqRel) & QUEUED == 0 {
                    queue.push(idx);
                }
            }
            Host::Task(waker) => waker.wake(),
            Host::Inline => {}
        }
    }

    pub(crate) fn register_task(&self, waker: &Waker) {
        if let Host::Task(atomic) = &self.host {
            atomic.register(waker);
        }
    }

    /// Records how the job ended and wakes everyone waiting for it. A job
    /// that was cancelled and still returned `Ok` ends cancelled (R11).
    pub(crate) fn complete(&self, outcome: Outcome) -> Outcome {
        let outcome = match outcome {
            Outcome::Ok if self.is_cancelled() => Outcome::Cancelled(self.cancellation_error()),
            other => other,
        };
        let outcome = self.outcome.get_or_init(|| outcome).clone();
        let flags = self.flags.fetch_or(COMPLETED, Ordering::SeqCst);
        if flags & WAITED_ON != 0 && flags & COMPLETED == 0 {
            let waiters = std::mem::take(&mut *self.waiters());
            waiters.into_iter().for_each(Waker::wake);
        }
        outcome
    }

    /// The outcome if done, else registers `waker` to be woken when it is.
    pub(crate) fn poll_outcome(&self, waker: &Waker) -> Option<Outcome> {
        if let Some(outcome) = self.outcome.get().filter(|_| self.is_completed()) {
            return Some(outcome.clone());
        }
        let mut waiters = self.waiters();
        if !waiters.iter().any(|w| w.will_wake(waker)) {
            waiters.push(waker.clone());
        }
        // Set under the lock: a completion that sees the mark takes the lock
        // after this registration and wakes it; one that does not has set
        // COMPLETED first, which this read sees.
        let flags = self.flags.fetch_or(WAITED_ON, Ordering::SeqCst);
        drop(waiters);
        if flags & COMPLETED != 0 {
            return self.outcome.get().cloned();
        }
        None
    }
}

impl Wake for JobCore {
    fn wake(self: Arc<Self>) {
        self.schedule();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.schedule();
    }
}

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

    /// Starts a child created with `start = lazy`; a no-op otherwise.
    pub fn start(&self) {
        self.core.start();
    }

    /// Waits until the child has completed, whatever its outcome, starting
    /// it if it is lazy. `Err` only when the caller itself is cancelled (then
    /// at once, even if the child has completed, as in Kotlin).
    ///
    /// # Cancel safety
    ///
    /// Dropping the future stops waiting and does nothing to the child.
    pub fn join(&self) -> Join<'_> {
        Join { core: &self.core }
    }

    /// Started, not completed, not cancelled.
    pub fn is_active(&self) -> bool {
        self.core.is_active()
    }

    /// Cancelled (by [`cancel`](Job::cancel), by its scope, or it ended with
    /// a cancellation).
    pub fn is_cancelled(&self) -> bool {
        self.core.is_cancelled()
    }

    /// Completed, whatever the outcome.
    pub fn is_completed(&self) -> bool {
        self.core.is_completed()
    }

    /// The `name` option, else the `file:line:col` of its `launch`/`async`.
    pub fn name(&self) -> String {
        self.core.name.to_string()
    }
}

impl fmt::Debug for Job<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        debug_job(&self.core, "Job", f)
    }
}

pub(crate) fn debug_job(core: &JobCore, ty: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    f.debug_struct(ty)
        .field("name", &format_args!("{}", core.name))
        .field("id", &core.id)
        .field("active", &core.is_active())
        .field("cancelled", &core.is_cancelled())
        .field("completed", &core.is_completed())
        .finish()
}

/// Future returned by [`Job::join`].
#[must_use = "futures do nothing unless polled"]
pub struct Join<'a> {
    core: &'a Arc<JobCore>,
}

impl Future for Join<'_> {
    type Output = Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        if let Some(cancelled) = context::cancellation() {
            return Poll::Ready(Err(cancelled));
        }
        self.core.start();
        match self.core.poll_outcome(cx.waker()) {
            Some(_) => Poll::Ready(Ok(())),
            None => Poll::Pending,
        }
    }
}
