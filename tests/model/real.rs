//! Runs a script on the `scopes` runtime, on a fresh current-thread tokio
//! runtime with a paused clock, and records what the model predicts.
//!
//! Both kinds of scope run the same scripts ([`run`] on plain scopes,
//! [`run_local`] on local ones, in a `LocalSet`): the procs are written
//! once (`real/runner.rs`) and compiled for each kind (`real/send.rs`,
//! `real/local.rs`).
//!
//! The run is wrapped in `tokio::task::unconstrained`: tokio's cooperative
//! budget (128 resource polls per task poll) would make a `Sleep` polled
//! late in a large tree return `Pending` once without registering its timer,
//! which changes the registration order of same-instant timers. The model
//! does not simulate tokio's budget; the scope driver's own budget (256
//! polls per scope poll) it does.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use scopes::{Error, Result, with_exception_handler};
use tokio::time::Instant;

use super::{ErrorKind, Observed, Outcome, Tree, line};

mod local;
mod send;

/// A run longer than this (virtual time) is reported as [`Outcome::Hang`].
const HANG: Duration = Duration::from_secs(24 * 3600);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// What the children of one run share: the log, the handler's record and
/// the drop counters.
struct Env {
    start: Instant,
    log: Mutex<Vec<String>>,
    handled: Arc<Mutex<Vec<String>>>,
    drops: Vec<AtomicUsize>,
}

impl Env {
    fn now(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    fn log(&self, id: usize, event: impl AsRef<str>) {
        let entry = line(self.now(), id, event.as_ref());
        self.log.lock().unwrap().push(entry);
    }
}

/// Captured by every child: counts how often it is dropped.
struct Guard<'a> {
    env: &'a Env,
    id: usize,
}

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        self.env.drops[self.id].fetch_add(1, Ordering::SeqCst);
    }
}

/// Silences the panic hook for scripted panics (they are expected); every
/// other panic is reported as usual.
pub fn quiet_scripted_panics() {
    scopes_workspace::quiet_panics_starting_with("scripted panic");
}

fn outcome(result: Result<u64>) -> Outcome {
    match result {
        Ok(v) => Outcome::Value(v),
        Err(e) => Outcome::Error {
            message: e.to_string(),
            kind: if e.is_cancellation() {
                ErrorKind::Cancellation
            } else if e.is_timeout() {
                ErrorKind::Timeout
            } else if e.is_panic() {
                ErrorKind::Panic
            } else {
                ErrorKind::Failure
            },
            suppressed: e.suppressed().iter().map(ToString::to_string).collect(),
        },
    }
}

/// Runs `tree` on the real runtime: a new current-thread runtime with a
/// paused clock, the outermost scope inside `with_exception_handler`.
pub fn run(tree: &Tree) -> Observed {
    run_for(tree, HANG)
}

/// [`run`] on local scopes (`coroutine_scope_local`, ...), whose children
/// hold `Rc` handles, in a `LocalSet`.
pub fn run_local(tree: &Tree) -> Observed {
    run_local_for(tree, HANG)
}

/// Like [`run`], but drops the scope's future after `limit` of virtual time
/// if it has not returned by then (R10); the outcome is then
/// [`Outcome::Hang`]. The drop counts are read as the future is dropped;
/// the log, after another hour of virtual time, during which nothing of the
/// scope may run.
pub fn run_for(tree: &Tree, limit: Duration) -> Observed {
    quiet_scripted_panics();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("tokio runtime");
    let run = tokio::task::unconstrained(run_on_runtime(tree, limit, false));
    runtime.block_on(run)
}

/// [`run_for`] on local scopes, in a `LocalSet`.
pub fn run_local_for(tree: &Tree, limit: Duration) -> Observed {
    quiet_scripted_panics();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("tokio runtime");
    let run = tokio::task::unconstrained(run_on_runtime(tree, limit, true));
    runtime.block_on(tokio::task::LocalSet::new().run_until(run))
}

async fn run_on_runtime(tree: &Tree, limit: Duration, local: bool) -> Observed {
    let env = Env {
        start: Instant::now(),
        log: Mutex::new(Vec::new()),
        handled: Arc::new(Mutex::new(Vec::new())),
        drops: (0..tree.procs()).map(|_| AtomicUsize::new(0)).collect(),
    };
    let env = &env;
    let handled = env.handled.clone();
    let start = env.start;
    let handler = move |e: &Error| {
        let t = start.elapsed().as_millis();
        handled.lock().unwrap().push(format!("t{t} {e}"));
    };
    let body = &tree.body;
    let scope = async move {
        if local {
            local::root(tree.kind, env, body).await
        } else {
            send::root(tree.kind, env, body).await
        }
    };
    let result = tokio::time::timeout(limit, with_exception_handler(handler, scope)).await;
    let elapsed_ms = env.now();
    // Read the drop counts as the scope returns: nothing may outlive it (R1).
    let drops = env.drops.iter().map(|d| d.load(Ordering::SeqCst)).collect();
    if result.is_err() && limit < HANG {
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
    Observed {
        outcome: result.map_or(Outcome::Hang, outcome),
        elapsed_ms,
        log: std::mem::take(&mut *env.log.lock().unwrap()),
        handled: std::mem::take(&mut *env.handled.lock().unwrap()),
        drops,
    }
}
