//! The run queue of a scope: which of its children (or its body) to poll
//! next, in the order they were woken or started.
//!
//! Wakes and starts made while the scope polls are queued in the order they
//! happen, so children first run in the order they were started and a
//! child started before its parent yields runs before the parent resumes
//! (R14), like Kotlin's dispatcher.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::Waker;

use futures_util::task::AtomicWaker;

use crate::error::Error;

/// Queue entry for the scope's body.
pub(crate) const BODY: usize = u32::MAX as usize - 2;

/// An entry of a scope's run queue: the slot to poll (or `BODY`), and the
/// id of the job that asked. A slot is reused once its child has ended, and
/// a waker can outlive its child (left behind in another job's waiters, in
/// a timer, on another thread): the id lets the scope skip such a late
/// wake instead of polling the slot's new child out of its start order
/// (R14).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) slot: usize,
    pub(crate) job: u64,
}

/// What this thread noted, in order, for the scope polling on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Noted {
    /// A wake of the body or of a child.
    Woken(Entry),
    /// This many children started in a row. The children themselves wait
    /// in the scope's start list, in the same order; a burst of starts is
    /// one entry.
    Started(usize),
}

thread_local! {
    /// The queue whose scope is polling on this thread right now (its
    /// address, only compared), and the wakes it got from this thread:
    /// those need neither the queue's lock nor a task wake.
    static DRAINING: Cell<usize> = const { Cell::new(0) };
    static LOCAL: RefCell<Vec<Noted>> = const { RefCell::new(Vec::new()) };
}

pub(crate) struct ReadyQueue {
    queue: Mutex<VecDeque<Entry>>,
    waker: AtomicWaker,
    /// Set while the scope drains the queue: a wake then needs no task wake,
    /// the scope looks at the queue again before it returns.
    draining: AtomicBool,
    /// Why the scope cancelled its children: kept once here rather than in
    /// each child, so cancelling a thousand children allocates nothing.
    cancellation: OnceLock<Error>,
}

impl ReadyQueue {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self {
            queue: Mutex::new(VecDeque::new()),
            waker: AtomicWaker::new(),
            draining: AtomicBool::new(false),
            cancellation: OnceLock::new(),
        })
    }

    fn address(&self) -> usize {
        std::ptr::from_ref(self) as usize
    }

    pub(crate) fn push(&self, entry: Entry) {
        if DRAINING.get() == self.address() {
            LOCAL.with(|local| local.borrow_mut().push(Noted::Woken(entry)));
            return;
        }
        self.queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push_back(entry);
        self.wake_scope();
    }

    /// Records why the scope cancels its children (the first reason stays).
    pub(crate) fn set_cancellation(&self, cause: &Error) {
        self.cancellation.get_or_init(|| cause.clone());
    }

    pub(crate) fn cancellation(&self) -> Option<&Error> {
        self.cancellation.get()
    }

    /// Registers the task that polls this queue's owner.
    pub(crate) fn register(&self, waker: &Waker) {
        self.waker.register(waker);
    }

    /// Wakes a `parallel` child's task (its queue is only a waker).
    pub(crate) fn wake_task(&self) {
        self.waker.wake();
    }

    /// Wakes the scope's task unless the scope is polling right now.
    pub(crate) fn wake_scope(&self) {
        if !self.draining.load(Ordering::SeqCst) {
            self.waker.wake();
        }
    }

    /// Marks the scope as polling on this thread until the guard exits or
    /// drops. `buffer` (empty) becomes this thread's list of wakes and
    /// starts meanwhile; [`Draining::exit`] gives it back for the next poll.
    pub(crate) fn enter(&self, buffer: Vec<Noted>) -> Draining {
        let outer_local = LOCAL.with(|local| std::mem::replace(&mut *local.borrow_mut(), buffer));
        Draining {
            outer: DRAINING.replace(self.address()),
            outer_local,
            exited: false,
        }
    }

    /// Moves the wakes and starts this thread made since the last call,
    /// oldest first, into `scratch`.
    /// `scratch` must be empty; buffers are swapped, not reallocated.
    pub(crate) fn take_local(&self, scratch: &mut Vec<Noted>) {
        LOCAL.with(|local| std::mem::swap(&mut *local.borrow_mut(), scratch));
    }

    /// Notes that a child of this queue's scope was started; false if that
    /// happened outside the scope's own poll (then the scope must be woken).
    pub(crate) fn note_started(&self) -> bool {
        let here = DRAINING.get() == self.address();
        if here {
            LOCAL.with(|local| {
                let mut local = local.borrow_mut();
                match local.last_mut() {
                    Some(Noted::Started(run)) => *run += 1,
                    _ => local.push(Noted::Started(1)),
                }
            });
        }
        here
    }

    pub(crate) fn begin_drain(&self, waker: &Waker) {
        self.waker.register(waker);
        self.draining.store(true, Ordering::SeqCst);
    }

    /// Ends a drain; true if entries arrived meanwhile (drain again).
    pub(crate) fn end_drain(&self) -> bool {
        self.draining.store(false, Ordering::SeqCst);
        !self
            .queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
    }

    /// Moves every queued entry to `out`, oldest first.
    pub(crate) fn take_into(&self, out: &mut VecDeque<Entry>) {
        let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        if out.is_empty() {
            std::mem::swap(&mut *queue, out);
        } else {
            out.extend(queue.drain(..));
        }
    }
}

/// Restores the enclosing scope's thread-local queue (nested scopes poll
/// inside their parent's poll).
pub(crate) struct Draining {
    outer: usize,
    outer_local: Vec<Noted>,
    exited: bool,
}

impl Draining {
    /// Restores the enclosing scope's state and gives back this scope's
    /// (drained, empty) list buffer.
    pub(crate) fn exit(mut self) -> Vec<Noted> {
        self.restore()
    }

    fn restore(&mut self) -> Vec<Noted> {
        self.exited = true;
        DRAINING.set(self.outer);
        let outer = std::mem::take(&mut self.outer_local);
        let mut own = LOCAL.with(|local| std::mem::replace(&mut *local.borrow_mut(), outer));
        own.clear();
        own
    }
}

impl Drop for Draining {
    fn drop(&mut self) {
        if !self.exited {
            self.restore();
        }
    }
}
