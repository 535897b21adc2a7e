//! The shared state of a channel: a buffer and two lists of waiters under
//! one lock.
//!
//! Why not tokio's `mpsc`: it has no rendezvous (capacity 0) and a single
//! receiver, and a `send` waiting for room cannot be told "the receiver is
//! gone, end as a cancellation". A `VecDeque` and two waiter lists under a
//! `std::sync::Mutex` give all of Kotlin's channel semantics in one place;
//! the lock is held only for a few queue operations, never while waking,
//! dropping an item or cancelling a producer (any of which may run user
//! code that touches the channel again).
//!
//! Waiters are kept by id, in lines (`engine/line.rs`) where finding or removing
//! one costs O(log n) at most. Ids grow, and a waiting sender's item is only
//! ever taken from the front of its list, so "has my item been taken?" is
//! `id <= last_taken`: a sender needs no slot of its own to learn it.
//! Receivers never hold an item: a `send` that finds one waiting puts the
//! item in the buffer and wakes it, and the receiver takes the item when it
//! runs. So a receiver that is cancelled before it runs loses nothing; it
//! hands its wake-up to the next waiting receiver. Until then the item is
//! kept for it, apart from the buffer (`kept`, one item per receiver woken
//! and not yet run): a `recv` that was not woken for an item takes from
//! the buffer, so a receiver that waited is served before one that came
//! later (Kotlin's channels are fair). A receiver waits only when the
//! buffer is empty, so the kept items are older than every buffered one.
//! A kept item stays its receiver's when the channel is closed or its
//! last sender goes: another `recv` waits, in line, until none is kept
//! (one may come back, from a receiver cancelled before it ran), and sees
//! the end after that.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Poll, Waker};

use smallvec::SmallVec;

use crate::engine::handler::{self, FailureSink, Handler};
use crate::engine::job::JobCore;
use crate::error::{Error, Result};

use super::ChannelClosed;
use crate::engine::line::Line;

/// A channel's state, shared by every `Sender` and `Receiver` clone.
pub(super) struct Chan<T> {
    state: Mutex<State<T>>,
}

struct State<T> {
    buffer: VecDeque<T>,
    /// Items sent to receivers that were waiting, kept for them until they
    /// run (one per entry of `handed`, while the channel is open), outside
    /// the capacity.
    kept: VecDeque<T>,
    /// `usize::MAX`: unbounded.
    capacity: usize,
    /// Senders waiting for room (or, at capacity 0, for a receiver), with
    /// their items, in arrival order.
    senders: Line<WaitingSender<T>>,
    /// Receivers waiting for an item, in arrival order: their wakers.
    receivers: Line<Waker>,
    /// Receivers woken for an item they have not taken yet: the item is in
    /// `kept` until they run. A line too: they are woken in arrival order,
    /// and usually run in it.
    handed: Line<()>,
    /// The id of the last waiting sender whose item was taken.
    last_taken: u64,
    next_id: u64,
    end: End,
    senders_alive: usize,
    receivers_alive: usize,
    /// The job of a `produce` child, cancelled with the channel.
    producer: Option<Arc<JobCore>>,
    /// A receiver was given the failure the channel was closed with.
    failure_seen: bool,
    /// A producer's failure in a `supervisor_scope`, which the channel
    /// carries: reported to the handler if the channel goes away before a
    /// receiver takes it (`FailureSink`).
    unobserved: Option<(Error, Option<Handler>)>,
}

struct WaitingSender<T> {
    waker: Waker,
    item: T,
}

enum End {
    Open,
    /// Closed by a sender, with the failure it closed with, if any. Items
    /// sent before still reach the receivers.
    Closed(Option<Error>),
    /// Cancelled by a receiver, or because the last one was dropped: the
    /// items are gone and both sides get this cancellation.
    Cancelled(Error),
}

/// What a `send` found.
pub(super) enum Offered {
    /// The item is in the channel.
    Sent,
    /// The channel refused it (closed or cancelled).
    Refused(Error),
    /// No room: the item waits in the sender list under this id.
    Waiting(u64),
}

/// Wakers collected under the lock, woken after it is released. The first
/// in place: a receive that lets a waiting sender in wakes one, and
/// allocating a list for it cost an allocation per item.
#[derive(Default)]
struct Wakes(SmallVec<[Waker; 1]>);

impl Wakes {
    fn wake(self) {
        for waker in self.0 {
            waker.wake();
        }
    }
}

impl<T> Chan<T> {
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            state: Mutex::new(State {
                buffer: VecDeque::new(),
                kept: VecDeque::new(),
                capacity,
                senders: Line::default(),
                receivers: Line::default(),
                handed: Line::default(),
                last_taken: 0,
                next_id: 1,
                end: End::Open,
                senders_alive: 1,
                receivers_alive: 1,
                producer: None,
                failure_seen: false,
                unobserved: None,
            }),
        }
    }

    /// The lock; no code that can panic runs under it, so a poisoned lock
    /// still holds a consistent state.
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A `send`'s first step: hand the item over, buffer it, or wait.
    #[inline]
    pub(super) fn offer(&self, item: T, waker: &Waker) -> Offered {
        let mut state = self.lock();
        if let Some(refusal) = state.refusal() {
            drop(state);
            drop(item); // outside the lock: its drop may use the channel
            return Offered::Refused(refusal);
        }
        if state.senders.is_empty() {
            if let Some((receiver, waker)) = state.receivers.pop_front() {
                state.kept.push_back(item);
                state.handed.push_back(receiver, ());
                drop(state);
                waker.wake();
                return Offered::Sent;
            }
            if state.has_room() {
                state.buffer.push_back(item);
                return Offered::Sent;
            }
        }
        let id = state.next_id();
        let waker = waker.clone();
        state.senders.push_back(id, WaitingSender { waker, item });
        Offered::Waiting(id)
    }

    /// A waiting `send`: done once its item was taken.
    pub(super) fn poll_sent(&self, id: u64, waker: &Waker) -> Poll<Result<()>> {
        let mut state = self.lock();
        if id <= state.last_taken {
            return Poll::Ready(Ok(()));
        }
        if let End::Cancelled(cancelled) = &state.end {
            return Poll::Ready(Err(cancelled.clone()));
        }
        if let Some(sender) = state.senders.get_mut(id) {
            sender.waker.clone_from(waker);
        }
        Poll::Pending
    }

    /// A waiting `send` given up (dropped or cancelled): its item, if still
    /// here, leaves with it.
    pub(super) fn abandon_send(&self, id: u64) {
        let mut state = self.lock();
        let item = state.senders.remove(id);
        drop(state);
        drop(item);
    }

    /// A `recv`: an item, the end of the channel, or a wait registered
    /// under `waiting`.
    #[inline]
    pub(super) fn poll_recv(
        &self,
        waiting: &mut Option<u64>,
        waker: &Waker,
    ) -> Poll<Result<Option<T>>> {
        let mut state = self.lock();
        let mut woken_for_one = false;
        if let Some(id) = *waiting {
            if let Some(receiver) = state.receivers.get_mut(id) {
                // Not woken for anything yet: keep its place in the line.
                receiver.clone_from(waker);
                return Poll::Pending;
            }
            woken_for_one = state.unhand(id);
            *waiting = None;
        }
        if let End::Cancelled(cancelled) = &state.end {
            return Poll::Ready(Err(cancelled.clone()));
        }
        let mut wakes = Wakes::default();
        if let Some(item) = state.take(woken_for_one, &mut wakes) {
            // The last item kept for a woken receiver, with nothing more to
            // come (closed, or no sender left): the receivers waiting
            // behind it see the end now.
            if state.can_end() && state.is_drained() {
                wakes.0.extend(state.wake_receivers().0);
            }
            drop(state);
            wakes.wake();
            return Poll::Ready(Ok(Some(item)));
        }
        // An item kept for a woken receiver may come back (one cancelled
        // before it runs gives it to the next receiver waiting): the end is
        // seen once none is kept. Until then this one waits, in line.
        let kept = !state.kept.is_empty();
        match &state.end {
            End::Closed(_) if kept => {}
            End::Closed(None) => return Poll::Ready(Ok(None)),
            End::Closed(Some(failure)) => {
                let failure = failure.clone();
                state.failure_seen = true;
                let seen = state.unobserved.take();
                drop(state);
                drop(seen); // the handler, out of the lock
                return Poll::Ready(Err(failure));
            }
            End::Open | End::Cancelled(_) => {}
        }
        if state.senders_alive == 0 && !kept && matches!(state.end, End::Open) {
            return Poll::Ready(Ok(None));
        }
        let id = state.next_id();
        state.receivers.push_back(id, waker.clone());
        *waiting = Some(id);
        Poll::Pending
    }

    /// A waiting `recv` given up (dropped or cancelled). If it had been
    /// woken for an item, the next waiting receiver is woken instead.
    pub(super) fn abandon_recv(&self, id: u64) {
        let mut state = self.lock();
        if state.receivers.remove(id).is_some() {
            return;
        }
        if !state.unhand(id) || state.kept.is_empty() {
            return;
        }
        if let Some((next, waker)) = state.receivers.pop_front() {
            state.handed.push_back(next, ());
            drop(state);
            waker.wake();
        } else if let Some(item) = state.kept.pop_back() {
            // Nobody waits for it: the next `recv` takes it, before the
            // buffer's (it is older than all of them).
            state.buffer.push_front(item);
        }
    }

    /// Closes for sending; `false` if it was closed or cancelled already.
    pub(super) fn close(&self, failure: Option<Error>) -> bool {
        let mut state = self.lock();
        if !matches!(state.end, End::Open) {
            return false;
        }
        state.end = End::Closed(failure);
        let wakes = state.wake_receivers();
        drop(state);
        wakes.wake();
        true
    }

    /// Cancels: drops every item, wakes everyone, cancels the producer.
    pub(super) fn cancel(&self) {
        let mut state = self.lock();
        if matches!(state.end, End::Cancelled(_)) {
            return;
        }
        state.end = End::Cancelled(Error::cancelled());
        let buffer = std::mem::take(&mut state.buffer);
        let kept = std::mem::take(&mut state.kept);
        let senders: Vec<_> = state.senders.drain().collect();
        let mut wakes = state.wake_receivers();
        state.handed = Line::default();
        let producer = state.producer.take();
        drop(state);
        // The producer first: woken below, it is resumed as cancelled.
        if let Some(producer) = producer {
            producer.cancel(None);
        }
        let mut items = Vec::with_capacity(senders.len());
        for sender in senders {
            wakes.0.push(sender.waker);
            items.push(sender.item);
        }
        wakes.wake();
        drop((kept, buffer, items));
    }

    /// Cancels `producer` when the channel is cancelled (at once if it is).
    pub(super) fn set_producer(&self, producer: Arc<JobCore>) {
        let mut state = self.lock();
        if matches!(state.end, End::Cancelled(_)) {
            drop(state);
            producer.cancel(None);
        } else {
            state.producer = Some(producer);
        }
    }

    pub(super) fn add_sender(&self) {
        self.lock().senders_alive += 1;
    }

    /// The last sender gone: receivers get `Ok(None)` once drained.
    pub(super) fn drop_sender(&self) {
        let mut state = self.lock();
        state.senders_alive -= 1;
        if state.senders_alive == 0 {
            let wakes = state.wake_receivers();
            drop(state);
            wakes.wake();
        }
    }

    pub(super) fn add_receiver(&self) {
        self.lock().receivers_alive += 1;
    }

    /// The last receiver gone: nobody will take an item again.
    pub(super) fn drop_receiver(&self) {
        let mut state = self.lock();
        state.receivers_alive -= 1;
        if state.receivers_alive == 0 {
            drop(state);
            self.cancel();
        }
    }

    /// Closed for sending: closed, cancelled, or no receiver left.
    pub(super) fn is_closed_for_send(&self) -> bool {
        !matches!(self.lock().end, End::Open)
    }

    /// Nothing more to receive: cancelled, or closed (or without senders)
    /// and drained.
    pub(super) fn is_closed_for_receive(&self) -> bool {
        let state = self.lock();
        match state.end {
            End::Cancelled(_) => true,
            End::Closed(_) => state.is_drained() && state.senders.is_empty(),
            End::Open => state.senders_alive == 0 && state.is_drained(),
        }
    }

    /// Items buffered, with those kept for woken receivers (not counting
    /// those of waiting senders).
    pub(super) fn len(&self) -> usize {
        let state = self.lock();
        state.kept.len() + state.buffer.len()
    }

    pub(super) fn capacity(&self) -> usize {
        self.lock().capacity
    }
}

impl<T> State<T> {
    fn next_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// Why a `send` cannot go through, if it cannot.
    fn refusal(&self) -> Option<Error> {
        match &self.end {
            End::Open => None,
            End::Cancelled(cancelled) => Some(cancelled.clone()),
            End::Closed(Some(failure)) => Some(failure.clone()),
            End::Closed(None) => Some(Error::new(ChannelClosed)),
        }
    }

    /// Room in the buffer (the items kept for woken receivers are outside
    /// it).
    fn has_room(&self) -> bool {
        self.buffer.len() < self.capacity
    }

    /// No item in the channel but those of waiting senders.
    /// Nothing more can be sent: closed, or no sender left.
    fn can_end(&self) -> bool {
        !matches!(self.end, End::Open) || self.senders_alive == 0
    }

    fn is_drained(&self) -> bool {
        self.kept.is_empty() && self.buffer.is_empty()
    }

    /// The next item for a receiver: one kept for it if it was woken for
    /// one; else from the buffer (refilled from the first waiting sender),
    /// else straight from a waiting sender (capacity 0). An item kept for
    /// a receiver still waiting to run stays its own, also once the
    /// channel is closed or its last sender gone (Kotlin's send resumed
    /// that receiver with it); `poll_recv` waits for it to come back
    /// rather than end.
    fn take(&mut self, woken_for_one: bool, wakes: &mut Wakes) -> Option<T> {
        if woken_for_one && let Some(item) = self.kept.pop_front() {
            return Some(item);
        }
        if let Some(item) = self.buffer.pop_front() {
            if self.buffer.len() < self.capacity
                && let Some((id, sender)) = self.senders.pop_front()
            {
                self.last_taken = id;
                self.buffer.push_back(sender.item);
                wakes.0.push(sender.waker);
            }
            return Some(item);
        }
        let (id, sender) = self.senders.pop_front()?;
        self.last_taken = id;
        wakes.0.push(sender.waker);
        Some(sender.item)
    }

    /// Forgets that receiver `id` was woken for an item; `true` if it was.
    fn unhand(&mut self, id: u64) -> bool {
        self.handed.remove(id).is_some()
    }

    fn wake_receivers(&mut self) -> Wakes {
        Wakes(self.receivers.drain().collect())
    }
}

/// A producer that failed in a `supervisor_scope` (R4): as Kotlin's
/// `produce`, the failure goes to the receivers when the channel carries
/// it, and to the exception handler only when it cannot (the receivers
/// had already cancelled the channel). One that no receiver ever takes is
/// reported when the channel goes away, as an unawaited `Deferred`'s is
/// (SPEC §3b: never lost silently).
impl<T> FailureSink for Chan<T> {
    fn supervised_failure(&self, error: &Error, handler: Option<Handler>) {
        let mut state = self.lock();
        let carried =
            matches!(&state.end, End::Closed(Some(failure)) if failure.same_failure(error));
        if !carried {
            drop(state);
            return handler::report(handler.as_ref(), error);
        }
        if !state.failure_seen {
            state.unobserved = Some((error.clone(), handler));
        }
    }
}

impl<T> Drop for Chan<T> {
    fn drop(&mut self) {
        let state = self.state.get_mut().unwrap_or_else(PoisonError::into_inner);
        if let Some((error, handler)) = state.unobserved.take() {
            handler::report(handler.as_ref(), &error);
        }
    }
}
