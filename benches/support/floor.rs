//! The safe floor: the least a structured scope written in safe Rust does
//! per child, as a reference for SPEC §6's targets (benches/floor.rs).
//!
//! (Reworked: lazy records.) A child starts as its boxed future only, and
//! is polled with the scope's one shared waker. The shared waker only
//! notes "the child being polled on this thread woke itself". A child that
//! returns `Pending` without having woken itself may have kept the shared
//! waker, so it is given its own `'static` record (its waker) and polled
//! again at once with that waker (a spurious poll, which every future must
//! accept): from then on only its record's waker is current (the `Future`
//! contract), so no wake is lost, and a stale shared waker only causes a
//! spurious poll. A child that completes, or only ever yields, never gets
//! a record: one allocation per child (its box). A child that blocks gets
//! two (box and record), as before.
//!
//! R1, R2, R7: the scope waits for every child; the first failure cancels
//! the rest; a cancelled child is resumed once (its `yield_now` or `delay`
//! fails) and dropped if it is still pending.
//!
//! A `parallel` child is its work, boxed until the scope adopts it (R14),
//! and a tokio task spawned then; the task reports its end through a guard
//! (pushes its slot on the scope's locked list), after which the scope
//! polls its `JoinHandle`. Its work sees a cancel at its next poll; one
//! still pending after the cancel is aborted.
//!
//! Everything else `scopes` does per child is left out (names, job
//! records, registry, spans, one FIFO per tree, panics caught per child,
//! handlers, `limit`, lazy starts).

use std::cell::Cell;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering::*};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use futures_util::task::{ArcWake, waker_ref};

pub type BoxFuture<'s, E> = Pin<Box<dyn Future<Output = Result<(), E>> + Send + 's>>;

thread_local! {
    /// The queue of the scope draining its children on this thread.
    static DRAINING: Cell<usize> = const { Cell::new(0) };
    /// Whether the child being polled is cancelled.
    static CANCELLED: Cell<bool> = const { Cell::new(false) };
}

/// A scope's `'static` part: its shared waker, its locked list of slots
/// woken from outside its drain, and its cancel flag (for its tasks).
struct Queue {
    remote: Mutex<Remote>,
    /// The shared waker was woken on the draining thread (by the child
    /// being polled).
    woken: AtomicBool,
    cancelled: AtomicBool,
}

struct Remote {
    ready: Vec<usize>,
    waker: Option<Waker>,
}

impl Queue {
    fn push(&self, slot: usize) {
        let mut remote = self.remote.lock().unwrap();
        remote.ready.push(slot);
        // Only the first push after a take wakes the scope; none while it
        // drains on this thread (it takes the list before it stops).
        if remote.ready.len() == 1
            && DRAINING.get() != self as *const Queue as usize
            && let Some(waker) = &remote.waker
        {
            waker.wake_by_ref();
        }
    }
}

impl ArcWake for Queue {
    /// The shared waker: marks a wake by the child being polled; any other
    /// wake is stale (that child has its own record since) or races its
    /// poll (and it is polled again with its own waker).
    fn wake_by_ref(arc_self: &Arc<Self>) {
        if DRAINING.get() == Arc::as_ptr(arc_self) as usize {
            arc_self.woken.store(true, Relaxed);
        }
    }
}

const IDLE: u8 = 0;
const QUEUED: u8 = 1;
const POLLING: u8 = 2;

/// A blocked child's `'static` part: what its own waker points at.
struct Record {
    state: AtomicU8,
    slot: usize,
    queue: Arc<Queue>,
}

impl ArcWake for Record {
    fn wake_by_ref(arc_self: &Arc<Self>) {
        // IDLE -> QUEUED: push; POLLING -> POLLING|QUEUED: the driver
        // requeues it after the poll; already queued: nothing.
        if arc_self.state.fetch_or(QUEUED, AcqRel) == IDLE {
            arc_self.queue.push(arc_self.slot);
        }
    }
}

/// A `parallel` child's task reports its end (or its drop) to the scope.
struct Done {
    queue: Arc<Queue>,
    slot: usize,
}

impl Drop for Done {
    fn drop(&mut self) {
        self.queue.push(self.slot);
    }
}

enum Work<'s, E> {
    Here(BoxFuture<'s, E>),
    Unspawned(BoxFuture<'static, E>),
}

enum Child<'s, E> {
    Here(BoxFuture<'s, E>),
    Task(tokio::task::JoinHandle<Result<(), E>>),
}

impl<E> Child<'_, E> {
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), E>> {
        match self {
            Child::Here(fut) => fut.as_mut().poll(cx),
            Child::Task(task) => Pin::new(task)
                .poll(cx)
                .map(|ended| ended.expect("a parallel child panicked")),
        }
    }
}

struct Shared<'s, E> {
    started: Mutex<Vec<Work<'s, E>>>,
    any: AtomicBool,
}

/// A scope's handle: starts children.
pub struct Scope<'s, E> {
    shared: Arc<Shared<'s, E>>,
}

impl<'s, E> Scope<'s, E> {
    /// Starts `fut` as a child; it first runs once the body suspends.
    pub fn launch(&self, fut: impl Future<Output = Result<(), E>> + Send + 's) {
        self.start(Work::Here(Box::pin(fut)));
    }

    /// Starts `fut` as a tokio task, spawned once the body suspends (it
    /// waits boxed until then, as a child in place does). It sees a cancel
    /// at its next poll.
    pub fn launch_parallel(&self, fut: impl Future<Output = Result<(), E>> + Send + 'static)
    where
        E: Send + 'static,
    {
        self.start(Work::Unspawned(Box::pin(fut)));
    }

    fn start(&self, work: Work<'s, E>) {
        self.shared.started.lock().unwrap().push(work);
        self.shared.any.store(true, Relaxed);
    }
}

/// A child in the FIFO: without a record (its box) or in a slot.
enum Entry<'s, E> {
    Fresh(BoxFuture<'s, E>),
    Slot(usize),
}

struct Slot<'s, E> {
    record: Option<Arc<Record>>,
    child: Child<'s, E>,
}

struct Driver<'s, E> {
    shared: Arc<Shared<'s, E>>,
    queue: Arc<Queue>,
    body: Option<BoxFuture<'s, E>>,
    slots: Vec<Option<Slot<'s, E>>>,
    vacant: Vec<usize>,
    live: usize,
    fifo: VecDeque<Entry<'s, E>>,
    spare: Vec<Work<'s, E>>,
    taken: Vec<usize>,
    failed: Option<E>,
    cancelled: bool,
}

impl<'s, E: Send + 'static> Driver<'s, E> {
    /// R7: every child is polled once more, then dropped if pending.
    fn cancel(&mut self) {
        if std::mem::replace(&mut self.cancelled, true) {
            return;
        }
        self.body = None;
        self.queue.cancelled.store(true, Release);
        // Fresh children are in the FIFO already; a slot queued twice is
        // vacated at its first poll.
        for (idx, slot) in self.slots.iter().enumerate() {
            if slot.is_some() {
                self.fifo.push_back(Entry::Slot(idx));
            }
        }
    }

    fn fail(&mut self, error: E) {
        self.failed.get_or_insert(error);
        self.cancel();
    }

    fn alloc_slot(&mut self) -> usize {
        self.vacant.pop().unwrap_or_else(|| {
            self.slots.push(None);
            self.slots.len() - 1
        })
    }

    fn adopt(&mut self) {
        if !self.shared.any.load(Relaxed) {
            return;
        }
        let mut started = std::mem::take(&mut self.spare);
        {
            let mut shared = self.shared.started.lock().unwrap();
            std::mem::swap(&mut started, &mut *shared);
            self.shared.any.store(false, Relaxed);
        }
        self.fifo.reserve(started.len());
        self.live += started.len();
        let parallel = started
            .iter()
            .filter(|work| matches!(work, Work::Unspawned(_)))
            .count();
        self.slots
            .reserve(parallel.saturating_sub(self.vacant.len()));
        for work in started.drain(..) {
            match work {
                Work::Here(fut) => self.fifo.push_back(Entry::Fresh(fut)),
                Work::Unspawned(fut) => {
                    let idx = self.alloc_slot();
                    let done = Done {
                        queue: self.queue.clone(),
                        slot: idx,
                    };
                    let task = tokio::spawn(cancellable(done, fut));
                    self.slots[idx] = Some(Slot {
                        record: None,
                        child: Child::Task(task),
                    });
                }
            }
        }
        self.spare = started;
    }

    fn vacate(&mut self, idx: usize) {
        if let Some(slot) = self.slots[idx].take()
            && let Some(record) = &slot.record
        {
            record.state.store(QUEUED, Relaxed); // stale wakes: nothing
        }
        self.vacant.push(idx);
        self.live -= 1;
    }

    /// A child without a record: polled with the shared waker.
    fn poll_fresh(&mut self, mut fut: BoxFuture<'s, E>) {
        self.queue.woken.store(false, Relaxed);
        let polled = {
            let waker = waker_ref(&self.queue);
            fut.as_mut().poll(&mut Context::from_waker(&waker))
        };
        match polled {
            Poll::Ready(result) => {
                drop(fut);
                self.live -= 1;
                if let Err(e) = result {
                    self.fail(e);
                }
            }
            Poll::Pending if self.cancelled => {
                drop(fut);
                self.live -= 1;
            }
            Poll::Pending if self.queue.woken.load(Relaxed) => {
                self.fifo.push_back(Entry::Fresh(fut));
            }
            Poll::Pending => {
                // It may keep the shared waker: its own record, and poll
                // it again with that.
                let idx = self.alloc_slot();
                self.slots[idx] = Some(Slot {
                    record: None,
                    child: Child::Here(fut),
                });
                self.poll_slot(idx);
            }
        }
    }

    fn poll_slot(&mut self, idx: usize) {
        let cancelled = self.cancelled;
        loop {
            let Some(slot) = self.slots[idx].as_mut() else {
                return;
            };
            let polled = match &slot.record {
                Some(record) => {
                    if !cancelled {
                        record.state.swap(POLLING, AcqRel);
                    }
                    let waker = waker_ref(record);
                    slot.child.poll(&mut Context::from_waker(&waker))
                }
                None => {
                    self.queue.woken.store(false, Relaxed);
                    let waker = waker_ref(&self.queue);
                    slot.child.poll(&mut Context::from_waker(&waker))
                }
            };
            match polled {
                Poll::Ready(result) => {
                    self.vacate(idx);
                    if let Err(e) = result {
                        self.fail(e);
                    }
                }
                // Resumed once after its cancel and still pending: dropped.
                Poll::Pending if cancelled => {
                    if let Child::Task(task) = &slot.child {
                        task.abort();
                    }
                    self.vacate(idx);
                }
                Poll::Pending => match &slot.record {
                    Some(record) => {
                        if record
                            .state
                            .compare_exchange(POLLING, IDLE, AcqRel, Acquire)
                            .is_err()
                        {
                            record.state.store(QUEUED, Relaxed);
                            self.fifo.push_back(Entry::Slot(idx));
                        }
                    }
                    None if self.queue.woken.load(Relaxed) => {
                        self.fifo.push_back(Entry::Slot(idx));
                    }
                    None => {
                        slot.record = Some(Arc::new(Record {
                            state: AtomicU8::new(IDLE),
                            slot: idx,
                            queue: self.queue.clone(),
                        }));
                        continue; // polled again with its own waker
                    }
                },
            }
            return;
        }
    }

    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), E>> {
        if CANCELLED.get() {
            self.cancel(); // the host child was cancelled
        }
        if let Some(body) = &mut self.body {
            match body.as_mut().poll(cx) {
                Poll::Ready(Ok(())) => self.body = None,
                Poll::Ready(Err(e)) => self.fail(e),
                Poll::Pending => {}
            }
        }
        let outer_draining = DRAINING.replace(Arc::as_ptr(&self.queue) as usize);
        let outer_cancelled = CANCELLED.get();
        let mut spent = false;
        loop {
            self.adopt();
            let entry = match self.fifo.pop_front() {
                Some(entry) => entry,
                None => {
                    if self.live == 0 {
                        break;
                    }
                    // Take what woke from outside; register the waker
                    // before stopping (under the same lock).
                    let mut remote = self.queue.remote.lock().unwrap();
                    if remote.ready.is_empty() {
                        if !remote
                            .waker
                            .as_ref()
                            .is_some_and(|w| w.will_wake(cx.waker()))
                        {
                            remote.waker = Some(cx.waker().clone());
                        }
                        break;
                    }
                    std::mem::swap(&mut self.taken, &mut remote.ready);
                    drop(remote);
                    self.fifo.extend(self.taken.drain(..).map(Entry::Slot));
                    continue;
                }
            };
            if !tokio::task::coop::has_budget_remaining() {
                // tokio's budget for this task is spent (polling a
                // `JoinHandle` spends it): yield to the runtime.
                self.fifo.push_front(entry);
                spent = true;
                break;
            }
            CANCELLED.set(self.cancelled);
            match entry {
                Entry::Fresh(fut) => self.poll_fresh(fut),
                Entry::Slot(idx) => self.poll_slot(idx),
            }
        }
        DRAINING.set(outer_draining);
        CANCELLED.set(outer_cancelled);
        if spent {
            cx.waker().wake_by_ref();
        }
        if self.body.is_some() || self.live > 0 {
            return Poll::Pending;
        }
        Poll::Ready(self.failed.take().map_or(Ok(()), Err))
    }
}

/// A `parallel` child's work as its task runs it: with its scope's
/// cancellation in force at each poll; reports its end when dropped.
async fn cancellable<E>(done: Done, mut fut: BoxFuture<'static, E>) -> Result<(), E> {
    std::future::poll_fn(move |cx| {
        let outer = CANCELLED.replace(done.queue.cancelled.load(Acquire));
        let polled = fut.as_mut().poll(cx);
        CANCELLED.set(outer);
        polled
    })
    .await
}

/// A scope: `body` starts children; returns once all have completed, with
/// the first failure, which cancels the rest.
pub async fn scope<'s, E: Send + 'static>(
    body: impl FnOnce(Scope<'s, E>) -> BoxFuture<'s, E>,
) -> Result<(), E> {
    let queue = Arc::new(Queue {
        remote: Mutex::new(Remote {
            ready: Vec::new(),
            waker: None,
        }),
        woken: AtomicBool::new(false),
        cancelled: AtomicBool::new(false),
    });
    let shared = Arc::new(Shared {
        started: Mutex::new(Vec::new()),
        any: AtomicBool::new(false),
    });
    let body = body(Scope {
        shared: shared.clone(),
    });
    let mut driver = Driver {
        shared,
        queue,
        body: Some(body),
        slots: Vec::new(),
        vacant: Vec::new(),
        live: 0,
        fifo: VecDeque::new(),
        spare: Vec::new(),
        taken: Vec::new(),
        failed: None,
        cancelled: false,
    };
    std::future::poll_fn(move |cx| driver.poll(cx)).await
}

/// Yields once; fails in a cancelled child.
pub async fn yield_now() -> Result<(), ()> {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if CANCELLED.get() {
            return Poll::Ready(Err(()));
        }
        if std::mem::replace(&mut yielded, true) {
            return Poll::Ready(Ok(()));
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    })
    .await
}

/// Sleeps for `duration`; fails in a cancelled child.
pub async fn delay(duration: std::time::Duration) -> Result<(), ()> {
    let mut sleep = std::pin::pin!(tokio::time::sleep(duration));
    std::future::poll_fn(|cx| {
        if CANCELLED.get() {
            return Poll::Ready(Err(()));
        }
        sleep.as_mut().poll(cx).map(Ok)
    })
    .await
}
