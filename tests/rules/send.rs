//! The rules on plain scopes (`coroutine_scope`, `supervisor_scope`):
//! children are `Send`, and so is the scope's future (R13).

use std::future::Future;
use std::sync::Arc;

use scopes::yield_now;
pub(crate) use scopes::{
    BoxFuture, Scope, coroutine_scope, coroutine_scope_with, supervisor_scope,
};
use tokio::task::JoinHandle;

// The same file is a module of each kind: the rules run once per kind of scope: see tests/rules.rs.
#[allow(clippy::duplicate_mod)]
#[path = "cases.rs"]
mod cases;

/// Runs `fut` as a task of its own: `tokio::spawn`.
fn spawn<F>(fut: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    tokio::spawn(fut)
}

/// Runs `fut` where [`spawn`] works: on any tokio runtime, as it is.
async fn in_task_set<F: Future>(fut: F) -> F::Output {
    fut.await
}

fn assert_send<T: Send>(_: &T) {}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r13_scope_future_is_send_and_spawnable() {
    let data = Arc::new(vec![1u64, 2, 3]);
    let fut = coroutine_scope(move |s| {
        Box::pin(async move {
            let mut parts = Vec::new();
            for i in 0..data.len() {
                let data = data.clone();
                parts.push(s.r#async(async move {
                    yield_now().await?;
                    Ok(data[i] * 10)
                }));
            }
            let mut sum = 0;
            for part in parts {
                sum += part.await?;
            }
            let p = s.child().async_parallel(async { Ok(1000u64) });
            Ok(sum + p.await?)
        })
    });
    assert_send(&fut);
    let handle = tokio::spawn(fut);
    assert_eq!(handle.await.unwrap().unwrap(), 1060);
}
