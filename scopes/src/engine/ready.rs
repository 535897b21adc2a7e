//! The run queue of a tree of scopes: which job (a scope's body or a child,
//! at any depth) runs next, in the order they became ready.
//!
//! R14 asks for Kotlin's order: on one thread, the whole tree shares one
//! FIFO. A scope polled while no tree is running on its thread (or one that
//! its caller polls through a foreign combinator) is a *root*: it owns the
//! FIFO and drains it. A scope polled as part of a job of a running tree is
//! *nested*: its body and children are entries of the root's FIFO, tagged
//! with the nested scope's queue. To run such an entry, the root follows a
//! *route*: the chain of host jobs from its own child down to the nested
//! scope; each scope on the way polls exactly the job on the route, so the
//! entry runs where its future lives (in the nested scope's slab) and a
//! waiting child is polled once per wake at any depth. Entries right behind
//! the one run that continue through the tree form a *chain*: more of the
//! same scope's, of a scope the last one's is nested in (at any depth: the
//! poll returns through it), or of a scope nested below the last one's
//! (reached through a route from there, as the root would route from the
//! top), or of a scope below any scope both are nested in (a sibling
//! branch: the poll returns up to that scope, which routes down from
//! there). Once an entry has run, the scope the poll is in takes the next
//! one if it is its own or below it, and a scope the poll returns through
//! on its way up takes those that are its own or below it. So a chain
//! costs one descent and its way back up instead of a route from the root
//! each, and every entry still runs after the one before it has ended its
//! step, in FIFO order: a cancel of a deep chain (deepest first), a
//! failure or a return climbing a recursion, items going up and down a
//! pipeline of nested scopes. When nothing is behind the chain in the
//! FIFO, the wakes its own entries queue come next, and the chain takes
//! them over as they come.
//!
//! Wakes and starts made while the root drains go to a thread-local list,
//! without a lock or a task wake, in the order they happen; the root moves
//! them to the back of its FIFO after each entry. A start leaves a marker
//! in that list, which the started child's scope turns into the child's
//! first entry once the poll that started it has returned: so a started
//! child first runs when its parent suspends, after what became ready
//! before it. Wakes from elsewhere (timers, other threads) take the root's
//! locked queue and wake the root's task.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::task::Waker;

use futures_util::task::AtomicWaker;
use once_cell::race::OnceBox;
use rustc_hash::FxHashMap;
use smallvec::SmallVec;

use crate::error::Error;

/// A child not yet taken by its scope keeps its start ordinal in these
/// bits (the 31 its job record has for it). A scope takes its started
/// children at its next poll, so far fewer than 2^31 wait at once.
pub(crate) const START_ORDINAL_BITS: u32 = (1 << 31) - 1;

/// Queue entry for the scope's body: above every slot index, and a place
/// a job record can hold (the largest below its unplaced mark).
pub(crate) const BODY: usize = START_ORDINAL_BITS as usize;

/// An entry of a scope: the slot to poll (or `BODY`), and the id of the
/// job that asked. A slot is reused once its child has ended, and a waker
/// can outlive its child (left behind in another job's waiters, in a
/// timer, on another thread): the id lets the scope skip such a late wake
/// instead of polling the slot's new child out of its start order (R14).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) slot: usize,
    pub(crate) job: u64,
}

/// An entry of the tree's FIFO: one of the root's own (`scope: None`) or of
/// a nested scope.
pub(crate) struct Ready {
    pub(crate) entry: Entry,
    pub(crate) scope: Option<Arc<ReadyQueue>>,
}

/// What this thread noted, in order, while the root drains.
pub(crate) enum Noted {
    /// A wake of a body or of a child.
    Woken(Ready),
    /// This many children started in a row in `scope` (`None`: the root).
    /// The children wait in that scope's start list, in the same order; a
    /// burst of starts is one marker.
    Started {
        scope: Option<Arc<ReadyQueue>>,
        run: usize,
    },
    /// A lazy child of `scope` started before the scope took it from its
    /// start list: its first run is queued here, when it was started (as
    /// Kotlin dispatches a lazy coroutine at `start()`), not where it was
    /// created. Its own start marker comes earlier, so the scope has
    /// placed it by the time it reaches this note.
    StartedLazy {
        scope: Option<Arc<ReadyQueue>>,
        child: Arc<dyn Unplaced>,
    },
    /// A wake the chain behind the entry being run took over (`Chain`):
    /// it ran there, or goes back to the root with the chain's others.
    Chained,
    /// The first entries of children of nested `scope` a start marker
    /// counted, adopted in its place: `len` entries from `from` in the
    /// list's side list of entries (`Notes::adopted`). A marker becomes
    /// its children's entries where it is, without moving the notes after
    /// it (see `ReadyQueue::resolve_starts`).
    Adopted {
        scope: Arc<ReadyQueue>,
        from: u32,
        len: u32,
    },
}

impl Noted {
    /// The scope whose start list a marker (`Started`, `StartedLazy`)
    /// refers to (`Some(None)`: the root's); `None` for a wake.
    fn marker_scope(&self) -> Option<Option<&Arc<ReadyQueue>>> {
        match self {
            Noted::Woken(_) | Noted::Chained | Noted::Adopted { .. } => None,
            Noted::Started { scope, .. } | Noted::StartedLazy { scope, .. } => Some(scope.as_ref()),
        }
    }
}

/// A child its scope has not placed yet, as the thread's notes (a lazy
/// child's start) and a `cancel_children` call (under a `limit`) reach it:
/// its job record, seen from this file, which is below `job.rs`.
pub(crate) trait Unplaced: Send + Sync {
    /// Its first entry, once placed in its scope and not queued or
    /// completed meanwhile (a cancel may have queued it already).
    fn first_entry(&self) -> Option<Entry>;
    /// Cancels it, which completes it at once: it waits for a place.
    fn cancel_waiting(&self);
}

/// A step of a route: the scope (by address) and the entry it must poll.
type Hop = (usize, Entry);

/// What this thread noted during the current entry, oldest first, and
/// where its first start marker is. Markers are few next to wakes, and a
/// nested scope looks for them after each entry of a run: scanning every
/// wake noted so far would make a run of entries quadratic (a scope whose
/// children all yield noted one wake per child).
struct Notes {
    list: Vec<Noted>,
    /// The index of the first marker (`Noted::Started`, `StartedLazy`) in
    /// `list`, or `NO_MARKER`.
    first_marker: usize,
    /// Where each nested scope's markers are in `list` (by the scope's
    /// address; a marker holds its scope, so an address names one scope
    /// while its markers are listed). A scope finds its own at once:
    /// looking for them among the notes would cost it a step per note of
    /// every other scope, and in a recursion where each level starts a
    /// child and then enters the next level's scope in its body, every
    /// level's marker waits while the levels below run (quadratic in the
    /// depth).
    markers: MarkersOf,
    /// The entries of `Noted::Adopted` notes.
    adopted: Vec<Entry>,
    /// Where the notes a chain has not taken over may begin: those before
    /// are `Noted::Chained` (a hint: 0 after the list was replaced).
    chained: usize,
}

const NO_MARKER: usize = usize::MAX;

/// Where nested scopes' markers are in a list of notes, in order, by
/// scope address (see `Notes::markers`).
type MarkersOf = Option<FxHashMap<usize, SmallVec<[usize; 2]>>>;

impl Notes {
    const fn new() -> Self {
        Self {
            list: Vec::new(),
            first_marker: NO_MARKER,
            markers: None,
            adopted: Vec::new(),
            chained: 0,
        }
    }

    /// Notes where a marker of `scope` (`nested`: a nested scope's, else
    /// the root's) is about to be pushed.
    fn note_marker(&mut self, scope: &Arc<ReadyQueue>, nested: bool) {
        let at = self.list.len();
        if self.first_marker == NO_MARKER {
            self.first_marker = at;
        }
        if nested {
            let markers = self.markers.get_or_insert_default();
            markers.entry(address(scope)).or_default().push(at);
        }
    }

    /// Where nested `scope`'s markers are, oldest first; they are about to
    /// be turned into entries, so the record of them goes.
    fn take_markers(&mut self, scope: &Arc<ReadyQueue>) -> SmallVec<[usize; 2]> {
        let recorded = self
            .markers
            .as_mut()
            .and_then(|markers| markers.remove(&address(scope)));
        let scan = || -> SmallVec<[usize; 2]> {
            let mine = |noted: &Noted| matches!(noted.marker_scope(), Some(Some(s)) if Arc::ptr_eq(s, scope));
            let since = self.since_first_marker().iter();
            let at = since.enumerate().filter(|(_, noted)| mine(noted));
            at.map(|(at, _)| self.first_marker + at).collect()
        };
        // Every marker of a nested scope is recorded as it is noted, and
        // never moves: checked in debug builds (on lists small enough that
        // the check does not change how time grows).
        debug_assert!(
            self.list.len() > 4096 || recorded.clone().unwrap_or_default() == scan(),
            "a scope's markers are where they were recorded"
        );
        recorded.unwrap_or_else(|| {
            stepped_over(self.since_first_marker().len());
            scan()
        })
    }

    /// Puts the first entries a marker at `at` counted in its place: none
    /// leaves a note that is passed over, one a wake, more a group.
    fn put_adopted(&mut self, at: usize, scope: &Arc<ReadyQueue>, entries: &[Entry]) {
        self.list[at] = match *entries {
            [] => Noted::Chained,
            [entry] => Noted::Woken(Ready {
                entry,
                scope: Some(scope.clone()),
            }),
            _ => {
                let from = self.adopted.len();
                self.adopted.extend_from_slice(entries);
                Noted::Adopted {
                    scope: scope.clone(),
                    from: u32::try_from(from).expect("fewer than 2^32 entries in one poll"),
                    len: u32::try_from(entries.len()).expect("fewer than 2^32 children"),
                }
            }
        };
    }

    /// As the root takes the notes: the entries of their groups go with
    /// them (only groups read `adopted`: with none, what it holds is
    /// moot), and where nested scopes' markers were is forgotten (the root
    /// turns them into foreign starts; the map's room is kept). Out of
    /// line: a flat scope has neither.
    #[cold]
    #[inline(never)]
    fn take_nested(&mut self, adopted: &mut Vec<Entry>) {
        if !self.adopted.is_empty() {
            adopted.clear();
            std::mem::swap(&mut self.adopted, adopted);
        }
        if let Some(markers) = self.markers.as_mut().filter(|m| !m.is_empty()) {
            markers.clear();
        }
    }

    /// A scope's markers from `at` on are entries now: if the list's first
    /// marker was there, it moves on past the notes that are no longer
    /// markers.
    fn resolved_from(&mut self, at: usize) {
        if self.first_marker != at {
            return;
        }
        if let Some(since) = self.list.get(self.first_marker..) {
            let next = since
                .iter()
                .position(|noted| noted.marker_scope().is_some());
            stepped_over(next.unwrap_or(since.len()));
            self.first_marker = next.map_or(NO_MARKER, |at| self.first_marker + at);
        }
    }

    fn woken(&mut self, ready: Ready) {
        self.list.push(Noted::Woken(ready));
    }

    /// Notes a start in `scope` (`None`: the root); a run of starts in one
    /// scope is one marker, and the scope is cloned only for a new one.
    fn started(&mut self, scope: &Arc<ReadyQueue>, nested: bool) {
        if let Some(Noted::Started { scope: last, run }) = self.list.last_mut()
            && same(last.as_deref(), nested.then_some(&**scope))
        {
            *run += 1;
            return;
        }
        self.note_marker(scope, nested);
        let scope = nested.then(|| scope.clone());
        self.list.push(Noted::Started { scope, run: 1 });
    }

    /// Notes that a lazy child of `scope` (`nested`: a nested scope's;
    /// else the root's) was started before its scope took it.
    fn started_lazy(&mut self, scope: &Arc<ReadyQueue>, nested: bool, child: Arc<dyn Unplaced>) {
        self.note_marker(scope, nested);
        let scope = nested.then(|| scope.clone());
        self.list.push(Noted::StartedLazy { scope, child });
    }

    /// The notes from the first marker on (none if there is no marker).
    fn since_first_marker(&self) -> &[Noted] {
        self.list.get(self.first_marker..).unwrap_or_default()
    }

    /// Puts `notes` in place of this thread's; returns those replaced.
    fn replace(&mut self, notes: Marked) -> Marked {
        self.chained = 0;
        Marked {
            list: std::mem::replace(&mut self.list, notes.list),
            first_marker: std::mem::replace(&mut self.first_marker, notes.first_marker),
            markers: std::mem::replace(&mut self.markers, notes.markers),
            adopted: std::mem::replace(&mut self.adopted, notes.adopted),
        }
    }
}

/// Counts notes a nested scope steps over as it turns its markers into
/// entries (tests pin that to a few per scope).
#[cfg(test)]
fn stepped_over(notes: usize) {
    tests::STEPPED.set(tests::STEPPED.get() + notes);
}

/// Counts the hosts a look up the nesting walks (tests pin that to a few
/// per entry at any depth).
#[cfg(test)]
fn walked_up(places: usize) {
    tests::WALKED.set(tests::WALKED.get() + places);
}

#[cfg(not(test))]
#[inline(always)]
fn walked_up(_: usize) {}

#[cfg(not(test))]
fn stepped_over(_: usize) {}

/// A thread's notes put aside while another root drains (`Notes`).
struct Marked {
    list: Vec<Noted>,
    first_marker: usize,
    markers: MarkersOf,
    adopted: Vec<Entry>,
}

impl Marked {
    /// No notes, in `list`'s buffer.
    fn empty(list: Vec<Noted>) -> Self {
        debug_assert!(list.is_empty(), "a fresh list has no marker to find");
        Self {
            list,
            first_marker: NO_MARKER,
            markers: None,
            adopted: Vec::new(),
        }
    }
}

thread_local! {
    /// The root queue draining on this thread right now (its address, only
    /// compared), or 0.
    static DRAINING: Cell<usize> = const { Cell::new(0) };
    /// The wakes and starts noted during the current entry.
    static LOCAL: RefCell<Notes> = const { RefCell::new(Notes::new()) };
    /// The route being followed: hops of nested scopes, innermost first
    /// (each scope on the way takes the last one).
    static ROUTE: RefCell<Vec<Hop>> = const { RefCell::new(Vec::new()) };
    /// The chain behind the entry being run.
    static CHAIN: RefCell<Chain> = const { RefCell::new(Chain::new()) };
    /// Scratch for `resolve_starts` (empty between calls).
    static ADOPTING: Cell<Vec<Entry>> = const { Cell::new(Vec::new()) };
}

/// The innermost nested scope that `a`'s and `b`'s scopes both are, or are
/// nested in (`a` itself when `b`'s is below it); `None` if that is the
/// root (which routes from the top as it would anyway), or if depths
/// stopped counting.
fn meeting_point<'q>(a: &'q ReadyQueue, b: &'q ReadyQueue) -> Option<&'q ReadyQueue> {
    let up = |q: &'q ReadyQueue| q.nest.get().map(|nest| &*nest.host.queue);
    let depth = |q: &ReadyQueue| q.depth.load(Ordering::Relaxed);
    if depth(a) == u32::MAX || depth(b) == u32::MAX {
        return None;
    }
    let (mut a, mut b) = (a, b);
    while depth(a) > depth(b) {
        a = up(a)?;
    }
    while depth(b) > depth(a) {
        b = up(b)?;
    }
    while !std::ptr::eq(a, b) {
        (a, b) = (up(a)?, up(b)?);
    }
    a.is_nested().then_some(a)
}

/// An entry of the chain behind the entry being run (`set_chain`).
#[derive(Clone, Copy)]
struct Link {
    entry: Entry,
    /// The scope that runs it as the poll passes: the entry's own, or (to
    /// reach a scope below it) the scope of the entry before or the
    /// innermost scope both are nested in (`meeting_point`).
    taker: usize,
    /// Below the taker: the taker's entry to hop through, the entry's
    /// scope (its index in `Chain::below`), and the route from there
    /// (`hops`, a range of `Chain::hops`, innermost first).
    via: Option<(Entry, u32)>,
    hops: (u32, u32),
}

/// The next step of a chain in the scope that takes it (`next_in_chain`).
pub(crate) enum Step {
    /// Run this entry of the scope's own.
    Own(Entry),
    /// Run this entry of the scope's as a hop: the route below it leads
    /// to the chain's entry (`end_hop` ends it).
    Through(Entry),
}

/// The chain behind the entry being run: the entries it runs as the poll
/// passes their scopes, and the ones it may take over from this thread's
/// notes.
///
/// An entry continues the chain if its scope is the last entry's, one the
/// last one's is nested in at any depth (the poll returns through it), or
/// one nested below the last one's at any depth (reached through a route
/// from there, as the root would route to it from the top: what a cancel
/// going down queues, or the next stage of a pipeline of nested scopes).
///
/// When the root's FIFO holds nothing behind the chain, what the chain's
/// entries queue meanwhile is next in FIFO order: a failure climbing a
/// deep chain of scopes queues each level's entry from the level below.
/// Such a wake, the first note with no start marker before it, joins the
/// chain if it continues it; without this, each level would be a route
/// from the root (O(D²) for D levels).
struct Chain {
    /// In order; those from `next` on are still to run.
    links: Vec<Link>,
    next: usize,
    /// The routes of the links reached through one.
    hops: Vec<Hop>,
    /// The scopes of those links: one that has returned by the time its
    /// link comes up is passed over, as the root passes over its entries
    /// (hopping through the job it was nested in would run that job's own
    /// code, which has gone on since).
    below: Vec<Arc<ReadyQueue>>,
    /// The scope of the last entry that joined the chain (or of the one it
    /// is behind), kept while the chain is open.
    last: Option<Arc<ReadyQueue>>,
    /// How many more wakes the chain may take over (0: the root's FIFO
    /// holds more behind it, or the poll's budget is spent).
    open: usize,
    /// The wakes taken over, in order: `chain_done` gives them to the root.
    taken: Vec<Ready>,
}

impl Chain {
    const fn new() -> Self {
        Self {
            links: Vec::new(),
            next: 0,
            hops: Vec::new(),
            below: Vec::new(),
            last: None,
            open: 0,
            taken: Vec::new(),
        }
    }

    fn is_empty(&self) -> bool {
        self.links.is_empty() && self.taken.is_empty() && self.open == 0
    }

    /// Ends the chain: how many of its links were not run (the last ones).
    fn end(&mut self) -> usize {
        let left = self.links.len() - self.next;
        empty_scratch(&mut self.links);
        empty_scratch(&mut self.hops);
        empty_scratch(&mut self.below);
        self.next = 0;
        self.last = None;
        self.open = 0;
        left
    }

    /// What an enclosing root's chain was, put aside (`save_outer`).
    fn save_outer(&mut self) -> Chain {
        Chain {
            links: save_outer(&mut self.links),
            next: std::mem::take(&mut self.next),
            hops: save_outer(&mut self.hops),
            below: save_outer(&mut self.below),
            last: self.last.take(),
            open: std::mem::take(&mut self.open),
            taken: save_outer(&mut self.taken),
        }
    }

    fn restore_outer(&mut self, outer: Chain) {
        restore_outer(&mut self.links, outer.links);
        restore_outer(&mut self.hops, outer.hops);
        restore_outer(&mut self.below, outer.below);
        restore_outer(&mut self.taken, outer.taken);
        self.next = outer.next;
        self.last = outer.last;
        self.open = outer.open;
    }

    /// The link `entry` of `scope` makes right after an entry of `last`'s
    /// scope, if it continues the chain (its route, if it has one, joins
    /// `hops`). A scope that has returned takes no entry.
    fn link(&mut self, last: &ReadyQueue, scope: &Arc<ReadyQueue>, entry: Entry) -> Option<Link> {
        if !scope.is_nested() || scope.is_closed() {
            return None;
        }
        let at = address(scope);
        if std::ptr::eq(&**scope, last) || scope.is_above(last) {
            return Some(Link {
                entry,
                taker: at,
                via: None,
                hops: (0, 0),
            });
        }
        // Below the last one's scope, or below a scope both are nested in
        // (a sibling branch: items going down a pipeline of nested
        // scopes): the poll returns up to that scope, which routes down.
        let taker = meeting_point(last, scope)?;
        let start = self.hops.len();
        let Some(via) = scope.route_from(taker, entry, &mut self.hops) else {
            self.hops.truncate(start);
            return None;
        };
        let index = |n: usize| u32::try_from(n).expect("a chain's routes fit in u32");
        self.below.push(scope.clone());
        Some(Link {
            entry,
            taker: address(taker),
            via: Some((via, index(self.below.len() - 1))),
            hops: (index(start), index(self.hops.len())),
        })
    }

    /// The next link, taking over the thread's next wake if the chain has
    /// run out and is open.
    #[inline(always)]
    fn next(&mut self) -> Option<Link> {
        if self.next == self.links.len() && self.open > 0 {
            self.take_over();
        }
        self.links.get(self.next).copied()
    }

    /// Takes over the thread's next note if it is a wake that continues
    /// the chain, with no start before it (the scope adopts started
    /// children before anything after them runs).
    #[cold]
    #[inline(never)]
    fn take_over(&mut self) {
        let Some(last) = self.last.clone() else {
            return;
        };
        let Some((ready, link)) = LOCAL.with(|local| {
            let mut local = local.borrow_mut();
            if local.first_marker != NO_MARKER {
                return None;
            }
            // Wakes of scopes that have returned are passed over, as the
            // root would (late wakes: a scope whose body failed wakes its
            // own job as it fails).
            let from = local.chained.min(local.list.len());
            let at = local.list[from..]
                .iter_mut()
                .position(|noted| match noted {
                    Noted::Chained => false,
                    Noted::Woken(Ready {
                        scope: Some(scope), ..
                    })
                    | Noted::Adopted { scope, .. }
                        if scope.is_closed() =>
                    {
                        *noted = Noted::Chained;
                        false
                    }
                    _ => true,
                })
                .map_or(local.list.len(), |at| from + at);
            local.chained = at;
            let notes = &mut *local;
            let (scope, entry) = match notes.list.get(at) {
                Some(Noted::Woken(Ready {
                    scope: Some(scope),
                    entry,
                })) => (scope, *entry),
                // A group's entries are taken over one at a time.
                Some(Noted::Adopted { scope, from, .. }) => (scope, notes.adopted[*from as usize]),
                _ => return None,
            };
            let Some(link) = self.link(&last, scope, entry) else {
                // The next entry in FIFO order is not the chain's: nothing
                // after it is either.
                self.open = 0;
                return None;
            };
            let ready = Ready {
                entry,
                scope: Some(scope.clone()),
            };
            match &mut notes.list[at] {
                Noted::Adopted { from, len, .. } if *len > 1 => {
                    *from += 1;
                    *len -= 1;
                }
                taken => {
                    *taken = Noted::Chained;
                    notes.chained = at + 1;
                }
            }
            Some((ready, link))
        }) else {
            return;
        };
        self.last = ready.scope.clone();
        self.links.push(link);
        self.taken.push(ready);
        self.open -= 1;
    }
}

const NEW: u8 = 0;
const ROOT: u8 = 1;
const NESTED: u8 = 2;

/// The queue of one scope. A root keeps the entries that arrive from
/// outside its drain here; a nested scope forwards everything to its root.
///
/// What only a root needs (its locked queue) and what only a cancelled
/// scope needs are allocated when first needed: a nested scope carries a
/// word for each (SPEC §6 W7 counts what a nested scope costs).
pub(crate) struct ReadyQueue {
    mode: AtomicU8,
    /// The scope admits its children under a `limit`: a child waits for a
    /// place until its first run (SPEC §2b).
    limited: bool,
    /// Set while a root drains: a wake then needs no task wake, the root
    /// looks at the queue again before it returns.
    draining: AtomicBool,
    /// A root's `queue` holds entries (from outside its drain: another
    /// thread): a draining root takes them after the entry it runs, so
    /// that they wait behind what became ready before them only (R14),
    /// not behind a whole budget of later local wakes.
    remote: AtomicBool,
    /// Set once the scope has returned or was dropped: an entry of it
    /// still in the FIFO (a late wake) is skipped.
    closed: AtomicBool,
    /// Some child was started since the scope last looked: a visit of a
    /// nested scope skips adopting when nothing was.
    starts: AtomicBool,
    /// Some child was started outside a drain of the tree (another thread,
    /// the body closure) and has no start marker: the scope adopts every
    /// waiting child at its next poll.
    foreign_starts: AtomicBool,
    /// Nested: the root whose FIFO holds this scope's entries, and where
    /// this scope sits in its parent.
    nest: OnceLock<Nest>,
    /// A root's queue of entries from outside its drain; made when the
    /// scope becomes a root.
    queue: OnceBox<Mutex<VecDeque<Ready>>>,
    waker: AtomicWaker,
    /// Children started so far (a start ordinal, for `cancel_children`);
    /// written under the lock of the scope's start list.
    started_total: AtomicU64,
    /// Made when the scope cancels its children.
    cancels: OnceBox<Cancels>,
    /// Nested: how many scopes it is nested in below its root, up to
    /// `u32::MAX` (deeper ones count as that deep); it tells at once that
    /// a scope is not nested in one as deep or deeper (`is_above`), and
    /// fits in the room the flags above leave. (A `u16` stopped counting
    /// at 65,535 levels, past which every entry walked the whole chain of
    /// hosts: a recursion of 70,000 levels did not finish in a minute.)
    depth: AtomicU32,
}

/// Where a nested scope runs: its root, and its place in its parent (the
/// job whose poll polls it), to build routes.
struct Nest {
    root: Arc<ReadyQueue>,
    host: Place,
}

/// What a scope keeps once it cancels its children, or once a child
/// starts under its `limit`.
#[derive(Default)]
struct Cancels {
    /// How many of the first children started a `cancel_children` call
    /// covered (those not adopted yet are cancelled as they are adopted,
    /// in start order).
    before: AtomicU64,
    /// Under a `limit`: the children started and not yet taken by the
    /// scope. They wait for a place, so a `cancel_children` call completes
    /// them at once (SPEC §2b), before the scope gets to them.
    unadopted: Mutex<Vec<Weak<dyn Unplaced>>>,
    /// Why the scope cancelled its children: kept once here rather than in
    /// each child, so cancelling a thousand children allocates once.
    cause: OnceLock<Error>,
}

/// The place of a nested scope: the queue of the scope that polls it, and
/// the entry there whose poll reaches it.
pub(crate) struct Place {
    pub(crate) queue: Arc<ReadyQueue>,
    pub(crate) entry: Entry,
}

fn address(queue: &ReadyQueue) -> usize {
    std::ptr::from_ref(queue) as usize
}

impl ReadyQueue {
    pub(crate) fn new(limited: bool) -> Arc<Self> {
        Arc::new(Self {
            mode: AtomicU8::new(NEW),
            limited,
            draining: AtomicBool::new(false),
            remote: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            starts: AtomicBool::new(false),
            foreign_starts: AtomicBool::new(false),
            nest: OnceLock::new(),
            queue: OnceBox::new(),
            waker: AtomicWaker::new(),
            started_total: AtomicU64::new(0),
            cancels: OnceBox::new(),
            depth: AtomicU32::new(0),
        })
    }

    fn locked(&self) -> std::sync::MutexGuard<'_, VecDeque<Ready>> {
        // Made by `become_root` before the mode says root; a nested scope
        // never takes it. Nothing panics while the lock is held; recover
        // anyway.
        debug_assert!(self.is_root(), "only a root keeps a locked queue");
        let queue = self.queue.get_or_init(Box::default);
        queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether the scope's children wait for a place under a `limit`.
    pub(crate) fn is_limited(&self) -> bool {
        self.limited
    }

    pub(crate) fn is_root(&self) -> bool {
        self.mode.load(Ordering::Acquire) == ROOT
    }

    pub(crate) fn is_nested(&self) -> bool {
        self.mode.load(Ordering::Acquire) == NESTED
    }

    /// Marks the scope as gone (returned or dropped). The waker of whoever
    /// polled it goes now: a nested scope's is its host child's, and a
    /// late entry of the scope still queued must not keep that child's job
    /// record (and the failure it ended with) alive.
    ///
    /// A root's entries from outside go too: each entry of a nested scope
    /// holds that scope's queue, which holds the root's, so an entry left
    /// there (a timer's wake of a nested scope, queued as the root was
    /// dropped) kept both alive for good. Entries that come later are
    /// passed over as they come (`push`).
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        drop(self.waker.take());
        if let Some(queue) = self.queue.get() {
            let late = std::mem::take(&mut *queue.lock().unwrap_or_else(|e| e.into_inner()));
            drop(late); // out of the lock: dropping an entry drops a queue
        }
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Makes this scope a root: it drains its own queue from now on.
    pub(crate) fn become_root(&self) {
        // The queue first: whoever sees the mode sees the queue.
        self.queue.get_or_init(Box::default);
        self.mode.store(ROOT, Ordering::Release);
    }

    /// Makes this scope a nested one, run through `host` in the tree of
    /// the root draining on this thread. False (and nothing changes) if
    /// that root is not `host`'s.
    pub(crate) fn become_nested(&self, host: Place) -> bool {
        let root = match host.queue.mode.load(Ordering::Acquire) {
            ROOT => host.queue.clone(),
            NESTED => match host.queue.nest.get() {
                Some(nest) => nest.root.clone(),
                None => return false,
            },
            _ => return false,
        };
        if address(&root) != DRAINING.get() {
            return false;
        }
        let depth = host.queue.depth.load(Ordering::Relaxed).saturating_add(1);
        self.depth.store(depth, Ordering::Relaxed);
        let _ = self.nest.set(Nest { root, host });
        self.mode.store(NESTED, Ordering::Release);
        true
    }

    /// How many scopes this one is nested in below its root (0 for a root;
    /// at most `u32::MAX`).
    pub(crate) fn depth(&self) -> usize {
        usize::try_from(self.depth.load(Ordering::Relaxed)).unwrap_or(usize::MAX)
    }

    /// Whether a route is being followed through the job polled now (its
    /// entry is a scope's nested in that job's code, not the job's own).
    pub(crate) fn on_route() -> bool {
        ROUTE.with(|route| !route.borrow().is_empty())
    }

    /// Whether a tree is draining on this thread.
    pub(crate) fn tree_is_draining() -> bool {
        DRAINING.get() != 0
    }

    /// The root of this scope's tree (itself when it is a root).
    fn tree(&self) -> Option<&ReadyQueue> {
        match self.mode.load(Ordering::Acquire) {
            ROOT => Some(self),
            NESTED => self.nest.get().map(|nest| &*nest.root),
            _ => None,
        }
    }

    /// Queues `entry` of this scope in its tree's FIFO.
    pub(crate) fn push(self: &Arc<Self>, entry: Entry) {
        let (root, scope) = match self.mode.load(Ordering::Acquire) {
            ROOT => (&**self, None),
            NESTED => match self.nest.get() {
                Some(nest) => (&*nest.root, Some(self.clone())),
                None => return,
            },
            // Not polled yet: its first poll runs its body, and it has no
            // children yet.
            _ => return,
        };
        let ready = Ready { entry, scope };
        if DRAINING.get() == address(root) {
            LOCAL.with(|local| local.borrow_mut().woken(ready));
            return;
        }
        let mut queue = root.locked();
        // Under the lock `close` empties the queue with: either it sees
        // this entry or this sees the root closed.
        if root.is_closed() {
            return;
        }
        queue.push_back(ready);
        root.remote.store(true, Ordering::Release);
        drop(queue);
        root.wake_scope();
    }

    /// [`push`](ReadyQueue::push) for several entries, in order, emptying
    /// `entries`: one look at where they go for all of them.
    pub(crate) fn push_all(self: &Arc<Self>, entries: &mut Vec<Entry>) {
        if entries.is_empty() {
            return;
        }
        let (root, scope) = match self.mode.load(Ordering::Acquire) {
            ROOT => (&**self, None),
            NESTED => match self.nest.get() {
                Some(nest) => (&*nest.root, Some(self.clone())),
                None => return entries.clear(),
            },
            _ => return entries.clear(),
        };
        let ready = |entry| Ready {
            entry,
            scope: scope.clone(),
        };
        if DRAINING.get() == address(root) {
            LOCAL.with(|local| {
                let mut local = local.borrow_mut();
                entries
                    .drain(..)
                    .for_each(|entry| local.woken(ready(entry)));
            });
            return;
        }
        let mut queue = root.locked();
        if root.is_closed() {
            return entries.clear();
        }
        queue.extend(entries.drain(..).map(ready));
        root.remote.store(true, Ordering::Release);
        drop(queue);
        root.wake_scope();
    }

    /// Records why the scope cancels its children (the first reason stays).
    pub(crate) fn set_cancellation(&self, cause: &Error) {
        let cancels = self.cancels.get_or_init(Box::default);
        cancels.cause.get_or_init(|| cause.clone());
    }

    pub(crate) fn cancellation(&self) -> Option<&Error> {
        self.cancels.get()?.cause.get()
    }

    /// Registers the task (or host job) that polls this queue's owner.
    pub(crate) fn register(&self, waker: &Waker) {
        self.waker.register(waker);
    }

    /// Wakes whoever polls the scope, unless it is draining right now.
    pub(crate) fn wake_scope(&self) {
        if !self.draining.load(Ordering::SeqCst) {
            self.waker.wake();
        }
    }

    /// Notes that a child of this queue's scope was started; false if that
    /// happened outside a drain of its tree on this thread (the scope is
    /// then woken, and adopts it at its next poll).
    pub(crate) fn note_started(self: &Arc<Self>) -> bool {
        if !self.starts.load(Ordering::Relaxed) {
            self.starts.store(true, Ordering::Release);
        }
        let tree = self.tree().map_or(0, address);
        if tree != 0 && DRAINING.get() == tree {
            let nested = tree != address(self);
            LOCAL.with(|local| local.borrow_mut().started(self, nested));
            return true;
        }
        self.note_foreign_starts();
        false
    }

    /// Whether this scope's tree is draining on this thread (what it does
    /// is noted in the thread's list).
    pub(crate) fn drains_here(&self) -> bool {
        self.tree()
            .is_some_and(|tree| DRAINING.get() == address(tree))
    }

    /// Notes that `child`, a lazy child of this queue's scope not taken
    /// from its start list yet, was started: its first run is queued at
    /// this point of the tree's FIFO. Only while the tree drains on this
    /// thread (`drains_here`); else the scope queues it when it takes it.
    pub(crate) fn note_lazy_start(self: &Arc<Self>, child: Arc<dyn Unplaced>) {
        debug_assert!(self.drains_here(), "noted where its tree drains");
        let nested = self
            .tree()
            .is_some_and(|tree| address(tree) != address(self));
        LOCAL.with(|local| local.borrow_mut().started_lazy(self, nested, child));
    }

    /// Counts a start, for `cancel_children`. Under the lock of the scope's
    /// start list (its guard is the proof), which orders the starts: a
    /// plain load and store, not a read-modify-write (a child's start takes
    /// one atomic step less).
    /// Returns the start's ordinal.
    pub(crate) fn count_start<L>(&self, _start_list: &MutexGuard<'_, L>) -> u64 {
        let total = self.started_total.load(Ordering::Relaxed);
        self.started_total.store(total + 1, Ordering::Release);
        total
    }

    /// Whether a `cancel_children` call covered the child not yet taken
    /// whose start ordinal has the low bits `residue`. Such a child is one
    /// of the last starts (fewer than 2^31 wait to be taken), which tells
    /// its whole ordinal.
    pub(crate) fn cancel_children_covers(&self, residue: u32) -> bool {
        let before = self.children_cancelled_before();
        let started = self.started_total.load(Ordering::Acquire);
        before != 0 && start_ordinal(residue, started) < before
    }

    /// Marks every child started so far as cancelled, for those the scope
    /// has not taken yet: it cancels them as it takes them, and their
    /// handles' reads do at once (`JobCore::catch_up_with_cancel_children`).
    pub(crate) fn cover_starts_so_far(&self) {
        self.cover();
    }

    /// [`cover_starts_so_far`](Self::cover_starts_so_far), giving the
    /// scope's record of cancels it made (or found).
    fn cover(&self) -> &Cancels {
        let started = self.started_total.load(Ordering::Acquire);
        let cancels = self.cancels.get_or_init(Box::default);
        cancels.before.fetch_max(started, Ordering::AcqRel);
        cancels
    }

    /// Records that children were started without a marker; the scope
    /// adopts them at its next poll.
    pub(crate) fn note_foreign_starts(&self) {
        self.starts.store(true, Ordering::Release);
        self.foreign_starts.store(true, Ordering::Release);
        self.wake_scope();
    }

    /// Covers every child started so far by a `cancel_children` call: those
    /// not adopted yet are cancelled as they are.
    pub(crate) fn cancel_children_started_so_far(&self) {
        let cancels = self.cover();
        // Out of the lock: a cancel wakes whoever waits on the child.
        let unadopted = std::mem::take(&mut *lock(&cancels.unadopted));
        for child in unadopted.iter().filter_map(Weak::upgrade) {
            child.cancel_waiting();
        }
    }

    /// Notes a child started under the scope's `limit`, not yet taken by
    /// the scope. Under the lock of the scope's start list (its guard),
    /// which `took_unadopted` takes too.
    pub(crate) fn note_unadopted<L>(
        &self,
        child: Weak<dyn Unplaced>,
        _start_list: &MutexGuard<'_, L>,
    ) {
        let cancels = self.cancels.get_or_init(Box::default);
        lock(&cancels.unadopted).push(child);
    }

    /// The scope took every child in its start list (under that list's
    /// lock): a `cancel_children` call reaches them as its children now.
    pub(crate) fn took_unadopted<L>(&self, _start_list: &MutexGuard<'_, L>) {
        if let Some(cancels) = self.cancels.get() {
            lock(&cancels.unadopted).clear();
        }
    }

    /// How many of the first children started a `cancel_children` covered.
    pub(crate) fn children_cancelled_before(&self) -> u64 {
        let cancels = self.cancels.get();
        cancels.map_or(0, |cancels| cancels.before.load(Ordering::Acquire))
    }

    /// Whether children were started since the last call.
    pub(crate) fn take_starts(&self) -> bool {
        self.starts.load(Ordering::Acquire) && self.starts.swap(false, Ordering::AcqRel)
    }

    /// Whether children were started from outside a drain since the last
    /// call.
    pub(crate) fn take_foreign_starts(&self) -> bool {
        // Read before the swap: this runs after every poll, foreign starts
        // are rare, and a plain load costs no exclusive cache line.
        self.foreign_starts.load(Ordering::Acquire)
            && self.foreign_starts.swap(false, Ordering::AcqRel)
    }

    /// Marks the root as draining on this thread until the guard exits or
    /// drops. Inside another root's drain (a root polled by a job of
    /// another tree), `spare` (empty) becomes this thread's list of wakes
    /// and starts meanwhile, and the enclosing root's lists are put aside;
    /// [`Draining::exit`] gives it back for the next poll. Usually no tree
    /// drains on this thread: its lists are empty then, and serve this
    /// drain as they are (a poll of a root costs no swap of them).
    pub(crate) fn enter(&self, waker: &Waker, spare: &mut Vec<Noted>) -> Draining {
        self.waker.register(waker);
        let outer = DRAINING.replace(address(self));
        let saved = (outer != 0).then(|| {
            debug_assert!(spare.is_empty(), "a fresh list has no marker to find");
            let buffer = std::mem::take(spare);
            Saved {
                local: LOCAL.with(|local| local.borrow_mut().replace(Marked::empty(buffer))),
                route: ROUTE.with(|route| save_outer(&mut route.borrow_mut())),
                chain: CHAIN.with(|chain| chain.borrow_mut().save_outer()),
            }
        });
        Draining {
            outer,
            saved,
            exited: false,
        }
    }

    /// Whether this thread has noted wakes or starts not yet taken: a root
    /// takes them before it ends a drain (whatever is noted while it takes
    /// the last ones, as a task that ends as it is spawned into a runtime
    /// shutting down, is not lost when the drain ends).
    pub(crate) fn has_local() -> bool {
        LOCAL.with(|local| !local.borrow().list.is_empty())
    }

    /// Moves the wakes and starts this thread noted since the last call,
    /// oldest first, into `scratch` (empty; buffers are swapped), and the
    /// entries of its `Noted::Adopted` notes into `adopted`; false if there
    /// were none (then nothing moves: many entries note nothing).
    pub(crate) fn take_local(scratch: &mut Vec<Noted>, adopted: &mut Vec<Entry>) -> bool {
        LOCAL.with(|local| {
            let mut local = local.borrow_mut();
            if local.list.is_empty() {
                return false;
            }
            debug_assert!(scratch.is_empty(), "a fresh list has no marker to find");
            std::mem::swap(&mut local.list, scratch);
            local.first_marker = NO_MARKER;
            local.chained = 0;
            if !local.adopted.is_empty() || local.markers.is_some() {
                local.take_nested(adopted);
            }
            true
        })
    }

    /// Turns this nested scope's start markers in the thread's list into
    /// entries, in place: `adopt` takes the next started child and gives
    /// its first entry. Runs when a poll that went through this scope
    /// returns to it: the scope's markers are all from that poll. Each
    /// marker becomes its children's entries where it is, and nothing
    /// after it moves: a scope pays for its own markers, however many
    /// notes the levels below it left behind them.
    pub(crate) fn resolve_starts(
        self: &Arc<Self>,
        mut adopt: impl FnMut() -> Option<Option<Entry>>,
    ) {
        let markers = LOCAL.with(|local| local.borrow_mut().take_markers(self));
        // A scratch list kept per thread: a visit that started a burst of
        // children allocates nothing for their entries.
        let mut entries = ADOPTING.take();
        for &at in &markers {
            // Out of the cell while adopting: adopting a child into a
            // cancelled scope queues it, which notes a wake meanwhile (at
            // the back: no note moves).
            let marker = LOCAL
                .with(|local| std::mem::replace(&mut local.borrow_mut().list[at], Noted::Chained));
            match marker {
                Noted::Started { run, .. } => {
                    for _ in 0..run {
                        let Some(first) = adopt() else { break };
                        entries.extend(first);
                    }
                }
                Noted::StartedLazy { child, .. } => entries.extend(child.first_entry()),
                other => {
                    // Recorded where no marker of this scope is: a bug,
                    // told in debug builds (`take_markers`); the note stays.
                    debug_assert!(false, "a marker of this scope is recorded here");
                    LOCAL.with(|local| local.borrow_mut().list[at] = other);
                    continue;
                }
            }
            LOCAL.with(|local| local.borrow_mut().put_adopted(at, self, &entries));
            entries.clear();
        }
        if entries.capacity() <= 1024 {
            ADOPTING.set(entries); // a burst's memory is given back
        }
        if let Some(&first) = markers.first() {
            LOCAL.with(|local| local.borrow_mut().resolved_from(first));
        }
    }

    /// Queues `entry` of this nested scope at the back of the thread's
    /// list (a child adopted outside any start marker).
    pub(crate) fn note_entry(self: &Arc<Self>, entry: Entry) {
        let ready = Ready {
            entry,
            scope: Some(self.clone()),
        };
        LOCAL.with(|local| local.borrow_mut().woken(ready));
    }

    /// Starts following the route from this root to `entry` of the nested
    /// scope `target`: the hops below the root are left for the scopes on
    /// the way, and the root's own entry on the route is returned. `None`
    /// if the chain of hosts does not lead to this root.
    pub(crate) fn route_to(&self, target: &ReadyQueue, entry: Entry) -> Option<Entry> {
        ROUTE.with(|route| {
            let mut route = route.borrow_mut();
            route.clear();
            target.route_from(self, entry, &mut route)
        })
    }

    /// Takes this scope's hop of the route being followed, if the route
    /// goes through it; `target` tells whether the route ends here.
    pub(crate) fn take_hop(&self) -> Option<(Entry, bool)> {
        ROUTE.with(|route| {
            let mut route = route.borrow_mut();
            match route.last() {
                Some(&(scope, entry)) if scope == address(self) => {
                    route.pop();
                    Some((entry, route.is_empty()))
                }
                _ => None,
            }
        })
    }

    /// The route from `top`'s scope down to `entry` of this one, if this
    /// one is nested below it: the hops below `top` join `hops`, innermost
    /// first (each scope on the way takes the last one), and `top`'s entry
    /// to poll is returned. On `None`, `hops` holds a route that leads
    /// nowhere (`route_done` then tells).
    #[inline]
    fn route_from(&self, top: &ReadyQueue, entry: Entry, hops: &mut Vec<Hop>) -> Option<Entry> {
        hops.push((address(self), entry));
        for place in self.places_down_to(top.depth.load(Ordering::Relaxed)) {
            if std::ptr::eq(&*place.queue, top) {
                return Some(place.entry);
            }
            hops.push((address(&place.queue), place.entry));
        }
        None
    }

    /// Whether `queue`'s scope is nested in this one's, at any depth.
    fn is_above(&self, queue: &ReadyQueue) -> bool {
        queue
            .places_down_to(self.depth.load(Ordering::Relaxed))
            .any(|place| std::ptr::eq(&*place.queue, self))
    }

    /// Where this scope sits in its host, and its host in its own, and so
    /// on up, as far as a scope `depth` deep: a scope is one deeper than
    /// its host, so none above that one can be a scope `depth` deep (at
    /// `u32::MAX`, depths stopped counting: all of them).
    #[inline]
    fn places_down_to(&self, depth: u32) -> impl Iterator<Item = &Place> {
        std::iter::successors(self.nest.get().map(|nest| &nest.host), |place| {
            place.queue.nest.get().map(|nest| &nest.host)
        })
        .inspect(|_| walked_up(1))
        .take_while(move |place| {
            // 0 (a route from a root) and u32::MAX need no look at depths.
            depth == 0 || depth == u32::MAX || place.queue.depth.load(Ordering::Relaxed) >= depth
        })
    }

    /// Sets the chain behind an entry of `scope` about to run: the entries
    /// at the front of `batch` that continue it (see `Chain`) move to
    /// `chain`, in order, up to `budget`; if none is left behind them,
    /// the chain is open and may take over up to `budget` in all of what
    /// it queues as it runs. False if there is no chain.
    pub(crate) fn set_chain(
        scope: &Arc<ReadyQueue>,
        batch: &mut VecDeque<Ready>,
        chain: &mut Vec<Ready>,
        budget: usize,
    ) -> bool {
        CHAIN.with(|state| {
            let mut state = state.borrow_mut();
            state.links.clear();
            state.next = 0;
            state.hops.clear();
            state.below.clear();
            while chain.len() < budget {
                let Some(next) = batch.front() else { break };
                let Some(next_scope) = next.scope.as_ref() else {
                    break;
                };
                if next_scope.is_closed() {
                    // A late wake of a scope that has returned, which the
                    // root would pass over, does not end the chain.
                    batch.pop_front();
                    continue;
                }
                let last = chain.last().map_or(&**scope, |last| {
                    last.scope.as_deref().expect("a nested scope's")
                });
                let Some(link) = state.link(last, next_scope, next.entry) else {
                    break;
                };
                state.links.push(link);
                chain.push(batch.pop_front().expect("looked at above"));
            }
            state.open = if batch.is_empty() {
                budget - chain.len()
            } else {
                0
            };
            if state.open > 0 {
                state.last = Some(
                    chain
                        .last()
                        .and_then(|last| last.scope.clone())
                        .unwrap_or_else(|| scope.clone()),
                );
            }
            !chain.is_empty() || state.open > 0
        })
    }

    /// Whether the chain's next entry is this scope's to run: a scope the
    /// poll passes on its way back up from a route looks. Not while the
    /// route is still to be followed (a job on it did not poll the scope
    /// nested in it): the chain goes on once the entry before it has run.
    pub(crate) fn chain_continues_here(&self) -> bool {
        ROUTE.with(|route| route.borrow().is_empty())
            && CHAIN.with(|chain| {
                chain
                    .borrow_mut()
                    .next()
                    .is_some_and(|link| link.taker == address(self))
            })
    }

    /// The chain's next step, taken, if this scope takes it: an entry of
    /// its own, or one of its entries to hop through on a route to a scope
    /// below (`end_hop` ends it). Not while tokio's budget is spent, nor
    /// once a child was started in another scope (which adopts it when the
    /// poll returns to it, before anything after it may run): the root
    /// takes the rest back.
    pub(crate) fn next_in_chain(self: &Arc<Self>) -> Option<Step> {
        CHAIN.with(|chain| {
            let mut chain = chain.borrow_mut();
            let (link, via) = loop {
                let link = chain.next()?;
                if link.taker != address(self)
                    || !tokio::task::coop::has_budget_remaining()
                    || Self::started_elsewhere(self)
                {
                    return None;
                }
                chain.next += 1;
                let Some((via, below)) = link.via else {
                    return Some(Step::Own(link.entry));
                };
                if !chain.below[below as usize].is_closed() {
                    break (link, via);
                }
                // Returned since it joined the chain: passed over, as the
                // root passes over the entries of a scope that has returned.
            };
            let (start, end) = (link.hops.0 as usize, link.hops.1 as usize);
            ROUTE.with(|route| {
                let mut route = route.borrow_mut();
                route.clear();
                route.extend_from_slice(&chain.hops[start..end]);
            });
            Some(Step::Through(via))
        })
    }

    /// Ends the route a `Step::Through` began: if a scope on it did not
    /// take its hop (a job on the way did not poll the scope nested in
    /// it), the chain's entry goes back to the chain, for the root to take
    /// back, and this returns false: the chain cannot go on from here.
    pub(crate) fn end_hop() -> bool {
        let reached = ROUTE.with(|route| {
            let mut route = route.borrow_mut();
            let reached = route.is_empty();
            route.clear();
            reached
        });
        if !reached {
            // Nothing of the chain ran meanwhile: a scope goes on with it
            // only once the route it is on was followed to its end.
            CHAIN.with(|chain| {
                let mut chain = chain.borrow_mut();
                chain.next -= 1;
                chain.open = 0;
            });
        }
        reached
    }

    /// Ends the chain: how many of its entries were not run (the last
    /// ones). The wakes it took over join `out` first, in order.
    pub(crate) fn chain_done(mut out: impl FnMut(Ready)) -> usize {
        CHAIN.with(|chain| {
            let mut chain = chain.borrow_mut();
            if !chain.taken.is_empty() {
                chain.taken.drain(..).for_each(&mut out);
            }
            chain.end()
        })
    }

    /// Whether the thread's list holds a start marker of a scope other than
    /// `scope` (one that adopts its children when the route returns to it).
    pub(crate) fn started_elsewhere(scope: &Arc<ReadyQueue>) -> bool {
        LOCAL.with(|local| {
            let local = local.borrow();
            local
                .since_first_marker()
                .iter()
                .any(|noted| match noted.marker_scope() {
                    Some(Some(s)) => !Arc::ptr_eq(s, scope),
                    Some(None) => true,
                    None => false,
                })
        })
    }

    /// Ends the route; false if a scope on it was not reached.
    pub(crate) fn route_done() -> bool {
        ROUTE.with(|route| {
            let mut route = route.borrow_mut();
            let done = route.is_empty();
            empty_scratch(&mut route);
            done
        })
    }

    /// Ends a drain; true if entries arrived meanwhile (drain again).
    pub(crate) fn end_drain(&self) -> bool {
        self.draining.store(false, Ordering::SeqCst);
        !self.locked().is_empty()
    }

    pub(crate) fn begin_drain(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    /// Whether entries from outside the drain wait in the queue (a load:
    /// asked after every entry a root runs).
    #[inline]
    pub(crate) fn has_remote(&self) -> bool {
        self.remote.load(Ordering::Acquire)
    }

    /// Moves every queued entry to `out`, oldest first; false if there
    /// were none.
    pub(crate) fn take_into(&self, out: &mut VecDeque<Ready>) -> bool {
        let mut queue = self.locked();
        self.remote.store(false, Ordering::Relaxed);
        if queue.is_empty() {
            return false;
        }
        if out.is_empty() {
            std::mem::swap(&mut *queue, out);
        } else {
            out.extend(queue.drain(..));
        }
        true
    }

    /// Makes an entry of this scope, whose route was lost, wait in its
    /// own queue: the scope drains it as a root when next polled.
    pub(crate) fn strand(self: &Arc<Self>, entry: Entry) {
        self.become_root();
        self.locked().push_back(Ready { entry, scope: None });
        self.remote.store(true, Ordering::Release);
        self.waker.wake();
    }
}

/// The ordinal of one of the last 2^31 of `started` starts, from its low
/// bits `residue`.
fn start_ordinal(residue: u32, started: u64) -> u64 {
    let last = started.saturating_sub(1);
    let back = (last as u32).wrapping_sub(residue) & START_ORDINAL_BITS;
    last.saturating_sub(u64::from(back))
}

fn same(a: Option<&ReadyQueue>, b: Option<&ReadyQueue>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => std::ptr::eq(a, b),
        _ => false,
    }
}

/// A root's drain on this thread, until it exits or drops: restores what
/// the thread had before (the root draining there, if any, and its lists).
pub(crate) struct Draining {
    /// The root draining on this thread before (its address), or 0.
    outer: usize,
    /// That root's lists, put aside (none when no root was draining).
    saved: Option<Saved>,
    exited: bool,
}

/// An enclosing root's thread-local lists, put aside while a root polled
/// inside its drain (through a foreign combinator, or as its own task)
/// drains.
struct Saved {
    /// Its notes and where their markers are.
    local: Marked,
    route: Vec<Hop>,
    chain: Chain,
}

impl Draining {
    /// Whether this root drains inside another's step (polled by a job of
    /// another tree, through a foreign combinator or as its own task).
    pub(crate) fn is_inside_another(&self) -> bool {
        self.outer != 0
    }

    /// Ends the drain; this root's (drained, empty) list buffer goes back
    /// to `spare` if the drain had taken it.
    pub(crate) fn exit(mut self, spare: &mut Vec<Noted>) {
        if let Some(own) = self.end() {
            *spare = own;
        }
    }

    /// Restores the enclosing root's state and gives back this root's
    /// list buffer; with no enclosing root, empties the thread's notes,
    /// which serve the next drain as they are.
    fn end(&mut self) -> Option<Vec<Noted>> {
        self.exited = true;
        DRAINING.set(self.outer);
        let Some(saved) = self.saved.take() else {
            // Routes and chains end inside the entry that began them.
            debug_assert!(ROUTE.with(|route| route.borrow().is_empty()));
            debug_assert!(CHAIN.with(|chain| chain.borrow().is_empty()));
            LOCAL.with(|local| forget_notes(&mut local.borrow_mut()));
            return None;
        };
        ROUTE.with(|route| restore_outer(&mut route.borrow_mut(), saved.route));
        CHAIN.with(|chain| chain.borrow_mut().restore_outer(saved.chain));
        let mut own = LOCAL
            .with(|local| local.borrow_mut().replace(saved.local))
            .list;
        own.clear();
        Some(own)
    }
}

/// Empties the thread's notes as a drain ends outside any other (what is
/// noted as it ends is dropped, as it always was: the drain took all it
/// looks at); a burst's room is given back.
fn forget_notes(notes: &mut Notes) {
    if notes.list.capacity() > KEPT_NOTES {
        notes.list = Vec::new();
    } else {
        notes.list.clear();
    }
    notes.first_marker = NO_MARKER;
    if notes.adopted.capacity() > KEPT_ADOPTED {
        notes.adopted = Vec::new();
    } else {
        notes.adopted.clear();
    }
    match &mut notes.markers {
        Some(markers) if markers.capacity() > KEPT_MARKERS => notes.markers = None,
        Some(markers) => markers.clear(),
        None => {}
    }
}

/// Entries of groups (`Noted::Adopted`) a thread keeps room for between
/// drains: the starts of a scope per node of a tree, not a burst's.
const KEPT_ADOPTED: usize = 1 << 10;

/// Scopes whose markers a thread's map keeps room for between drains.
const KEPT_MARKERS: usize = 1 << 10;

/// Notes a thread's list keeps room for between drains (as a root's lists
/// do, `driver.rs`).
const KEPT_NOTES: usize = 1 << 16;

/// Empties a scratch list as its route or chain ends; the room a route
/// down a very deep tree grew it to is given back.
fn empty_scratch<T>(list: &mut Vec<T>) {
    if list.capacity() > KEPT_SCRATCH {
        *list = Vec::new();
    } else {
        list.clear();
    }
}

/// What an enclosing root had in a thread-local scratch list (`ROUTE`,
/// `CHAIN`), taken out for the length of a drain nested in its own. The
/// list, empty, stays when there is nothing to save, and the room it grew
/// to serves every drain on this thread (made anew and freed at each poll,
/// a chain's list made glibc merge its small blocks 26 times a W3 run).
fn save_outer<T>(list: &mut Vec<T>) -> Vec<T> {
    if list.is_empty() {
        Vec::new()
    } else {
        std::mem::take(list)
    }
}

/// Puts back what `save_outer` saved; the drain's own list, emptied, stays
/// when there was nothing to save (unless a route down a very deep tree
/// grew it: that room is given back).
fn restore_outer<T>(list: &mut Vec<T>, outer: Vec<T>) {
    if !outer.is_empty() || list.capacity() > KEPT_SCRATCH {
        *list = outer;
    } else {
        list.clear();
    }
}

/// Items of room a scratch list keeps between drains: a chain holds at
/// most a poll's budget (256), a route one hop per level.
const KEPT_SCRATCH: usize = 4096;

/// A drain unwinding (a panic out of the root's poll): the thread's state
/// is restored and its lists emptied all the same.
impl Drop for Draining {
    fn drop(&mut self) {
        if self.exited {
            return;
        }
        if self.saved.is_none() {
            // A route or chain the panic cut short.
            ROUTE.with(|route| route.borrow_mut().clear());
            CHAIN.with(|chain| {
                let mut chain = chain.borrow_mut();
                chain.taken.clear(); // their scopes are gone with the tree
                chain.end();
            });
        }
        self.end();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing panics while these locks are held; recover anyway.
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::sync::{Arc, Mutex};

    use super::{START_ORDINAL_BITS, start_ordinal};
    use crate::{BoxFuture, coroutine_scope};

    /// A child waiting to be taken keeps the low bits of its start
    /// ordinal; the whole ordinal comes back from the count of starts, also
    /// once that count is past what the bits hold (a scope serving for
    /// years starts billions of children).
    #[test]
    fn a_start_ordinal_comes_back_from_its_low_bits_past_the_wrap() {
        let m = u64::from(START_ORDINAL_BITS) + 1;
        for started in [1, 2, 1000, m - 1, m, m + 1, 3 * m + 17, u64::MAX / 2] {
            for back in [0, 1, 5, 999, m - 1].map(|back| back.min(started - 1)) {
                let ordinal = started - 1 - back;
                let residue = u32::try_from(ordinal % m).unwrap();
                assert_eq!(residue, ordinal as u32 & START_ORDINAL_BITS);
                assert_eq!(start_ordinal(residue, started), ordinal, "{started} {back}");
            }
        }
    }

    thread_local! {
        /// Notes stepped over by nested scopes resolving their starts.
        pub(super) static STEPPED: Cell<usize> = const { Cell::new(0) };
        /// Hosts walked up by looks up the nesting (`places_down_to`).
        pub(super) static WALKED: Cell<usize> = const { Cell::new(0) };
    }

    /// A recursion whose every level starts `starts` children, which log
    /// their level, and then enters the next level's scope in its body.
    fn level(
        depth: u32,
        starts: u32,
        log: Arc<Mutex<Vec<u32>>>,
    ) -> BoxFuture<'static, crate::Result<u32>> {
        Box::pin(coroutine_scope(move |s| {
            Box::pin(async move {
                for _ in 0..starts {
                    let log = log.clone();
                    s.launch(async move {
                        log.lock().unwrap().push(depth);
                        Ok(())
                    });
                }
                if depth == 0 {
                    return Ok(0);
                }
                Ok(level(depth - 1, starts, log).await? + 1)
            })
        }))
    }

    /// Runs `level(depth, starts)` on a thread of its own (a deep stack);
    /// the notes stepped over per level, and the children's log.
    fn run(depth: u32, starts: u32) -> (f64, Vec<u32>) {
        let (stepped, _, log) = run_counted(depth, starts, 512 << 20);
        (stepped, log)
    }

    /// `run`, with the hosts walked up per level too, on a stack of
    /// `stack` bytes.
    fn run_counted(depth: u32, starts: u32, stack: usize) -> (f64, f64, Vec<u32>) {
        std::thread::Builder::new()
            .stack_size(stack)
            .spawn(move || {
                let log = Arc::new(Mutex::new(Vec::new()));
                let rt = tokio::runtime::Builder::new_current_thread()
                    .build()
                    .expect("runtime");
                STEPPED.set(0);
                WALKED.set(0);
                let levels = rt.block_on(level(depth, starts, log.clone()));
                assert_eq!(levels.expect("recursion"), depth);
                let log = log.lock().unwrap().clone();
                let per_level = |n: usize| n as f64 / f64::from(depth);
                (per_level(STEPPED.get()), per_level(WALKED.get()), log)
            })
            .expect("thread")
            .join()
            .expect("recursion thread")
    }

    /// Each level's marker waits while the levels below run; finding and
    /// resolving one's own must not cost a step per note of every other
    /// level (it was quadratic in the depth: 16,000 levels took 2 s).
    #[test]
    fn a_scope_turns_its_starts_into_entries_without_stepping_over_other_levels_notes() {
        for starts in [1, 4] {
            let (shallow, _) = run(100, starts);
            let (deep, _) = run(2_000, starts);
            assert!(
                deep <= 2.0 && deep <= shallow + 1.0,
                "{starts} starts per level: {shallow:.1} notes stepped over per level at 100 levels, {deep:.1} at 2,000"
            );
        }
    }

    /// Past 65,535 levels (where a 16-bit depth stopped counting), a look
    /// up the nesting still walks a few hosts per level, not all of them
    /// (a recursion of 70,000 levels did not finish in a minute).
    #[test]
    fn a_recursion_deeper_than_65535_levels_walks_a_few_hosts_per_level() {
        let (_, shallow, _) = run_counted(1_000, 1, 64 << 20);
        let (_, deep, _) = run_counted(70_000, 1, 1 << 30);
        assert!(
            deep <= 2.0 * shallow.max(1.0),
            "hosts walked per level: {shallow:.1} at 1,000 levels, {deep:.1} at 70,000"
        );
    }

    /// R14: children started down a recursion run in the order they were
    /// started, outermost level first, however the levels resolve their
    /// starts (innermost first, as the poll returns).
    #[test]
    fn children_started_down_a_recursion_run_in_start_order() {
        for starts in [1, 3] {
            let (_, log) = run(5, starts);
            let expected: Vec<u32> = (0..=5)
                .rev()
                .flat_map(|depth| std::iter::repeat_n(depth, starts as usize))
                .collect();
            assert_eq!(log, expected, "{starts} starts per level");
        }
    }
}

/// The entries of children cancelled together by their scope, pushed to
/// its queue in one step, in order (`JobCore::cancel_by_scope_into`).
#[derive(Default)]
pub(crate) struct Resumed {
    queue: Option<Arc<ReadyQueue>>,
    entries: Vec<Entry>,
}

impl Resumed {
    pub(crate) fn add(&mut self, queue: &Arc<ReadyQueue>, entry: Entry) {
        if !self.queue.as_ref().is_some_and(|q| Arc::ptr_eq(q, queue)) {
            self.push_now();
            self.queue = Some(queue.clone());
        }
        self.entries.push(entry);
    }

    /// Pushes the entries gathered so far.
    pub(crate) fn push_now(&mut self) {
        if let Some(queue) = &self.queue {
            queue.push_all(&mut self.entries);
        }
    }
}

impl Drop for Resumed {
    fn drop(&mut self) {
        self.push_now();
    }
}
