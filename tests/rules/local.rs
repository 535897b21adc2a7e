//! The rules on local scopes (`coroutine_scope_local`,
//! `supervisor_scope_local`, SPEC §2d): the same tests as plain scopes,
//! and children that are not `Send` (R13).

use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;

use scopes::yield_now;
pub(crate) use scopes::{
    LocalBoxFuture as BoxFuture, LocalScope as Scope, coroutine_scope_local as coroutine_scope,
    coroutine_scope_local_with as coroutine_scope_with, supervisor_scope_local as supervisor_scope,
};
use tokio::task::{JoinHandle, LocalSet};

// The same file is a module of each kind: the rules run once per kind of scope: see tests/rules.rs.
#[allow(clippy::duplicate_mod)]
#[path = "cases.rs"]
mod cases;

/// Runs `fut` as a task of its own: `spawn_local`, inside [`in_task_set`].
fn spawn<F>(fut: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    tokio::task::spawn_local(fut)
}

/// Runs `fut` where [`spawn`] works: in a `LocalSet`.
async fn in_task_set<F: Future>(fut: F) -> F::Output {
    LocalSet::new().run_until(fut).await
}

/// R13 for local scopes: children holding `Rc`/`RefCell` across awaits,
/// in a scope that is a `spawn_local` task of a `LocalSet` on the
/// multi-thread runtime. They run on the `LocalSet`'s thread; a `parallel`
/// child (still `Send + 'static`) runs on a worker.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r13_local_scope_takes_non_send_children_on_a_local_set() {
    let here = std::thread::current().id();
    let local = LocalSet::new();
    let task = local.spawn_local(coroutine_scope(move |s| {
        Box::pin(async move {
            let seen = Rc::new(RefCell::new(Vec::new()));
            let mut jobs = Vec::new();
            for i in 0..3u64 {
                let seen = seen.clone();
                jobs.push(s.launch(async move {
                    yield_now().await?; // the `Rc` is held across an await
                    seen.borrow_mut().push((i, std::thread::current().id()));
                    Ok(())
                }));
            }
            let remote = s.child().async_parallel(async {
                tokio::task::yield_now().await;
                Ok(std::thread::current().id())
            });
            let remote = remote.await?;
            for job in &jobs {
                job.join().await?;
            }
            let seen = seen.borrow().clone();
            Ok((seen, remote))
        })
    }));
    let (seen, remote) = local.run_until(task).await.unwrap().unwrap();
    assert_eq!(seen, [(0, here), (1, here), (2, here)]);
    assert_ne!(remote, here);
}
