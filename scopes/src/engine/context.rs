//! The job a piece of code runs in, found through thread-local state.
//!
//! Children are polled in place, inside their scope's future, so there is no
//! task per child whose locals could hold "the current job". Instead whoever
//! polls a job's future (a scope polling its body or a child, a `parallel`
//! child's task, `with_timeout`) installs the job for the length of that
//! poll, and the cancellation-aware primitives read it. The same state
//! carries what Kotlin keeps in the coroutine context: `NonCancellable`
//! (the exception handler is in `handler.rs`).

use std::cell::Cell;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::{Arc, Weak};
use std::task::{Context, Poll, Waker};

use super::job::JobCore;
use crate::error::Error;

/// Inside `non_cancellable`: the job's cancellation is invisible.
const NON_CANCELLABLE: u8 = 1;
/// Set during a poll by whatever is pending in a way that must not be cut
/// short (a `non_cancellable` section, a nested scope): the job then is not
/// dropped when it stays pending after a cancellation (SPEC R7).
const SHIELDED: u8 = 2;
/// The job is a scope's unit of work (a body or a child, not the work of a
/// timeout): a scope entered during its poll is nested in it.
const UNIT: u8 = 4;
/// Set during a poll by a cancellation-aware primitive that is pending.
const AWARE: u8 = 8;
/// The unit of work is polled on a hop: on a route to an entry of a scope
/// nested in its code, not for an entry of its own (R14: a scope whose
/// result waits for its caller's own step does not give it then).
const HOP: u8 = 16;

scoped_tls::scoped_thread_local! {
    /// The job being polled; unset outside any scope. Scoped: the poller
    /// lends its handle for the poll, so installing a job costs no
    /// reference-count update.
    static JOB: Arc<JobCore>
}

thread_local! {
    static FLAGS: Cell<u8> = const { Cell::new(0) };
    /// While the work of a timeout is polled (its job is no unit of work):
    /// what it runs within, moved here from the timeout for the poll and
    /// back (`resume_within`). The timeout's job keeps no reference to it
    /// (that cost every timeout an allocation); a plain cell rather than
    /// a scoped key, whose closure cost a tower of timeouts stack at
    /// every level.
    static WITHIN: Cell<Option<Within>> = const { Cell::new(None) };
}

/// What the work of a timeout runs within, recorded as it starts.
pub(crate) struct Within {
    /// The unit of work its caller's code belongs to, which a scope entered
    /// in the work nests in (none in a `parallel` child's task). Weak: the
    /// unit lives while its code polls the timeout, and an owned reference
    /// here (dropped from the thread's cell too) made the compiler stop
    /// inlining a job record's drop into every child's (W1 +0.35%
    /// instructions).
    unit: Option<Weak<JobCore>>,
    /// The job `debug::dump` shows a scope entered in the work under: that
    /// unit, else the job the caller's code runs in.
    shown_under: Option<u64>,
}

impl Within {
    /// What code that starts a timeout here runs within.
    pub(crate) fn here() -> Within {
        Within {
            unit: current_unit().as_ref().map(Arc::downgrade),
            shown_under: shown_under(),
        }
    }
}

// The marks, read and written through `with`: `LocalKey<Cell<_>>`'s own
// `set` and `replace` were left as calls of a function of std's in every
// poll (2.6% of W1's time, measured with `perf`).

#[inline]
fn flags() -> u8 {
    FLAGS.with(Cell::get)
}

#[inline]
fn set_flags(flags: u8) {
    FLAGS.with(|cell| cell.set(flags));
}

#[inline]
fn replace_flags(flags: u8) -> u8 {
    FLAGS.with(|cell| cell.replace(flags))
}

#[inline]
fn add_flags(marks: u8) {
    FLAGS.with(|cell| cell.set(cell.get() | marks));
}

/// Whether the code polled now is polled on a hop (a route through it to a
/// scope nested in it), not for an entry of its own.
pub(crate) fn polled_on_hop() -> bool {
    flags() & HOP != 0
}

/// Runs `f` with the current job, if any, and whether it is shielded by
/// `non_cancellable`.
#[inline]
fn with_job<R>(f: impl FnOnce(Option<&Arc<JobCore>>, bool) -> R) -> R {
    let non_cancellable = flags() & NON_CANCELLABLE != 0;
    if JOB.is_set() {
        JOB.with(|job| f(Some(job), non_cancellable))
    } else {
        f(None, non_cancellable)
    }
}

/// The current job's cancellation, if it is cancelled and that is visible
/// here (not inside `non_cancellable`).
///
/// A call of its own: inlined into its callers (`yield_now`, `delay`, every
/// cancellation-aware wait), the thread-local access it makes (a generic
/// function of `scoped-tls`) was left as two more calls in them whenever
/// this crate's code was split differently for compilation.
#[inline(never)]
pub(crate) fn cancellation() -> Option<Error> {
    // The error is made out of the thread-local access: kept this small,
    // that access is inlined here (it was not, in some builds, when the
    // error was made inside it).
    let cancelled = with_job(|job, non_cancellable| {
        job.filter(|job| !non_cancellable && job.is_cancelled())
            .cloned()
    });
    cancelled.map(|job| job.cancellation_error())
}

/// The current job, if the code runs in one and cancellation is visible.
pub(crate) fn cancellable_parent() -> Option<Arc<JobCore>> {
    with_job(|job, non_cancellable| job.filter(|_| !non_cancellable).cloned())
}

/// Marks the job being polled as suspended in a section that must finish.
pub(crate) fn mark_shielded() {
    add_flags(SHIELDED);
}

/// What a cancellation-aware primitive returns: `poll`, noting when it is
/// pending that the job is suspended where a cancellation reaches it (R7).
/// A job suspended anywhere else is in a *foreign wait*: cancelling it
/// drops it there without its async cleanup, which `debug::dump` shows and
/// a `tracing` warning reports.
#[inline]
pub(crate) fn aware<T>(poll: Poll<T>) -> Poll<T> {
    if poll.is_pending() {
        add_flags(AWARE);
    }
    poll
}

/// A wait for an outcome (a `Deferred`'s, `await_all`'s, a race's), which
/// gives an outcome already there even in a cancelled job (R7: awaiting a
/// completed `Deferred`), yet must not hand one to a job cancelled while
/// it was suspended in the wait: Kotlin's prompt cancellation, under which
/// a waiter woken by the outcome and cancelled before it resumed gets the
/// cancellation, as in `delay` or `join`.
#[derive(Clone, Copy, Default)]
pub(crate) struct Wait {
    suspended: bool,
}

impl Wait {
    /// The job's cancellation, if it came while this wait was suspended;
    /// checked before the outcome. The wait starts over either way.
    #[inline(never)]
    pub(crate) fn cancelled_while_suspended(&mut self) -> Option<Error> {
        std::mem::take(&mut self.suspended)
            .then(cancellation)
            .flatten()
    }

    /// The wait suspends, where a cancellation reaches it ([`aware`]).
    pub(crate) fn suspend<T>(&mut self) -> Poll<T> {
        self.suspended = true;
        aware(Poll::Pending)
    }
}

/// The scope's unit of work the running code belongs to: the job being
/// polled if a scope polls it, else (the work of a timeout) the unit that
/// work runs in.
pub(crate) fn current_unit() -> Option<Arc<JobCore>> {
    from_frame(
        |unit| Some(unit.clone()),
        |within| within.unit.as_ref()?.upgrade(),
        |_| None,
    )
}

/// The id of the job `debug::dump` shows a scope entered here under: the
/// unit of work the code belongs to, else (a `parallel` child's task, a
/// timeout in one) the job the code runs in; none outside any job.
pub(crate) fn shown_under() -> Option<u64> {
    let id = |job: &Arc<JobCore>| Some(job.id);
    from_frame(id, |within| within.shown_under, id)
}

/// What the code being polled runs in, asked of its job: `of_unit` if it
/// is a unit of work, `of_within` of what a timeout's work runs within,
/// else (a `parallel` child's task) `of_other`.
fn from_frame<R>(
    of_unit: impl FnOnce(&Arc<JobCore>) -> Option<R>,
    of_within: impl FnOnce(&Within) -> Option<R>,
    of_other: impl FnOnce(&Arc<JobCore>) -> Option<R>,
) -> Option<R> {
    let unit = flags() & UNIT != 0;
    with_job(|job, _| {
        let job = job?;
        if unit {
            return of_unit(job);
        }
        let within = WITHIN.with(Cell::take);
        let found = match &within {
            Some(within) => of_within(within),
            None => of_other(job),
        };
        WITHIN.with(|cell| cell.set(within));
        found
    })
}

/// The unit of work running now, if `waker` is that job's own waker: then
/// whoever polls with it is that job's code, and a scope polled with it
/// runs as part of that job (nested in its tree).
pub(crate) fn hosting_unit(waker: &Waker) -> Option<Arc<JobCore>> {
    // Compared by the data pointer alone: `will_wake` also compares the
    // vtable, whose address differs between codegen units in a release
    // build. Every waker whose data is a job's record wakes that job.
    current_unit().filter(|unit| std::ptr::eq(waker.data(), Arc::as_ptr(unit).cast::<()>()))
}

/// R7's resume-once step, for whoever polls a job's code (a scope polling
/// its body or a child, a `parallel` child's task, the work of a timeout):
/// polls `fut` as `job`'s code (a scope's `unit` of work or not), catching
/// a panic, and is `Ready` once the code has ended — with its output, with
/// a panic as a failure, or with the job's cancellation when `resumed` (this
/// poll is its resume after a cancellation) and it is still suspended
/// outside `non_cancellable`: then the caller drops it, which is Rust's
/// cancellation. Code suspended in a section that must finish shields the
/// code polling it too.
///
/// One frame per level of nesting: a tree of nested scopes recurses
/// through here once per level (SPEC §6 W8). Inlined into its callers (one
/// frame less per level); what follows the poll is a function of its own
/// in a debug build, whose frames keep every temporary: there it is not on
/// the stack while the code below runs.
#[inline(always)]
pub(crate) fn resume<F: Future + ?Sized>(
    job: &Arc<JobCore>,
    fut: Pin<&mut F>,
    cx: &mut Context<'_>,
    resumed: bool,
    unit: bool,
    hop: bool,
) -> Poll<Result<F::Output, Error>> {
    let frame = if unit { UNIT } else { 0 } | if hop { HOP } else { 0 };
    let saved = replace_flags(frame);
    // The closure itself is unwind-safe (its captures are asserted), so
    // `catch_unwind` calls it without another wrapper's frame.
    let (fut, cx) = (AssertUnwindSafe(fut), AssertUnwindSafe(cx));
    let result = JOB.set(job, move || {
        catch_unwind(move || {
            let (AssertUnwindSafe(fut), AssertUnwindSafe(cx)) = (fut, cx);
            fut.poll(cx)
        })
    });
    let flags = replace_flags(saved);
    settle(job, result, flags, resumed)
}

/// [`resume`] for the work of a timeout (no unit of work), which runs
/// `within` what its caller's code ran in. `within` and the thread's cell
/// swap for the poll and back after it: the outer value waits in the
/// timeout, not on the stack, so a tower of timeouts costs no more stack
/// per level than it did.
#[inline(always)]
pub(crate) fn resume_within<F: Future + ?Sized>(
    within: &mut Option<Within>,
    job: &Arc<JobCore>,
    fut: Pin<&mut F>,
    cx: &mut Context<'_>,
    resumed: bool,
) -> Poll<Result<F::Output, Error>> {
    let _lent = Lent::new(within);
    // The work runs in its caller's step: on a hop if the caller is.
    let hop = flags() & HOP != 0;
    resume(job, fut, cx, resumed, false, hop)
}

/// What a timeout's work runs within, in the thread's cell while the work
/// is polled; the cell's value before waits in the timeout meanwhile, and
/// the two swap back when this is dropped.
struct Lent<'a>(&'a mut Option<Within>);

impl<'a> Lent<'a> {
    fn new(within: &'a mut Option<Within>) -> Self {
        swap_within(within);
        Lent(within)
    }
}

impl Drop for Lent<'_> {
    fn drop(&mut self) {
        swap_within(self.0);
    }
}

fn swap_within(within: &mut Option<Within>) {
    WITHIN.with(|cell| {
        let other = cell.replace(within.take());
        *within = other;
    });
}

/// R7's step after the poll: what `resume` returns, given how the poll
/// went and the marks it left (`flags`).
#[cfg_attr(not(debug_assertions), inline(always))]
#[cfg_attr(debug_assertions, inline(never))]
fn settle<T>(
    job: &JobCore,
    result: std::thread::Result<Poll<T>>,
    flags: u8,
    resumed: bool,
) -> Poll<Result<T, Error>> {
    let shielded = flags & SHIELDED != 0;
    match result {
        Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
        Err(payload) => Poll::Ready(Err(panicked(payload))),
        Ok(Poll::Pending) if resumed && !shielded => Poll::Ready(Err(dropped(job))),
        Ok(Poll::Pending) => {
            job.set_foreign_wait(flags & (SHIELDED | AWARE) == 0);
            if shielded {
                mark_shielded();
            } else if flags & AWARE != 0 {
                add_flags(AWARE);
            }
            Poll::Pending
        }
    }
}

#[cold]
#[inline(never)]
fn panicked(payload: Box<dyn std::any::Any + Send>) -> Error {
    Error::panic(payload)
}

/// R7: a cancelled job resumed once and still suspended outside any
/// cancellation-aware call is dropped there: its async cleanup is skipped,
/// which is reported, with where the job was started.
#[cold]
#[inline(never)]
fn dropped(job: &JobCore) -> Error {
    #[cfg(feature = "tracing")]
    tracing::warn!(
        job = %job.name,
        id = job.id,
        started_at = %job.name.started_at(),
        "cancelled job dropped while suspended outside a cancellation-aware call: its async cleanup did not run"
    );
    job.cancellation_error()
}

/// Polls the body of `non_cancellable` in the current job: cancellation is
/// invisible inside, and a panic is caught to be re-raised by the caller
/// after the state is restored. `Ok(None)` while pending.
pub(crate) fn poll_non_cancellable<F: Future + ?Sized>(
    fut: Pin<&mut F>,
    cx: &mut Context<'_>,
) -> Result<Option<F::Output>, Error> {
    // Keeps the unit mark (a scope entered inside still nests in the unit)
    // and the hop mark (the code inside runs in the same step).
    let saved = flags();
    set_flags((saved & (UNIT | HOP)) | NON_CANCELLABLE);
    let result = catch_unwind(AssertUnwindSafe(|| fut.poll(cx)));
    set_flags(saved);
    match result {
        Ok(Poll::Ready(output)) => Ok(Some(output)),
        Ok(Poll::Pending) => Ok(None),
        Err(payload) => Err(Error::panic(payload)),
    }
}
