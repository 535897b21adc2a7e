//! The scope driver: the future of a scope, which polls its body and its
//! children in place and applies Kotlin's rules to their outcomes.
//!
//! # How children are stored and polled
//!
//! A child is a boxed future plus its [`JobCore`] (which is also its waker),
//! kept in a chunked slab owned by the scope's future; nothing is spawned.
//! Waking a child queues its slab index (once, thanks to a flag): on the
//! thread that is polling the scope right now, in a thread-local list with
//! no lock and no task wake; from anywhere else, on the scope's locked
//! [`ReadyQueue`], waking the scope's task. A poll of the scope polls only
//! the children that were woken, in the order they were woken, like
//! `FuturesUnordered`. A child started during the scope's poll leaves a
//! start marker in the same thread-local list (a run of starts is one
//! marker with a count), so starts and wakes keep one order (R14); the
//! child itself waits in the scope's start list until the marker adopts
//! it. A poll budget bounds the work done per poll of the scope so that an
//! always-ready child cannot starve the other tasks of its tokio worker.
//!
//! The slab lives in [`run`], whose lifetime parameter `'s` outlives it:
//! children are `Send + 's` and may borrow anything that outlives the scope,
//! all in safe Rust.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use futures_util::task::waker_ref;

use crate::context::{self, HandlerGuard, Polled, poll_in_job};
use crate::debug;
use crate::deferred::FailureSink;
use crate::error::{Error, Result};
use crate::handler::{self, Handler};
use crate::job::{Dequeued, Host, JobCore, Name, Outcome};
use crate::ready::{BODY, Entry, Noted, ReadyQueue};
use crate::scope::{BoxFuture, ChildFuture, NewChild, Scope, Shared};
use crate::slab::Slab;
use crate::trace::Span;

/// Polls a scope may make before it yields to its tokio worker.
const POLL_BUDGET: usize = 256;

/// Queue capacity kept between polls; a burst beyond it is given back.
const RETAINED: usize = 1024;

/// Room the per-scope lists start with: enough for a typical burst of
/// children without growing them several times (which shows in scopes of a
/// few dozen children, like SPEC §6's W3 tree).
pub(crate) const SMALL: usize = 32;

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Coroutine,
    Supervisor,
}

/// The scope's future: builds the shared state, runs the body closure, then
/// drives body and children to completion.
pub(crate) async fn run<'s, 'env: 's, T, F>(kind: Kind, name: Name, body: F) -> Result<T>
where
    F: FnOnce(Scope<'s, 'env>) -> BoxFuture<'s, Result<T>>,
{
    let queue = ReadyQueue::new();
    let job = JobCore::new(name, Host::InPlace(queue.clone()), false);
    job.place(BODY);
    let shared = Arc::new(Shared {
        queue,
        job: job.clone(),
        started: Mutex::new(Vec::with_capacity(SMALL)),
        foreign_starts: AtomicUsize::new(0),
    });
    let parent = context::cancellable_parent();
    let registration = debug::register(&job, parent.as_ref());
    let span = Span::scope(&job);
    let body = body(Scope::new(shared.clone()));
    let mut driver = Driver {
        kind,
        body_waker: Waker::from(job.clone()),
        job,
        shared,
        parent,
        handler: context::current_handler(),
        body: Some(body),
        value: None,
        slots: Slab::new(),
        batch: VecDeque::with_capacity(SMALL),
        incoming: Vec::new(),
        local: Vec::with_capacity(SMALL),
        spare: Vec::with_capacity(SMALL),
        adopted: Vec::with_capacity(SMALL),
        failure: None,
        suppressed: Vec::new(),
        registration,
    };
    driver.shared.queue.push(Entry {
        slot: BODY,
        job: driver.job.id,
    });
    poll_fn(|cx| {
        let _entered = span.enter();
        driver.poll(cx)
    })
    .await
}

/// A child in its scope's slab. Its waker is made from `job` for each
/// poll, by reference (`waker_ref`), so a slot holds no waker of its own.
struct ChildSlot<'s> {
    job: Arc<JobCore>,
    fut: ChildFuture<'s>,
}

struct Driver<'s, T> {
    kind: Kind,
    /// The scope's own job: the body runs in it.
    job: Arc<JobCore>,
    body_waker: Waker,
    shared: Arc<Shared<'s>>,
    /// The job the scope was entered in, whose cancellation it follows.
    parent: Option<Arc<JobCore>>,
    handler: Option<Handler>,
    body: Option<BoxFuture<'s, Result<T>>>,
    value: Option<T>,
    slots: Slab<ChildSlot<'s>>,
    /// Queue entries taken but not yet handled (the budget ran out).
    batch: VecDeque<Entry>,
    /// Started children taken from the start list, not yet adopted; last
    /// started first, so that the next to adopt is popped off the end.
    incoming: Vec<NewChild<'s>>,
    /// Scratch buffers for the thread-local wakes and starts: `local` is
    /// swapped with the thread-local list to read it; `spare` becomes that
    /// list while the scope polls, so a poll allocates no new list.
    local: Vec<Noted>,
    spare: Vec<Noted>,
    /// Slots of children adopted but not yet published to `debug::dump`.
    adopted: Vec<usize>,
    /// The first failure (R2, R6) and those that came while cancelling.
    failure: Option<Error>,
    suppressed: Vec<Error>,
    registration: debug::Registration,
}

impl<'s, T> Driver<'s, T> {
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Result<T>> {
        let _handler = HandlerGuard::enter(self.handler.clone());
        let draining = self.shared.queue.enter(std::mem::take(&mut self.spare));
        let polled = self.drain(cx);
        self.spare = draining.exit();
        if self.spare.capacity() > RETAINED {
            self.spare = Vec::new(); // give back a burst's memory
        }
        if polled.is_ready() {
            return polled;
        }
        // A nested scope that is pending must not be cut short by its
        // parent's cancellation: its own body and children meet R7 here.
        context::mark_shielded();
        Poll::Pending
    }

    /// Polls what is queued, within the budget.
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<Result<T>> {
        self.follow_parent();
        let mut budget = POLL_BUDGET;
        loop {
            self.shared.queue.begin_drain(cx.waker());
            self.take_local();
            self.shared.queue.take_into(&mut self.batch);
            while let Some(entry) = self.batch.pop_front() {
                if budget == 0 {
                    self.batch.push_front(entry);
                    self.shared.queue.end_drain();
                    self.registration.flush();
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                budget -= 1;
                match entry.slot {
                    BODY => self.poll_body(),
                    _ => self.poll_child(entry),
                }
                self.take_local();
            }
            if !self.shared.queue.end_drain() && self.incoming.is_empty() && self.no_child_waiting()
            {
                break;
            }
        }
        self.registration.flush();
        // Give back a burst's memory.
        if self.batch.is_empty() && self.batch.capacity() > RETAINED {
            self.batch = VecDeque::new();
        }
        if self.incoming.is_empty() && self.incoming.capacity() > RETAINED {
            self.incoming = Vec::new();
        }
        if self.local.capacity() > RETAINED {
            self.local = Vec::new();
        }
        if self.body.is_none() && self.slots.len() == 0 {
            return Poll::Ready(self.finish());
        }
        Poll::Pending
    }

    fn no_child_waiting(&self) -> bool {
        self.shared.started().is_empty()
    }

    /// Cancels the scope when the job it was entered in is cancelled (R7).
    fn follow_parent(&mut self) {
        if let Some(parent) = &self.parent
            && parent.is_cancelled()
            && !self.job.is_cancelled()
        {
            let cause = parent.cancellation_error();
            self.cancel_scope(&cause);
        }
    }

    fn poll_body(&mut self) {
        self.job.unqueue();
        let Some(body) = self.body.as_mut() else {
            return;
        };
        let was_cancelled = self.job.is_cancelled();
        let mut cx = Context::from_waker(&self.body_waker);
        let result = match poll_in_job(&self.job, body.as_mut(), &mut cx) {
            Polled::Ready(result) => result,
            Polled::Panicked(error) => Err(error),
            Polled::Pending { shielded } if was_cancelled && !shielded => {
                Err(self.job.cancellation_error())
            }
            Polled::Pending { .. } => return,
        };
        let dropped = drop_caught(self.body.take());
        self.body_completed(result);
        if let Some(panic) = dropped {
            self.fail(panic);
        }
    }

    fn body_completed(&mut self, result: Result<T>) {
        self.job.set_completing();
        match result {
            Ok(value) => self.value = Some(value),
            Err(e) if e.is_cancellation() => self.cancel_scope(&e),
            Err(e) => self.fail(e),
        }
        self.cancel_unstarted();
    }

    /// R11: lazy children never started by the time the body returns are
    /// cancelled, so that they cannot hang the scope.
    fn cancel_unstarted(&mut self) {
        for slot in self.slots.iter() {
            if !slot.job.is_started() {
                slot.job.cancel(None);
            }
        }
    }

    /// Queues the wakes and starts this thread made during the last poll, in
    /// the order they happened (R14): a start marker adopts as many started
    /// children as it counts. Children started from elsewhere (another
    /// thread, a nested scope's poll) follow.
    fn take_local(&mut self) {
        let mut local = std::mem::take(&mut self.local);
        self.shared.queue.take_local(&mut local);
        for noted in local.drain(..) {
            match noted {
                Noted::Woken(entry) => self.batch.push_back(entry),
                Noted::Started(run) => {
                    for _ in 0..run {
                        self.adopt_next();
                    }
                }
            }
        }
        self.local = local;
        // Read before the swap: this runs after every poll, foreign starts
        // are rare, and a plain load costs no exclusive cache line.
        let foreign = self.shared.foreign_starts.load(Ordering::Acquire) != 0
            && self.shared.foreign_starts.swap(0, Ordering::AcqRel) != 0;
        if foreign || !self.incoming.is_empty() {
            while self.adopt_next() {}
        }
        self.publish_adopted();
    }

    /// Adopts the next started child and queues its first run; false if
    /// none is waiting.
    fn adopt_next(&mut self) -> bool {
        let Some(new) = self.next_started() else {
            return false;
        };
        let entry = self.adopt(new);
        self.batch.push_back(entry);
        true
    }

    /// Shows the children just adopted in `debug::dump`, before any runs.
    fn publish_adopted(&mut self) {
        if self.adopted.is_empty() {
            return;
        }
        let slots = &self.slots;
        let placed = self.adopted.drain(..);
        let placed = placed.filter_map(|idx| Some((idx, &slots.get(idx)?.job)));
        self.registration.publish(placed);
        if self.adopted.capacity() > RETAINED {
            self.adopted = Vec::new();
        }
    }

    fn next_started(&mut self) -> Option<NewChild<'s>> {
        if self.incoming.is_empty() {
            if self.incoming.capacity() > RETAINED {
                self.incoming = Vec::new(); // give back a burst's memory
            }
            // Swap rather than take: the start list keeps a buffer with room.
            std::mem::swap(&mut *self.shared.started(), &mut self.incoming);
            self.incoming.reverse();
        }
        self.incoming.pop()
    }

    /// Takes a started child into the slab. A lazy one waits to be started;
    /// one started into a cancelled scope never runs.
    fn adopt(&mut self, NewChild { job, fut }: NewChild<'s>) -> Entry {
        let idx = self.slots.vacant();
        job.place(idx);
        self.adopted.push(idx);
        if self.job.is_cancelled() {
            job.cancel_by_scope();
        } else if self.body.is_none() && !job.is_started() {
            job.cancel(None);
        }
        job.set_span(Span::child(&job));
        let id = job.id;
        let slot = self.slots.insert(ChildSlot { job, fut });
        Entry { slot, job: id }
    }

    fn poll_child(&mut self, entry: Entry) {
        let idx = entry.slot;
        let Some(slot) = self.slots.get_mut(idx) else {
            return; // a late wake of a child that has completed
        };
        if slot.job.id != entry.job {
            return; // a late wake of an earlier child in this slot
        }
        let was_cancelled = match slot.job.dequeue() {
            Dequeued::Poll { cancelled } => cancelled,
            // Cancelled before it first ran: it never runs (R7).
            Dequeued::NeverRan => {
                let cancelled = slot.job.cancellation_error();
                return self.complete(idx, Err(cancelled));
            }
            Dequeued::NotStarted => return,
        };
        let waker = waker_ref(&slot.job);
        let mut cx = Context::from_waker(&waker);
        let polled = {
            let _entered = slot.job.span().map(Span::enter);
            poll_in_job(&slot.job, slot.fut.as_mut(), &mut cx)
        };
        let result = match polled {
            Polled::Ready(result) => result,
            Polled::Panicked(error) => Err(error),
            // Resumed once after its cancellation and still suspended
            // outside `non_cancellable`: drop it (R7).
            Polled::Pending { shielded } if was_cancelled && !shielded => {
                Err(slot.job.cancellation_error())
            }
            Polled::Pending { .. } => return,
        };
        self.complete(idx, result);
    }

    fn complete(&mut self, idx: usize, result: Result<()>) {
        let Some(slot) = self.slots.remove(idx) else {
            return;
        };
        self.registration.remove(idx);
        let ChildSlot { job, fut } = slot;
        // Only a supervisor sends a failure anywhere but to itself.
        let sink = match self.kind {
            Kind::Supervisor => fut.failure_sink(),
            Kind::Coroutine => None,
        };
        let dropped = drop_caught(Some(fut));
        // A panic while the child's future is dropped is a failure too.
        let outcome = match (result, dropped) {
            (Err(e), Some(panic)) if !e.is_cancellation() => {
                Outcome::Failed(e.with_suppressed(vec![panic]))
            }
            (_, Some(panic)) => Outcome::Failed(panic),
            (Ok(()), None) => Outcome::Ok,
            (Err(e), None) if e.is_cancellation() => Outcome::Cancelled(e),
            (Err(e), None) => Outcome::Failed(e),
        };
        let outcome = match outcome {
            Outcome::Failed(e) => Outcome::Failed(e.with_origin(&job.name)),
            other => other,
        };
        if let Outcome::Failed(error) = job.complete(outcome) {
            self.child_failed(error, sink);
        }
    }

    fn child_failed(&mut self, error: Error, sink: Option<Arc<dyn FailureSink + '_>>) {
        match (self.kind, sink) {
            (Kind::Coroutine, _) => self.fail(error),
            (Kind::Supervisor, Some(sink)) => sink.supervised_failure(&error, self.handler.clone()),
            (Kind::Supervisor, None) => handler::report(self.handler.as_ref(), &error),
        }
    }

    /// Records a failure of the scope: the first one cancels everything
    /// (R2, R5); later ones are suppressed by it (R6).
    fn fail(&mut self, error: Error) {
        match &self.failure {
            None => {
                let cause = Error::cancelled_by(&error);
                self.failure = Some(error);
                self.cancel_scope(&cause);
            }
            Some(first) if !first.same_failure(&error) => self.suppressed.push(error),
            Some(_) => {}
        }
    }

    /// Cancels the body and every child; each is resumed once (R7).
    fn cancel_scope(&mut self, cause: &Error) {
        if !self.job.cancel(Some(cause)) {
            return;
        }
        self.shared.queue.set_cancellation(cause);
        for slot in self.slots.iter() {
            slot.job.cancel_by_scope();
        }
    }

    fn finish(&mut self) -> Result<T> {
        self.job.complete(Outcome::Ok);
        if let Some(failure) = self.failure.take() {
            return Err(failure.with_suppressed(std::mem::take(&mut self.suppressed)));
        }
        if self.job.is_cancelled() {
            return Err(self.job.cancellation_error());
        }
        self.value.take().ok_or_else(Error::cancelled)
    }
}

impl<T> Drop for Driver<'_, T> {
    /// R10: the scope's future was dropped; drop the body and every child
    /// now. Jobs are completed as cancelled so that nobody waits on them and
    /// no waker cycle keeps them alive.
    fn drop(&mut self) {
        drop_caught(self.body.take());
        let started = std::mem::take(&mut *self.shared.started());
        let incoming = std::mem::take(&mut self.incoming);
        let waiting = (incoming.into_iter().rev().chain(started)).map(|new| (new.job, new.fut));
        let placed = self.slots.take_all().into_iter();
        for (job, fut) in placed.map(|slot| (slot.job, slot.fut)).chain(waiting) {
            drop_caught(Some(fut));
            job.complete(Outcome::Cancelled(Error::cancelled()));
        }
        self.job.complete(Outcome::Cancelled(Error::cancelled()));
    }
}

/// Drops a future, catching a panic of a `Drop` impl inside it: a panic
/// while a child is torn down is a failure like any other, not an abort.
fn drop_caught<F>(fut: Option<F>) -> Option<Error> {
    catch_unwind(AssertUnwindSafe(move || drop(fut)))
        .err()
        .map(Error::panic)
}
