//! The job record every child and scope carries: name, id, cancellation,
//! completion and who waits for it. It is also the job's waker.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::task::{Wake, Waker};

use futures_util::task::ArcWake;
use once_cell::race::OnceBox;

use super::name::Name;
use super::ready::{Entry, Place, ReadyQueue, Resumed, START_ORDINAL_BITS, Unplaced};
use super::trace::Span;
use super::waiters::{WaitPlace, Waiters};
use crate::error::{Error, Result};

const CANCELLED: u32 = 1;
const STARTED: u32 = 2;
const COMPLETED: u32 = 4;
const QUEUED: u32 = 8;
const COMPLETING: u32 = 16;
/// Someone registered a waker; completion must take the waiters' lock.
const WAITED_ON: u32 = 32;
/// The child has begun to run: its scope has polled it at least once, or
/// spawned its task (a `parallel` child).
const POLLED: u32 = 64;
/// With COMPLETED: how it ended (neither: `Ok`).
const FAILED: u32 = 128;
const ENDED_CANCELLED: u32 = 256;
/// Cancelled by its scope: the cause is the scope's, kept in its queue.
const BY_SCOPE: u32 = 512;
/// Something is attached to the job (a nested scope, a timeout's work):
/// cancelling the job cancels it too.
const HOSTS: u32 = 1024;
/// Suspended, at its last poll, outside any cancellation-aware call (a
/// *foreign wait*): a cancel would drop it there (R7).
const FOREIGN_WAIT: u32 = 2048;
/// Waiting for a place under its scope's `limit`: it has not run, and a
/// cancel completes it at once.
const HELD: u32 = 4096;
/// Given a place under its scope's `limit`: its first run is counted.
const ADMITTED: u32 = 8192;
/// A child of a scope with a `limit`: until its first run it waits for a
/// place, and a cancel completes it at once (SPEC §2b).
const LIMITED: u32 = 16384;
/// A lazy child started before its scope took it: its first run was
/// noted in the tree's FIFO at its start (R14), not at its creation.
const START_NOTED: u32 = 32768;
/// A `parallel` child: its first run spawns its work as a tokio task.
const PARALLEL: u32 = 65536;
/// Its own scope failed (`ScopeOptions::body_of_child`): the failure is in
/// `Cold::failed_early`, for the child's scope to take at its next entry.
const FAILED_EARLY: u32 = 131_072;

/// An `async` child: its completion is stamped (`completed_at`), so that
/// the combinators take outcomes that were there before they looked in
/// the order the children completed (SPEC §2b), not in input order.
const ORDERED: u32 = 262_144;

/// The stamps of `ORDERED` completions, process-wide: children awaited
/// together may complete on different threads. Only `async` children take
/// one (a `launch` child's completion touches no shared counter).
static COMPLETIONS: AtomicU64 = AtomicU64::new(1);

/// Not yet placed in its scope's child storage.
pub(crate) const UNPLACED: u32 = u32::MAX;

/// The mark of an index not placed yet. A child's other bits hold the low
/// bits of its start ordinal in its scope, from its start on (a lazy
/// child's creation counts as its start here), before its handle is
/// returned: a `cancel_children` call covers it before its scope takes it
/// (R7), and its handle must say so at once
/// (`catch_up_with_cancel_children`).
const UNPLACED_MARK: u32 = !START_ORDINAL_BITS;

/// Whether `idx` is a slot index, not the unplaced mark.
#[inline]
fn is_placed(idx: u32) -> bool {
    idx & UNPLACED_MARK == 0
}

/// Whether a job with `flags` waits for a place under its scope's limit:
/// held there, or not run yet (its place is decided at its first run, in
/// start order).
fn waits_for_a_place(flags: u32) -> bool {
    flags & HELD != 0 || (flags & LIMITED != 0 && flags & (POLLED | ADMITTED) == 0)
}

/// Who runs a job's future, and so what waking the job means.
pub(crate) enum Host {
    /// Polled in place by a scope: waking queues its slot index there.
    InPlace(Arc<ReadyQueue>),
    /// Polled by whoever owns it (`with_timeout`): it is woken through the
    /// future it wraps.
    Inline,
}

/// What a scope does with a child it takes off its queue.
pub(crate) enum Dequeued {
    /// Poll it; `cancelled`: this is its resume after a cancellation (R7);
    /// `first`: its first run (a scope with a limit may hold it instead).
    Poll { cancelled: bool, first: bool },
    /// Cancelled before it first ran: it completes without running (R7).
    NeverRan,
    /// Lazy and not started yet: nothing to do.
    NotStarted,
}

/// A job marked cancelled and not yet notified
/// ([`JobCore::mark_cancelled`]).
#[must_use = "a cancelled job must be notified, or it is never resumed"]
pub(crate) struct Marked {
    prior: u32,
    resume: Resume,
}

/// How a cancelled job is resumed.
enum Resume {
    /// Its entry goes to its scope's queue.
    Push(Entry),
    /// Already queued: it is resumed where it waits in the queue.
    Queued,
    /// Not placed yet: woken as any job is, once it is.
    Schedule,
}

/// How a job ended.
#[derive(Clone)]
pub(crate) enum Outcome {
    Ok,
    Failed(Error),
    Cancelled(Error),
}

/// The shared state of one job. It is also the job's waker.
///
/// The hot path (start, poll, complete `Ok` without waiters) touches only
/// the flags. What only cancelled, failed or awaited jobs need lives in a
/// [`Cold`] part allocated on first use, which keeps a pending child small.
pub struct JobCore {
    pub(crate) id: u64,
    pub(crate) name: Name,
    flags: AtomicU32,
    /// The slot index in the scope that polls it.
    idx: AtomicU32,
    queue: Option<Arc<ReadyQueue>>,
    cold: OnceBox<Cold>,
    /// What was entered in this job and is cancelled with it: scopes, the
    /// work of timeouts. Apart from `cold`, which a job hosting a scope
    /// rarely needs (SPEC §6 W7 counts what a nested scope costs its host).
    attached: OnceBox<Mutex<Attachments>>,
}

/// What is attached to a job. The first in place, the rest boxed: a job
/// usually hosts one scope at a time, which then costs its host one small
/// allocation.
#[derive(Default)]
struct Attachments {
    first: Option<Weak<dyn Attached>>,
    // One word: the rest are rarely needed, and every job that hosts a
    // scope carries this (SPEC §6 W7).
    more: Option<Box<More>>,
}

impl Attachments {
    /// Those still attached, oldest first.
    fn live(&self) -> impl Iterator<Item = Arc<dyn Attached>> + '_ {
        let all = self.first.iter();
        let all = all.chain(self.more.iter().flat_map(|more| more.list.iter()));
        all.filter_map(Weak::upgrade)
    }
}

/// The attachments after the first, oldest first, and when to let go of
/// those that have ended.
#[derive(Default)]
struct More {
    list: VecDeque<Weak<dyn Attached>>,
    /// The length at which ended attachments are let go next: twice what
    /// was left the last time, so that each attach costs O(1) however many
    /// are attached at once (a job awaiting a `join_all` of 100,000 scopes;
    /// letting go at every attach made that quadratic).
    purge_at: usize,
}

/// Below this many, ended attachments are kept until there are this many.
const PURGE_MIN: usize = 8;

#[derive(Default)]
struct Cold {
    /// What the job's cancellation-aware calls return once it is cancelled.
    cancellation: OnceLock<Error>,
    /// The error it ended with, if it did not end `Ok`.
    ended_with: OnceLock<Error>,
    waiters: Mutex<Waiters>,
    /// The child's `tracing` span, when a subscriber wants it.
    span: OnceLock<Span>,
    /// The first failure of the child's own scope (`FAILED_EARLY`).
    failed_early: OnceLock<Error>,
    /// When an `ORDERED` job completed, in the process's order of such
    /// completions (0: not yet). Here rather than in the record: only
    /// `async` children take a stamp, and most of those are awaited, which
    /// makes this part anyway (8 bytes more in every record cost W1 0.7%).
    completed_at: AtomicU64,
    /// Scopes entered in the job that are cancelling (Kotlin's state of
    /// the job, `is_cancelling`).
    cancelling_scopes: AtomicU32,
}

/// What a job cancels along with itself, at once (R7): a scope entered in
/// the job, the work of a timeout called in it. So a cancel reaches the
/// whole subtree before anything in it is resumed, in the order Kotlin's
/// cancellation notifies a tree: a job, then what is attached to it.
pub(crate) trait Attached: Send + Sync {
    fn cancel_with(&self, cause: &Error);
}

/// The work of a timeout is a job of its own, cancelled with its caller's.
impl Attached for JobCore {
    fn cancel_with(&self, cause: &Error) {
        self.cancel(Some(cause));
    }
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Ids a thread hands out before it takes a new block from `NEXT_ID`.
pub(crate) const ID_BLOCK: u64 = 1024;

thread_local! {
    /// This thread's block of ids: the next one, and the end of the block.
    static IDS: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
}

/// A process-unique job id. Ids come from per-thread blocks, so that
/// starting a child does not contend on one atomic across worker threads.
fn next_id() -> u64 {
    IDS.with(|ids| {
        let (next, end) = ids.get();
        if next < end {
            ids.set((next + 1, end));
            return next;
        }
        let start = NEXT_ID.fetch_add(ID_BLOCK, Ordering::Relaxed);
        ids.set((start + 1, start + ID_BLOCK));
        start
    })
}

thread_local! {
    /// Job records a thread let go of, emptied, for its next children: a
    /// child's record is one of the two allocations it costs, and a burst
    /// of children freed and made again (W1, a tree's levels) spent about
    /// a tenth of its instructions on them in glibc's allocator, past its
    /// small per-thread caches. Only a record nobody else holds is kept
    /// (`Arc::get_mut`: no handle, waker or weak reference is left), so a
    /// record taken again is as new; its id is new.
    static KEPT: RefCell<Vec<Arc<JobCore>>> = const { RefCell::new(Vec::new()) };
}

/// Records a thread keeps at most (80 bytes each, about 1.3 MiB): a burst
/// of up to this many children takes its records from there (fewer, and
/// the gain fell by two thirds on W1's 10,000 children).
const KEPT_RECORDS: usize = 16 * 1024;

impl JobCore {
    pub(crate) fn new(name: Name, host: Host, lazy: bool) -> Arc<Self> {
        let queue = match host {
            Host::InPlace(queue) => Some(queue),
            Host::Inline => None,
        };
        Self::with_flags(name, queue, if lazy { 0 } else { STARTED })
    }

    /// The job of a child of the scope whose queue is `queue`; under the
    /// scope's `limit` it waits for a place until its first run.
    pub(crate) fn new_child(
        name: Name,
        queue: Arc<ReadyQueue>,
        lazy: bool,
        parallel: bool,
        ordered: bool,
    ) -> Arc<Self> {
        let started = if lazy { 0 } else { STARTED };
        let limited = if queue.is_limited() { LIMITED } else { 0 };
        let parallel = if parallel { PARALLEL } else { 0 };
        let ordered = if ordered { ORDERED } else { 0 };
        Self::with_flags(name, Some(queue), started | limited | parallel | ordered)
    }

    fn with_flags(name: Name, queue: Option<Arc<ReadyQueue>>, flags: u32) -> Arc<Self> {
        if let Some(mut job) = KEPT.try_with(|kept| kept.borrow_mut().pop()).ok().flatten() {
            // Kept only when unique, and nobody could take another since.
            let core = Arc::get_mut(&mut job).expect("a kept record is unique");
            core.id = next_id();
            core.name = name;
            *core.flags.get_mut() = flags;
            *core.idx.get_mut() = UNPLACED;
            core.queue = queue;
            return job;
        }
        Arc::new(Self {
            id: next_id(),
            name,
            flags: AtomicU32::new(flags),
            idx: AtomicU32::new(UNPLACED),
            queue,
            cold: OnceBox::new(),
            attached: OnceBox::new(),
        })
    }

    /// Lets go of a job record: kept, emptied, for the thread's next child
    /// if this was its last reference (`KEPT`); else dropped.
    pub(crate) fn let_go(job: Arc<Self>) {
        // Still shared (a child's slot letting go while the registry's list
        // or a handle holds it): a plain drop. `Arc::get_mut` would find
        // the same with an atomic read-modify-write, the costliest step of
        // a look (W1 makes 17 of them per child).
        if Arc::strong_count(&job) != 1 {
            return drop(job);
        }
        // A full list (a burst of more than `KEPT_RECORDS`) costs a look.
        let dropped = KEPT.try_with(move |kept| {
            if kept.borrow().len() >= KEPT_RECORDS {
                return Some(job);
            }
            let mut job = job;
            let Some(core) = Arc::get_mut(&mut job) else {
                return Some(job);
            };
            core.queue = None;
            core.name = Name::Timeout;
            core.cold = OnceBox::new();
            core.attached = OnceBox::new();
            kept.borrow_mut().push(job);
            None
        });
        // Dropped out of the list's borrow: a record's drop drops wakers,
        // whose own drops may let go of records.
        drop(dropped);
    }

    fn cold(&self) -> &Cold {
        self.cold.get_or_init(Box::default)
    }

    fn waiters(&self) -> MutexGuard<'_, Waiters> {
        // A panic never happens while the lock is held; recover anyway.
        self.cold()
            .waiters
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Keeps the child's span, if a subscriber wanted one.
    pub(crate) fn set_span(&self, span: Span) {
        if span.is_recorded() {
            let _ = self.cold().span.set(span);
        }
    }

    pub(crate) fn span(&self) -> Option<&Span> {
        self.cold.get().and_then(|cold| cold.span.get())
    }

    #[inline]
    fn has(&self, flag: u32) -> bool {
        self.flags.load(Ordering::Acquire) & flag != 0
    }

    #[inline]
    pub(crate) fn is_cancelled(&self) -> bool {
        self.has(CANCELLED)
    }

    /// The child's own scope (its whole body, `ScopeOptions::body_of_child`)
    /// failed with `error`: the child is failing now, as a Kotlin job whose
    /// child failed, and its scope is told at once (an entry of the child):
    /// a `coroutine_scope` fails then (R2), not when the child's children
    /// have cleaned up. Kotlin's `JobSupport` cancels the parent as the
    /// child starts cancelling (`cancelParent`).
    pub(crate) fn fail_early(&self, error: &Error) {
        if self.cold().failed_early.set(error.clone()).is_ok() {
            self.flags.fetch_or(FAILED_EARLY, Ordering::AcqRel);
            self.schedule();
        }
    }

    /// Whether `fail_early` has news for the child's scope.
    #[inline]
    pub(crate) fn has_failed_early(&self) -> bool {
        self.has(FAILED_EARLY)
    }

    /// The failure `fail_early` recorded; the news is taken (a later entry
    /// does not repeat it).
    pub(crate) fn take_failed_early(&self) -> Option<Error> {
        let prior = self.flags.fetch_and(!FAILED_EARLY, Ordering::AcqRel);
        if prior & FAILED_EARLY == 0 {
            return None;
        }
        self.cold.get()?.failed_early.get().cloned()
    }

    /// Kotlin's `isCancelled`: cancelled, or ended cancelled or failed,
    /// or cancelling with a scope entered in it (`is_cancelling`).
    pub(crate) fn is_cancelled_for_any_reason(&self) -> bool {
        self.has(CANCELLED | FAILED | ENDED_CANCELLED) || self.hosts_a_cancelling_scope()
    }

    /// Kotlin's Cancelling state, as the job's handles and `debug::dump`
    /// show it: cancelled and not completed, or running a scope that is
    /// being cancelled. In Kotlin the children a `launch` body starts are
    /// the job's own, so a failing child makes the job itself cancelling;
    /// here they are the children of the scope the body opens (every
    /// child body with children is a scope of its own, SPEC §2), so the
    /// job reports that scope's state while it is inside it.
    pub(crate) fn is_cancelling(&self) -> bool {
        !self.is_completed() && (self.is_cancelled() || self.hosts_a_cancelling_scope())
    }

    /// Whether a scope entered in this job is being cancelled (its own
    /// failure, or a cancellation its body returned) and has not returned.
    /// Those scopes count themselves here (`hosted_scope_cancelling`): a
    /// look at every scope the job hosts made `is_active()` O(scopes), 1 ms
    /// for a `join_all` of 100,000 scopes.
    fn hosts_a_cancelling_scope(&self) -> bool {
        self.cold
            .get()
            .is_some_and(|cold| cold.cancelling_scopes.load(Ordering::Acquire) != 0)
            && !self.is_completed()
    }

    /// A scope entered in this job starts (`true`) or stops (`false`) being
    /// cancelling.
    pub(crate) fn hosted_scope_cancelling(&self, cancelling: bool) {
        let count = &self.cold().cancelling_scopes;
        if cancelling {
            count.fetch_add(1, Ordering::AcqRel);
        } else {
            count.fetch_sub(1, Ordering::AcqRel);
        }
    }

    pub(crate) fn is_completed(&self) -> bool {
        self.has(COMPLETED)
    }

    pub(crate) fn is_started(&self) -> bool {
        self.has(STARTED)
    }

    /// A `parallel` child: its first run spawns its work as a tokio task.
    #[inline]
    pub(crate) fn is_parallel(&self) -> bool {
        self.has(PARALLEL)
    }

    /// Kotlin's `isActive`: started, not completed, not cancelling.
    pub(crate) fn is_active(&self) -> bool {
        self.flags.load(Ordering::Acquire) & (CANCELLED | COMPLETED | STARTED) == STARTED
            && !self.hosts_a_cancelling_scope()
    }

    pub(crate) fn is_completing(&self) -> bool {
        self.has(COMPLETING)
    }

    /// Holds the job before its first run (its scope is at its limit): it
    /// counts as never run until admitted.
    pub(crate) fn hold(&self) {
        self.flags.fetch_and(!POLLED, Ordering::AcqRel);
        self.flags.fetch_or(HELD, Ordering::AcqRel);
    }

    /// Gives a held job its place and queues its first run; false if it
    /// has completed meanwhile (cancelled while it waited).
    pub(crate) fn admit(&self) -> bool {
        let admitted = self
            .flags
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |flags| {
                (flags & COMPLETED == 0).then_some((flags & !HELD) | ADMITTED)
            })
            .is_ok();
        if admitted {
            self.schedule();
        }
        admitted
    }

    /// Marks the job as begun: a `parallel` child whose task was spawned
    /// at its adoption, without an entry of its own (from then on a cancel
    /// resumes it rather than completing it as never run).
    pub(crate) fn mark_spawned(&self) {
        self.flags.fetch_or(POLLED, Ordering::AcqRel);
    }

    /// Whether the job took a place under its scope's limit: it ran, or
    /// was admitted to.
    pub(crate) fn took_a_place(&self) -> bool {
        self.has(POLLED | ADMITTED)
    }

    /// Records whether the job's last poll left it in a foreign wait; a
    /// plain load first, since the mark rarely changes.
    #[inline]
    pub(crate) fn set_foreign_wait(&self, foreign: bool) {
        if self.has(FOREIGN_WAIT) != foreign {
            if foreign {
                self.flags.fetch_or(FOREIGN_WAIT, Ordering::AcqRel);
            } else {
                self.flags.fetch_and(!FOREIGN_WAIT, Ordering::AcqRel);
            }
        }
    }

    pub(crate) fn is_in_foreign_wait(&self) -> bool {
        self.has(FOREIGN_WAIT)
    }

    pub(crate) fn set_completing(&self) {
        self.flags.fetch_or(COMPLETING, Ordering::AcqRel);
    }

    /// Takes the job off its scope's queue to poll it (one atomic step):
    /// clears the queued mark and, unless the poll must not run the future
    /// (lazy and not started, or cancelled before it ever ran), marks it
    /// polled. Returns what the scope must do.
    #[inline]
    pub(crate) fn dequeue(&self) -> Dequeued {
        let runs =
            |flags: u32| flags & STARTED != 0 && (flags & POLLED != 0 || flags & CANCELLED == 0);
        let prior = self
            .flags
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |flags| {
                let polled = if runs(flags) { POLLED } else { 0 };
                Some((flags & !QUEUED) | polled)
            })
            .unwrap_or_else(|flags| flags);
        if runs(prior) {
            Dequeued::Poll {
                cancelled: prior & CANCELLED != 0,
                first: prior & (POLLED | ADMITTED) == 0,
            }
        } else if prior & CANCELLED != 0 {
            Dequeued::NeverRan
        } else {
            Dequeued::NotStarted
        }
    }

    /// Cancels the job with `cause` as what its calls return, and wakes it
    /// so that it is resumed. False if it was already cancelled or done.
    pub(crate) fn cancel(&self, cause: Option<&Error>) -> bool {
        let Some(marked) = self.mark_cancelled(cause) else {
            return false;
        };
        self.notify_cancelled(marked);
        self.complete_if_it_never_runs(self.flags.load(Ordering::Acquire));
        true
    }

    /// The first half of [`cancel`](JobCore::cancel): the job is cancelled
    /// (everyone sees it at once, R7) but nothing is resumed yet. A scope
    /// cancelling itself does this to its own job, cancels its children,
    /// then notifies its job: Kotlin's order (below).
    pub(crate) fn mark_cancelled(&self, cause: Option<&Error>) -> Option<Marked> {
        if self.has(CANCELLED | COMPLETED) {
            return None;
        }
        self.cold()
            .cancellation
            .get_or_init(|| cause.cloned().unwrap_or_else(Error::cancelled));
        self.mark(CANCELLED)
    }

    /// Cancels a child on behalf of its scope, whose queue holds the cause.
    pub(crate) fn cancel_by_scope(&self) -> bool {
        let Some(marked) = self.mark(CANCELLED | BY_SCOPE) else {
            return false;
        };
        let prior = marked.prior;
        self.notify_cancelled(marked);
        self.complete_if_it_never_runs(prior);
        true
    }

    /// R11, SPEC §2b: a job cancelled (by anyone: its handle, its scope)
    /// before it was started (lazy) or while it waits for a place under its
    /// scope's limit has nothing to resume, and completes at once, as in
    /// Kotlin; its scope lets it go when its entry comes. `flags`: its
    /// flags as the cancel saw them. Waiting for a place: held there, or
    /// not run yet (its place is decided at its first run, in start order).
    fn complete_if_it_never_runs(&self, flags: u32) {
        if flags & STARTED == 0 || waits_for_a_place(flags) {
            self.complete(Outcome::Cancelled(self.cancellation_error()));
        }
    }

    /// Started under its scope's `limit` and not given a place yet
    /// (`debug::dump` says so: a child that waits for a place while the
    /// children holding them wait for it looks stuck otherwise).
    pub(crate) fn waits_for_a_place(&self) -> bool {
        let flags = self.flags.load(Ordering::Acquire);
        flags & STARTED != 0 && waits_for_a_place(flags)
    }

    /// [`cancel_by_scope`](JobCore::cancel_by_scope) for one of a scope's
    /// children cancelled together: its entry joins `resumed`, which the
    /// scope pushes to its queue at once ([`Resumed`]) rather than one by
    /// one (W2: a scope cancelling a thousand children). What is attached
    /// to the child is cancelled first, after the entries before it are
    /// pushed: the same order as one by one.
    pub(crate) fn cancel_by_scope_into(&self, resumed: &mut Resumed) {
        let Some(Marked { prior, resume }) = self.mark(CANCELLED | BY_SCOPE) else {
            return;
        };
        if prior & HOSTS != 0 {
            resumed.push_now();
            self.cancel_attached();
        }
        match resume {
            Resume::Push(entry) => {
                let queue = self.queue.as_ref().expect("a placed job has a queue");
                resumed.add(queue, entry);
            }
            Resume::Schedule => {
                resumed.push_now();
                self.schedule();
            }
            Resume::Queued => {}
        }
        self.complete_if_it_never_runs(prior);
    }

    fn mark(&self, flag: u32) -> Option<Marked> {
        // A child placed in its scope is marked queued in the same atomic
        // step (cancelling a thousand children is a thousand steps, not
        // two); its entry is pushed when it is notified.
        let idx = self.idx.load(Ordering::Acquire);
        let placed = is_placed(idx) && self.queue.is_some();
        let queued = if placed { QUEUED } else { 0 };
        let prior = self
            .flags
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |flags| {
                (flags & (CANCELLED | COMPLETED) == 0).then_some(flags | flag | queued)
            })
            .ok()?;
        let resume = if !placed {
            Resume::Schedule
        } else if prior & QUEUED != 0 {
            Resume::Queued
        } else {
            Resume::Push(self.entry(idx))
        };
        Some(Marked { prior, resume })
    }

    /// The second half of a cancel: what is attached to the job (the
    /// scopes entered in it, the work of its timeouts) is cancelled, then
    /// the job is woken to be resumed. Kotlin's order: a cancelled job
    /// notifies its children and the scopes running in it before its own
    /// suspended code, which registered for cancellation when it last
    /// suspended, after it had started them; so the deepest cleanup runs
    /// first, and a job's own code resumes once its children have.
    pub(crate) fn notify_cancelled(&self, Marked { prior, resume }: Marked) {
        if prior & HOSTS != 0 {
            self.cancel_attached();
        }
        match resume {
            Resume::Push(entry) => {
                let queue = self.queue.as_ref().expect("a placed job has a queue");
                queue.push(entry);
            }
            Resume::Schedule => self.schedule(),
            Resume::Queued => {}
        }
    }

    /// Attaches what was entered in this job, to be cancelled with it.
    pub(crate) fn attach(&self, attached: Weak<dyn Attached>) {
        let list = self.attached.get_or_init(Box::default);
        let mut list = list.lock().unwrap_or_else(|e| e.into_inner());
        let Attachments { first, more } = &mut *list;
        let ended = |w: &Weak<dyn Attached>| w.strong_count() == 0;
        // What has ended since is let go, so that a long-lived job entering
        // scope after scope keeps a short list.
        if let Some(more) = more
            && more.list.len() >= more.purge_at
        {
            more.list.retain(|w| !ended(w));
            more.purge_at = (2 * more.list.len()).max(PURGE_MIN);
        }
        // The oldest still attached moves up: a cancel reaches them in the
        // order they were attached.
        while first.as_ref().is_some_and(ended) {
            *first = more.as_mut().and_then(|more| more.list.pop_front());
        }
        if first.is_none() {
            *first = Some(attached);
        } else {
            more.get_or_insert_default().list.push_back(attached);
        }
        self.flags.fetch_or(HOSTS, Ordering::AcqRel);
    }

    fn cancel_attached(&self) {
        let cause = self.cancellation_error();
        let Some(list) = self.attached.get() else {
            return;
        };
        let attached: Vec<Arc<dyn Attached>> = {
            let list = list.lock().unwrap_or_else(|e| e.into_inner());
            list.live().collect()
        };
        for attached in attached {
            attached.cancel_with(&cause);
        }
    }

    pub(crate) fn cancellation_error(&self) -> Error {
        self.cancellation_cause()
            .cloned()
            .unwrap_or_else(Error::cancelled)
    }

    /// Why the job was cancelled, if a cause was kept: its own, or its
    /// scope's when the scope cancelled it.
    fn cancellation_cause(&self) -> Option<&Error> {
        if let Some(cause) = self.cold.get().and_then(|cold| cold.cancellation.get()) {
            return Some(cause);
        }
        if self.has(BY_SCOPE) {
            return self.queue.as_ref().and_then(|queue| queue.cancellation());
        }
        None
    }

    /// Starts a lazy job; true only for the call that started it (false
    /// for one already started, cancelled or completed), as in Kotlin.
    pub(crate) fn start(self: &Arc<Self>) -> bool {
        self.catch_up_with_cancel_children();
        let started = self
            .flags
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |flags| {
                (flags & (STARTED | CANCELLED | COMPLETED) == 0).then_some(flags | STARTED)
            })
            .is_ok();
        if started {
            self.schedule_start();
        }
        started
    }

    /// R14: a started lazy child's first run joins the FIFO now, as a
    /// launched child's does at its launch. Not placed yet (started in the
    /// run that created it), it is queued through a note in the tree's
    /// list, which its scope resolves once it has placed it; from outside
    /// the tree's drain, its scope queues it when it takes it.
    fn schedule_start(self: &Arc<Self>) {
        if is_placed(self.idx.load(Ordering::Acquire)) {
            return self.schedule();
        }
        // Its scope places it on the thread where its tree drains: seen
        // there, the mark is set before the scope can place it.
        if let Some(queue) = self.queue.as_ref().filter(|queue| queue.drains_here()) {
            self.flags.fetch_or(START_NOTED, Ordering::AcqRel);
            queue.note_lazy_start(self.clone());
        }
    }

    /// Whether the job's entry is queued when its scope places it: a child
    /// started at its launch (its first run), or one cancelled before it
    /// was placed (so that its scope lets it go). A lazy one started in
    /// its launching run is queued by its start's note instead, and one
    /// never started waits for its start.
    pub(crate) fn queued_at_placement(&self) -> bool {
        let flags = self.flags.load(Ordering::Acquire);
        // One completed before it was placed (a lazy child started, then
        // cancelled while it waited for a place) is queued whatever its
        // start noted: its note finds it completed and queues nothing, and
        // the scope must still let it go.
        flags & COMPLETED != 0 || (flags & START_NOTED == 0 && flags & (STARTED | CANCELLED) != 0)
    }

    /// Where the job sits in its scope, once placed there.
    /// The queue this job's wakes go to: its scope's (a scope's own job:
    /// that scope's).
    pub(crate) fn queue(&self) -> Option<&Arc<ReadyQueue>> {
        self.queue.as_ref()
    }

    pub(crate) fn placement(&self) -> Option<Place> {
        let queue = self.queue.as_ref()?;
        match self.idx.load(Ordering::Acquire) {
            idx if !is_placed(idx) => None,
            idx => Some(Place {
                queue: queue.clone(),
                entry: self.entry(idx),
            }),
        }
    }

    pub(crate) fn place(&self, idx: usize) {
        let idx = u32::try_from(idx)
            .ok()
            .filter(|&idx| is_placed(idx))
            .expect("fewer than 2 billion children at once in one scope");
        self.idx.store(idx, Ordering::Release);
    }

    /// Started and not yet taken by its scope (placed in its storage),
    /// nor completed, its scope still there.
    pub(crate) fn is_waiting_to_be_taken(&self) -> bool {
        !is_placed(self.idx.load(Ordering::Acquire))
            && !self.is_completed()
            && self.queue.as_ref().is_some_and(|queue| !queue.is_closed())
    }

    /// Numbers the child's start in its scope (`ordinal`, counted under
    /// the scope's start list lock, before the scope can place it).
    pub(crate) fn number_start(&self, ordinal: u64) {
        let low_bits = ordinal as u32 & START_ORDINAL_BITS;
        self.idx.store(UNPLACED_MARK | low_bits, Ordering::Relaxed);
    }

    /// A child started and not yet taken by its scope, which a
    /// `cancel_children` call or the cancel of the scope itself covered:
    /// it is cancelled now, as Kotlin cancels every child at once (R7),
    /// so that its handle says so in the code right after the call (a
    /// lazy one completes, R11, and cannot be started). Its scope would
    /// cancel it as it takes it (`Driver::adopt`), in the same way; the
    /// handles' reads of the job's state, and `start`, come here first.
    pub(crate) fn catch_up_with_cancel_children(&self) {
        let idx = self.idx.load(Ordering::Acquire);
        if is_placed(idx) || self.has(CANCELLED | COMPLETED) {
            return;
        }
        let Some(queue) = &self.queue else { return };
        if !queue.cancel_children_covers(idx & START_ORDINAL_BITS) {
            return;
        }
        if queue.cancellation().is_some() {
            self.cancel_by_scope(); // the scope itself is cancelled
        } else {
            self.cancel(None);
        }
    }

    /// Clears the queued mark as the scope takes the job off its queue.
    pub(crate) fn unqueue(&self) {
        self.flags.fetch_and(!QUEUED, Ordering::AcqRel);
    }

    /// Asks whoever polls the job to poll it again.
    #[inline]
    pub(crate) fn schedule(&self) {
        if let (Some(queue), Some(entry)) = (&self.queue, self.claim_entry()) {
            queue.push(entry);
        }
    }

    /// The job's entry to queue: none if it is not placed, or already
    /// queued, or completed. Once completed, a job's slot may hold another
    /// child: a late wake queues nothing (and the scope checks the id of
    /// what it takes off the queue against the slot's child).
    fn claim_entry(&self) -> Option<Entry> {
        match self.idx.load(Ordering::Acquire) {
            idx if !is_placed(idx) => None,
            idx => {
                let prior = self.flags.fetch_or(QUEUED, Ordering::AcqRel);
                (prior & (QUEUED | COMPLETED) == 0).then(|| self.entry(idx))
            }
        }
    }

    /// This job's entry on its scope's run queue, for slot `idx`.
    fn entry(&self, idx: u32) -> Entry {
        Entry {
            slot: idx as usize,
            job: self.id,
        }
    }

    /// Records how the job ended and wakes everyone waiting for it. A job
    /// that was cancelled and still returned `Ok` ends cancelled (R11).
    pub(crate) fn complete(&self, outcome: Outcome) -> Outcome {
        // Completed already (a scope's job, when its future is dropped after
        // it returned): the first outcome stays, and nothing is allocated.
        if let Some(first) = self.outcome() {
            return first;
        }
        let outcome = match outcome {
            Outcome::Ok => match self.ended(Ok(())) {
                Ok(()) => Outcome::Ok,
                Err(cancelled) => Outcome::Cancelled(cancelled),
            },
            other => other,
        };
        let ended = match &outcome {
            Outcome::Ok => COMPLETED,
            // Ended by its own cancellation: `outcome` finds that error again.
            Outcome::Cancelled(e)
                if self.cancellation_cause().is_some_and(|c| e.same_failure(c)) =>
            {
                COMPLETED | ENDED_CANCELLED
            }
            Outcome::Failed(e) | Outcome::Cancelled(e) => {
                if self.cold().ended_with.set(e.clone()).is_err() {
                    return self.outcome().unwrap_or(outcome);
                }
                let kind = if matches!(outcome, Outcome::Failed(_)) {
                    FAILED
                } else {
                    ENDED_CANCELLED
                };
                COMPLETED | kind
            }
        };
        let flags = self.flags.fetch_or(ended, Ordering::SeqCst);
        if flags & COMPLETED != 0 {
            return self.outcome().unwrap_or(outcome);
        }
        if flags & ORDERED != 0 {
            self.stamp_completion();
        }
        if flags & WAITED_ON != 0 {
            let waiters = self.waiters().take();
            waiters.for_each(Waker::wake);
        }
        outcome
    }

    /// Takes the next completion stamp, right after the job completed (by
    /// the one call that completed it). A job seen completed before its
    /// stamp is there (its completion races the look, on another thread)
    /// counts as not completed yet: its outcome comes through its waker.
    #[cold]
    #[inline(never)]
    fn stamp_completion(&self) {
        let stamp = COMPLETIONS.fetch_add(1, Ordering::Relaxed);
        self.cold().completed_at.store(stamp, Ordering::Release);
    }

    /// When the job completed, in the order of `async` children's
    /// completions; `None` if it has not (or is not an `async` child).
    pub(crate) fn completion_stamp(&self) -> Option<u64> {
        let stamp = self.cold.get()?.completed_at.load(Ordering::Acquire);
        Some(stamp).filter(|&stamp| stamp != 0)
    }

    /// R11: a job that was cancelled and still returned `Ok` ends
    /// cancelled: its outcome is the cancellation, not the value.
    pub(crate) fn ended<T>(&self, result: Result<T>) -> Result<T> {
        match result {
            Ok(_) if self.is_cancelled() => Err(self.cancellation_error()),
            other => other,
        }
    }

    /// How the job ended, once it has.
    pub(crate) fn outcome(&self) -> Option<Outcome> {
        let flags = self.flags.load(Ordering::Acquire);
        if flags & COMPLETED == 0 {
            return None;
        }
        let error = || {
            self.cold
                .get()
                .and_then(|cold| cold.ended_with.get().cloned())
                .unwrap_or_else(|| self.cancellation_error())
        };
        Some(if flags & FAILED != 0 {
            Outcome::Failed(error())
        } else if flags & ENDED_CANCELLED != 0 {
            Outcome::Cancelled(error())
        } else {
            Outcome::Ok
        })
    }

    /// The outcome if done, else puts `waker` in the waiter's `place`, to
    /// be woken when it is.
    pub(crate) fn poll_outcome(&self, place: &mut WaitPlace, waker: &Waker) -> Option<Outcome> {
        if let Some(outcome) = self.outcome() {
            return Some(outcome);
        }
        let mut waiters = self.waiters();
        waiters.register(place, waker);
        // Set under the lock: a completion that sees the mark takes the lock
        // after this registration and wakes it; one that does not has set
        // COMPLETED first, which the next read sees.
        self.flags.fetch_or(WAITED_ON, Ordering::SeqCst);
        drop(waiters);
        self.outcome()
    }

    /// The waiter in `place` stops waiting (it was dropped): its waker is
    /// let go now rather than when the job completes.
    pub(crate) fn stop_waiting(&self, place: &mut WaitPlace) {
        if place.is_held() {
            self.waiters().unregister(place);
        }
    }
}

impl Wake for JobCore {
    fn wake(self: Arc<Self>) {
        self.schedule();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.schedule();
    }
}

/// The same waking, for wakers lent by reference (`waker_ref`) while a
/// scope polls a child.
impl ArcWake for JobCore {
    fn wake_by_ref(arc_self: &Arc<Self>) {
        arc_self.schedule();
    }
}

/// A child its scope has not placed yet: a lazy one's start note gives its
/// first entry; under a `limit`, `cancel_children` cancels it, which
/// completes it at once.
impl Unplaced for JobCore {
    fn first_entry(&self) -> Option<Entry> {
        self.claim_entry()
    }

    fn cancel_waiting(&self) {
        self.cancel(None);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex, Weak};

    use super::{Attached, Host, JobCore, KEPT, PURGE_MIN};
    use crate::engine::name::Name;
    use crate::error::Error;

    fn kept() -> usize {
        KEPT.with(|kept| kept.borrow().len())
    }

    /// A record is kept for the thread's next job only once nothing else
    /// holds it (a handle, a waker, a weak reference), and comes back as
    /// new: a new id, its flags, its name, nothing of the old job's.
    #[test]
    fn a_record_is_kept_only_when_unique_and_comes_back_as_new() {
        KEPT.with(|kept| kept.borrow_mut().clear());
        let first = JobCore::new(Name::Timeout, Host::Inline, true);
        first.cancel(Some(&Error::msg("old")));
        let handle = first.clone();
        JobCore::let_go(first);
        assert_eq!(kept(), 0, "a handle still holds it");
        let weak = Arc::downgrade(&handle);
        JobCore::let_go(handle);
        assert_eq!(kept(), 0, "a weak reference still points at it");
        assert!(weak.upgrade().is_none());

        let second = JobCore::new(Name::Timeout, Host::Inline, true);
        let (at, id) = (Arc::as_ptr(&second), second.id);
        JobCore::let_go(second);
        assert_eq!(kept(), 1);
        let third = JobCore::new(Name::CancelOn, Host::Inline, false);
        assert_eq!(kept(), 0);
        assert_eq!(Arc::as_ptr(&third), at, "the same record");
        assert_ne!(third.id, id, "a new id");
        assert!(matches!(third.name, Name::CancelOn));
        assert!(third.is_started() && !third.is_cancelled() && !third.is_completed());
        assert!(third.cold.get().is_none() && third.attached.get().is_none());
    }

    /// An attachment that records, in a shared log, when it is cancelled.
    struct Logged {
        id: usize,
        log: Arc<Mutex<Vec<usize>>>,
    }

    impl Attached for Logged {
        fn cancel_with(&self, _cause: &Error) {
            self.log.lock().unwrap().push(self.id);
        }
    }

    fn attached_len(job: &JobCore) -> usize {
        let list = job.attached.get().expect("attached").lock().unwrap();
        usize::from(list.first.is_some()) + list.more.as_ref().map_or(0, |more| more.list.len())
    }

    /// Attaches `ids` to `job`; the attachments stay alive while the
    /// returned handles do.
    fn attach(
        job: &JobCore,
        ids: impl Iterator<Item = usize>,
        log: &Arc<Mutex<Vec<usize>>>,
    ) -> Vec<Arc<dyn Attached>> {
        ids.map(|id| {
            let item: Arc<dyn Attached> = Arc::new(Logged {
                id,
                log: log.clone(),
            });
            job.attach(Arc::downgrade(&item) as Weak<dyn Attached>);
            item
        })
        .collect()
    }

    #[test]
    fn a_cancel_reaches_the_live_attachments_in_the_order_they_were_attached() {
        let job = JobCore::new(Name::Timeout, Host::Inline, false);
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut alive = attach(&job, 0..100, &log);
        // Every other one ends, the first among them.
        let ended: Vec<_> = (0..100).step_by(2).collect();
        for at in ended.iter().rev() {
            alive.remove(*at);
        }
        alive.extend(attach(&job, 100..110, &log));
        assert!(job.cancel(None));
        let expected: Vec<usize> = (1..100).step_by(2).chain(100..110).collect();
        assert_eq!(*log.lock().unwrap(), expected);
    }

    #[test]
    fn ended_attachments_are_let_go_so_the_list_stays_within_twice_the_live_ones() {
        let job = JobCore::new(Name::Timeout, Host::Inline, false);
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut alive = Vec::new();
        // A job entering scope after scope, ten alive at a time.
        for round in 0..1_000 {
            alive.extend(attach(&job, round * 10..round * 10 + 10, &log));
            if alive.len() > 10 {
                alive.drain(..10);
            }
            assert!(attached_len(&job) <= 2 * alive.len() + PURGE_MIN + 1);
        }
    }
}
