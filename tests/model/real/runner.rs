//! A script's procs on one kind of scope: `send.rs` and `local.rs` each
//! include this file, after naming their kind's entry points, handle,
//! boxed future, shared pointer (`Arc` / `Rc`) and what a handle must be
//! (`Bound`: `Send + Sync`, or nothing) the same way. In local scopes the
//! children hold `Rc` handles, so they are not `Send`.

use std::future::IntoFuture;

use scopes::{
    Deferred, Error, Job, Result, Start, delay, non_cancellable, with_timeout,
    with_timeout_or_none, yield_now,
};

use super::super::super::{End, Kind, Proc, Step, panic_message};
use super::super::{Env, Guard, ms};
use super::{Bound, BoxFuture, Scope, Shared, coroutine_scope, supervisor_scope};

/// The outermost scope of a run, of the tree's kind, with `body` as its
/// body.
pub(in super::super) async fn root(kind: Kind, env: &Env, body: &Proc) -> Result<u64> {
    match kind {
        Kind::Coroutine => coroutine_scope(move |s| run_proc(env, s, body, Vec::new())).await,
        Kind::Supervisor => supervisor_scope(move |s| run_proc(env, s, body, Vec::new())).await,
    }
}

/// A `Job` or a `Deferred<u64>`, of any enclosing scope.
trait Handle: Bound {
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
/// Shared (`Arc`, or `Rc` in local scopes) between the tables of procs created later: the `Deferred`
/// is dropped when the last table holding it is.
type Table<'a> = Vec<(usize, Shared<dyn Handle + 'a>)>;

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
                    table.push((child.id, Shared::new(job)));
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
                    table.push((child.id, Shared::new(deferred)));
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
