//! Who waits for a job to complete: the wakers of `Deferred::await`,
//! `Job::join` and the helpers of `compose`, each kept once.
//!
//! Many children may wait for one job (every child of a fan-out awaiting a
//! shared `Deferred`). Finding out whether a waiter is already registered
//! by comparing it with each registered one made that quadratic: 100,000
//! children awaiting one `Deferred` took 24 µs each. Past a few waiters,
//! an index answers in one lookup.

use std::collections::HashSet;
use std::task::Waker;

/// Up to this many waiters, a registration compares with each.
const SCAN: usize = 8;

/// The wakers waiting for a job, without two that wake the same task.
#[derive(Default)]
pub(crate) struct Waiters {
    wakers: Vec<Waker>,
    /// Past `SCAN` wakers, the identity of each (see [`identity`]). Boxed:
    /// a job that anyone awaits carries this, and few have many waiters.
    #[allow(
        clippy::box_collection,
        reason = "one word in every awaited job's record"
    )]
    index: Option<Box<HashSet<(usize, usize)>>>,
}

impl Waiters {
    /// Registers `waker`, unless one that wakes the same task already is: a
    /// waiter polled again (a `select!` loop) is not added twice.
    pub(crate) fn register(&mut self, waker: &Waker) {
        if let Some(index) = &mut self.index {
            if index.insert(identity(waker)) {
                self.wakers.push(waker.clone());
            }
            return;
        }
        if self.wakers.iter().any(|w| w.will_wake(waker)) {
            return;
        }
        self.wakers.push(waker.clone());
        if self.wakers.len() > SCAN {
            self.index = Some(Box::new(self.wakers.iter().map(identity).collect()));
        }
    }

    /// Takes every registered waker, to wake them.
    pub(crate) fn take(&mut self) -> Vec<Waker> {
        self.index = None;
        std::mem::take(&mut self.wakers)
    }
}

/// What `Waker::will_wake` compares: the data and vtable addresses.
fn identity(waker: &Waker) -> (usize, usize) {
    (
        waker.data().addr(),
        std::ptr::from_ref(waker.vtable()).addr(),
    )
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::{Wake, Waker};

    use super::{SCAN, Waiters};

    /// A task that counts its wakes.
    struct Counted(AtomicUsize);

    impl Wake for Counted {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn tasks(n: usize) -> Vec<Arc<Counted>> {
        (0..n)
            .map(|_| Arc::new(Counted(AtomicUsize::new(0))))
            .collect()
    }

    /// Registers each task's waker `times` times, interleaved, then wakes
    /// what was registered; each task must be woken exactly once.
    fn each_woken_once(n: usize, times: usize) {
        let tasks = tasks(n);
        let mut waiters = Waiters::default();
        for _ in 0..times {
            for task in &tasks {
                waiters.register(&Waker::from(task.clone()));
            }
        }
        let wakers = waiters.take();
        assert_eq!(wakers.len(), n, "one waker per task");
        wakers.into_iter().for_each(Waker::wake);
        for task in &tasks {
            assert_eq!(task.0.load(Ordering::Relaxed), 1);
        }
    }

    #[test]
    fn a_waiter_registered_again_is_kept_once_below_the_index() {
        each_woken_once(SCAN, 3);
    }

    #[test]
    fn a_waiter_registered_again_is_kept_once_past_the_index() {
        each_woken_once(SCAN * 100, 3);
    }

    #[test]
    fn taking_the_waiters_empties_the_list_and_its_index() {
        let tasks = tasks(SCAN * 2);
        let mut waiters = Waiters::default();
        for task in &tasks {
            waiters.register(&Waker::from(task.clone()));
        }
        assert_eq!(waiters.take().len(), SCAN * 2);
        assert!(waiters.index.is_none());
        waiters.register(&Waker::from(tasks[0].clone()));
        assert_eq!(waiters.take().len(), 1, "registered again after a take");
    }
}
