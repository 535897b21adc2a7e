//! The run queue of a scope: which of its children (or its body) to poll
//! next, in the order they were woken or started.
//!
//! One FIFO queue carries both wakes and starts, so children first run in
//! the order they were started and a child started before its parent
//! yields runs before the parent resumes (R14), like Kotlin's dispatcher.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Waker;

use futures_util::task::AtomicWaker;

/// Queue entry for the scope's body.
pub(crate) const BODY: usize = usize::MAX - 1;
/// Queue entry for "the next newly started child": the child itself waits
/// in the scope's start list, which keeps the same order.
pub(crate) const STARTED: usize = usize::MAX - 2;

pub(crate) struct ReadyQueue {
    queue: Mutex<VecDeque<usize>>,
    waker: AtomicWaker,
    /// Set while the scope drains the queue: a wake then needs no task wake,
    /// the scope looks at the queue again before it returns.
    draining: AtomicBool,
}

impl ReadyQueue {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self {
            queue: Mutex::new(VecDeque::new()),
            waker: AtomicWaker::new(),
            draining: AtomicBool::new(false),
        })
    }

    pub(crate) fn push(&self, idx: usize) {
        self.queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push_back(idx);
        if !self.draining.load(Ordering::SeqCst) {
            self.waker.wake();
        }
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
    pub(crate) fn take_into(&self, out: &mut VecDeque<usize>) {
        let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        if out.is_empty() {
            std::mem::swap(&mut *queue, out);
        } else {
            out.extend(queue.drain(..));
        }
    }
}
