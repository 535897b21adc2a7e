//! A worker pool with graceful shutdown (SPEC §2c), the program of issue 12.
//!
//! Four workers take jobs from a rendezvous [`channel`] and record each
//! finished job in a store behind a tokio `Mutex`. At shutdown the
//! dispatcher cancels them with `cancel_children()` while it holds the
//! store: two workers wait in `jobs.recv()`, two wait for the store's lock.
//! Both waits are cancellation-aware (`Receiver::recv`,
//! `lock_cancellable`), so every worker is resumed with a cancellation,
//! saves the job in its hands and flushes (`non_cancellable`), and the
//! scope completes normally: a cancelled worker is not a failure.
//!
//! With a tokio `mpsc` receiver and a plain `lock().await` instead, the
//! four waiting workers would be dropped where they wait (R7): no job
//! saved, no flush, nothing logged.
//!
//! `cargo run --example worker_pool` (also run by tests/examples_channels.rs)

use std::time::Duration;

use scopes::prelude::*;
use scopes_workspace::Log;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// What a run of the pool did.
#[derive(Debug)]
pub struct Report {
    /// The jobs in the store at the end, sorted.
    pub stored: Vec<String>,
    /// Virtual time from start to the scope's return.
    pub elapsed: Duration,
}

/// One worker: takes jobs until the channel ends or it is cancelled, then
/// saves the job in its hands and flushes, whatever ended it.
async fn worker(
    id: usize,
    jobs: &Receiver<u32>,
    store: &Mutex<Vec<String>>,
    log: &Log,
) -> Result<()> {
    let mut in_hand = None;
    let mut done = 0;
    let ended: Result<()> = async {
        while let Some(job) = jobs.recv().await? {
            in_hand = Some(job);
            delay(Duration::from_secs(1)).await?; // the work
            store
                .lock_cancellable()
                .await?
                .push(format!("job {job} by worker {id}"));
            in_hand = None;
            done += 1;
        }
        Ok(())
    }
    .await;
    non_cancellable(async {
        if let Some(job) = in_hand {
            store
                .lock()
                .await
                .push(format!("job {job} by worker {id}, saved at shutdown"));
            done += 1;
        }
        delay(Duration::from_millis(100)).await?; // the flush
        log.push(format!("worker {id}: flushed after {done} jobs"));
        Ok::<_, Error>(())
    })
    .await?;
    ended
}

/// Dispatches 6 one-second jobs to 4 workers, then shuts the pool down at
/// 2.5 s while holding the store, so that workers wait in both kinds of
/// wait when they are cancelled.
pub async fn run(log: &Log) -> Result<Report> {
    let store = Mutex::new(Vec::new());
    let store = &store;
    let start = Instant::now();
    coroutine_scope! {
        let (tx, jobs) = channel::<u32>(0);
        for id in 0..4 {
            let jobs = jobs.clone();
            launch(name = format!("worker {id}")) { worker(id, &jobs, store, log).await }
        }
        for job in 0..6 {
            tx.send(job).await?; // waits for a free worker
        }
        let snapshot = store.lock_cancellable().await?;
        delay(Duration::from_millis(1500)).await?;
        log.push(format!("shutdown: {} jobs stored", snapshot.len()));
        scopes::cancel_children(); // graceful: each worker cleans up
        drop(snapshot);
        Ok(())
    }?;
    let mut stored = store.lock().await.clone();
    stored.sort();
    Ok(Report {
        stored,
        elapsed: start.elapsed(),
    })
}

/// What the run must show: every worker's cleanup ran, no job was lost,
/// and the cleanups ran side by side (2.5 s + one 100 ms flush).
pub fn check(report: &Report, log: &[String]) {
    assert_eq!(
        log.first().map(String::as_str),
        Some("shutdown: 4 jobs stored")
    );
    let mut flushed: Vec<&str> = log[1..].iter().map(String::as_str).collect();
    flushed.sort_unstable();
    assert_eq!(
        flushed,
        [
            "worker 0: flushed after 2 jobs",
            "worker 1: flushed after 2 jobs",
            "worker 2: flushed after 1 jobs",
            "worker 3: flushed after 1 jobs",
        ],
        "every worker's cleanup ran"
    );
    assert_eq!(report.stored.len(), 6, "no job lost: {:?}", report.stored);
    let saved = report
        .stored
        .iter()
        .filter(|job| job.ends_with("saved at shutdown"));
    assert_eq!(saved.count(), 2, "the two jobs in hand were saved");
    assert_eq!(report.elapsed, Duration::from_millis(2600));
}

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    let log = Log::default();
    let report = run(&log).await.expect("the pool shuts down normally");
    let log = log.take();
    for line in &log {
        println!("{line}");
    }
    println!("[{:?}] stored: {:#?}", report.elapsed, report.stored);
    check(&report, &log);
}
