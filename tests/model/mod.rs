//! A reference model of SPEC §3 and the random scripts it runs.
//!
//! - [`Tree`] / [`Proc`] / [`Step`]: a small script language for a tree of
//!   scopes whose children delay, fail, panic, clean up after cancellation,
//!   start children, await / join / cancel / start them, nest scopes and
//!   run work under timeouts.
//! - `sim`: the model, a discrete-event simulation of the script over a
//!   virtual clock (the executable form of the SPEC).
//! - `real`: the same script run on the `scopes` runtime under tokio's
//!   paused clock.
//! - `gen`: proptest strategies for random scripts.
//!
//! Both runs produce an [`Observed`]; the property tests and the soak
//! example check that they are equal.

#![allow(dead_code)]

pub mod generate;
pub mod real;
pub mod sim;

use std::fmt;

/// `coroutine_scope` or `supervisor_scope`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Coroutine,
    Supervisor,
}

/// A whole test case: the outermost scope and its body.
#[derive(Clone, Debug)]
pub struct Tree {
    pub kind: Kind,
    pub body: Proc,
}

/// A piece of code: a scope body, a child, or the work of a timeout. It runs
/// its steps in order; a step that returns an error ends the steps (`?`).
#[derive(Clone, Debug)]
pub struct Proc {
    /// Unique in the tree (pre-order); names the log lines `p{id}`.
    pub id: usize,
    pub steps: Vec<Step>,
    /// What it does once every step succeeded.
    pub end: End,
    /// What it does when a step returned a cancellation (`None`: return it).
    pub on_cancel: Option<Cleanup>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// `Ok(sum of the values it received + v)`.
    Value(u64),
    /// `Err(Error::msg("p{id} failed"))`.
    Fail,
    /// `panic!("scripted panic p{id}")`.
    Panic,
}

/// Cleanup after a cancellation: a delay of `delay` ms (inside
/// `non_cancellable` or not), then `Ok(sum)` or a failure
/// `"p{id} cleanup failed"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cleanup {
    pub delay: u64,
    pub non_cancellable: bool,
    pub fail: bool,
}

/// One step. Times are milliseconds. `usize` arguments index the proc's
/// table of handles: the handles its creator held when it was created
/// (clones), then the children it started itself, in order. A nested
/// scope's body starts with an empty table, a timeout's work with its
/// caller's: handles are used only in the scope they belong to.
#[derive(Clone, Debug)]
pub enum Step {
    /// `delay(d).await?`
    Delay(u64),
    /// `tokio::time::sleep(d).await`: a foreign future, blind to cancellation.
    Sleep(u64),
    /// `yield_now().await?`
    Yield,
    /// `launch` a child into the scope this proc runs in (`lazy`: Start::Lazy).
    Launch { lazy: bool, proc: Proc },
    /// `async` a child into the scope this proc runs in; its value is a `u64`.
    Async { lazy: bool, proc: Proc },
    /// `deferred.await?` on an `async` handle; the value is added to the sum.
    Await(usize),
    /// `job.join().await?`
    Join(usize),
    /// `job.cancel()`
    Cancel(usize),
    /// `job.start()`
    Start(usize),
    /// A nested scope whose body is the proc; `?` on its result, value added.
    Scope(Kind, Proc),
    /// `with_timeout(after, proc).await?` (or `with_timeout_or_none`: `None`
    /// adds nothing).
    Timeout {
        after: u64,
        or_none: bool,
        proc: Proc,
    },
}

/// The outcome of a scope as the tests compare it.
#[derive(Clone, PartialEq, Eq)]
pub enum Outcome {
    Value(u64),
    Error {
        message: String,
        /// `is_cancellation`, `is_timeout`, `is_panic`.
        kind: ErrorKind,
        suppressed: Vec<String>,
    },
    /// The run did not finish (a day of virtual time passed).
    Hang,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    Failure,
    Cancellation,
    Timeout,
    Panic,
}

impl fmt::Debug for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Value(v) => write!(f, "Ok({v})"),
            Outcome::Error {
                message,
                kind,
                suppressed,
            } => write!(f, "Err({kind:?} {message:?}, suppressed {suppressed:?})"),
            Outcome::Hang => f.write_str("Hang"),
        }
    }
}

/// Everything a run is compared on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Observed {
    pub outcome: Outcome,
    /// Virtual milliseconds from start to the scope's return.
    pub elapsed_ms: u64,
    /// `t{ms} p{id} {event}` lines in the order they happened.
    pub log: Vec<String>,
    /// `t{ms} {message}` for each call of the exception handler.
    pub handled: Vec<String>,
    /// For each proc id, how many times the values captured by that child
    /// were dropped (children only; 0 for procs that never became children).
    pub drops: Vec<usize>,
}

/// The log line format shared by both runs.
pub fn line(t: u64, id: usize, event: &str) -> String {
    format!("t{t} p{id} {event}")
}

/// The message of a scripted panic.
pub fn panic_message(id: usize) -> String {
    format!("scripted panic p{id}")
}

impl Tree {
    /// One past the largest proc id.
    pub fn procs(&self) -> usize {
        fn walk(p: &Proc, max: &mut usize) {
            *max = (*max).max(p.id + 1);
            for step in &p.steps {
                match step {
                    Step::Launch { proc, .. }
                    | Step::Async { proc, .. }
                    | Step::Scope(_, proc)
                    | Step::Timeout { proc, .. } => walk(proc, max),
                    _ => {}
                }
            }
        }
        let mut max = 0;
        walk(&self.body, &mut max);
        max
    }
}

/// Renders a tree as indented pseudo-code (for failure reports).
impl fmt::Display for Tree {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn proc(f: &mut fmt::Formatter<'_>, p: &Proc, depth: usize) -> fmt::Result {
            let pad = "  ".repeat(depth);
            writeln!(
                f,
                "{pad}p{} end={:?} on_cancel={:?}",
                p.id, p.end, p.on_cancel
            )?;
            for step in &p.steps {
                match step {
                    Step::Launch { lazy, proc: c } => {
                        writeln!(f, "{pad}- launch lazy={lazy}")?;
                        proc(f, c, depth + 2)?;
                    }
                    Step::Async { lazy, proc: c } => {
                        writeln!(f, "{pad}- async lazy={lazy}")?;
                        proc(f, c, depth + 2)?;
                    }
                    Step::Scope(kind, c) => {
                        writeln!(f, "{pad}- scope {kind:?}")?;
                        proc(f, c, depth + 2)?;
                    }
                    Step::Timeout {
                        after,
                        or_none,
                        proc: c,
                    } => {
                        writeln!(f, "{pad}- timeout {after}ms or_none={or_none}")?;
                        proc(f, c, depth + 2)?;
                    }
                    other => writeln!(f, "{pad}- {other:?}")?,
                }
            }
            Ok(())
        }
        writeln!(f, "root {:?}", self.kind)?;
        proc(f, &self.body, 1)
    }
}
