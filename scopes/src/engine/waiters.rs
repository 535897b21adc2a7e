//! Who waits for a job to complete: the wakers of `Deferred::await`,
//! `Job::join` and the helpers of `compose`, one place per waiter, woken in
//! the order they came (Kotlin resumes a job's waiters in the order their
//! handlers were added; R14).
//!
//! A waiter keeps its place (`WaitPlace`) while it waits: polled again, it
//! only changes the waker there if it has another, and keeps its turn;
//! dropped before the job completes, it gives its place back. So a waiter
//! that gives up (a timeout around an `.await`, a cancelled child) leaves
//! nothing behind: a long-lived job awaited by one short-lived child after
//! another kept every one of their wakers, and with each the child's job
//! record, until it completed (about 230 bytes per child that ever
//! waited). Many waiters on one job each take a place in O(1), and no
//! waiter is compared with the others (100,000 children awaiting one
//! `Deferred` once took 24 µs each).

use std::task::Waker;

use super::line::Line;

/// The wakers waiting for a job, in the order their waiters came.
#[derive(Default)]
pub(crate) struct Waiters {
    /// The waiter that came when nobody else waited, ahead of the line: a
    /// job is mostly awaited by one waiter (a `Deferred` its scope's body
    /// awaits), which then takes no allocation for a line.
    first: Option<(u64, Waker)>,
    /// By turn, after `first`.
    line: Line<Waker>,
    /// The next waiter's turn.
    turn: u64,
    /// The wakers were taken (the job completed): a waiter that registers
    /// now finds the outcome when it looks again, and needs no place.
    taken: bool,
}

/// A waiter's place in a job's list of waiters (its turn), while it waits.
#[derive(Debug, Default)]
pub(crate) struct WaitPlace(Option<u64>);

impl WaitPlace {
    /// Whether the waiter holds a place (it waited, and has not given it
    /// back nor seen the job complete).
    pub(crate) fn is_held(&self) -> bool {
        self.0.is_some()
    }
}

impl Waiters {
    /// Puts `waker` in the waiter's place, taking the next one if it has
    /// none.
    pub(crate) fn register(&mut self, place: &mut WaitPlace, waker: &Waker) {
        if self.taken {
            place.0 = None;
            return;
        }
        if let Some(kept) = place.0.and_then(|turn| self.get_mut(turn)) {
            if !kept.will_wake(waker) {
                kept.clone_from(waker);
            }
            return;
        }
        if self.first.is_none() && self.line.is_empty() {
            self.first = Some((self.turn, waker.clone()));
        } else {
            self.line.push_back(self.turn, waker.clone());
        }
        place.0 = Some(self.turn);
        self.turn += 1;
    }

    /// Gives the waiter's place back (nothing if it holds none, or if the
    /// wakers were taken meanwhile).
    pub(crate) fn unregister(&mut self, place: &mut WaitPlace) {
        if let Some(turn) = place.0.take()
            && !self.taken
        {
            match &self.first {
                Some((first, _)) if *first == turn => self.first = None,
                _ => {
                    self.line.remove(turn);
                }
            }
        }
    }

    /// The waker in place `turn`, if its waiter still waits.
    fn get_mut(&mut self, turn: u64) -> Option<&mut Waker> {
        match &mut self.first {
            Some((first, waker)) if *first == turn => Some(waker),
            _ => self.line.get_mut(turn),
        }
    }

    /// Waiters holding a place.
    #[cfg(test)]
    fn len(&self) -> usize {
        usize::from(self.first.is_some()) + self.line.len()
    }

    /// Takes every registered waker, in the order their waiters came, to
    /// wake them; the places are gone.
    pub(crate) fn take(&mut self) -> impl Iterator<Item = Waker> + use<> {
        self.taken = true;
        let first = self.first.take().map(|(_, waker)| waker);
        first.into_iter().chain(self.line.drain())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::{Wake, Waker};

    use super::{WaitPlace, Waiters};

    /// A task that counts its wakes.
    struct Counted(AtomicUsize);

    impl Wake for Counted {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn task() -> Arc<Counted> {
        Arc::new(Counted(AtomicUsize::new(0)))
    }

    fn wakes(task: &Counted) -> usize {
        task.0.load(Ordering::Relaxed)
    }

    #[test]
    fn a_waiter_polled_again_keeps_one_place() {
        let (task, mut waiters, mut place) = (task(), Waiters::default(), WaitPlace::default());
        for _ in 0..3 {
            waiters.register(&mut place, &Waker::from(task.clone()));
        }
        assert_eq!(waiters.len(), 1);
        waiters.take().for_each(Waker::wake);
        assert_eq!(wakes(&task), 1);
    }

    #[test]
    fn a_waiter_polled_with_another_waker_replaces_its_own() {
        let (first, second) = (task(), task());
        let (mut waiters, mut place) = (Waiters::default(), WaitPlace::default());
        waiters.register(&mut place, &Waker::from(first.clone()));
        waiters.register(&mut place, &Waker::from(second.clone()));
        waiters.take().for_each(Waker::wake);
        assert_eq!((wakes(&first), wakes(&second)), (0, 1));
    }

    #[test]
    fn a_waiter_that_gives_up_leaves_nothing_and_its_place_is_taken_again() {
        let tasks: Vec<_> = (0..1_000).map(|_| task()).collect();
        let mut waiters = Waiters::default();
        let mut stays = WaitPlace::default();
        waiters.register(&mut stays, &Waker::from(tasks[0].clone()));
        for task in &tasks[1..] {
            let mut place = WaitPlace::default();
            waiters.register(&mut place, &Waker::from(task.clone()));
            waiters.unregister(&mut place);
            assert!(!place.is_held());
            assert_eq!(Arc::strong_count(task), 1, "its waker was dropped");
        }
        assert_eq!(waiters.len(), 1, "the places given back are gone");
        waiters.take().for_each(Waker::wake);
        assert_eq!(wakes(&tasks[0]), 1);
        assert!(tasks[1..].iter().all(|task| wakes(task) == 0));
    }

    /// Kotlin resumes a job's waiters in the order they came: a place
    /// given back is not taken by a later waiter ahead of earlier ones.
    #[test]
    fn waiters_are_woken_in_the_order_they_came_whoever_gave_up_in_between() {
        let tasks: Vec<_> = (0..6).map(|_| task()).collect();
        let mut waiters = Waiters::default();
        let mut places: Vec<_> = tasks.iter().map(|_| WaitPlace::default()).collect();
        for (task, place) in tasks.iter().zip(&mut places).take(4) {
            waiters.register(place, &Waker::from(task.clone()));
        }
        waiters.unregister(&mut places[1]);
        waiters.unregister(&mut places[2]);
        waiters.register(&mut places[4], &Waker::from(tasks[4].clone()));
        waiters.register(&mut places[0], &Waker::from(tasks[0].clone())); // polled again
        waiters.register(&mut places[5], &Waker::from(tasks[5].clone()));
        // Told apart by their wakes, one at a time (`will_wake` may miss
        // equal wakers in an optimized build).
        let woken: Vec<_> = waiters
            .take()
            .map(|waker| {
                waker.wake();
                tasks.iter().position(|task| wakes(task) == 1)
            })
            .inspect(|woken| {
                if let Some(task) = woken {
                    tasks[*task].0.store(2, Ordering::Relaxed); // seen
                }
            })
            .collect();
        assert_eq!(woken, [Some(0), Some(3), Some(4), Some(5)]);
    }

    #[test]
    fn many_waiters_are_each_woken_once() {
        let tasks: Vec<_> = (0..10_000).map(|_| task()).collect();
        let mut waiters = Waiters::default();
        let mut places: Vec<_> = tasks.iter().map(|_| WaitPlace::default()).collect();
        for _ in 0..2 {
            for (task, place) in tasks.iter().zip(&mut places) {
                waiters.register(place, &Waker::from(task.clone()));
            }
        }
        waiters.take().for_each(Waker::wake);
        assert!(tasks.iter().all(|task| wakes(task) == 1));
    }

    #[test]
    fn after_the_take_a_waiter_needs_no_place_and_an_old_one_frees_nothing() {
        let (old, late) = (task(), task());
        let mut waiters = Waiters::default();
        let (mut old_place, mut late_place) = (WaitPlace::default(), WaitPlace::default());
        waiters.register(&mut old_place, &Waker::from(old.clone()));
        assert_eq!(waiters.take().count(), 1);
        waiters.register(&mut late_place, &Waker::from(late.clone()));
        assert!(!late_place.is_held(), "the outcome is there to be seen");
        waiters.unregister(&mut old_place);
        assert_eq!(waiters.take().count(), 0);
        assert_eq!(Arc::strong_count(&late), 1);
    }
}
