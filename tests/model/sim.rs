//! The reference model: SPEC §3 as a discrete-event simulation.
//!
//! Time is a virtual clock in milliseconds. Nothing runs "at the same time":
//! - **Timers.** The clock jumps to the earliest pending deadline; every
//!   timer due then fires, in the order the timers were registered (tokio's
//!   paused clock does this: see tests/reliability_tokio_assumptions.rs).
//!   Firing a timer wakes the job that waits on it.
//! - **One FIFO (R14).** The whole tree runs from one FIFO of entries (a
//!   scope's body, or a child by slot number), as Kotlin's dispatcher runs
//!   a tree of coroutines on one thread. The first entry is taken and run
//!   until it suspends; what it does while it runs — wake a job, start a
//!   child, at any depth — joins the back of the FIFO in the order it
//!   happened. So a started child first runs when its parent next
//!   suspends, children first run in the order they were started, and a
//!   `yield_now` anywhere lets every ready job of the tree run. Waking a
//!   job queues its entry once (a `queued` flag deduplicates).
//! - **Nested scopes.** A scope entered in a job runs its body at once
//!   (Kotlin's `coroutineScope` starts its block undispatched). Its entries
//!   join the one FIFO; running one means resuming the jobs that wait on
//!   the scopes around it, innermost last (a job waiting on a nested scope
//!   resumes whenever something inside it runs, and sees what is ready for
//!   it then: its own timeout, its parent's cancellation). When a nested
//!   scope's last child completes, the scope is done, and the job waiting
//!   on it takes its result in a step of its own, queued then (Kotlin's
//!   `ScopeCoroutine.afterCompletion` dispatches the caller) if its body
//!   ended while children still ran; else (no child running when the body
//!   ended: one cancelled before it ran has completed) the job continues
//!   in the step that finds the scope done (`afterResume`).
//! - **Procs** are state machines over the script: each step either happens
//!   at once (start a child, cancel, start a lazy job) or suspends (delay,
//!   sleep, yield, await, join, nested scope, timeout) and is re-checked
//!   every time its job runs, like a future being polled.
//!
//! The rules are marked `R1`..`R14` where they are applied. Where the SPEC
//! leaves an order open, the model fixes the one the runtime documents
//! (driver.rs, ready.rs), and says so here:
//! - a wake from outside the tree's run (a timer) joins the back of the
//!   FIFO when the tree next runs;
//! - a started child takes its slot when its start is queued, and is first
//!   run when its entry is reached;
//! - a cancel queues what it resumes in Kotlin's order (JobSupport
//!   notifies a job's handlers in the order they were added, and a job's
//!   suspended code adds its handler when it suspends, after the children
//!   it started): a scope's children first, each with its subtree, then
//!   its body; a job's attached scopes and timeouts before the job itself;
//!   a deadline that fires only cancels its work and queues the job
//!   waiting on it, which resumes the work in that later step (Kotlin's
//!   timeout event dispatches the block's resumption); a work that ends
//!   before that step, on a route through the job (a scope inside the
//!   work completed there), leaves its outcome to that step, which is
//!   then the one step the deadline gives the job (in Kotlin the block's
//!   resumption is that step);
//! - a scope follows the cancellation of the job it was entered in before
//!   it runs anything, each time something inside it runs; it then cancels
//!   (and so queues) its children in start order; a new child takes
//!   the slot freed last (a slab with a LIFO free list), else a new one; a
//!   wake of a child that completed queues nothing, and an entry runs only
//!   the child that queued it (a late entry for a reused slot would
//!   otherwise run the slot's new child out of its start order, R14);
//! - how often the tree yields to its tokio worker (poll budgets) does not
//!   change the order, so the model has no budget.
//!
//! The generator (generate.rs) lets a nested scope's body use the handles
//! of the proc that entered it, so jobs wake, join and cancel across
//! scopes, including a job cancelling one of its own ancestors.

use std::collections::VecDeque;
use std::time::Duration;

use super::{End, ErrorKind, Kind, Observed, Outcome, Proc, Step, Tree, line, panic_message};

type JobId = usize;
type ScopeId = usize;

/// A run longer than this is a hang (the real run gives up then too).
const HANG_MS: u64 = 24 * 3600 * 1000;

// ------------------------------------------------------------------ errors

#[derive(Clone, Debug)]
struct MError {
    kind: EKind,
    /// The identity of one failure: copies of it share the id (a child's
    /// error re-returned by the body is the same failure, R6).
    id: u64,
    suppressed: Vec<MError>,
}

#[derive(Clone, Debug)]
enum EKind {
    Message(String),
    Cancelled,
    Timeout(u64),
    Panic(String),
}

impl MError {
    fn is_cancellation(&self) -> bool {
        matches!(self.kind, EKind::Cancelled)
    }

    fn message(&self) -> String {
        match &self.kind {
            EKind::Message(m) => m.clone(),
            EKind::Cancelled => "job was cancelled".into(),
            EKind::Timeout(ms) => format!("timed out after {:?}", Duration::from_millis(*ms)),
            EKind::Panic(m) => format!("panicked: {m}"),
        }
    }
}

// -------------------------------------------------------------------- jobs

/// A job's entry in its scope's queue, or "the next started child". A
/// child's entry names its slot and itself: a slot is reused, and an entry
/// runs only the job that queued it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Entry {
    Body,
    Child(usize, JobId),
}

/// What the running entry did, in order: a wake of a scope's job, or a
/// start of a child of a scope.
enum Noted {
    Woken(ScopeId, Entry),
    Started(ScopeId),
    /// R14: a lazy job started before its scope adopted it: its first run
    /// joins the FIFO here, when it was started (Kotlin dispatches a lazy
    /// coroutine at `start()`), not where it was launched.
    StartedLazy(ScopeId, JobId),
}

#[derive(Clone, Debug)]
enum JobOutcome {
    Ok(u64),
    Failed(MError),
    Cancelled(MError),
}

struct Job {
    /// The scope whose queue it is run from; `None` for the job of a
    /// timeout, which runs whenever the code around it runs.
    scope: Option<ScopeId>,
    /// Its entry in that queue, once the scope has adopted it.
    entry: Option<Entry>,
    queued: bool,
    started: bool,
    /// Launched lazy: its first run is queued when it is started.
    lazy: bool,
    cancelled: bool,
    completed: bool,
    /// What its cancellation-aware calls return once it is cancelled.
    cancellation: Option<MError>,
    outcome: Option<JobOutcome>,
    /// Jobs to wake when it completes (await / join).
    waiters: Vec<JobId>,
    // `async` children only: how many procs hold its `Deferred`, whether an
    // outcome was taken, and a supervised failure nobody took yet (R4).
    refs: usize,
    observed: bool,
    unobserved: Option<MError>,
    /// Scopes entered in the job and timeouts called in it, which a cancel
    /// of the job reaches at once (R7), in the order they were entered.
    attached: Vec<Attached>,
}

#[derive(Clone, Copy)]
enum Attached {
    Scope(ScopeId),
    Timeout(JobId),
}

// ------------------------------------------------------------------- procs

/// A proc's handle on a child: (proc id, job, is `async`).
type Table = Vec<(usize, JobId, bool)>;

/// A running proc: the state of its future.
struct Run<'t> {
    proc: &'t Proc,
    /// The scope its `launch`/`async` steps start children in.
    scope: ScopeId,
    table: Table,
    began: bool,
    pc: usize,
    sum: u64,
    /// The suspending step in progress.
    wait: Option<Wait<'t>>,
    /// Cleanup after a cancellation, once started: its delay.
    cleanup: Option<Timer>,
    released: bool,
}

/// A delay or sleep: its deadline and, once registered, its timer.
struct Timer {
    deadline: u64,
    zero: bool,
    id: Option<usize>,
}

enum Wait<'t> {
    Delay(Timer),
    Sleep(Timer),
    Yield {
        yielded: bool,
    },
    /// `suspended`: the wait has returned pending once (R7: prompt
    /// cancellation).
    Await {
        h: usize,
        suspended: bool,
        waiting: Option<Waiting>,
    },
    Join {
        h: usize,
        waiting: Option<Waiting>,
    },
    Scope(ScopeId),
    Timeout(Box<Deadline<'t>>),
}

/// A wait's place in the list of the job it waits for: the job it waits
/// for and the job it wakes.
#[derive(Clone, Copy)]
struct Waiting {
    target: JobId,
    waiter: JobId,
}

/// `with_timeout`: its work runs as a job of its own, a child of the job
/// it was called in, which the deadline cancels (R9).
struct Deadline<'t> {
    after: u64,
    or_none: bool,
    timer: Option<usize>,
    job: Option<JobId>,
    parent: Option<JobId>,
    work: Option<Run<'t>>,
    timed_out: bool,
    /// The deadline fired and queued the caller's own step, which has not
    /// run yet.
    caller_queued: bool,
    /// How the work ended, kept for that step: it ended on a route through
    /// the caller (a scope inside it completed there).
    held: Option<Ended>,
}

/// What the code being run sees: its job (for cancellation), whether it is
/// inside `non_cancellable`, and the job to wake to run it again.
#[derive(Clone, Copy)]
struct Frame {
    job: JobId,
    non_cancellable: bool,
    waker: JobId,
}

enum Polled<T> {
    Ready(T),
    /// `shielded`: suspended where cancellation must not cut it short (a
    /// `non_cancellable` section or a nested scope, R7).
    Pending {
        shielded: bool,
    },
}

type StepResult = Result<(u64, String), MError>;

/// How a timeout ended.
enum Ended {
    Done(Result<u64, MError>),
    TimedOut,
}

// ------------------------------------------------------------------ scopes

struct ScopeState<'t> {
    kind: Kind,
    /// The scope's own job; the body runs in it.
    job: JobId,
    /// The job the scope was entered in: its cancellation is followed (R7).
    parent: Option<JobId>,
    /// The job whose run runs this scope (`None`: the root task).
    host: Option<JobId>,
    /// Whether the body has run once (the first run of the scope runs it).
    entered: bool,
    /// Whether the scope has returned: a late entry of it is skipped.
    finished: bool,
    /// Children started but not yet given a slot (R14).
    started: VecDeque<(JobId, Run<'t>, bool)>,
    body: Option<Run<'t>>,
    value: Option<u64>,
    slots: Vec<Option<ChildSlot<'t>>>,
    free: Vec<usize>,
    live: usize,
    failure: Option<MError>,
    suppressed: Vec<MError>,
    /// The body ended while children still ran: the scope completes with
    /// the last of them, and the job waiting on it is queued then.
    waits_for_children: bool,
    caller_queued: bool,
}

struct ChildSlot<'t> {
    job: JobId,
    run: Option<Run<'t>>,
    polled: bool,
    is_async: bool,
}

struct TimerState {
    deadline: u64,
    waker: JobId,
    active: bool,
    fired: bool,
}

// --------------------------------------------------------------- simulator

pub struct Sim<'t> {
    now: u64,
    jobs: Vec<Job>,
    scopes: Vec<ScopeState<'t>>,
    /// In registration order: same-instant timers fire in this order.
    timers: Vec<TimerState>,
    next_error: u64,
    root_woken: bool,
    /// The tree's FIFO (R14): (scope, entry), oldest first.
    fifo: VecDeque<(ScopeId, Entry)>,
    /// Wakes from outside the tree's run (timers), taken when it next runs.
    remote: VecDeque<(ScopeId, Entry)>,
    /// What the running entry did so far.
    noted: Vec<Noted>,
    /// Whether the tree is running (else a wake is remote).
    running: bool,
    /// The scopes between the root and the entry being run, and the entry
    /// each must run: innermost first.
    route: Vec<(ScopeId, Entry)>,
    log: Vec<String>,
    handled: Vec<String>,
    spawned: Vec<bool>,
}

/// Runs `tree` in the model.
pub fn run(tree: &Tree) -> Observed {
    let mut sim = Sim {
        now: 0,
        jobs: Vec::new(),
        scopes: Vec::new(),
        timers: Vec::new(),
        next_error: 0,
        root_woken: false,
        fifo: VecDeque::new(),
        remote: VecDeque::new(),
        noted: Vec::new(),
        running: false,
        route: Vec::new(),
        log: Vec::new(),
        handled: Vec::new(),
        spawned: vec![false; tree.procs()],
    };
    let root = sim.new_scope(tree.kind, &tree.body, None, None, Vec::new());
    let result = loop {
        sim.root_woken = false;
        if let Polled::Ready(result) = sim.poll_scope(root) {
            break Some(result);
        }
        // The root is suspended: let time pass until something wakes it.
        while !sim.root_woken {
            let next = sim
                .timers
                .iter()
                .filter(|t| t.active && !t.fired)
                .map(|t| t.deadline)
                .min();
            match next {
                Some(t) if t <= HANG_MS => sim.fire_timers(t),
                _ => break,
            }
        }
        if !sim.root_woken {
            break None;
        }
    };
    let drops = sim.spawned.iter().map(|&s| usize::from(s)).collect();
    match result {
        Some(result) => Observed {
            outcome: outcome(result),
            elapsed_ms: sim.now,
            log: sim.log,
            handled: sim.handled,
            drops,
        },
        None => Observed {
            outcome: Outcome::Hang,
            elapsed_ms: HANG_MS,
            log: sim.log,
            handled: sim.handled,
            drops,
        },
    }
}

fn outcome(result: Result<u64, MError>) -> Outcome {
    match result {
        Ok(v) => Outcome::Value(v),
        Err(e) => Outcome::Error {
            message: e.message(),
            kind: match e.kind {
                EKind::Message(_) => ErrorKind::Failure,
                EKind::Cancelled => ErrorKind::Cancellation,
                EKind::Timeout(_) => ErrorKind::Timeout,
                EKind::Panic(_) => ErrorKind::Panic,
            },
            suppressed: e.suppressed.iter().map(MError::message).collect(),
        },
    }
}

impl<'t> Sim<'t> {
    fn error(&mut self, kind: EKind) -> MError {
        self.next_error += 1;
        MError {
            kind,
            id: self.next_error,
            suppressed: Vec::new(),
        }
    }

    fn log(&mut self, id: usize, event: &str) {
        self.log.push(line(self.now, id, event));
    }

    fn report(&mut self, e: &MError) {
        let entry = format!("t{} {}", self.now, e.message());
        self.handled.push(entry);
    }

    // ---------------------------------------------------------------- time

    fn register(&mut self, deadline: u64, waker: JobId) -> usize {
        self.timers.push(TimerState {
            deadline,
            waker,
            active: true,
            fired: false,
        });
        self.timers.len() - 1
    }

    fn deregister(&mut self, timer: Option<usize>) {
        if let Some(t) = timer {
            self.timers[t].active = false;
        }
    }

    fn fire_timers(&mut self, t: u64) {
        self.now = t;
        for i in 0..self.timers.len() {
            let timer = &mut self.timers[i];
            if timer.active && !timer.fired && timer.deadline == t {
                timer.fired = true;
                let waker = timer.waker;
                self.schedule(waker);
            }
        }
    }

    // ---------------------------------------------------------------- jobs

    fn new_job(&mut self, scope: Option<ScopeId>, started: bool, refs: usize) -> JobId {
        self.jobs.push(Job {
            scope,
            entry: None,
            queued: false,
            started,
            lazy: !started,
            cancelled: false,
            completed: false,
            cancellation: None,
            outcome: None,
            waiters: Vec::new(),
            refs,
            observed: false,
            unobserved: None,
            attached: Vec::new(),
        });
        self.jobs.len() - 1
    }

    /// Wakes a job: its entry joins its scope's queue once.
    fn schedule(&mut self, j: JobId) {
        let job = &mut self.jobs[j];
        if let (Some(sid), Some(entry)) = (job.scope, job.entry)
            && !job.queued
            && job.outcome.is_none()
        {
            job.queued = true;
            self.push(sid, entry);
        }
    }

    /// R14: a wake joins the back of the FIFO (after what the running
    /// entry did before it); from outside the tree's run, it wakes the tree.
    fn push(&mut self, sid: ScopeId, entry: Entry) {
        if self.running {
            self.noted.push(Noted::Woken(sid, entry));
        } else {
            self.remote.push_back((sid, entry));
            self.root_woken = true;
        }
    }

    /// R7: cancelling a job records the cancellation its calls return and
    /// wakes it, so that it is resumed. A no-op once cancelled or completed.
    fn cancel(&mut self, j: JobId, cause: Option<MError>) -> bool {
        let Some(cause) = self.mark_cancelled(j, cause) else {
            return false;
        };
        self.notify_cancelled(j, &cause);
        // R11: a lazy job never started completes at once (Kotlin); its
        // scope drops it without running it when its entry is reached.
        if !self.jobs[j].started {
            self.complete_job(j, JobOutcome::Cancelled(cause));
        }
        true
    }

    /// The job is cancelled at once (everyone sees it, R7); nothing is
    /// resumed yet. Its cause, or `None` if it was cancelled or done.
    fn mark_cancelled(&mut self, j: JobId, cause: Option<MError>) -> Option<MError> {
        let job = &self.jobs[j];
        if job.cancelled || job.completed {
            return None;
        }
        let cause = cause.unwrap_or_else(|| self.error(EKind::Cancelled));
        let job = &mut self.jobs[j];
        job.cancellation = Some(cause.clone());
        job.cancelled = true;
        Some(cause)
    }

    /// Kotlin's order of a cancel (JobSupport notifies a job's handlers in
    /// the order they were added): what was entered in the job (its scopes'
    /// children, each with its own subtree, then their bodies; the work of
    /// its timeouts) is resumed before the job's own suspended code, which
    /// registered for cancellation when it last suspended.
    fn notify_cancelled(&mut self, j: JobId, cause: &MError) {
        for attached in self.jobs[j].attached.clone() {
            match attached {
                Attached::Scope(sid) => self.cancel_scope(sid, cause.clone()),
                Attached::Timeout(work) => {
                    self.cancel(work, Some(cause.clone()));
                }
            }
        }
        self.schedule(j);
    }

    fn cancellation(&mut self, j: JobId) -> MError {
        match self.jobs[j].cancellation.clone() {
            Some(e) => e,
            None => self.error(EKind::Cancelled),
        }
    }

    /// R11: a lazy job runs once started (a no-op otherwise, also for one
    /// cancelled before it started).
    fn start(&mut self, j: JobId) {
        let job = &self.jobs[j];
        if !job.started && !job.cancelled && !job.completed {
            self.jobs[j].started = true;
            match (self.jobs[j].scope, self.jobs[j].entry) {
                // Not adopted yet (launched in this same run): R14, its
                // first run joins the FIFO now, after what came before.
                (Some(sid), None) => self.noted.push(Noted::StartedLazy(sid, j)),
                _ => self.schedule(j),
            }
        }
    }

    /// Records how a job ended and wakes its waiters. R11: a cancelled job
    /// that still returned `Ok` ends cancelled.
    fn complete_job(&mut self, j: JobId, outcome: JobOutcome) -> JobOutcome {
        if let Some(done) = &self.jobs[j].outcome {
            return done.clone();
        }
        let outcome = match outcome {
            JobOutcome::Ok(_) if self.jobs[j].cancelled => {
                JobOutcome::Cancelled(self.cancellation(j))
            }
            other => other,
        };
        let job = &mut self.jobs[j];
        job.outcome = Some(outcome.clone());
        job.completed = true;
        for waiter in std::mem::take(&mut job.waiters) {
            self.schedule(waiter);
        }
        outcome
    }

    /// A wait of `waiter`'s on `target` takes a place in its list, the
    /// last, unless it has one (polled again).
    fn wait_for(&mut self, target: JobId, waiter: JobId) -> Option<Waiting> {
        let waiters = &mut self.jobs[target].waiters;
        if !waiters.contains(&waiter) {
            waiters.push(waiter);
        }
        Some(Waiting { target, waiter })
    }

    /// A wait that ends without the outcome (its job was cancelled, or
    /// the code waiting was dropped) gives its place back, as Kotlin
    /// disposes of an await's handler: waiting again later, it comes last.
    fn stop_waiting(&mut self, waiting: Option<Waiting>) {
        if let Some(Waiting { target, waiter }) = waiting {
            self.jobs[target].waiters.retain(|w| *w != waiter);
        }
    }

    /// The cancellation the running code sees, if any (R7, R8).
    fn visible_cancellation(&mut self, fr: Frame) -> Option<MError> {
        (!fr.non_cancellable && self.jobs[fr.job].cancelled).then(|| self.cancellation(fr.job))
    }

    // -------------------------------------------------------------- tables

    fn clone_table(&mut self, table: &Table) -> Table {
        for &(_, j, is_async) in table {
            if is_async {
                self.jobs[j].refs += 1;
            }
        }
        table.clone()
    }

    /// A proc ended or was dropped: its handles go. The last handle of a
    /// failed `async` child of a supervisor scope that nobody awaited
    /// reports the failure (§3b).
    fn release(&mut self, run: &mut Run<'t>) {
        if std::mem::replace(&mut run.released, true) {
            return;
        }
        for &(_, j, is_async) in &run.table {
            if is_async {
                self.jobs[j].refs -= 1;
                if self.jobs[j].refs == 0
                    && let Some(e) = self.jobs[j].unobserved.take()
                {
                    self.report(&e);
                }
            }
        }
    }

    /// Drops a suspended proc (R7: still suspended after its cancellation,
    /// outside `non_cancellable`).
    fn drop_run(&mut self, mut run: Run<'t>) {
        match run.wait.take() {
            Some(Wait::Delay(t) | Wait::Sleep(t)) => self.deregister(t.id),
            Some(Wait::Await { waiting, .. } | Wait::Join { waiting, .. }) => {
                self.stop_waiting(waiting);
            }
            Some(Wait::Scope(_)) => unreachable!("a pending nested scope shields its host (R7)"),
            Some(Wait::Timeout(d)) => {
                assert!(
                    d.work.is_none(),
                    "a pending timeout shields or drops its work"
                );
                self.deregister(d.timer);
            }
            _ => {}
        }
        if let Some(t) = run.cleanup.take() {
            self.deregister(t.id);
        }
        self.release(&mut run);
    }

    fn new_run(&mut self, proc: &'t Proc, scope: ScopeId, table: Table) -> Run<'t> {
        Run {
            proc,
            scope,
            table,
            began: false,
            pc: 0,
            sum: 0,
            wait: None,
            cleanup: None,
            released: false,
        }
    }

    // --------------------------------------------------------------- procs

    /// Runs a proc until it suspends or ends.
    fn poll_run(&mut self, run: &mut Run<'t>, fr: Frame) -> Polled<Result<u64, MError>> {
        let id = run.proc.id;
        if !run.began {
            run.began = true;
            self.log(id, "begin");
        }
        let result = loop {
            if let Some(mut timer) = run.cleanup.take() {
                let cleanup = run.proc.on_cancel.expect("cleanup");
                let nc = Frame {
                    non_cancellable: fr.non_cancellable || cleanup.non_cancellable,
                    ..fr
                };
                match self.poll_delay(&mut timer, nc) {
                    None => {
                        run.cleanup = Some(timer);
                        return Polled::Pending {
                            shielded: cleanup.non_cancellable,
                        };
                    }
                    Some(slept) => {
                        self.deregister(timer.id);
                        let event = if slept.is_ok() {
                            "cleaned up"
                        } else {
                            "cleanup cut short"
                        };
                        self.log(id, event);
                        break if cleanup.fail {
                            Err(self.error(EKind::Message(format!("p{id} cleanup failed"))))
                        } else {
                            Ok(run.sum)
                        };
                    }
                }
            }
            if run.wait.is_none() {
                let Some(step) = run.proc.steps.get(run.pc) else {
                    break self.end(run);
                };
                if let Some(wait) = self.begin_step(run, step, fr) {
                    run.wait = Some(wait);
                } else {
                    run.pc += 1;
                    continue;
                }
            }
            let mut wait = run.wait.take().expect("a step in progress");
            match self.poll_wait(&mut wait, run, fr) {
                Polled::Pending { shielded } => {
                    run.wait = Some(wait);
                    return Polled::Pending { shielded };
                }
                Polled::Ready(Ok((value, event))) => {
                    run.sum += value;
                    self.log(id, &event);
                    run.pc += 1;
                }
                Polled::Ready(Err(e)) if e.is_cancellation() => {
                    self.log(id, "cancelled");
                    match run.proc.on_cancel {
                        None => break Err(e),
                        Some(c) => {
                            run.cleanup = Some(Timer {
                                deadline: self.now + c.delay,
                                zero: c.delay == 0,
                                id: None,
                            });
                        }
                    }
                }
                Polled::Ready(Err(e)) => {
                    self.log(id, &format!("error {}", e.message()));
                    break Err(e);
                }
            }
        };
        self.release(run);
        Polled::Ready(result)
    }

    /// All steps done: the proc's end.
    fn end(&mut self, run: &Run<'t>) -> Result<u64, MError> {
        let id = run.proc.id;
        match run.proc.end {
            End::Value(v) => {
                self.log(id, &format!("ok {}", run.sum + v));
                Ok(run.sum + v)
            }
            End::Fail => {
                self.log(id, "fail");
                Err(self.error(EKind::Message(format!("p{id} failed"))))
            }
            End::Panic => {
                // A panic is caught at the boundary of the job (or timeout)
                // it runs in and becomes a failure like any other.
                self.log(id, "panic");
                Err(self.error(EKind::Panic(panic_message(id))))
            }
        }
    }

    /// Does a step that does not suspend, or returns the wait of one that
    /// may.
    fn begin_step(&mut self, run: &mut Run<'t>, step: &'t Step, fr: Frame) -> Option<Wait<'t>> {
        let id = run.proc.id;
        let timer = |now: u64, d: u64| Timer {
            deadline: now + d,
            zero: d == 0,
            id: None,
        };
        match step {
            Step::Delay(d) => Some(Wait::Delay(timer(self.now, *d))),
            Step::Sleep(d) => Some(Wait::Sleep(timer(self.now, *d))),
            Step::Yield => Some(Wait::Yield { yielded: false }),
            Step::Await(h) => Some(Wait::Await {
                h: *h,
                suspended: false,
                waiting: None,
            }),
            Step::Join(h) => Some(Wait::Join {
                h: *h,
                waiting: None,
            }),
            Step::Launch { lazy, proc } | Step::Async { lazy, proc } => {
                // R14: the child waits in its scope's start list; a
                // "started" entry queued after what this entry did so far
                // gives it a slot and its first run.
                let is_async = matches!(step, Step::Async { .. });
                let job = self.new_job(Some(run.scope), !lazy, usize::from(is_async));
                // R7: started in a cancelled scope, a child is cancelled
                // from its start (a lazy one completes at once, R11), as
                // Kotlin attaches a child to a cancelled parent.
                let scope_job = self.scopes[run.scope].job;
                if self.jobs[scope_job].cancelled {
                    let cause = self.cancellation(scope_job);
                    self.cancel(job, Some(cause));
                }
                let table = self.clone_table(&run.table);
                let child = self.new_run(proc, run.scope, table);
                self.spawned[proc.id] = true;
                self.scopes[run.scope]
                    .started
                    .push_back((job, child, is_async));
                assert!(self.running, "children start while the tree runs");
                self.noted.push(Noted::Started(run.scope));
                run.table.push((proc.id, job, is_async));
                let verb = if is_async { "async" } else { "launch" };
                self.log(id, &format!("{verb} p{}", proc.id));
                None
            }
            Step::Cancel(h) => {
                let (target, job, _) = run.table[*h];
                self.cancel(job, None);
                self.log(id, &format!("cancel p{target}"));
                None
            }
            Step::Start(h) => {
                let (target, job, _) = run.table[*h];
                self.start(job);
                self.log(id, &format!("start p{target}"));
                None
            }
            Step::Scope(kind, body) => {
                let table = self.clone_table(&run.table);
                // A nested scope follows the job it is entered in, unless
                // entered inside `non_cancellable`.
                let parent = (!fr.non_cancellable).then_some(fr.job);
                let sid = self.new_scope(*kind, body, parent, Some(fr.waker), table);
                if let Some(parent) = parent {
                    self.jobs[parent].attached.push(Attached::Scope(sid));
                }
                Some(Wait::Scope(sid))
            }
            Step::Timeout {
                after,
                or_none,
                proc,
            } => {
                let table = self.clone_table(&run.table);
                let work = self.new_run(proc, run.scope, table);
                Some(Wait::Timeout(Box::new(Deadline {
                    after: *after,
                    or_none: *or_none,
                    timer: None,
                    job: None,
                    parent: None,
                    work: Some(work),
                    timed_out: false,
                    caller_queued: false,
                    held: None,
                })))
            }
        }
    }

    /// `delay`: cancellation-aware (R7); zero returns at once after checking.
    /// `None` while pending.
    fn poll_delay(&mut self, timer: &mut Timer, fr: Frame) -> Option<Result<(), MError>> {
        if let Some(cancelled) = self.visible_cancellation(fr) {
            return Some(Err(cancelled));
        }
        if timer.zero {
            return Some(Ok(()));
        }
        self.poll_sleep(timer, fr).then_some(Ok(()))
    }

    /// A timer: registered when first polled; true once it fired.
    fn poll_sleep(&mut self, timer: &mut Timer, fr: Frame) -> bool {
        let id = *timer
            .id
            .get_or_insert_with(|| self.register(timer.deadline, fr.waker));
        self.timers[id].fired
    }

    fn poll_wait(&mut self, wait: &mut Wait<'t>, run: &Run<'t>, fr: Frame) -> Polled<StepResult> {
        let pending = Polled::Pending { shielded: false };
        match wait {
            Wait::Delay(timer) => match self.poll_delay(timer, fr) {
                None => pending,
                Some(r) => {
                    self.deregister(timer.id);
                    Polled::Ready(r.map(|()| (0, "delay".into())))
                }
            },
            Wait::Sleep(timer) => {
                if self.poll_sleep(timer, fr) {
                    Polled::Ready(Ok((0, "sleep".into())))
                } else {
                    pending
                }
            }
            Wait::Yield { yielded } => {
                if let Some(cancelled) = self.visible_cancellation(fr) {
                    return Polled::Ready(Err(cancelled));
                }
                if *yielded {
                    return Polled::Ready(Ok((0, "yield".into())));
                }
                *yielded = true;
                self.schedule(fr.waker);
                pending
            }
            Wait::Await {
                h,
                suspended,
                waiting,
            } => {
                let (target, job, _) = run.table[*h];
                // R7, Kotlin's prompt cancellation: a waiter cancelled while
                // suspended gets the cancellation when it resumes, even if
                // a value woke it first; an error of the awaited job is
                // given instead (the cause Kotlin's await resumes with).
                if *suspended && let Some(cancelled) = self.visible_cancellation(fr) {
                    self.stop_waiting(waiting.take());
                    return Polled::Ready(Err(match self.jobs[job].outcome.clone() {
                        Some(JobOutcome::Failed(e) | JobOutcome::Cancelled(e)) => {
                            self.jobs[job].observed = true;
                            self.jobs[job].unobserved = None;
                            e
                        }
                        _ => cancelled,
                    }));
                }
                self.start(job);
                if let Some(outcome) = self.jobs[job].outcome.clone() {
                    // R7: an outcome already there is returned even in a
                    // cancelled job.
                    self.jobs[job].observed = true;
                    self.jobs[job].unobserved = None;
                    return Polled::Ready(match outcome {
                        JobOutcome::Ok(v) => Ok((v, format!("await p{target} = {v}"))),
                        JobOutcome::Failed(e) | JobOutcome::Cancelled(e) => Err(e),
                    });
                }
                *waiting = self.wait_for(job, fr.waker);
                match self.visible_cancellation(fr) {
                    Some(cancelled) => {
                        self.stop_waiting(waiting.take());
                        Polled::Ready(Err(cancelled))
                    }
                    None => {
                        *suspended = true;
                        pending
                    }
                }
            }
            Wait::Join { h, waiting } => {
                if let Some(cancelled) = self.visible_cancellation(fr) {
                    self.stop_waiting(waiting.take());
                    return Polled::Ready(Err(cancelled));
                }
                let (target, job, _) = run.table[*h];
                self.start(job);
                if self.jobs[job].completed {
                    return Polled::Ready(Ok((0, format!("join p{target}"))));
                }
                *waiting = self.wait_for(job, fr.waker);
                pending
            }
            Wait::Scope(sid) => match self.poll_scope(*sid) {
                Polled::Ready(r) => Polled::Ready(r.map(|v| (v, format!("scope = {v}")))),
                Polled::Pending { .. } => Polled::Pending { shielded: true },
            },
            Wait::Timeout(deadline) => self.poll_deadline(deadline, fr),
        }
    }

    /// R9: `with_timeout` / `with_timeout_or_none`.
    fn poll_deadline(&mut self, dl: &mut Deadline<'t>, fr: Frame) -> Polled<StepResult> {
        // Run for a route through the caller's code (to a scope inside the
        // work), not for the caller's own entry.
        let on_route = !self.route.is_empty();
        if !on_route {
            dl.caller_queued = false;
            if let Some(ended) = dl.held.take() {
                return Polled::Ready(self.timeout_result(dl, ended));
            }
        }
        let job = match dl.job {
            Some(job) => job,
            None => {
                // First run: a cancelled caller fails at once, a zero
                // duration times out at once; neither runs the work.
                let early = match self.visible_cancellation(fr) {
                    Some(cancelled) => Some(Ended::Done(Err(cancelled))),
                    None if dl.after == 0 => Some(Ended::TimedOut),
                    None => None,
                };
                if let Some(ended) = early {
                    let work = dl.work.take().expect("work");
                    self.drop_run(work);
                    return Polled::Ready(self.timeout_result(dl, ended));
                }
                dl.timer = Some(self.register(self.now + dl.after, fr.waker));
                dl.parent = (!fr.non_cancellable).then_some(fr.job);
                let job = self.new_job(None, true, 0);
                if let Some(parent) = dl.parent {
                    self.jobs[parent].attached.push(Attached::Timeout(job));
                }
                dl.job = Some(job);
                job
            }
        };
        let timer = dl.timer.expect("registered");
        // The caller's cancellation is seen first: whatever cancelled it
        // happened before this poll, so a deadline firing at the same
        // instant no longer counts (as in Kotlin).
        if let Some(parent) = dl.parent
            && self.jobs[parent].cancelled
        {
            let cause = self.cancellation(parent);
            self.cancel(job, Some(cause));
        }
        if !dl.timed_out && !self.jobs[job].cancelled && self.timers[timer].fired {
            // The deadline only cancels the work (Kotlin's timeout event):
            // the work resumes with it in a step of its own, queued behind
            // what the cancel queued and what was ready already (R14).
            dl.timed_out = true;
            let cause = self.error(EKind::Cancelled);
            self.cancel(job, Some(cause));
            self.schedule(fr.waker);
            dl.caller_queued = true;
            return Polled::Pending { shielded: false };
        }
        let was_cancelled = self.jobs[job].cancelled;
        let mut work = dl.work.take().expect("work");
        let inner = Frame {
            job,
            non_cancellable: false,
            waker: fr.waker,
        };
        let result = match self.poll_run(&mut work, inner) {
            Polled::Ready(r) => r,
            Polled::Pending { shielded } if was_cancelled && !shielded => {
                self.drop_run(work);
                Err(self.cancellation(job))
            }
            Polled::Pending { shielded } => {
                dl.work = Some(work);
                return Polled::Pending { shielded };
            }
        };
        self.deregister(dl.timer);
        // A real failure wins over the timeout; the timeout wins over a
        // value returned after the cancellation (R9).
        let ended = match result {
            Err(e) if !e.is_cancellation() => Ended::Done(Err(e)),
            _ if dl.timed_out => Ended::TimedOut,
            _ if self.jobs[job].cancelled => Ended::Done(Err(self.cancellation(job))),
            r => Ended::Done(r),
        };
        if dl.caller_queued && on_route {
            // R14: the caller's own step, queued as the deadline fired,
            // takes the outcome (else it would stay queued ahead of what
            // the caller does next, and absorb its next wake).
            dl.held = Some(ended);
            return Polled::Pending { shielded: false };
        }
        Polled::Ready(self.timeout_result(dl, ended))
    }

    fn timeout_result(&mut self, dl: &Deadline<'t>, ended: Ended) -> StepResult {
        match ended {
            Ended::Done(Ok(v)) => Ok((v, format!("timeout = {v}"))),
            Ended::Done(Err(e)) => Err(e),
            Ended::TimedOut if dl.or_none => Ok((0, "timeout none".into())),
            Ended::TimedOut => Err(self.error(EKind::Timeout(dl.after))),
        }
    }

    // -------------------------------------------------------------- scopes

    fn new_scope(
        &mut self,
        kind: Kind,
        body: &'t Proc,
        parent: Option<JobId>,
        host: Option<JobId>,
        table: Table,
    ) -> ScopeId {
        let sid = self.scopes.len();
        let job = self.new_job(Some(sid), true, 0);
        self.jobs[job].entry = Some(Entry::Body);
        let body = self.new_run(body, sid, table);
        self.scopes.push(ScopeState {
            kind,
            job,
            parent,
            host,
            entered: false,
            finished: false,
            started: VecDeque::new(),
            body: Some(body),
            value: None,
            slots: Vec::new(),
            free: Vec::new(),
            live: 0,
            failure: None,
            suppressed: Vec::new(),
            waits_for_children: false,
            caller_queued: false,
        });
        sid
    }

    /// Runs a scope: the root runs the tree's FIFO; a nested scope runs
    /// its body the first time, then the entry the route names. Ready once
    /// the body and every child have completed (R1).
    fn poll_scope(&mut self, sid: ScopeId) -> Polled<Result<u64, MError>> {
        // R7: a scope follows the cancellation of the job it is entered in.
        let job = self.scopes[sid].job;
        if let Some(parent) = self.scopes[sid].parent
            && self.jobs[parent].cancelled
            && !self.jobs[job].cancelled
        {
            let cause = self.cancellation(parent);
            self.cancel_scope(sid, cause);
        }
        if self.scopes[sid].host.is_none() {
            return self.run_tree(sid);
        }
        let mut routed = false;
        if !self.scopes[sid].entered {
            self.scopes[sid].entered = true;
            self.poll_body(sid, true);
        } else if let Some(&(on_route, entry)) = self.route.last()
            && on_route == sid
        {
            routed = true;
            self.route.pop();
            let target = self.route.is_empty();
            self.run_entry(sid, entry, target);
        }
        self.adopt_noted(sid);
        if self.is_done(sid) {
            // R14: a scope whose body ended while children still ran
            // returns to the job waiting on it in a step of its own
            // (Kotlin's ScopeCoroutine dispatches its caller's resumption
            // after its last child); otherwise at once.
            // Once queued, the result waits for that job's own step, not a
            // route through it.
            let scope = &mut self.scopes[sid];
            if std::mem::take(&mut scope.waits_for_children) {
                scope.caller_queued = true;
                let host = scope.host.expect("a nested scope");
                self.schedule(host);
                return Polled::Pending { shielded: true };
            }
            if scope.caller_queued && routed {
                return Polled::Pending { shielded: true };
            }
            return Polled::Ready(self.finish(sid));
        }
        Polled::Pending { shielded: true }
    }

    fn is_done(&self, sid: ScopeId) -> bool {
        let scope = &self.scopes[sid];
        scope.body.is_none() && scope.live == 0 && scope.started.is_empty()
    }

    /// The root: runs the FIFO until it is empty.
    fn run_tree(&mut self, root: ScopeId) -> Polled<Result<u64, MError>> {
        self.running = true;
        if !self.scopes[root].entered {
            self.scopes[root].entered = true;
            self.poll_body(root, true);
        }
        loop {
            self.take_noted(root);
            let remote = std::mem::take(&mut self.remote);
            self.fifo.extend(remote);
            let Some((sid, entry)) = self.fifo.pop_front() else {
                break;
            };
            if sid == root {
                self.run_entry(sid, entry, true);
            } else if !self.scopes[sid].finished {
                self.run_nested(root, sid, entry);
            }
        }
        self.running = false;
        if self.is_done(root) {
            return Polled::Ready(self.finish(root));
        }
        Polled::Pending { shielded: true }
    }

    /// Runs an entry of a nested scope: resumes the root's job that waits
    /// on the scopes around it, each of which resumes the next one on the
    /// route, down to the entry.
    fn run_nested(&mut self, root: ScopeId, sid: ScopeId, entry: Entry) {
        self.route = vec![(sid, entry)];
        let mut scope = sid;
        let own = loop {
            let host = self.scopes[scope].host.expect("a nested scope has a host");
            let parent = self.jobs[host].scope.expect("hosts run in scopes");
            let at = self.jobs[host].entry.expect("a host has an entry");
            if parent == root {
                break at;
            }
            self.route.push((parent, at));
            scope = parent;
        };
        self.run_entry(root, own, false);
        // A route not followed to its end leads to a scope that is gone.
        self.route.clear();
    }

    fn run_entry(&mut self, sid: ScopeId, entry: Entry, target: bool) {
        match entry {
            Entry::Body => self.poll_body(sid, target),
            Entry::Child(idx, job) => self.poll_child(sid, idx, job, target),
        }
    }

    /// R14, at the root: what the last entry did joins the FIFO in order;
    /// a start of one of the root's children gives it a slot now.
    fn take_noted(&mut self, root: ScopeId) {
        for noted in std::mem::take(&mut self.noted) {
            match noted {
                Noted::Woken(sid, entry) => self.fifo.push_back((sid, entry)),
                Noted::Started(sid) => {
                    assert_eq!(sid, root, "a nested scope adopts its own starts");
                    let child = self.scopes[sid].started.pop_front().expect("started");
                    if let Some(entry) = self.adopt(sid, child) {
                        self.fifo.push_back((sid, entry));
                    }
                }
                Noted::StartedLazy(sid, j) => {
                    assert_eq!(sid, root, "a nested scope adopts its own starts");
                    if let Some(entry) = self.claim(j) {
                        self.fifo.push_back((sid, entry));
                    }
                }
            }
        }
    }

    /// R14, in a nested scope: the starts of its children noted while
    /// something inside it ran become their first entries, in place.
    fn adopt_noted(&mut self, sid: ScopeId) {
        let noted = std::mem::take(&mut self.noted);
        let mut kept = Vec::with_capacity(noted.len());
        for item in noted {
            match item {
                Noted::Started(s) if s == sid => {
                    let child = self.scopes[sid].started.pop_front().expect("started");
                    // Adopting into a cancelled scope queues the child: that
                    // wake is noted meanwhile, after the entry.
                    if let Some(entry) = self.adopt(sid, child) {
                        kept.push(Noted::Woken(sid, entry));
                    }
                }
                Noted::StartedLazy(s, j) if s == sid => {
                    if let Some(entry) = self.claim(j) {
                        kept.push(Noted::Woken(sid, entry));
                    }
                }
                other => kept.push(other),
            }
        }
        kept.append(&mut self.noted);
        self.noted = kept;
    }

    /// Runs the body; `target`: its own entry (false: resumed on the way
    /// to a nested scope's entry, which leaves its queue state and R7's
    /// resume-once step to its own entry).
    fn poll_body(&mut self, sid: ScopeId, target: bool) {
        let job = self.scopes[sid].job;
        if target {
            self.jobs[job].queued = false;
        }
        let Some(mut body) = self.scopes[sid].body.take() else {
            return;
        };
        // R7 on any poll of a cancelled body, on a route too: once a nested
        // scope it waits on has returned there, its code is held to the
        // rule again.
        let was_cancelled = self.jobs[job].cancelled;
        let frame = Frame {
            job,
            non_cancellable: false,
            waker: job,
        };
        let result = match self.poll_run(&mut body, frame) {
            Polled::Ready(r) => r,
            Polled::Pending { shielded } if was_cancelled && !shielded => {
                self.drop_run(body);
                Err(self.cancellation(job))
            }
            Polled::Pending { .. } => {
                self.scopes[sid].body = Some(body);
                return;
            }
        };
        // R5: a failing body cancels the children; R2/R6 decide the result.
        match result {
            Ok(v) => self.scopes[sid].value = Some(v),
            Err(e) if e.is_cancellation() => self.cancel_scope(sid, e),
            Err(e) => self.fail(sid, e),
        }
        // R11: a lazy child never started by now is cancelled.
        let unstarted: Vec<JobId> = self.slot_jobs(sid);
        for j in unstarted {
            if !self.jobs[j].started {
                self.cancel(j, None);
            }
        }
        // R14: ended while children still run, the scope completes with
        // the last of them. A lazy child never started is not running: it
        // is cancelled now or at its adoption, and completes at once (R11).
        let started = self.scopes[sid].started.iter().map(|(j, ..)| *j);
        let children: Vec<JobId> = self.slot_jobs(sid).into_iter().chain(started).collect();
        let waits = children
            .into_iter()
            .any(|j| self.jobs[j].started && !self.jobs[j].completed);
        let scope = &mut self.scopes[sid];
        scope.waits_for_children = scope.host.is_some() && waits;
    }

    fn slot_jobs(&self, sid: ScopeId) -> Vec<JobId> {
        self.scopes[sid]
            .slots
            .iter()
            .flatten()
            .map(|s| s.job)
            .collect()
    }

    /// A started child takes a slot (the one freed last, else a new one).
    /// Places a started child in its scope; its first entry, to queue now
    /// if it was launched eager (R14: a lazy one's first run is queued when
    /// it is started).
    fn adopt(
        &mut self,
        sid: ScopeId,
        (job, run, is_async): (JobId, Run<'t>, bool),
    ) -> Option<Entry> {
        let scope = &mut self.scopes[sid];
        let idx = scope.free.pop().unwrap_or_else(|| {
            scope.slots.push(None);
            scope.slots.len() - 1
        });
        self.jobs[job].entry = Some(Entry::Child(idx, job));
        let scope_job = self.scopes[sid].job;
        if self.jobs[scope_job].cancelled {
            // R7: a child started in a cancelled scope never runs.
            let cause = self.cancellation(scope_job);
            self.cancel(job, Some(cause));
        } else if self.scopes[sid].body.is_none() && !self.jobs[job].started {
            // R11: a lazy child started after the body returned.
            self.cancel(job, None);
        }
        let scope = &mut self.scopes[sid];
        scope.slots[idx] = Some(ChildSlot {
            job,
            run: Some(run),
            polled: false,
            is_async,
        });
        scope.live += 1;
        // Queued now: a child launched eager (its first run), or a lazy one
        // cancelled before it started (so that the scope lets it go); a
        // lazy one started already is queued by its start's note.
        let queued_now = {
            let j = &self.jobs[job];
            !j.lazy || (j.cancelled && !j.started)
        };
        queued_now.then_some(Entry::Child(idx, job))
    }

    /// Queues a job's entry in place (a started lazy job's note): marks it
    /// queued and gives the entry, unless it is queued or done already.
    fn claim(&mut self, j: JobId) -> Option<Entry> {
        let job = &mut self.jobs[j];
        let entry = job.entry?;
        if job.queued || job.outcome.is_some() {
            return None;
        }
        job.queued = true;
        Some(entry)
    }

    fn poll_child(&mut self, sid: ScopeId, idx: usize, queued_by: JobId, target: bool) {
        let Some(Some(slot)) = self.scopes[sid].slots.get(idx) else {
            return; // a late wake of a child that has completed
        };
        if slot.job != queued_by {
            return; // a late wake of an earlier child in this slot
        }
        let (job, polled) = (slot.job, slot.polled);
        if target {
            self.jobs[job].queued = false;
        }
        let was_cancelled = self.jobs[job].cancelled;
        if target && was_cancelled && !polled {
            // R7: cancelled before it first ran: it never runs.
            let cancelled = self.cancellation(job);
            return self.complete(sid, idx, Err(cancelled));
        }
        if !self.jobs[job].started {
            return; // R11: lazy, not started yet
        }
        let slot = self.scopes[sid].slots[idx].as_mut().expect("slot");
        slot.polled = true;
        let mut run = slot.run.take().expect("run");
        let frame = Frame {
            job,
            non_cancellable: false,
            waker: job,
        };
        let result = match self.poll_run(&mut run, frame) {
            Polled::Ready(r) => r,
            // R7: resumed once after its cancellation and still suspended
            // outside `non_cancellable`: dropped.
            Polled::Pending { shielded } if was_cancelled && !shielded => {
                self.drop_run(run);
                Err(self.cancellation(job))
            }
            Polled::Pending { .. } => {
                self.scopes[sid].slots[idx].as_mut().expect("slot").run = Some(run);
                return;
            }
        };
        self.complete(sid, idx, result);
    }

    fn complete(&mut self, sid: ScopeId, idx: usize, result: Result<u64, MError>) {
        let scope = &mut self.scopes[sid];
        let slot = scope.slots[idx].take().expect("slot");
        scope.free.push(idx);
        scope.live -= 1;
        if let Some(run) = slot.run {
            self.drop_run(run);
        }
        let outcome = match result {
            Ok(v) => JobOutcome::Ok(v),
            Err(e) if e.is_cancellation() => JobOutcome::Cancelled(e),
            Err(e) => JobOutcome::Failed(e),
        };
        // Kotlin's order: a failing child cancels its scope (its siblings,
        // then the body) before it completes and wakes who waits for it.
        if let JobOutcome::Failed(e) = &outcome
            && self.scopes[sid].kind == Kind::Coroutine
            && !self.jobs[slot.job].completed
        {
            self.fail(sid, e.clone());
        }
        if let JobOutcome::Failed(e) = self.complete_job(slot.job, outcome) {
            match (self.scopes[sid].kind, slot.is_async) {
                // R2: the first failure cancels everything.
                (Kind::Coroutine, _) => self.fail(sid, e),
                // R4: an `async` failure stays in its Deferred; reported if
                // nobody holds it any more.
                (Kind::Supervisor, true) => {
                    let job = &mut self.jobs[slot.job];
                    if job.observed {
                    } else if job.refs == 0 {
                        self.report(&e);
                    } else {
                        job.unobserved = Some(e);
                    }
                }
                // R4: a `launch` failure goes to the handler.
                (Kind::Supervisor, false) => self.report(&e),
            }
        }
    }

    /// R2, R5, R6: the first failure cancels the body and every child;
    /// later, different failures are suppressed by it, each once (Kotlin
    /// adds a suppressed exception once however often it comes: an `async`
    /// child's failure and an awaiter that raised it again are one).
    fn fail(&mut self, sid: ScopeId, e: MError) {
        match &self.scopes[sid].failure {
            None => {
                self.scopes[sid].failure = Some(e);
                let cause = self.error(EKind::Cancelled);
                self.cancel_scope(sid, cause);
            }
            Some(first) if first.id != e.id => {
                let suppressed = &mut self.scopes[sid].suppressed;
                match suppressed.iter_mut().find(|known| known.id == e.id) {
                    // Kept once, as it came last: with what was suppressed
                    // on its way (Kotlin's exception is one object).
                    Some(known) => *known = e,
                    None => suppressed.push(e),
                }
            }
            // The first failure again, with what another scope suppressed
            // on its way here (an awaiter's scope, a child's own scope):
            // Kotlin adds those to the one exception object.
            Some(first) => {
                let known: Vec<u64> = first
                    .suppressed
                    .iter()
                    .chain(&self.scopes[sid].suppressed)
                    .map(|k| k.id)
                    .collect();
                let new = e.suppressed.into_iter().filter(|s| !known.contains(&s.id));
                self.scopes[sid].suppressed.extend(new);
            }
        }
    }

    /// R7: cancels the scope's job (its body) and every adopted child, in
    /// start order; children adopted later are cancelled as they are adopted.
    /// All are cancelled first; the children are resumed before the body
    /// (`notify_cancelled`).
    fn cancel_scope(&mut self, sid: ScopeId, cause: MError) {
        let job = self.scopes[sid].job;
        let Some(cause) = self.mark_cancelled(job, Some(cause)) else {
            return;
        };
        // In start order (Kotlin: the order they were attached), which
        // job ids follow; not by slot (a freed slot is taken again).
        let mut children = self.slot_jobs(sid);
        children.sort_unstable();
        for child in children {
            self.cancel(child, Some(cause.clone()));
        }
        self.notify_cancelled(job, &cause);
    }

    /// The scope's result: the first failure with the suppressed ones (R6),
    /// else a cancellation if it was cancelled (R7), else the body's value.
    fn finish(&mut self, sid: ScopeId) -> Result<u64, MError> {
        self.scopes[sid].finished = true;
        let job = self.scopes[sid].job;
        self.complete_job(job, JobOutcome::Ok(0));
        let scope = &mut self.scopes[sid];
        if let Some(mut failure) = scope.failure.take() {
            failure.suppressed.append(&mut scope.suppressed);
            return Err(failure);
        }
        if self.jobs[job].cancelled {
            return Err(self.cancellation(job));
        }
        Ok(self.scopes[sid].value.expect("the body returned a value"))
    }
}
