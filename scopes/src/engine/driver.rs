//! The scope driver: the future of a scope, which polls its body and its
//! children in place and applies Kotlin's rules to their outcomes.
//!
//! # How children are stored and polled
//!
//! A child is a boxed future plus its [`JobCore`] (which is also its waker),
//! kept in a chunked slab owned by the scope's future; nothing is spawned.
//! The slab lives in [`run`], whose lifetime parameter `'s` outlives it:
//! children live for `'s` and may borrow anything that outlives the scope,
//! all in safe Rust.
//!
//! The driver is generic over [`Boxes`], the kind of futures a scope takes:
//! `Send` ones (`coroutine_scope`), or any (`coroutine_scope_local`). Each
//! kind is a monomorphized copy of the same code; the kinds differ only in
//! the auto traits of the boxed body and children, so a local scope's
//! future is not `Send` and a plain one's is.
//!
//! # Which job runs next (R14)
//!
//! On one thread, a whole tree of scopes runs from one FIFO (`ready.rs`):
//! the *root* (the scope polled by its tokio task, or by a foreign
//! combinator) drains it; a scope entered inside a job of the tree is
//! *nested* and polls one job per visit, the one the root routes to it.
//! What a job does while it runs — wake a job, start a child, at any depth
//! — joins the back of the FIFO in the order it happened. The decisions
//! the reference model (`tests/model/sim.rs`) mirrors:
//!
//! - a scope runs its body at once when first polled (Kotlin's
//!   `coroutineScope` starts its block undispatched); a started child
//!   first runs when its entry is reached;
//! - a nested scope whose body ended while children still ran completes
//!   with its last child, in that child's step; the child's own scope
//!   (`body_of_child`) returns there, so its job completes then, and a
//!   parent sees a job whose body has ended as active until its last
//!   child ends; a scope opened by hand returns to its caller in a step
//!   of its own, queued then (Kotlin's `ScopeCoroutine`);
//! - a deadline or a `cancel_on` signal only cancels its work, which
//!   resumes in a step of its own (`watch.rs`);
//! - a lazy child never started completes at once when cancelled, by
//!   anyone (R11);
//! - cancelling a job cancels at once what is attached to it (`job.rs`):
//!   the scopes entered in it — their body and their children — and the
//!   work of timeouts called in it, recursively; so a cancel reaches every
//!   descendant before any of them is resumed again (R7). They are queued
//!   in Kotlin's order: a scope's children in start order, each with its
//!   subtree, then its body; what is attached to a job before the job. A
//!   scope also follows its parent's cancellation at every visit (for a
//!   scope entered in a job already cancelled);
//! - a late entry of a scope that has returned is skipped;
//! - the root runs at most `POLL_BUDGET` entries per poll (or as many as
//!   the deepest route it took in that poll has levels), and stops early
//!   when tokio's cooperative budget is spent, then yields to its worker:
//!   one always-ready job cannot starve the tree or the worker, and a job
//!   woken while the budget is spent is not polled in vain.
//!
//! A poll of a nested scope that is not on the route (its host polled for
//! its own sake) runs nothing; it only follows its parent's cancellation
//! and adopts children started from other threads.
//!
//! Routes and chains are how the order is kept cheaply, not part of it:
//! the entries right behind one that continue through the tree (a
//! *chain*: more of the same scope's, of a scope nested in the job just
//! run, or of the scope the last one is nested in, which a cancel queues
//! deepest first) are run by the scope the poll is passing through, on the
//! way down (through a route of one hop) or back up, once the step before
//! has ended — the order is the FIFO's either way, and the model, which
//! has no routes, checks that.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use futures_util::task::waker_ref;

use super::child::{BodyFuture, Boxes, ChildFuture, ChildTask, NewChild, Shared, Work};
use super::context;
use super::handler::{self, FailureSink, Handler};
use super::job::{Dequeued, Host, JobCore, Outcome};
use super::name::Name;
use super::options::ScopeOptions as Options;
use super::pool::{self, PoolChild, Run};
use super::ready::{BODY, Entry, Noted, Ready, ReadyQueue, Step};
use super::registry;
use super::slab::Slab;
use super::spare;
use super::trace::Span;
use crate::error::{Error, Result};

/// Children adopted in one burst that are shown in `debug::dump` together;
/// a longer burst is shown in parts of this size.
const PUBLISH_BATCH: usize = 1024;

/// Entries a root runs per poll before it yields to its tokio worker, at
/// least. A route to a scope D levels deep costs a poll per level, and so
/// does the way back after a yield: a poll that took such a route may run
/// D entries, so that a deep chain (a failure or a return climbing a
/// recursion) costs O(1) polls per level instead of D/256. The time a poll
/// holds its worker stays within a small factor of its route's cost.
const POLL_BUDGET: usize = 256;

/// Queue capacity kept between polls; a burst beyond it is given back. A
/// tree's FIFO holds a whole level of the tree at once (W3: 8,000 entries),
/// so this is large: growing the lists again at each round of wakes cost
/// more than the memory (at most about 1.5 MiB per root).
const RETAINED: usize = 1 << 16;

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Coroutine,
    Supervisor,
}

pin_project_lite::pin_project! {
    /// The scope's future (what `coroutine_scope` returns): its first poll
    /// builds the scope in the context it is polled in (the job it follows,
    /// the handler, its place in the tree) and runs the body; later polls
    /// drive body and children to completion.
    ///
    /// A named future rather than an `async fn`, and the set-up out of line:
    /// a tree of nested scopes recurses through this poll once per level,
    /// so its frame is kept small (SPEC §6 W8).
    #[must_use = "futures do nothing unless polled"]
    pub(crate) struct ScopeFuture<'s, T, F, B: Boxes> {
        new: Option<(Kind, Options, Name, F)>,
        // Boxed: a scope future stays a few words, which keeps the frames
        // that create and poll it small (a `Box::pin` of a large future is
        // built on the stack first).
        driver: Option<Box<Driver<'s, T, B>>>,
        span: Span,
    }
}

/// The future of a scope of `kind` whose body `body` makes, given the
/// scope's shared part (for the handle it builds). `B` is the kind of
/// futures it takes: `Send` ones, or any (a local scope).
pub(crate) fn run<'s, T, F, B>(
    kind: Kind,
    options: Options,
    name: Name,
    body: F,
) -> ScopeFuture<'s, T, F, B>
where
    B: Boxes,
    F: FnOnce(Arc<Shared<'s, B>>) -> BodyFuture<'s, B, Result<T>>,
{
    ScopeFuture {
        new: Some((kind, options, name, body)),
        driver: None,
        span: Span::none(),
    }
}

impl<'s, T, F, B> Future for ScopeFuture<'s, T, F, B>
where
    B: Boxes,
    F: FnOnce(Arc<Shared<'s, B>>) -> BodyFuture<'s, B, Result<T>>,
{
    type Output = Result<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T>> {
        let this = self.project();
        if this.driver.is_none() {
            *this.driver = Driver::start(this.new, this.span);
        }
        let Some(driver) = this.driver else {
            return Poll::Pending; // polled after completion
        };
        let _entered = this.span.enter();
        driver.poll(cx)
    }
}

/// A root's lists: its FIFO (entries taken but not yet run) and scratch
/// buffers for the thread-local wakes and starts: `local` is swapped with
/// the thread-local list to read it; `spare` becomes that list while the
/// root drains, so a poll allocates no new list.
///
/// They go with the root. Keeping them for the next root on the thread
/// (a tree's FIFO holds a whole level of it) was tried and measured worse
/// (twelfth session): without the large reallocations of a growing FIFO,
/// glibc's allocator never merged the small blocks the last tree freed, so
/// the next tree's blocks were handed out scattered, last freed first, and
/// a tree of 65,536 leaves ran 28% slower; a flat scope of 10,000 children
/// gains 2% from a kept FIFO, which does not pay for that.
#[derive(Default)]
struct Fifo {
    batch: VecDeque<Ready>,
    local: Vec<Noted>,
    /// The entries of `local`'s `Noted::Adopted` notes.
    adopted: Vec<Entry>,
    spare: Vec<Noted>,
    /// The chain behind the entry being run (`chain_after`; scratch).
    chain: Vec<Ready>,
    /// Whether the batch may hold entries of nested scopes (a flat scope's
    /// never does, and looks for no chain).
    nested: bool,
    /// This poll drains inside another root's step (`Draining`): the
    /// thread's list of children started in the step is that step's.
    inside_another: bool,
}

/// The `limit` option at work: how many children may run at once, how many
/// run (or were admitted to), and those waiting for a place, in start
/// order.
struct Limit {
    most: usize,
    running: usize,
    held: VecDeque<Entry>,
}

/// The first failure of a scope (R2, R6) and those that came while it
/// cancelled the rest.
struct Failure {
    first: Error,
    suppressed: Vec<Error>,
    /// Each failure is suppressed once (R6): where each one seen is, by
    /// `Error::identity` (`IN_FIRST`: among the first one's own).
    seen: HashMap<usize, usize>,
    /// Whether `seen` lists the first one's own yet: only a failure held
    /// elsewhere too can be among them, and a failure climbing a deep tree
    /// carries one suppressed failure per level, which listing at every
    /// level would make quadratic.
    first_seen: bool,
}

/// In `Failure::seen`: suppressed by the first failure itself.
const IN_FIRST: usize = usize::MAX;

impl Failure {
    fn new(first: Error) -> Box<Self> {
        Box::new(Self {
            first,
            suppressed: Vec::new(),
            seen: HashMap::new(),
            first_seen: false,
        })
    }

    /// Lists the first failure's own suppressed failures in `seen`, once.
    fn see_first(&mut self) {
        if !std::mem::replace(&mut self.first_seen, true) {
            let first = self.first.suppressed().iter();
            self.seen.extend(first.map(|s| (s.identity(), IN_FIRST)));
        }
    }

    /// Suppresses `error`, once: one seen already (a child that failed
    /// early, now ending with it) is kept as it came last, with what its
    /// own scope suppressed meanwhile. A map, not a scan: ten thousand
    /// children failing in their cleanup cost ten thousand steps.
    fn suppress(&mut self, error: Error) {
        if error.is_shared() {
            self.see_first();
        } else {
            // Held nowhere else: neither the first failure nor this scope
            // has it yet.
            self.seen.insert(error.identity(), self.suppressed.len());
            self.suppressed.push(error);
            return;
        }
        match self.seen.get(&error.identity()) {
            Some(&IN_FIRST) => {}
            Some(&at) => self.suppressed[at] = error,
            None => {
                self.seen.insert(error.identity(), self.suppressed.len());
                self.suppressed.push(error);
            }
        }
    }
}

/// A child in its scope's slab. Its waker is made from `job` for each
/// poll, by reference (`waker_ref`), so a slot holds no waker of its own.
struct ChildSlot<'s, B: Boxes> {
    job: Arc<JobCore>,
    work: Work<'s, B>,
}

/// What a scope keeps once it has children: an empty scope carries one
/// word for all of it (SPEC §6 W7).
struct Children<'s, B: Boxes> {
    slots: Slab<ChildSlot<'s, B>>,
    /// Started children taken from the start list, not yet adopted, in
    /// start order. A `VecDeque` made from the list's `Vec` in place: no
    /// pass over a burst to reverse it (W5: a million children).
    incoming: VecDeque<NewChild<'s, B>>,
    /// Children adopted so far (a start ordinal, for `cancel_children`).
    adopted_total: u64,
    /// Adoptions and completions not yet shown in the registry.
    changes: registry::Changes,
}

impl<B: Boxes> Children<'_, B> {
    fn new() -> Box<Self> {
        Box::new(Self {
            slots: Slab::new(),
            incoming: VecDeque::new(),
            adopted_total: 0,
            changes: registry::Changes::default(),
        })
    }
}

struct Driver<'s, T, B: Boxes> {
    kind: Kind,
    /// The scope's own job: the body runs in it.
    job: Arc<JobCore>,
    /// The body's waker (the job's), made once: a poll of the body builds
    /// no waker on the stack, which a tower of nested scopes pays per
    /// level (SPEC §6 W8).
    waker: Waker,
    shared: Arc<Shared<'s, B>>,
    /// The job the scope was entered in, whose cancellation it follows.
    parent: Option<Arc<JobCore>>,
    handler: Option<Handler>,
    body: Option<BodyFuture<'s, B, Result<T>>>,
    /// Whether the body has been polled once (the first poll runs it).
    entered: bool,
    /// The scope is the whole body of the child it runs in
    /// (`ScopeOptions::body_of_child`): its first failure is the child's.
    body_of_child: bool,
    value: Option<T>,
    /// Made at the first adoption.
    children: Option<Box<Children<'s, B>>>,
    /// A root's FIFO and lists; a nested scope has none.
    fifo: Option<Box<Fifo>>,
    /// The `limit` option's bookkeeping; most scopes have no limit and
    /// carry one word for it.
    limit: Option<Box<Limit>>,
    /// The first failure (R2, R6) and those that came while cancelling.
    /// Boxed: most scopes never fail, and carry one word for it.
    failure: Option<Box<Failure>>,
    registration: registry::Registration,
    /// The scope is counted as cancelling in `parent` (`count_as_cancelling`).
    counted_cancelling: bool,
    /// The body ended while children still ran: the scope completes with
    /// the last of them, and its caller is queued (`resumes_caller_later`).
    waits_for_children: bool,
    caller_queued: bool,
}

impl<'s, T, B: Boxes> Driver<'s, T, B> {
    /// Sets the scope up where it is first polled: it follows the job it
    /// is entered in and takes the handler in force there.
    ///
    /// Out of line, and it takes the parts from where they wait: a frame
    /// that held them would be paid at every level of a tower of scopes
    /// (SPEC §6 W8). `None` when polled after completion.
    #[inline(never)]
    #[allow(clippy::type_complexity)]
    fn start<F>(new: &mut Option<(Kind, Options, Name, F)>, span: &mut Span) -> Option<Box<Self>>
    where
        F: FnOnce(Arc<Shared<'s, B>>) -> BodyFuture<'s, B, Result<T>>,
    {
        let (kind, options, name, body) = new.take()?;
        let queue = ReadyQueue::new(options.limit.is_some());
        let job = JobCore::new(name, Host::InPlace(queue.clone()), false);
        job.place(BODY);
        let parent = context::cancellable_parent();
        // Under the unit of work the code belongs to, inside
        // `non_cancellable` too, and for a scope entered in a timeout's
        // work (the timeout's own job is nobody's child).
        let shown_under = context::shown_under().unwrap_or(0);
        let registration = registry::register(&job, parent.as_ref(), shown_under);
        let shared = Arc::new(Shared {
            queue,
            job: job.clone(),
            started: Mutex::new(Vec::new()),
        });
        *span = Span::scope(&job.name, job.id);
        let body = body(shared.clone());
        Some(Box::new(Driver {
            kind,
            waker: futures_util::task::waker(job.clone()),
            job,
            shared,
            parent,
            handler: handler::current_handler(),
            body: Some(body),
            entered: false,
            body_of_child: options.body_of_child,
            value: None,
            children: None,
            fifo: None,
            limit: options.limit.map(|most| {
                Box::new(Limit {
                    most,
                    running: 0,
                    held: VecDeque::new(),
                })
            }),
            failure: None,
            registration,
            counted_cancelling: false,
            waits_for_children: false,
            caller_queued: false,
        }))
    }

    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Result<T>> {
        let _handler = handler::enter_scope(&self.handler);
        let queue = &self.shared.queue;
        if !queue.is_nested() && (queue.is_root() || !self.nest(cx)) {
            return self.poll_root(cx);
        }
        self.poll_nested(cx)
    }

    /// At the first poll: nests the scope in the job polling it, when that
    /// job belongs to a tree draining on this thread and polls the scope
    /// directly (its own waker); else the scope becomes a root.
    #[inline(never)]
    fn nest(&mut self, cx: &Context<'_>) -> bool {
        let queue = &self.shared.queue;
        let nested = ReadyQueue::tree_is_draining()
            && context::hosting_unit(cx.waker())
                .and_then(|unit| unit.placement())
                .is_some_and(|place| queue.become_nested(place));
        if !nested {
            queue.become_root();
        }
        nested
    }

    /// A visit of a nested scope: the first runs the body; one on a route
    /// runs the job the route names here.
    ///
    /// A tree of nested scopes recurses through here once per level, on
    /// the way down (first visits) and on every route (SPEC §6 W8): what
    /// the step to the next level does not need is out of line, so that
    /// this frame stays small.
    #[inline(always)]
    fn poll_nested(&mut self, cx: &mut Context<'_>) -> Poll<Result<T>> {
        self.follow_parent();
        if !self.entered {
            self.enter_nested(cx);
            self.poll_body(true);
        } else if let Some((entry, target)) = self.shared.queue.take_hop() {
            // On the way to the target: one frame less per level of
            // nesting than through `run_entry`.
            match (target, entry.slot) {
                (true, _) => self.run_target(entry),
                (false, BODY) => self.poll_body(false),
                (false, _) => self.hop_child(entry),
            }
            if !target && self.shared.queue.chain_continues_here() {
                // The chain comes back up through this scope.
                self.continue_chain();
            }
        }
        self.after_visit(cx)
    }

    /// The first visit of a nested scope: registers its host job's waker,
    /// which does not change. The body runs next (Kotlin's
    /// `coroutineScope` starts its block undispatched).
    #[inline(never)]
    fn enter_nested(&mut self, cx: &Context<'_>) {
        self.shared.queue.register(cx.waker());
        self.entered = true;
    }

    /// What a visit of a nested scope does after its job ran: adopts the
    /// children started meanwhile, and returns once everything has ended.
    /// Out of line: the next level's frames are gone by then.
    #[inline(never)]
    fn after_visit(&mut self, cx: &Context<'_>) -> Poll<Result<T>> {
        if self.shared.queue.take_starts() || self.has_incoming() {
            self.adopt_nested();
        }
        self.flush_registry();
        if self.body.is_none() && self.child_count() == 0 && self.is_done() {
            if self.resumes_caller_later(cx) {
                context::mark_shielded();
                return Poll::Pending;
            }
            return Poll::Ready(self.finish());
        }
        // A nested scope that is pending must not be cut short by its
        // host's cancellation: its own body and children meet R7 here.
        context::mark_shielded();
        Poll::Pending
    }

    /// R14: a nested scope whose body ended while children still ran
    /// completes with its last child, and returns to its caller in a step
    /// of its own, queued behind what is ready then. Kotlin's
    /// `ScopeCoroutine.afterCompletion` dispatches the caller's resumption;
    /// a scope with no child running when its body ends returns at once
    /// (`afterResume`). The child's own scope (`body_of_child`) is the
    /// child's job itself, which completes in its last child's step, as a
    /// Kotlin job does (R14's example).
    ///
    /// Once queued, the result waits for the caller's own step, not a
    /// route through the caller: to an entry of this scope's (a late one),
    /// or of another scope its code polls beside this one (`join!`).
    fn resumes_caller_later(&mut self, cx: &Context<'_>) -> bool {
        if std::mem::take(&mut self.waits_for_children) {
            self.caller_queued = true;
            cx.waker().wake_by_ref();
            return true;
        }
        self.caller_queued && context::polled_on_hop()
    }

    /// A poll of a root: drains the tree's FIFO within the budget.
    #[inline(never)]
    fn poll_root(&mut self, cx: &mut Context<'_>) -> Poll<Result<T>> {
        let queue = self.shared.queue.clone();
        let mut fifo = self.fifo.take().unwrap_or_default();
        let draining = queue.enter(cx.waker(), &mut fifo.spare);
        fifo.inside_another = draining.is_inside_another();
        let polled = self.drain(cx, &queue, &mut fifo);
        if polled.is_pending() {
            // A scope that is pending must not be cut short by a
            // cancellation of the job polling it (a root polled by a
            // combinator inside a job): it meets R7 on its own.
            context::mark_shielded();
        }
        draining.exit(&mut fifo.spare);
        if fifo.spare.capacity() > RETAINED {
            fifo.spare = Vec::new(); // give back a burst's memory
        }
        if polled.is_pending() {
            self.fifo = Some(fifo);
        }
        polled
    }

    fn drain(
        &mut self,
        cx: &mut Context<'_>,
        queue: &Arc<ReadyQueue>,
        fifo: &mut Fifo,
    ) -> Poll<Result<T>> {
        let mut budget = POLL_BUDGET;
        let mut allowed = POLL_BUDGET;
        self.follow_parent();
        if !self.entered {
            self.entered = true;
            budget -= 1;
            self.poll_body(true);
        }
        loop {
            queue.begin_drain();
            if fifo.batch.is_empty() {
                fifo.nested = false;
            }
            self.take_local(fifo);
            if queue.take_into(&mut fifo.batch) {
                fifo.nested = true; // from elsewhere: not looked at
            }
            while let Some(ready) = fifo.batch.pop_front() {
                if budget == 0 || !tokio::task::coop::has_budget_remaining() {
                    fifo.batch.push_front(ready);
                    queue.end_drain();
                    self.flush_registry();
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                budget -= 1;
                self.follow_parent();
                match ready.scope {
                    None => {
                        // A flat scope's entries are all its own: no chain.
                        let chain = fifo.nested
                            && fifo.batch.front().is_some_and(|next| next.scope.is_some())
                            && self.chain_after(&self.shared.queue, fifo, budget);
                        self.run_entry(ready.entry, true);
                        if chain {
                            self.continue_chain();
                            budget -= self.chain_done(fifo);
                        }
                    }
                    Some(scope) => {
                        let depth = scope.depth();
                        if depth > allowed {
                            budget += depth - allowed;
                            allowed = depth;
                        }
                        budget -= self.follow_route(&scope, ready.entry, fifo, budget);
                    }
                }
                // Wakes from other threads while the entry ran come next
                // (R14), before what the entry itself noted: such a wake
                // is usually what the entry waited on (a cancel from
                // another thread), and this thread's notes came as it
                // went on. Without this they waited for the batch to
                // empty: behind a whole budget of later local wakes.
                if queue.has_remote() && queue.take_into(&mut fifo.batch) {
                    fifo.nested = true;
                }
                self.take_local(fifo);
            }
            if !queue.end_drain()
                && !self.has_incoming()
                && self.no_child_waiting()
                && !ReadyQueue::has_local()
            {
                break;
            }
        }
        self.flush_registry();
        self.give_back(fifo);
        if self.is_done() {
            return Poll::Ready(self.finish());
        }
        Poll::Pending
    }

    /// Gives back a burst's memory once the root's FIFO is empty.
    fn give_back(&mut self, fifo: &mut Fifo) {
        if fifo.batch.is_empty() && fifo.batch.capacity() > RETAINED {
            fifo.batch = VecDeque::new();
        }
        if let Some(kids) = &mut self.children
            && kids.incoming.is_empty()
            && kids.incoming.capacity() > RETAINED
        {
            kids.incoming = VecDeque::new();
        }
        if fifo.local.capacity() > RETAINED {
            fifo.local = Vec::new();
        }
        if fifo.adopted.capacity() > RETAINED {
            fifo.adopted = Vec::new(); // a nested scope's burst of starts
        }
    }

    fn is_done(&self) -> bool {
        self.body.is_none()
            && self.child_count() == 0
            && !self.has_incoming()
            && self.no_child_waiting()
    }

    /// Children placed in the slab and not yet completed.
    fn child_count(&self) -> usize {
        self.children.as_ref().map_or(0, |kids| kids.slots.len())
    }

    /// Whether started children wait to be adopted in `incoming`.
    fn has_incoming(&self) -> bool {
        self.children
            .as_ref()
            .is_some_and(|kids| !kids.incoming.is_empty())
    }

    /// Clears completed children from the registry (in batches).
    fn flush_registry(&mut self) {
        if let Some(kids) = &mut self.children {
            self.registration.flush(&mut kids.changes);
        }
    }

    fn no_child_waiting(&self) -> bool {
        self.shared.started().is_empty()
    }

    /// Runs an entry of a nested scope: polls the root's own job on the
    /// route to it, which polls the next scope on the route, and so on. A
    /// route that was not followed to its end (a combinator between two
    /// scopes that polls only what it was woken for) strands the entry in
    /// its scope, which then drains its own queue when next polled.
    ///
    /// The entries right behind this one that its poll reaches on the way
    /// (`chain_after`, up to `budget` of them) go along. Returns how many
    /// of those ran; the others go back to the front.
    fn follow_route(
        &mut self,
        scope: &Arc<ReadyQueue>,
        entry: Entry,
        fifo: &mut Fifo,
        budget: usize,
    ) -> usize {
        if scope.is_closed() {
            return 0; // a late wake of a scope that has returned
        }
        let chain = self.chain_after(scope, fifo, budget);
        let own = self.shared.queue.route_to(scope, entry);
        if let Some(own) = own {
            self.run_entry(own, false);
        }
        let ran = if chain { self.chain_done(fifo) } else { 0 };
        if !ReadyQueue::route_done() {
            scope.strand(entry);
        }
        ran
    }

    /// Takes the entries right behind one of `scope` in the FIFO that form a
    /// chain through the tree, up to `budget` (`ReadyQueue::set_chain`; what
    /// continues a chain is `Chain`'s rule, in ready.rs): the poll of the
    /// entry runs them as it passes their scopes, one descent where a route
    /// per entry would cost the depth each time, in the FIFO's order.
    #[inline(never)]
    fn chain_after(&self, scope: &Arc<ReadyQueue>, fifo: &mut Fifo, budget: usize) -> bool {
        ReadyQueue::set_chain(scope, &mut fifo.batch, &mut fifo.chain, budget)
    }

    /// After an entry ran here, goes on with the chain behind it (see
    /// `chain_after`) while its next step is this scope's: an entry of its
    /// own, or one of a scope below, reached through a route from here
    /// (the route's first hop is an entry of this scope's): the scope at
    /// its end runs the entry and goes on from there; what is left of the
    /// chain then is not this scope's. Each entry runs once the one before
    /// has ended its step, as if the root had routed to it; before each, a
    /// nested scope adopts the children just started, as after a visit, so
    /// that slots are taken in the same order.
    #[inline(never)]
    fn continue_chain(&mut self) {
        let nested = self.shared.queue.is_nested();
        loop {
            if nested && (self.shared.queue.take_starts() || self.has_incoming()) {
                self.adopt_nested();
            }
            if self.is_done() {
                return;
            }
            let Some(step) = self.shared.queue.next_in_chain() else {
                return;
            };
            self.follow_parent();
            match step {
                Step::Own(entry) => self.run_entry(entry, true),
                Step::Through(via) => {
                    // Down from here; what follows may come back up here.
                    self.run_entry(via, false);
                    if !ReadyQueue::end_hop() {
                        return; // not reached: the root takes the rest
                    }
                }
            }
        }
    }

    /// Ends the chain behind an entry: the entries not reached go back to
    /// the front of the FIFO, in order. Returns how many ran.
    #[inline(never)]
    fn chain_done(&self, fifo: &mut Fifo) -> usize {
        let left = ReadyQueue::chain_done(|taken| fifo.chain.push(taken));
        if fifo.chain.is_empty() {
            return 0;
        }
        let ran = fifo.chain.len() - left;
        for next in fifo.chain.drain(ran..).rev() {
            fifo.batch.push_front(next);
        }
        fifo.chain.clear();
        ran
    }

    /// The route ends here: runs `entry`, then this scope's entries of the
    /// chain behind it. Out of line: only the innermost scope of a route
    /// needs this frame.
    #[inline(never)]
    fn run_target(&mut self, entry: Entry) {
        self.run_entry(entry, true);
        self.continue_chain();
    }

    /// Runs the body or a child; `target`: the entry is this job's own
    /// (false: the job is polled on the way to a nested scope's job).
    fn run_entry(&mut self, entry: Entry, target: bool) {
        match (entry.slot, target) {
            (BODY, _) => self.poll_body(target),
            (_, true) => self.poll_child(entry),
            (_, false) => self.hop_child(entry),
        }
    }

    /// Cancels the scope when the job it was entered in is cancelled (R7).
    fn follow_parent(&mut self) {
        if let Some(parent) = &self.parent
            && parent.is_cancelled()
            && !self.job.is_cancelled()
        {
            self.cancel_with_parent();
        }
    }

    #[cold]
    #[inline(never)]
    fn cancel_with_parent(&mut self) {
        if let Some(parent) = &self.parent {
            let cause = parent.cancellation_error();
            self.cancel_scope(&cause);
        }
    }

    fn poll_body(&mut self, target: bool) {
        if target {
            self.job.unqueue();
        }
        let Some(body) = self.body.as_mut() else {
            return;
        };
        // On a hop too (R7): see `hop_child`.
        let was_cancelled = self.job.is_cancelled();
        let mut cx = Context::from_waker(&self.waker);
        if let Poll::Ready(ended) = context::resume(
            &self.job,
            body.as_mut(),
            &mut cx,
            was_cancelled,
            true,
            !target,
        ) {
            self.body_ended(ended);
        }
    }

    /// The body has returned (or panicked, or was dropped after its
    /// cancellation): R2, R5, R6 decide what that means for the scope.
    #[inline(never)]
    fn body_ended(&mut self, result: Result<Result<T>>) {
        let result = result.and_then(|result| result);
        let dropped = drop_caught(self.body.take());
        self.body_completed(result);
        if let Some(panic) = dropped {
            self.fail(panic);
        }
        self.waits_for_children =
            self.shared.queue.is_nested() && !self.body_of_child && self.has_running_children();
    }

    /// Whether a child started so far has not completed. A lazy one never
    /// started does not count: with the body ended it is cancelled, which
    /// completes it at once (R11), whether it was adopted yet or not.
    fn has_running_children(&self) -> bool {
        let running = |job: &JobCore| job.is_started() && !job.is_completed();
        let kids = self.children.as_deref();
        kids.is_some_and(|kids| {
            kids.slots.iter().any(|slot| running(&slot.job))
                || kids.incoming.iter().any(|new| running(&new.job))
        }) || self.shared.started().iter().any(|new| running(&new.job))
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
        let Some(kids) = &self.children else { return };
        for slot in kids.slots.iter() {
            if !slot.job.is_started() {
                slot.job.cancel(None);
            }
        }
    }

    /// A root's part of R14: queues the wakes and starts this thread made
    /// during the last entry, in the order they happened; a start marker
    /// adopts as many started children as it counts. Children started from
    /// elsewhere (another thread, the body closure) follow.
    fn take_local(&mut self, fifo: &mut Fifo) {
        if ReadyQueue::take_local(&mut fifo.local, &mut fifo.adopted) {
            for noted in fifo.local.drain(..) {
                self.take_noted(noted, &fifo.adopted, &mut fifo.batch, &mut fifo.nested);
            }
        }
        if self.shared.queue.take_foreign_starts() || self.has_incoming() {
            while self.adopt_next(&mut fifo.batch) {}
        }
        self.publish_adopted();
        if !fifo.inside_another {
            // Taken by their scopes now, or as foreign starts. A root
            // draining inside another's step (a scope polled through
            // `FuturesUnordered` in a child) leaves the list to that
            // step's root, which empties it after the entry whether or not
            // its own notes held a start: its entry may have started
            // nothing itself while the roots inside it started many.
            registry::forget_started_here();
        }
    }

    /// One note of the root's: a wake joins the FIFO; a start marker adopts
    /// as many started children as it counts; a lazy child's start queues
    /// its first run.
    fn take_noted(
        &mut self,
        noted: Noted,
        adopted: &[Entry],
        batch: &mut VecDeque<Ready>,
        nested: &mut bool,
    ) {
        match noted {
            Noted::Woken(ready) => {
                *nested |= ready.scope.is_some();
                batch.push_back(ready);
            }
            Noted::Adopted { scope, from, len } => {
                *nested = true;
                let (from, len) = (from as usize, len as usize);
                for &entry in &adopted[from..from + len] {
                    let scope = Some(scope.clone());
                    batch.push_back(Ready { entry, scope });
                }
            }
            Noted::Started { scope: None, run } => {
                for _ in 0..run {
                    self.adopt_next(batch);
                }
            }
            Noted::StartedLazy { scope: None, child } => {
                if let Some(entry) = child.first_entry() {
                    batch.push_back(Ready { entry, scope: None });
                }
            }
            // Taken over by a chain, which gave it back if it did not run.
            Noted::Chained => {}
            // A nested scope turns its markers into entries before its poll
            // returns; one left over is adopted as a foreign start.
            Noted::Started {
                scope: Some(scope), ..
            }
            | Noted::StartedLazy {
                scope: Some(scope), ..
            } => scope.note_foreign_starts(),
        }
    }

    /// Adopts the next started child and queues its first run (a lazy
    /// one's comes with its start); false if none is waiting.
    fn adopt_next(&mut self, batch: &mut VecDeque<Ready>) -> bool {
        let Some(first) = self.adopt_started() else {
            return false;
        };
        if let Some(entry) = first {
            batch.push_back(Ready { entry, scope: None });
        }
        true
    }

    /// A nested scope's part of R14: its start markers noted during this
    /// visit become its children's first entries, in place; children
    /// started from elsewhere follow.
    #[inline(never)]
    fn adopt_nested(&mut self) {
        let queue = self.shared.queue.clone();
        queue.resolve_starts(|| self.adopt_started());
        if queue.take_foreign_starts() || self.has_incoming() {
            while let Some(first) = self.adopt_started() {
                if let Some(entry) = first {
                    queue.note_entry(entry);
                }
            }
        }
        self.publish_adopted();
    }

    /// Adopts the next started child (`None`: none is waiting); its first
    /// entry to queue, if it is queued now.
    fn adopt_started(&mut self) -> Option<Option<Entry>> {
        let new = self.next_started()?;
        Some(self.adopt(new))
    }

    /// Shows the children just adopted in `debug::dump`, before any runs.
    fn publish_adopted(&mut self) {
        if let Some(kids) = &mut self.children {
            let Children { slots, changes, .. } = &mut **kids;
            self.registration
                .publish(changes, |idx| slots.get(idx).map(|slot| &slot.job));
        }
    }

    fn next_started(&mut self) -> Option<NewChild<'s, B>> {
        let kids = match &mut self.children {
            Some(kids) if !kids.incoming.is_empty() => return kids.incoming.pop_front(),
            Some(kids) => kids,
            // The first child: the scope makes room for children now.
            None if self.shared.started().is_empty() => return None,
            None => self.children.insert(Children::new()),
        };
        if kids.incoming.capacity() > RETAINED {
            kids.incoming = VecDeque::new(); // give back a burst's memory
        }
        // Swap rather than take: the start list keeps a buffer with room
        // (both conversions keep the buffer: the deque is empty).
        let mut started = self.shared.started();
        let spare = Vec::from(std::mem::take(&mut kids.incoming));
        kids.incoming = VecDeque::from(std::mem::replace(&mut *started, spare));
        kids.changes.expect(kids.incoming.len());
        if self.limit.is_some() {
            self.shared.queue.took_unadopted(&started);
        }
        drop(started);
        kids.incoming.pop_front()
    }

    /// Takes a started child into the slab; its first entry, to queue now
    /// if it was started at its launch (R14: a lazy one's first run is
    /// queued when it is started). One started into a cancelled scope
    /// never runs.
    fn adopt(&mut self, NewChild { job, fut }: NewChild<'s, B>) -> Option<Entry> {
        let body_returned = self.body.is_none();
        let kids = self.children.get_or_insert_with(Children::new);
        let idx = kids.slots.vacant();
        job.place(idx);
        kids.changes.adopted(idx);
        let ordinal = kids.adopted_total;
        kids.adopted_total += 1;
        if self.job.is_cancelled() {
            job.cancel_by_scope();
        } else if (body_returned && !job.is_started())
            || ordinal < self.shared.queue.children_cancelled_before()
        {
            // A lazy child never started by the time the body returned
            // (R11), or one started before a `cancel_children` call.
            job.cancel(None);
        }
        job.set_span(Span::child(&job.name, job.id));
        let id = job.id;
        let mut queued_now = job.queued_at_placement();
        let mut work = Work::Here(fut);
        if job.is_parallel() {
            // A `parallel` child's first run is its spawn: now, its parent
            // having suspended (R14), unless it is lazy, waits for a place
            // under the limit, or was cancelled.
            let first_run = queued_now && self.limit.is_none() && !job.is_cancelled();
            if adopt_task(&job, &mut work, first_run, self.handler.clone()) {
                queued_now = false;
            }
        }
        let slot = kids.slots.insert(ChildSlot { job, work });
        if body_returned && kids.incoming.is_empty() && kids.incoming.capacity() != 0 {
            give_back_incoming(&mut kids.incoming);
        }
        if kids.changes.adoptions() >= PUBLISH_BATCH {
            // A long burst is shown in parts, each while its jobs are still
            // in the cache (W5: a million children adopted at once).
            self.publish_adopted();
        }
        queued_now.then_some(Entry { slot, job: id })
    }

    /// Runs a child's own entry: its queue state first (a child cancelled
    /// before it first ran never runs, R7; a first run may wait for a
    /// place under the limit), then R7's resume-once step.
    #[inline(never)]
    fn poll_child(&mut self, entry: Entry) {
        let idx = entry.slot;
        let kids = self.children.as_mut();
        let Some(slot) = kids.and_then(|kids| kids.slots.get_mut(idx)) else {
            return; // a late wake of a child that has completed
        };
        if slot.job.id != entry.job {
            return; // a late wake of an earlier child in this slot
        }
        if slot.job.has_failed_early() {
            return self.child_failing(entry);
        }
        let was_cancelled = match slot.job.dequeue() {
            Dequeued::Poll { cancelled, first } => {
                if first
                    && let Some(limit) = &mut self.limit
                    && !take_place(limit, &slot.job, entry)
                {
                    return;
                }
                cancelled
            }
            // Cancelled before it first ran: it never runs (R7).
            Dequeued::NeverRan => {
                let cancelled = slot.job.cancellation_error();
                return self.complete(idx, Err(cancelled));
            }
            Dequeued::NotStarted => return,
        };
        // The slot found above is polled: one lookup per entry.
        let ChildSlot { job, work } = slot;
        match work {
            Work::Here(fut) => {
                if let Poll::Ready(ended) = resume_slot::<B>(job, fut, was_cancelled, false) {
                    self.complete(idx, ended.and_then(|result| result));
                }
            }
            Work::Pool(_) => self.run_task(idx, was_cancelled),
        }
    }

    /// A child whose own scope failed (`JobCore::fail_early`): a
    /// `coroutine_scope` fails with it now (R2), as Kotlin's parent does
    /// when its child starts cancelling with a failure; a supervisor waits
    /// for the child's end, as for any child (R4). Then the entry runs.
    #[cold]
    #[inline(never)]
    fn child_failing(&mut self, entry: Entry) {
        let kids = self.children.as_ref();
        let Some(slot) = kids.and_then(|kids| kids.slots.get(entry.slot)) else {
            return;
        };
        let job = slot.job.clone();
        if let Some(error) = job.take_failed_early()
            && self.kind == Kind::Coroutine
        {
            self.fail(error.with_origin(&job.name));
        }
        self.poll_child(entry);
    }

    /// Runs an entry of a `parallel` child: its first run, when its
    /// adoption was not (a lazy child started, one admitted under the
    /// limit), spawns its task; later ones wake the task for a cancel (R7)
    /// and take its outcome once it has ended. Out of line: the in-place
    /// path stays small.
    #[inline(never)]
    fn run_task(&mut self, idx: usize, was_cancelled: bool) {
        let kids = self.children.as_mut();
        let Some(ChildSlot {
            job,
            work: Work::Pool(task),
        }) = kids.and_then(|kids| kids.slots.get_mut(idx))
        else {
            return;
        };
        let handler = &self.handler;
        match task.run(job, || handler.clone(), was_cancelled) {
            Run::Spawned | Run::Running => {}
            Run::NoRuntime => self.complete(idx, Err(pool::no_runtime())),
            Run::Ended(result) => self.complete(idx, result),
        }
    }

    /// Polls a child on the way to a nested scope's job (a hop of a
    /// route), as its job's code: its queue state is left to its own entry.
    /// R7 holds in such a poll too: a cancelled child's code runs on here
    /// once the nested scope it waits on has returned, and if it then
    /// suspends outside any cancellation-aware call it is dropped, as after
    /// its own resume (its own entry, which came first, found it waiting on
    /// the scope). A tree recurses through here once per level (W6, W8).
    fn hop_child(&mut self, entry: Entry) {
        let idx = entry.slot;
        let kids = self.children.as_mut();
        let slot = kids.and_then(|kids| kids.slots.get_mut(idx));
        let Some(slot) = slot.filter(|slot| slot.job.id == entry.job) else {
            return; // a late wake of a completed child, or of an earlier one
        };
        // Only a child polled in place hosts a scope of this tree.
        let ChildSlot {
            job,
            work: Work::Here(fut),
        } = slot
        else {
            return;
        };
        let was_cancelled = job.is_cancelled();
        if let Poll::Ready(ended) = resume_slot::<B>(job, fut, was_cancelled, true) {
            self.complete(idx, ended.and_then(|result| result));
        }
    }

    #[inline(never)]
    fn complete(&mut self, idx: usize, result: Result<()>) {
        let Some(kids) = &mut self.children else {
            return;
        };
        let Some(slot) = kids.slots.remove(idx) else {
            return;
        };
        kids.changes.remove(idx);
        if kids.slots.shrink_if_empty() {
            self.registration.forget_children(&mut kids.changes);
        }
        let ChildSlot { job, work } = slot;
        if let Some(limit) = &mut self.limit
            && job.took_a_place()
        {
            limit.running -= 1;
            self.admit_held();
        }
        // Only a supervisor sends a failure anywhere but to itself. A child
        // that returned `Ok` has nothing to send there: its sink (an `async`
        // child's slot, holding the value) goes with its work, inside the
        // catch below, so that a value whose `Drop` panics, with every
        // handle gone, is the child's failure rather than a panic out of
        // the scope.
        let sink = match (self.kind, &work) {
            (Kind::Supervisor, _) if result.is_ok() => None,
            (Kind::Supervisor, Work::Here(fut)) => fut.failure_sink(),
            (Kind::Supervisor, Work::Pool(task)) => {
                task.sink().map(|sink| sink as Arc<dyn FailureSink + 's>)
            }
            (Kind::Coroutine, _) => None,
        };
        let dropped = match work {
            Work::Here(fut) => drop_caught(Some(fut)),
            Work::Pool(task) => drop_task(task),
        };
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
        if let Outcome::Failed(error) = &outcome
            && self.kind == Kind::Coroutine
            && !job.is_completed()
        {
            // Kotlin's order: a failing child cancels its scope before it
            // completes, so the siblings and the body are resumed with
            // the cancellation before the body's wait for this child is
            // (R2, R7); its completion then only wakes what is queued.
            self.fail(error.clone());
        }
        match outcome {
            Outcome::Failed(error) => match job.complete(Outcome::Failed(error.clone())) {
                Outcome::Failed(first) => {
                    self.registration.forget_failed(idx);
                    self.child_failed(first, sink);
                }
                // Completed before its work was dropped here (a lazy child
                // cancelled before it started, one cancelled while held
                // under the limit), a child keeps its first outcome; a
                // panic while its work was dropped is a failure all the
                // same, and is not lost: the scope's own (R2), or in a
                // supervisor the handler's, since a `Deferred` that gave
                // its cancellation gives nothing more.
                _ => self.child_failed(error, None),
            },
            other => {
                if let Outcome::Failed(first) = job.complete(other) {
                    self.child_failed(first, sink);
                }
            }
        }
        JobCore::let_go(job);
    }

    /// Gives the places freed under the limit to held children, in the
    /// order they were held (start order); one cancelled while it waited
    /// has completed and is passed over.
    fn admit_held(&mut self) {
        let Some(limit) = &mut self.limit else { return };
        while limit.running < limit.most {
            let Some(entry) = limit.held.pop_front() else {
                return;
            };
            let kids = self.children.as_ref();
            let waiting = kids
                .and_then(|kids| kids.slots.get(entry.slot))
                .filter(|slot| slot.job.id == entry.job);
            if waiting.is_some_and(|slot| slot.job.admit()) {
                limit.running += 1;
            }
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
        match &mut self.failure {
            None => {
                if self.body_of_child
                    && let Some(host) = &self.parent
                {
                    // The child this scope is the body of fails now, and
                    // its scope hears it before anything here is resumed.
                    host.fail_early(&error);
                }
                let cause = Error::cancelled_by(&error);
                self.failure = Some(Failure::new(error));
                self.cancel_scope(&cause);
            }
            Some(failure) if !failure.first.same_failure(&error) => failure.suppress(error),
            // The same failure again (a child that failed early ends with
            // it; an awaiter raised it again): what was suppressed on its
            // way here is added.
            // The very error recorded as the first (a failing child's,
            // which it also ends with): nothing new came with it.
            Some(failure) if failure.first.is_same_error(&error) => {}
            Some(failure) => {
                failure.see_first();
                for suppressed in error.suppressed() {
                    if !failure.seen.contains_key(&suppressed.identity()) {
                        failure.suppress(suppressed.clone());
                    }
                }
            }
        }
    }

    /// Cancels the body and every child; each is resumed once (R7).
    fn cancel_scope(&mut self, cause: &Error) {
        // The registry lists every child adopted so far, by slot: the same
        // step cancels the scope from its parent's side (debug.rs).
        self.registration.cancel(cause);
        self.count_as_cancelling(true);
    }

    /// Kotlin's states for the job the scope was entered in: while the
    /// scope is cancelling (cancelled, not yet returned), that job is too
    /// (`JobCore::is_cancelling`). Counted there, once per scope, so that
    /// the job's `is_active()` is O(1) however many scopes it hosts.
    fn count_as_cancelling(&mut self, cancelling: bool) {
        if self.counted_cancelling != cancelling
            && let Some(parent) = &self.parent
        {
            self.counted_cancelling = cancelling;
            parent.hosted_scope_cancelling(cancelling);
        }
    }

    #[inline(never)]
    fn finish(&mut self) -> Result<T> {
        self.shared.queue.close();
        self.job.complete(Outcome::Ok);
        self.count_as_cancelling(false);
        if let Some(failure) = self.failure.take() {
            let Failure {
                first, suppressed, ..
            } = *failure;
            return Err(first.with_suppressed(suppressed));
        }
        if self.job.is_cancelled() {
            return Err(self.job.cancellation_error());
        }
        self.value.take().ok_or_else(Error::cancelled)
    }
}

impl<T, B: Boxes> Drop for Driver<'_, T, B> {
    /// R10: the scope's future was dropped; drop the body and every child
    /// now. Jobs are completed as cancelled so that nobody waits on them and
    /// no waker cycle keeps them alive.
    fn drop(&mut self) {
        self.shared.queue.close();
        // A panic while something is dropped here has no scope result to
        // go to: it goes to the exception handler in force (the default one
        // logs it), never lost silently.
        let report = |panic: Option<Error>, name: &Name| {
            if let Some(panic) = panic {
                handler::report(self.handler.as_ref(), &panic.with_origin(name));
            }
        };
        report(drop_caught(self.body.take()), &self.job.name);
        let started = std::mem::take(&mut *self.shared.started());
        let (placed, incoming) = match self.children.take() {
            Some(kids) => {
                let Children {
                    mut slots,
                    incoming,
                    ..
                } = *kids;
                (slots.take_all(), incoming)
            }
            None => (Vec::new(), VecDeque::new()),
        };
        let (mut incoming, mut started) = (incoming, started);
        let waiting =
            (incoming.drain(..).chain(started.drain(..))).map(|new| (new.job, Work::Here(new.fut)));
        let placed = placed.into_iter();
        // Dropping a `parallel` child stops its task (R10).
        for (job, work) in placed.map(|slot| (slot.job, slot.work)).chain(waiting) {
            report(drop_caught(Some(work)), &job.name);
            job.complete(Outcome::Cancelled(Error::cancelled()));
        }
        // The start list's buffers, for the next scope on this thread.
        if spare::is_large::<NewChild<'_, B>>(incoming.capacity()) {
            spare::keep_list(Vec::from(incoming));
        }
        if spare::is_large::<NewChild<'_, B>>(started.capacity()) {
            spare::keep_list(started);
        }
        if !self.job.is_completed() {
            self.job.complete(Outcome::Cancelled(Error::cancelled()));
        }
        self.count_as_cancelling(false);
    }
}

/// Once the body has returned, a scope rarely starts children again (only
/// a child holding its handle does): the list its last burst was adopted
/// from is given back now rather than kept for the scope's life (a scope
/// per node of a tree holds it while its children wait; SPEC §6 W6, W7).
#[cold]
fn give_back_incoming<B: Boxes>(incoming: &mut VecDeque<NewChild<'_, B>>) {
    spare::keep_list(Vec::from(std::mem::take(incoming)));
}

/// Polls the child in `slot` as its job's code, in its span, through R7's
/// resume-once step; `was_cancelled`: this is its resume after a
/// cancellation. Inlined: a tree recurses through here once per level.
#[inline(always)]
fn resume_slot<B: Boxes>(
    job: &Arc<JobCore>,
    fut: &mut ChildFuture<'_, B>,
    was_cancelled: bool,
    hop: bool,
) -> Poll<Result<Result<()>>> {
    let waker = waker_ref(job);
    let mut cx = Context::from_waker(&waker);
    let _entered = job.span().map(Span::enter);
    context::resume(job, fut.as_mut(), &mut cx, was_cancelled, true, hop)
}

/// A child's first run under the scope's `limit`: takes a place, or holds
/// the child until one is free, in start order (SPEC §2b); false if held.
/// Out of line: most scopes have no limit.
#[inline(never)]
fn take_place(limit: &mut Limit, job: &JobCore, entry: Entry) -> bool {
    if limit.running >= limit.most {
        job.hold();
        limit.held.push_back(entry);
        return false;
    }
    limit.running += 1;
    true
}

/// Takes a `parallel` child's work out of its box into a task of `job`,
/// under the scope's `handler`: spawned now if this is its `first_run`
/// (then true), else at its first run. Left in its box when there is no
/// tokio runtime: its first entry polls it there, which fails it saying
/// why. Out of line: the in-place path stays small.
#[inline(never)]
fn adopt_task<B: Boxes>(
    job: &Arc<JobCore>,
    work: &mut Work<'_, B>,
    first_run: bool,
    handler: Option<Handler>,
) -> bool {
    let Work::Here(fut) = work else { return false };
    let Some(task) = fut.as_mut().into_task(job, handler, first_run) else {
        return false;
    };
    *work = Work::Pool(task);
    if first_run {
        job.mark_spawned();
    }
    first_run
}

/// Drops a `parallel` child's part (its work if it never ran), catching a
/// panic. Out of line: the in-place path stays small.
#[inline(never)]
fn drop_task(task: PoolChild) -> Option<Error> {
    drop_caught(Some(task))
}

/// Drops a future, catching a panic of a `Drop` impl inside it: a panic
/// while a child is torn down is a failure like any other, not an abort.
fn drop_caught<F>(fut: Option<F>) -> Option<Error> {
    catch_unwind(AssertUnwindSafe(move || drop(fut)))
        .err()
        .map(Error::panic)
}

#[cfg(test)]
mod tests {
    use super::ChildSlot;
    use crate::engine::child::NewChild;
    use crate::engine::slab;
    use crate::local::{Local, Sendable};

    /// `spare.rs` keeps buffers of three-word items only: a child's slab
    /// slot and start-list entry must be that, or their buffers are
    /// silently made anew for every scope.
    #[test]
    fn a_child_s_slot_and_start_entry_are_three_words_for_both_kinds() {
        fn layout<T>() -> (usize, usize) {
            (size_of::<T>(), align_of::<T>())
        }
        let three_words = layout::<[usize; 3]>();
        assert_eq!(
            slab::slot_size::<ChildSlot<'static, Sendable>>(),
            three_words
        );
        assert_eq!(slab::slot_size::<ChildSlot<'static, Local>>(), three_words);
        assert_eq!(layout::<NewChild<'static, Sendable>>(), three_words);
        assert_eq!(layout::<NewChild<'static, Local>>(), three_words);
    }
}
