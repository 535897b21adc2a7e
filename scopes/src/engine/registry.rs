//! The registry of live scopes: what `debug::dump` shows, and how a cancel
//! reaches a scope entered in a job.
//!
//! Each scope registers itself once in a process-wide table and keeps a
//! list of its live children, indexed like its child slots. A burst of
//! children adopted together is published under the scope's lock once, and
//! before any of them runs, so `dump` sees them from anywhere, a child of
//! the same scope included. A completed child is left in the list until the
//! scope's poll ends (one lock for the lot): `dump` skips completed jobs, so
//! the view stays exact. That is the whole cost when nobody dumps.
//!
//! The same list is how a cancel reaches a nested scope's children at once
//! (R7): the scope's entry is attached to the job it was entered in, and
//! cancelling that job cancels the scope and every child listed here.

use std::cell::{Cell, RefCell};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use rustc_hash::FxHashMap;
use smallvec::SmallVec;

use super::job::{Attached, ID_BLOCK, JobCore};
use super::ready::Resumed;
use super::spare;
use crate::error::Error;

struct ScopeEntry {
    /// The scope's own job, whose queue is the scope's.
    job: Arc<JobCore>,
    /// The id of the job `debug::dump` shows it under: the unit of work it
    /// was entered in (for a timeout's work, the one that work runs in;
    /// in a `parallel` child's task, that child); 0: none (ids start at 1).
    shown_under: u64,
    /// Children by slot index; completed ones may linger until a flush.
    /// The first two in place: as small as a `Vec`, and a scope with one
    /// or two children allocates no list.
    children: Mutex<SmallVec<[Option<Arc<JobCore>>; 2]>>,
}

/// Live scopes by their job's id, in shards: worker threads take ids in
/// blocks of their own (`job.rs`), so scopes opened on different threads
/// (a scope per request on a multi-thread runtime) mostly take different
/// locks. A hash map: a scope is registered and removed once each, and
/// looked up by id (`cancel_children`); only `dump` wants them in order,
/// and sorts. (A `BTreeMap` cost a tree of scopes 540 instructions per
/// scope in these two steps, a tenth of what the scope costs.)
static REGISTRY: [Mutex<Option<Shard>>; SHARDS] = [const { Mutex::new(None) }; SHARDS];

type Shard = FxHashMap<u64, Weak<ScopeEntry>>;

const SHARDS: usize = 8;

/// The shard holding the scope whose job has id `id`.
fn shard(id: u64) -> MutexGuard<'static, Option<Shard>> {
    lock(&REGISTRY[(id / ID_BLOCK) as usize % SHARDS])
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// A scope's entry in the registry; removed when dropped.
pub(crate) struct Registration {
    entry: Arc<ScopeEntry>,
}

/// Changes to a scope's list of children not made yet, kept by the scope
/// with its children (a scope without children carries none).
#[derive(Default)]
pub(crate) struct Changes {
    /// By slot: children adopted (published before any of them runs) and
    /// children completed (cleared in batches), the latter marked with
    /// `DONE`. One list, so a scope allocates one for both, and only past
    /// the first few (a scope per node of a tree allocates none).
    pending: SmallVec<[usize; 4]>,
    /// How many of `pending` are adoptions.
    adopted: usize,
}

/// Marks a slot in `pending` whose child completed.
const DONE: usize = 1 << (usize::BITS - 1);

/// Registers a scope (its own job, whose queue is the scope's), attached
/// to the job it was entered in (`parent`), so that cancelling that job
/// cancels the scope; `debug::dump` shows it under the job with id
/// `shown_under` (0: none).
pub(crate) fn register(
    job: &Arc<JobCore>,
    parent: Option<&Arc<JobCore>>,
    shown_under: u64,
) -> Registration {
    let entry = Arc::new(ScopeEntry {
        job: job.clone(),
        shown_under,
        children: Mutex::new(SmallVec::new()),
    });
    shard(job.id)
        .get_or_insert_default()
        .insert(job.id, Arc::downgrade(&entry));
    if let Some(parent) = parent {
        let attached: Arc<dyn Attached> = entry.clone();
        parent.attach(Arc::downgrade(&attached));
    }
    Registration { entry }
}

/// R7: cancels the scope's job (its body) and every child, in start order;
/// each is resumed once. A no-op for a scope already cancelled.
///
/// All are cancelled before any is resumed; they are resumed children
/// first, each with its own subtree, then the body (and what its code
/// entered): Kotlin's order, where the body's suspended code registered
/// for cancellation when it last suspended, after it started its
/// children (`JobCore::notify_cancelled`).
impl Attached for ScopeEntry {
    fn cancel_with(&self, cause: &Error) {
        let Some(marked) = self.job.mark_cancelled(Some(cause)) else {
            return;
        };
        if let Some(queue) = self.job.queue() {
            queue.set_cancellation(cause);
            // Those started and not taken yet too: the scope cancels them
            // as it takes them (by itself, with its cause, after those
            // listed here: they started later), and their handles, and
            // `dump`, say so at once (`JobCore::catch_up_with_cancel_children`).
            queue.cover_starts_so_far();
        }
        let mut resumed = Resumed::default();
        self.each_child_in_start_order(|child| child.cancel_by_scope_into(&mut resumed));
        resumed.push_now();
        self.job.notify_cancelled(marked);
    }
}

impl ScopeEntry {
    /// Runs `f` on each child listed so far, in the order they were
    /// started (Kotlin notifies a job's children in the order they were
    /// attached), not by slot: a slot freed by a child that ended is taken
    /// by the next one. Job ids are handed out in order on a thread (a
    /// scope that moved to another worker between two starts is the
    /// exception). Usually the list is in that order already and is walked
    /// as it is; else its entries are sorted first.
    fn each_child_in_start_order(&self, mut f: impl FnMut(&JobCore)) {
        let children = lock(&self.children);
        let mut ids = children.iter().flatten().map(|child| child.id);
        let mut last = 0;
        if ids.all(|id| std::mem::replace(&mut last, id) < id) {
            children.iter().flatten().for_each(|child| f(child));
            return;
        }
        let mut sorted: Vec<&Arc<JobCore>> = children.iter().flatten().collect();
        sorted.sort_unstable_by_key(|child| child.id);
        sorted.into_iter().for_each(|child| f(child));
    }
}

/// `cancel_children()` in the code of `job`: if `job` is a scope's own job
/// (the code is that scope's body), cancels every child of that scope,
/// started so far, not the scope. False when `job` is not a scope's.
pub(crate) fn cancel_children_of(job: &JobCore) -> bool {
    let scope = shard(job.id)
        .as_ref()
        .and_then(|shard| shard.get(&job.id)?.upgrade());
    let Some(scope) = scope else {
        return false;
    };
    if let Some(queue) = scope.job.queue() {
        queue.cancel_children_started_so_far();
    }
    scope.each_child_in_start_order(|child| {
        child.cancel(None);
    });
    true
}

/// Completed children cleared from a scope's list at a time.
const FLUSH_BATCH: usize = 32;

impl Changes {
    /// Notes that a child was placed in slot `idx`; published at the next
    /// `publish`.
    pub(crate) fn adopted(&mut self, idx: usize) {
        self.note(idx);
        self.adopted += 1;
    }

    #[inline]
    fn note(&mut self, change: usize) {
        if self.pending.len() == SPARE_AT {
            take_spare_room(&mut self.pending, spare::take_changes);
        }
        self.pending.push(change);
    }

    /// Makes room at once for `more` adoptions about to be noted (a batch
    /// of started children), where the list stays small: a scope starting
    /// twenty children grows it once, not four times. Past `SPARE_AT` the
    /// list grows as before and takes an earlier scope's room.
    pub(crate) fn expect(&mut self, more: usize) {
        // Adoptions are published before any of them completes: room for
        // the adoptions is room for their completions too.
        reserve_small(&mut self.pending, more);
    }

    /// Adoptions not yet published.
    pub(crate) fn adoptions(&self) -> usize {
        self.adopted
    }

    /// Notes that the child at `idx` completed; cleared at the next flush.
    pub(crate) fn remove(&mut self, idx: usize) {
        self.note(idx | DONE);
    }

    fn give_back_room(&mut self) {
        // Above what a burst's published parts (1,024) and a flush's batch
        // leave: only a burst's memory is given back, not a part's.
        // The list is empty here (drained, nothing left to publish).
        if self.pending.capacity() > 4096 {
            self.clear(); // a burst's memory, to the thread's spare buffers
        }
    }

    /// Starts over with no changes, giving the list's room to the next
    /// scope on this thread.
    fn clear(&mut self) {
        let pending = std::mem::take(&mut self.pending);
        if spare::is_large::<usize>(pending.capacity()) {
            spare::keep_changes(pending.into_vec());
        }
        self.adopted = 0;
    }
}

impl Drop for Changes {
    fn drop(&mut self) {
        self.clear();
    }
}

/// The length at which a list about to outgrow a small one takes the room
/// an earlier scope on this thread left, if any (`spare.rs`): doubled, the
/// next would be large. Lists of a scope per node of a tree stay below.
const SPARE_AT: usize = 64;

/// Reserves room for `more` items in one step when the list stays within
/// `SPARE_AT` (a small list that would otherwise double several times);
/// a larger one is left to grow and to take spare room at `SPARE_AT`.
fn reserve_small<A: smallvec::Array>(list: &mut SmallVec<A>, more: usize) {
    if list.len() + more <= SPARE_AT {
        list.reserve(more);
    }
}

/// Moves `list` (`SPARE_AT` items) into a large buffer kept by an earlier
/// scope (`take`), if there is one and the list is not that large yet.
#[cold]
#[inline(never)]
fn take_spare_room<A: smallvec::Array>(
    list: &mut SmallVec<A>,
    take: impl FnOnce(usize) -> Option<Vec<A::Item>>,
) {
    if list.capacity() > SPARE_AT {
        return;
    }
    if let Some(mut room) = take(2 * SPARE_AT) {
        room.extend(list.drain(..));
        *list = SmallVec::from_vec(room);
    }
}

impl Registration {
    /// Publishes the children adopted since the last call (`job_at` finds
    /// the job in a slot), under one lock, with the completions noted so
    /// far. Children placed while the scope was being cancelled from
    /// elsewhere (another thread) are cancelled here, now that a cancel
    /// sees them.
    #[inline]
    pub(crate) fn publish<'a>(
        &self,
        changes: &mut Changes,
        job_at: impl Fn(usize) -> Option<&'a Arc<JobCore>>,
    ) {
        // Asked after every entry: the check stays in the caller.
        if changes.adopted != 0 {
            self.publish_now(changes, job_at);
        }
    }

    #[inline(never)]
    fn publish_now<'a>(
        &self,
        changes: &mut Changes,
        job_at: impl Fn(usize) -> Option<&'a Arc<JobCore>>,
    ) {
        let mut children = lock(&self.entry.children);
        // Slots fill from the front: the list grows by about the number
        // adopted.
        reserve_small(&mut children, changes.adopted);
        let cancelled = self.entry.job.is_cancelled();
        for pending in changes.pending.drain(..) {
            let idx = pending & !DONE;
            if pending & DONE != 0 {
                clear_completed(&mut children, idx);
                continue;
            }
            let Some(job) = job_at(idx) else {
                continue; // completed meanwhile, and its slot is empty
            };
            if cancelled {
                job.cancel_by_scope();
            }
            // Fresh slots come in order: the list usually grows by one.
            if idx == SPARE_AT {
                take_spare_room(&mut children, spare::take_children);
            }
            while children.len() < idx {
                children.push(None);
            }
            match children.get_mut(idx) {
                Some(entry) => *entry = Some(job.clone()),
                None => children.push(Some(job.clone())),
            }
        }
        drop(children);
        changes.adopted = 0;
        changes.give_back_room();
    }

    /// Every child has ended and the scope's slots start over from 0
    /// (after a burst): the list of children is emptied, a burst's memory
    /// given back, and the changes not made yet are moot. So a cancel, or
    /// `debug::dump`, walks the children there are, not the burst's slots.
    pub(crate) fn forget_children(&self, changes: &mut Changes) {
        // Out of the lock: what is left in the list is dropped meanwhile.
        let children = std::mem::take(&mut *lock(&self.entry.children));
        give_back_room(children);
        changes.clear();
    }

    /// Cancels the scope: its body and every child (R7).
    pub(crate) fn cancel(&self, cause: &Error) {
        self.entry.cancel_with(cause);
    }

    /// Clears the completed children's entries, as a poll of the scope
    /// ends. A slot reused meanwhile holds its new child, which stays.
    pub(crate) fn flush(&self, changes: &mut Changes) {
        // In batches: one lock for many completions (a nested scope is
        // visited once per entry of its children). Adoptions are never
        // left pending here: they are published before the poll goes on.
        if changes.pending.len() < FLUSH_BATCH || changes.adopted != 0 {
            return;
        }
        let mut children = lock(&self.entry.children);
        for pending in changes.pending.drain(..) {
            clear_completed(&mut children, pending & !DONE);
        }
        drop(children);
        changes.give_back_room();
    }

    /// Clears the entry of a child that has just failed now, not at the
    /// next flush: the list must not be what keeps its job record, and the
    /// failure it ended with, alive while the failure climbs the tree.
    pub(crate) fn forget_failed(&self, idx: usize) {
        clear_completed(&mut lock(&self.entry.children), idx);
    }
}

/// Clears the entry of slot `idx` if its child has completed (a slot reused
/// since holds its new child, which stays).
fn clear_completed(children: &mut [Option<Arc<JobCore>>], idx: usize) {
    if let Some(entry) = children.get_mut(idx)
        && entry.as_ref().is_some_and(|job| job.is_completed())
        && let Some(job) = entry.take()
    {
        JobCore::let_go(job);
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut shard = shard(self.entry.job.id);
        if let Some(table) = shard.as_mut() {
            table.remove(&self.entry.job.id);
        }
        give_back_table(&mut shard);
        let children = std::mem::take(&mut *lock(&self.entry.children));
        give_back_room(children);
    }
}

/// A shard's table shrinks to half its room once three quarters of it
/// are unused, and goes once empty: a burst of scopes leaves no table
/// behind, and each removal still costs O(1) amortized. A small table
/// stays, empty or not (at most `KEPT_ROOM` scopes' room, about 1 KiB per
/// shard): a scope entered and left one after another (a `#[scoped]` fn
/// per request) allocated and freed the table each time.
fn give_back_table(shard: &mut Option<Shard>) {
    const KEPT_ROOM: usize = 64;
    let Some(table) = shard else { return };
    if table.capacity() <= KEPT_ROOM {
        return;
    }
    if table.is_empty() {
        *shard = None;
    } else if table.len() < table.capacity() / 4 {
        table.shrink_to(table.capacity() / 2);
    }
}

/// Gives a scope's list's room to the next scope on this thread.
fn give_back_room(mut children: SmallVec<[Option<Arc<JobCore>>; 2]>) {
    for job in children.drain(..).flatten() {
        JobCore::let_go(job);
    }
    if spare::is_large::<Option<Arc<JobCore>>>(children.capacity()) {
        spare::keep_children(children.into_vec());
    }
}

thread_local! {
    /// Children started on this thread during the step now running, which
    /// their scopes take (and publish) once the step ends: `dump` shows
    /// them from here meanwhile, so a child is there from its `launch` on,
    /// as in Kotlin. Weak, and let go of as the outermost root draining on
    /// the thread ends an entry (`forget_started_here`; roots drained
    /// inside that entry, through a combinator, leave theirs to it): a
    /// child that ends within the step (its scope nested in a job the step
    /// polls) is not kept alive here, nor the failure it ended with (which
    /// its scope adds to in place while nothing else holds it).
    static STARTED_HERE: RefCell<Vec<Weak<JobCore>>> = const { RefCell::new(Vec::new()) };

    /// Whether `STARTED_HERE` may hold notes: what a root looks at after
    /// each entry, most of which start nothing (a flag without a
    /// destructor is read without the checks a list's access makes).
    static ANY_STARTED_HERE: Cell<bool> = const { Cell::new(false) };
}

/// Notes a child started during the step running on this thread.
pub(crate) fn note_started_here(job: Weak<JobCore>) {
    let _ = STARTED_HERE.try_with(|started| started.borrow_mut().push(job));
    ANY_STARTED_HERE.set(true);
}

/// The root's step has ended and its scopes have taken what it started.
/// (Rarely one has not: a nested scope whose poll did not come back to it
/// in the step takes its children at its next poll; `dump` shows those
/// once it has.)
#[inline]
pub(crate) fn forget_started_here() {
    if ANY_STARTED_HERE.get() {
        forget_notes();
    }
}

fn forget_notes() {
    ANY_STARTED_HERE.set(false);
    let _ = STARTED_HERE.try_with(|started| {
        let mut started = started.borrow_mut();
        if started.capacity() > KEPT_STARTED {
            *started = Vec::new(); // a burst's room goes back
        } else {
            started.clear();
        }
    });
}

/// Notes of started children a thread keeps room for between steps: a
/// scope per node of a tree's starts, not a burst's (a burst of 100,000
/// would keep 800 KiB).
const KEPT_STARTED: usize = 1024;

/// A scope as `debug::dump` shows it: its job, the job it is shown under,
/// and its live children.
pub(crate) struct ScopeView {
    pub(crate) job: Arc<JobCore>,
    pub(crate) parent: Option<u64>,
    pub(crate) children: Vec<Arc<JobCore>>,
}

/// Every live scope, with its live children.
pub(crate) fn views() -> Vec<ScopeView> {
    // In id order, as one map gave them.
    let mut scopes: Vec<Arc<ScopeEntry>> = Vec::new();
    for shard in &REGISTRY {
        scopes.extend(
            lock(shard)
                .iter()
                .flat_map(|shard| shard.values().filter_map(Weak::upgrade)),
        );
    }
    scopes.sort_unstable_by_key(|scope| scope.job.id);
    let started_here: Vec<Arc<JobCore>> = STARTED_HERE
        .try_with(|started| started.borrow().iter().filter_map(Weak::upgrade).collect())
        .unwrap_or_default();
    // A `cancel_children` call (or the scope's cancel) covered some of
    // them: shown as their handles would say (`cancelling`, or gone for a
    // lazy one, which completed).
    let started_here: Vec<Arc<JobCore>> = started_here
        .into_iter()
        .filter(|job| {
            job.catch_up_with_cancel_children();
            job.is_waiting_to_be_taken()
        })
        .collect();
    scopes
        .iter()
        .map(|scope| {
            let mut children: Vec<Arc<JobCore>> = lock(&scope.children)
                .iter()
                .flatten()
                .filter(|job| !job.is_completed())
                .cloned()
                .collect();
            let its_own = |job: &&Arc<JobCore>| match (job.queue(), scope.job.queue()) {
                (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                _ => false,
            };
            children.extend(started_here.iter().filter(its_own).cloned());
            ScopeView {
                job: scope.job.clone(),
                parent: (scope.shown_under != 0).then_some(scope.shown_under),
                children,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use smallvec::SmallVec;

    use super::{Changes, SPARE_AT, give_back_room, take_spare_room};
    use crate::engine::job::JobCore;
    use crate::engine::spare;

    #[test]
    fn a_list_about_to_grow_large_takes_the_room_an_earlier_scope_left() {
        let mut list: SmallVec<[Option<Arc<JobCore>>; 2]> = SmallVec::new();
        list.extend((0..1000).map(|_| None));
        let at = list.as_ptr() as usize;
        give_back_room(list);
        let mut small: SmallVec<[Option<Arc<JobCore>>; 2]> = SmallVec::new();
        small.extend((0..SPARE_AT).map(|_| None));
        take_spare_room(&mut small, spare::take_children);
        assert_eq!((small.as_ptr() as usize, small.len()), (at, SPARE_AT));
        assert!(small.capacity() >= 1000);
    }

    #[test]
    fn a_scope_s_list_of_changes_goes_to_the_next_burst() {
        let mut changes = Changes::default();
        (0..1000).for_each(|idx| changes.adopted(idx));
        let at = changes.pending.as_ptr() as usize;
        drop(changes);
        let mut next = Changes::default();
        (0..=SPARE_AT).for_each(|idx| next.adopted(idx));
        assert_eq!(next.pending.as_ptr() as usize, at);
        assert_eq!(next.adoptions(), SPARE_AT + 1);
    }
}
