//! A line of waiters in arrival order, each found by its id: a channel's
//! senders or receivers, a job's awaiters (`waiters.rs`).
//!
//! Ids grow, so the line is sorted by id: a waiter polled again (a `select!`
//! loop) finds its place by binary search, and one that gives up (dropped,
//! cancelled, timed out, in any order) leaves a gap that the front skips,
//! rather than shifting everyone behind it. Scanning and shifting made a
//! line of N waiters cost O(N) per step: 100,000 receivers giving up in
//! random order took 22 µs each. Gaps are swept out once they outnumber
//! the waiters, so the line stays within about twice its waiters.

use std::collections::VecDeque;

/// Below this many entries, gaps are left until the front reaches them.
const SWEEP_MIN: usize = 16;

/// Waiters `W` in arrival order, with their ids.
pub(crate) struct Line<W> {
    /// By id, oldest first; `None` is a waiter that gave up.
    entries: VecDeque<(u64, Option<W>)>,
    /// The entries that are not gaps.
    waiting: usize,
}

impl<W> Default for Line<W> {
    fn default() -> Self {
        Self {
            entries: VecDeque::new(),
            waiting: 0,
        }
    }
}

impl<W> Line<W> {
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.waiting == 0
    }

    /// Waiters in line (the waiters' tests count them).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.waiting
    }

    /// Puts a waiter at the back; `id` is larger than any before it.
    #[inline]
    pub(crate) fn push_back(&mut self, id: u64, waiter: W) {
        debug_assert!(self.entries.back().is_none_or(|&(last, _)| last < id));
        self.entries.push_back((id, Some(waiter)));
        self.waiting += 1;
    }

    /// The oldest waiter, and its id.
    #[inline]
    pub(crate) fn pop_front(&mut self) -> Option<(u64, W)> {
        while let Some((id, waiter)) = self.entries.pop_front() {
            if let Some(waiter) = waiter {
                self.waiting -= 1;
                return Some((id, waiter));
            }
        }
        None
    }

    /// The waiter `id`, if it is still in line. Out of line, as are the
    /// other steps of a waiter that is polled again or gives up: the steps
    /// every item takes (`push_back`, `pop_front`) stay small enough to
    /// inline into a send and a receive.
    #[inline(never)]
    pub(crate) fn get_mut(&mut self, id: u64) -> Option<&mut W> {
        let at = self.position(id)?;
        self.entries[at].1.as_mut()
    }

    /// Takes the waiter `id` out of line, if it is still in it.
    #[inline(never)]
    pub(crate) fn remove(&mut self, id: u64) -> Option<W> {
        let at = self.position(id)?;
        let waiter = self.entries[at].1.take()?;
        self.waiting -= 1;
        while self.entries.front().is_some_and(|(_, w)| w.is_none()) {
            self.entries.pop_front();
        }
        if self.entries.len() > 2 * self.waiting + SWEEP_MIN {
            self.entries.retain(|(_, w)| w.is_some());
        }
        Some(waiter)
    }

    /// Every waiter, oldest first; the line is left empty.
    #[inline(never)]
    pub(crate) fn drain(&mut self) -> impl Iterator<Item = W> + use<W> {
        self.waiting = 0;
        std::mem::take(&mut self.entries)
            .into_iter()
            .filter_map(|(_, waiter)| waiter)
    }

    fn position(&self, id: u64) -> Option<usize> {
        // Waiters mostly leave from the front: looked at first.
        match self.entries.front() {
            Some(&(first, _)) if first == id => Some(0),
            Some(&(first, _)) if first < id => {
                self.entries.binary_search_by_key(&id, |&(id, _)| id).ok()
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Line, SWEEP_MIN};

    #[test]
    fn waiters_leave_in_arrival_order_whoever_gave_up_in_between() {
        let mut line = Line::default();
        for id in 1..=100 {
            line.push_back(id, id * 10);
        }
        // Every third gives up, from the back.
        for id in (1..=100).rev().filter(|id| id % 3 == 0) {
            assert_eq!(line.remove(id), Some(id * 10));
        }
        assert_eq!(line.remove(3), None, "gave up already");
        assert_eq!(line.get_mut(3), None);
        *line.get_mut(4).unwrap() += 1;
        let left: Vec<_> = std::iter::from_fn(|| line.pop_front()).collect();
        let expected: Vec<_> = (1..=100)
            .filter(|id| id % 3 != 0)
            .map(|id| (id, id * 10 + u64::from(id == 4)))
            .collect();
        assert_eq!(left, expected);
        assert!(line.is_empty());
    }

    #[test]
    fn a_waiter_that_keeps_giving_up_and_coming_back_leaves_no_trail() {
        let mut line = Line::default();
        // One waits at the front for good; another gives up and comes back.
        line.push_back(1, ());
        for id in 2..10_000 {
            line.push_back(id, ());
            line.remove(id);
            assert!(line.entries.len() <= 2 * line.waiting + SWEEP_MIN + 1);
        }
        assert_eq!(line.pop_front(), Some((1, ())));
        assert!(line.is_empty());
    }

    #[test]
    fn draining_gives_every_waiter_oldest_first() {
        let mut line = Line::default();
        for id in 1..=5 {
            line.push_back(id, id);
        }
        line.remove(2);
        assert_eq!(line.drain().collect::<Vec<_>>(), [1, 3, 4, 5]);
        assert!(line.is_empty());
        assert_eq!(line.pop_front(), None);
    }
}
