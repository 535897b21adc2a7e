//! Waiting for the outcomes of many handles at once, for the combinators.
//!
//! Each handle gets a waker of its own: its child's completion notes the
//! handle's index and wakes the caller, and a poll looks only at the noted
//! handles, so n handles cost O(n) however they complete. Not
//! `FuturesUnordered`, which does the same but wakes its own task after it
//! has polled every future once (a yield, against starving other tasks): in
//! a scope that re-queued the caller in its tree's FIFO at once, spent a
//! poll, and let it run ahead of jobs that became ready before its outcome
//! came (R14), which also let it take an outcome after a cancel that
//! Kotlin delivers first (R7).

use std::collections::VecDeque;
use std::mem;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Wake, Waker};

use futures_util::task::AtomicWaker;

use crate::deferred::Deferred;
use crate::error::Result;
use crate::job::Job;

/// The handles' waits, and the children as jobs (to cancel and join them).
pub(super) struct Waits<'s, T> {
    /// By index in the input; `None` once its outcome was taken.
    handles: Vec<Option<Deferred<'s, T>>>,
    /// Each handle's waker, which notes its index.
    wakers: Vec<Waker>,
    pub(super) jobs: Vec<Job<'s>>,
    noted: Arc<Noted>,
    /// Noted indices taken from `noted`, to look at next.
    next: VecDeque<usize>,
    /// Handles whose outcome has not been taken.
    left: usize,
}

/// The indices whose child has completed (or may have: a late or repeated
/// wake is looked at and passed over), and the caller's waker.
#[derive(Default)]
struct Noted {
    indices: Mutex<Vec<usize>>,
    caller: AtomicWaker,
}

/// A handle's waker.
struct HandleWaker {
    index: usize,
    noted: Arc<Noted>,
}

impl Wake for HandleWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        lock(&self.noted.indices).push(self.index);
        self.noted.caller.wake();
    }
}

/// The order each handle is looked at first in, which registers its
/// waker and takes an outcome already there: those whose child has
/// completed in the order they completed (SPEC §2b: "the first child to
/// complete decides", a failure "in completion order"), then the others in
/// input order (their outcomes come in completion order through their
/// wakers).
fn first_looks(jobs: &[Job<'_>]) -> VecDeque<usize> {
    let mut completed: Vec<(u64, usize)> = Vec::new();
    let mut others = VecDeque::with_capacity(jobs.len());
    for (index, job) in jobs.iter().enumerate() {
        match job.core.completion_stamp() {
            Some(stamp) => completed.push((stamp, index)),
            None => others.push_back(index),
        }
    }
    if completed.is_empty() {
        return others;
    }
    completed.sort_unstable();
    let mut next: VecDeque<usize> = completed.into_iter().map(|(_, index)| index).collect();
    next.extend(others);
    next
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing panics while the lock is held; recover anyway.
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl<'s, T> Waits<'s, T> {
    pub(super) fn new(ds: impl IntoIterator<Item = Deferred<'s, T>>) -> Self {
        let noted = Arc::new(Noted::default());
        let mut jobs = Vec::new();
        let mut wakers = Vec::new();
        let handles: Vec<_> = ds
            .into_iter()
            .enumerate()
            .map(|(index, d)| {
                jobs.push(d.job().clone());
                let noted = noted.clone();
                wakers.push(Waker::from(Arc::new(HandleWaker { index, noted })));
                Some(d)
            })
            .collect();
        Self {
            next: first_looks(&jobs),
            left: handles.len(),
            handles,
            wakers,
            jobs,
            noted,
        }
    }

    /// Handles whose outcome has not been taken.
    pub(super) fn len(&self) -> usize {
        self.left
    }

    /// The next outcome, in completion order: `(index, outcome)`, or the
    /// caller's cancellation for a handle whose child has not completed
    /// (see `Deferred::poll_outcome`). `None` once every outcome was taken.
    pub(super) fn poll_next(&mut self, cx: &Context<'_>) -> Poll<Option<(usize, Result<T>)>> {
        if self.left == 0 {
            return Poll::Ready(None);
        }
        // Before the notes are read: a completion after that wakes `cx`.
        self.noted.caller.register(cx.waker());
        loop {
            let Some(index) = self.next.pop_front() else {
                let noted = mem::take(&mut *lock(&self.noted.indices));
                if noted.is_empty() {
                    return Poll::Pending;
                }
                self.next.extend(noted);
                continue;
            };
            if let Some(outcome) = self.poll_handle(index) {
                return Poll::Ready(Some((index, outcome)));
            }
        }
    }

    /// Every outcome not taken yet, in input order, each the child's if it
    /// has one, else the caller's cancellation (in a cancelled job).
    pub(super) fn drain(&mut self) -> Vec<(usize, Result<T>)> {
        let outcomes = (0..self.handles.len())
            .filter_map(|index| Some((index, self.poll_handle(index)?)))
            .collect();
        self.clear();
        outcomes
    }

    /// Lets go of the handles whose outcome was not taken.
    pub(super) fn clear(&mut self) {
        self.handles.iter_mut().for_each(|handle| *handle = None);
        self.left = 0;
    }

    fn poll_handle(&mut self, index: usize) -> Option<Result<T>> {
        let handle = self.handles.get_mut(index)?.as_mut()?;
        let outcome = handle.poll_outcome(&Context::from_waker(&self.wakers[index]))?;
        self.handles[index] = None;
        self.left -= 1;
        Some(outcome)
    }
}
