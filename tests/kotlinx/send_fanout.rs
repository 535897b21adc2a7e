//! R13 and §2a: Kotlin's structured fan-out inside a spawned task.

use super::common::*;
use scopes::prelude::*;

async fn handler(ids: Vec<u64>) -> scopes::Result<u64> {
    coroutine_scope! {
        let ds = ids.iter().map(|id| async { delay(ms(*id * 10)).await?; Ok(*id) }).collect::<Vec<_>>();
        Ok(await_all(ds).await?.into_iter().sum())
    }
}

/// Spawned on a 2-worker runtime (R13: the scope's future is `Send`), the
/// fan-out completes with every child's value. (Its timing is checked on
/// the paused clock below: the real clock of a loaded machine proves
/// nothing about concurrency.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fan_out_in_a_spawned_task_completes() {
    let v = tokio::spawn(handler(vec![5, 10, 15]))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(v, 30);
}

/// The three children wait at once: 150 ms of the paused clock, the
/// longest, not 300 ms, their sum.
#[tokio::test(start_paused = true)]
async fn fan_out_exact_time() {
    let start = tokio::time::Instant::now();
    assert_eq!(handler(vec![5, 10, 15]).await.unwrap(), 30);
    assert_eq!(start.elapsed(), ms(150));
}
