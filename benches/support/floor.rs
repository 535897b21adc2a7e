//! The safe floor: the least a structured scope written in safe Rust does
//! per child, as a reference for SPEC §6's targets (benches/floor.rs).
//!
//! Two allocations per child, as `#![forbid(unsafe_code)]` leaves it: the
//! child's record, `'static` because a waker points at it, and the child's
//! future, which lives for the scope's borrow `'s` and so sits in a slab
//! the record indexes (the two cannot share a block without `unsafe`).
//! Wakes during the scope's own poll go to a thread-local list, others to
//! a locked list and the scope's waker. It keeps what R1, R2 and R7 need at
//! their simplest: the scope waits for every child; the first failure
//! cancels the rest; a cancelled child is resumed once (its `yield_now` or
//! `delay` fails) and dropped if it is still pending.
//!
//! A `parallel` child is its record, its work boxed until the scope adopts
//! it (R14: it runs once its parent suspends) and a tokio task, whose
//! `JoinHandle` the scope polls: three allocations. Its work sees a cancel
//! at its next poll; one still pending after the cancel is aborted.
//!
//! Everything else `scopes` does per child is left out: names, job records
//! with states and handles, the `debug::dump` registry, `tracing` spans,
//! one FIFO for a whole tree (R14: a nested scope here drains its own
//! children inside its host's poll), panics caught per child, handlers,
//! `limit`, lazy starts. Not a peer: a measure of what the SPEC's
//! features cost above it.

#![allow(dead_code)] // each bench binary uses a different part of support/

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::*};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

pub type BoxFuture<'s, E> = Pin<Box<dyn Future<Output = Result<(), E>> + Send + 's>>;

/// Where a scope's children wake to from outside its poll.
struct Queue {
    ready: Mutex<Vec<usize>>,
    waker: Mutex<Option<Waker>>,
}

/// A child's `'static` part: what its waker points at.
struct Record {
    queued: AtomicBool,
    cancelled: AtomicBool,
    slot: AtomicUsize,
    queue: Arc<Queue>,
}

thread_local! {
    /// The queue of the scope being polled on this thread (its address).
    static DRAINING: Cell<usize> = const { Cell::new(0) };
    /// Slots woken during that poll.
    static WOKEN: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
    /// Whether the child being polled is cancelled.
    static CANCELLED: Cell<bool> = const { Cell::new(false) };
}

impl Wake for Record {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref()
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.queued.swap(true, AcqRel) {
            return;
        }
        let slot = self.slot.load(Relaxed);
        if DRAINING.get() == Arc::as_ptr(&self.queue) as usize {
            WOKEN.with(|woken| woken.borrow_mut().push(slot));
            return;
        }
        self.queue.ready.lock().unwrap().push(slot);
        if let Some(waker) = &*self.queue.waker.lock().unwrap() {
            waker.wake_by_ref();
        }
    }
}

/// A child's code: polled in place, or (`parallel`) spawned as a tokio
/// task when the scope adopts it, whose handle the scope then polls.
enum Work<'s, E> {
    Here(BoxFuture<'s, E>),
    Unspawned(BoxFuture<'static, E>),
    Task(tokio::task::JoinHandle<Result<(), E>>),
}

struct Shared<'s, E> {
    started: Mutex<Vec<(Arc<Record>, Work<'s, E>)>>,
    queue: Arc<Queue>,
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
        let record = Arc::new(Record {
            queued: AtomicBool::new(true),
            cancelled: AtomicBool::new(false),
            slot: AtomicUsize::new(0),
            queue: self.shared.queue.clone(),
        });
        self.shared.started.lock().unwrap().push((record, work));
    }
}

struct Slot<'s, E> {
    record: Arc<Record>,
    waker: Waker,
    work: Work<'s, E>,
}

struct Driver<'s, E> {
    shared: Arc<Shared<'s, E>>,
    body: Option<BoxFuture<'s, E>>,
    slots: Vec<Option<Slot<'s, E>>>,
    vacant: Vec<usize>,
    live: usize,
    fifo: VecDeque<usize>,
    taken: Vec<usize>,
    failed: Option<E>,
    cancelled: bool,
}

impl<E: Send + 'static> Driver<'_, E> {
    /// R7 at its simplest: every child is marked and queued once.
    fn cancel(&mut self) {
        if std::mem::replace(&mut self.cancelled, true) {
            return;
        }
        self.body = None;
        for (idx, slot) in self.slots.iter().enumerate() {
            if let Some(slot) = slot {
                slot.record.cancelled.store(true, Release);
                if !slot.record.queued.swap(true, AcqRel) {
                    self.fifo.push_back(idx);
                }
            }
        }
    }

    fn fail(&mut self, error: E) {
        self.failed.get_or_insert(error);
        self.cancel();
    }

    fn adopt(&mut self) {
        let started = std::mem::take(&mut *self.shared.started.lock().unwrap());
        for (record, mut work) in started {
            let idx = self.vacant.pop().unwrap_or_else(|| {
                self.slots.push(None);
                self.slots.len() - 1
            });
            record.slot.store(idx, Relaxed);
            if self.cancelled {
                record.cancelled.store(true, Relaxed);
            }
            let waker = Waker::from(record.clone());
            if let Work::Unspawned(fut) = work {
                work = Work::Task(tokio::spawn(cancellable(record.clone(), fut)));
            }
            self.slots[idx] = Some(Slot {
                record,
                waker,
                work,
            });
            self.live += 1;
            self.fifo.push_back(idx);
        }
    }

    fn vacate(&mut self, idx: usize) {
        self.slots[idx] = None;
        self.vacant.push(idx);
        self.live -= 1;
    }

    fn poll_child(&mut self, idx: usize) {
        let Some(slot) = self.slots[idx].as_mut() else {
            return;
        };
        slot.record.queued.store(false, Release);
        let mut cx = Context::from_waker(&slot.waker);
        let outer = CANCELLED.replace(slot.record.cancelled.load(Acquire));
        let polled = match &mut slot.work {
            Work::Here(fut) => fut.as_mut().poll(&mut cx),
            Work::Task(task) => Pin::new(task)
                .poll(&mut cx)
                .map(|ended| ended.expect("a parallel child panicked")),
            Work::Unspawned(_) => unreachable!("spawned at its adoption"),
        };
        CANCELLED.set(outer);
        match polled {
            // Resumed once after its cancel and still pending: dropped.
            Poll::Pending if self.cancelled => {
                if let Work::Task(task) = &slot.work {
                    task.abort();
                }
                self.vacate(idx);
            }
            Poll::Pending => {}
            Poll::Ready(result) => {
                self.vacate(idx);
                if let Err(e) = result {
                    self.fail(e);
                }
            }
        }
    }

    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), E>> {
        {
            let mut waker = self.shared.queue.waker.lock().unwrap();
            if !waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                *waker = Some(cx.waker().clone());
            }
        }
        if CANCELLED.get() {
            self.cancel(); // the host child was cancelled
        }
        let outer = DRAINING.replace(Arc::as_ptr(&self.shared.queue) as usize);
        if let Some(body) = &mut self.body {
            match body.as_mut().poll(cx) {
                Poll::Ready(Ok(())) => self.body = None,
                Poll::Ready(Err(e)) => self.fail(e),
                Poll::Pending => {}
            }
        }
        loop {
            self.adopt();
            WOKEN.with(|woken| self.fifo.extend(woken.borrow_mut().drain(..)));
            if self.fifo.is_empty() {
                std::mem::swap(
                    &mut self.taken,
                    &mut *self.shared.queue.ready.lock().unwrap(),
                );
                self.fifo.extend(self.taken.drain(..));
            }
            let Some(idx) = self.fifo.pop_front() else {
                break;
            };
            if !tokio::task::coop::has_budget_remaining() {
                // tokio's budget for this task is spent (polling a
                // `JoinHandle` spends it): yield to the runtime.
                self.fifo.push_front(idx);
                cx.waker().wake_by_ref();
                break;
            }
            self.poll_child(idx);
        }
        DRAINING.set(outer);
        if self.body.is_some() || self.live > 0 {
            return Poll::Pending;
        }
        Poll::Ready(self.failed.take().map_or(Ok(()), Err))
    }
}

/// A `parallel` child's work as its task runs it: with its cancellation
/// in force at each poll.
async fn cancellable<E>(record: Arc<Record>, mut fut: BoxFuture<'static, E>) -> Result<(), E> {
    std::future::poll_fn(move |cx| {
        let outer = CANCELLED.replace(record.cancelled.load(Acquire));
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
        ready: Mutex::new(Vec::new()),
        waker: Mutex::new(None),
    });
    let shared = Arc::new(Shared {
        started: Mutex::new(Vec::new()),
        queue,
    });
    let body = body(Scope {
        shared: shared.clone(),
    });
    let mut driver = Driver {
        shared,
        body: Some(body),
        slots: Vec::new(),
        vacant: Vec::new(),
        live: 0,
        fifo: VecDeque::new(),
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
