//! Runs a script on the `scopes` runtime, on a fresh current-thread tokio
//! runtime with a paused clock, and records what the model predicts.
//!
//! The run is wrapped in `tokio::task::unconstrained`: tokio's cooperative
//! budget (128 resource polls per task poll) would make a `Sleep` polled
//! late in a large tree return `Pending` once without registering its timer,
//! which changes the registration order of same-instant timers. The model
//! does not simulate tokio's budget; the scope driver's own budget (256
//! polls per scope poll) it does.

use std::future::IntoFuture;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use scopes::{
    BoxFuture, Deferred, Error, Job, Result, Scope, Start, coroutine_scope, delay, non_cancellable,
    supervisor_scope, with_exception_handler, with_timeout, with_timeout_or_none, yield_now,
};
use tokio::time::Instant;

use super::{End, ErrorKind, Kind, Observed, Outcome, Proc, Step, Tree, line, panic_message};

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

/// A `Job` or a `Deferred<u64>`, of any enclosing scope.
trait Handle: Send + Sync {
    fn cancel(&self);
    fn start(&self);
    fn join(&self) -> BoxFuture<'_, Result<()>>;
    fn value(&self) -> BoxFuture<'_, Result<u64>>;
}

impl Handle for Job<'_> {
    fn cancel(&self) {
        Job::cancel(self);
    }
    fn start(&self) {
        Job::start(self);
    }
    fn join(&self) -> BoxFuture<'_, Result<()>> {
        Box::pin(Job::join(self))
    }
    fn value(&self) -> BoxFuture<'_, Result<u64>> {
        unreachable!("the generator awaits only `async` handles")
    }
}

impl Handle for Deferred<'_, u64> {
    fn cancel(&self) {
        Deferred::cancel(self);
    }
    fn start(&self) {
        Deferred::start(self);
    }
    fn join(&self) -> BoxFuture<'_, Result<()>> {
        Box::pin(Deferred::join(self))
    }
    fn value(&self) -> BoxFuture<'_, Result<u64>> {
        Box::pin(self.clone().into_future())
    }
}

/// The handles a proc holds, with the id of the child each one is for.
/// Shared (`Arc`) between the tables of procs created later: the `Deferred`
/// is dropped when the last table holding it is.
type Table<'a> = Vec<(usize, Arc<dyn Handle + 'a>)>;

fn run_proc<'s, 'env: 's>(
    env: &'s Env,
    scope: Scope<'s, 'env>,
    proc: &'s Proc,
    mut table: Table<'s>,
) -> BoxFuture<'s, Result<u64>> {
    Box::pin(async move {
        let id = proc.id;
        env.log(id, "begin");
        let mut sum = 0u64;
        let result = steps(env, &scope, proc, &mut table, &mut sum).await;
        match result {
            Ok(()) => match proc.end {
                End::Value(v) => {
                    env.log(id, format!("ok {}", sum + v));
                    Ok(sum + v)
                }
                End::Fail => {
                    env.log(id, "fail");
                    Err(Error::msg(format!("p{id} failed")))
                }
                End::Panic => {
                    env.log(id, "panic");
                    std::panic::panic_any(panic_message(id))
                }
            },
            Err(e) if e.is_cancellation() => {
                env.log(id, "cancelled");
                let Some(cleanup) = proc.on_cancel else {
                    return Err(e);
                };
                let slept = if cleanup.non_cancellable {
                    non_cancellable(delay(ms(cleanup.delay))).await
                } else {
                    delay(ms(cleanup.delay)).await
                };
                env.log(
                    id,
                    if slept.is_ok() {
                        "cleaned up"
                    } else {
                        "cleanup cut short"
                    },
                );
                if cleanup.fail {
                    Err(Error::msg(format!("p{id} cleanup failed")))
                } else {
                    Ok(sum)
                }
            }
            Err(e) => {
                env.log(id, format!("error {e}"));
                Err(e)
            }
        }
    })
}

fn steps<'a, 's: 'a, 'env: 's>(
    env: &'s Env,
    scope: &'a Scope<'s, 'env>,
    proc: &'s Proc,
    table: &'a mut Table<'s>,
    sum: &'a mut u64,
) -> BoxFuture<'a, Result<()>> {
    Box::pin(async move {
        let id = proc.id;
        for step in &proc.steps {
            match step {
                Step::Delay(d) => {
                    delay(ms(*d)).await?;
                    env.log(id, "delay");
                }
                Step::Sleep(d) => {
                    tokio::time::sleep(ms(*d)).await;
                    env.log(id, "sleep");
                }
                Step::Yield => {
                    yield_now().await?;
                    env.log(id, "yield");
                }
                Step::Launch { lazy, proc: child } => {
                    let guard = Guard { env, id: child.id };
                    let fut = run_proc(env, scope.clone(), child, table.clone());
                    let job = scope
                        .child()
                        .name(format!("p{}", child.id))
                        .start(if *lazy { Start::Lazy } else { Start::Default })
                        .launch(async move {
                            let _guard = guard;
                            fut.await.map(drop)
                        });
                    table.push((child.id, Arc::new(job)));
                    env.log(id, format!("launch p{}", child.id));
                }
                Step::Async { lazy, proc: child } => {
                    let guard = Guard { env, id: child.id };
                    let fut = run_proc(env, scope.clone(), child, table.clone());
                    let deferred = scope
                        .child()
                        .name(format!("p{}", child.id))
                        .start(if *lazy { Start::Lazy } else { Start::Default })
                        .r#async(async move {
                            let _guard = guard;
                            fut.await
                        });
                    table.push((child.id, Arc::new(deferred)));
                    env.log(id, format!("async p{}", child.id));
                }
                Step::Await(h) => {
                    let (target, handle) = table[*h].clone();
                    let v = handle.value().await?;
                    *sum += v;
                    env.log(id, format!("await p{target} = {v}"));
                }
                Step::Join(h) => {
                    let (target, handle) = table[*h].clone();
                    handle.join().await?;
                    env.log(id, format!("join p{target}"));
                }
                Step::Cancel(h) => {
                    table[*h].1.cancel();
                    env.log(id, format!("cancel p{}", table[*h].0));
                }
                Step::Start(h) => {
                    table[*h].1.start();
                    env.log(id, format!("start p{}", table[*h].0));
                }
                Step::Scope(kind, body) => {
                    let v = match kind {
                        Kind::Coroutine => {
                            let table = table.clone();
                            coroutine_scope(move |s| run_proc(env, s, body, table)).await?
                        }
                        Kind::Supervisor => {
                            let table = table.clone();
                            supervisor_scope(move |s| run_proc(env, s, body, table)).await?
                        }
                    };
                    *sum += v;
                    env.log(id, format!("scope = {v}"));
                }
                Step::Timeout {
                    after,
                    or_none,
                    proc: work,
                } => {
                    let fut = run_proc(env, scope.clone(), work, table.clone());
                    if *or_none {
                        match with_timeout_or_none(ms(*after), fut).await? {
                            Some(v) => {
                                *sum += v;
                                env.log(id, format!("timeout = {v}"));
                            }
                            None => env.log(id, "timeout none"),
                        }
                    } else {
                        let v = with_timeout(ms(*after), fut).await?;
                        *sum += v;
                        env.log(id, format!("timeout = {v}"));
                    }
                }
            }
        }
        Ok(())
    })
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
    runtime.block_on(tokio::task::unconstrained(run_on_runtime(tree, limit)))
}

async fn run_on_runtime(tree: &Tree, limit: Duration) -> Observed {
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
        match tree.kind {
            Kind::Coroutine => coroutine_scope(move |s| run_proc(env, s, body, Vec::new())).await,
            Kind::Supervisor => supervisor_scope(move |s| run_proc(env, s, body, Vec::new())).await,
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
