//! Channel throughput (issue 12; SPEC §2c): one producer sends `ITEMS` `u64`s
//! to one consumer, which sums them, through a channel of capacity 0
//! (rendezvous), 64 and unbounded; time per item.
//!
//! - `scopes`: [`scopes::channel`] / [`scopes::unbounded_channel`] in a
//!   `coroutine_scope`, the producer and the consumer two children of it
//!   (cancellation-aware `send` and `recv`).
//! - `tokio_mpsc`: `tokio::sync::mpsc` (`channel(1)` for capacity 0, tokio
//!   has no rendezvous channel; `unbounded_channel()`).
//! - `async_channel`: `async_channel` (`bounded(1)` for 0; `unbounded()`).
//!
//! The peers' producer and consumer are two futures joined in the parent
//! (`tokio::join!`), as a scope's children are polled in place in the
//! scope's future (no `tokio::spawn`). A `current_thread` runtime, the
//! parent a spawned task, as in `workloads.rs`. Target: `scopes` ≤ 1.3×
//! `tokio_mpsc`.
//!
//! At the end the run writes `<target>/bench-channel.md`, the side-by-side
//! table. Quick mode (`SCOPES_BENCH_QUICK=1 cargo bench -p scopes-benches --bench channel`)
//! sends 100k items per run instead of 1M and samples less.

mod support;

use std::time::SystemTime;

use criterion::{Criterion, Throughput};

use support::{
    Rt, bench_mode, cell, criterion_main, expected_sum, flat_sampling, median_ns, quick, ratio,
    run, write_report,
};

/// The capacities measured; `usize::MAX` is unbounded.
const CAPACITIES: [usize; 3] = [0, 64, usize::MAX];

/// Implementations, in report order.
const IMPLS: [&str; 3] = ["scopes", "tokio_mpsc", "async_channel"];

/// Items per run: 1M, 100k in quick mode, 1000 under `cargo test` (a smoke
/// test of an unoptimized build).
fn items() -> u64 {
    match (bench_mode(), quick()) {
        (false, _) => 1_000,
        (true, true) => 100_000,
        (true, false) => 1_000_000,
    }
}

fn capacity_name(capacity: usize) -> String {
    match capacity {
        usize::MAX => "unbounded".to_owned(),
        n => n.to_string(),
    }
}

// ---------------------------------------------------------------------------
// The implementations: each sends `0..n` through the channel and returns
// the consumer's sum (checked by the caller).

async fn scopes_channel(capacity: usize, n: u64) -> u64 {
    scopes::coroutine_scope(|s| {
        Box::pin(async move {
            let (tx, rx) = scopes::channel::<u64>(capacity);
            s.launch(async move {
                for i in 0..n {
                    tx.send(i).await?;
                }
                Ok(()) // tx dropped: the consumer gets `None`
            });
            let sum = s.r#async(async move {
                let mut sum = 0;
                while let Some(i) = rx.recv().await? {
                    sum += i;
                }
                Ok(sum)
            });
            sum.await
        })
    })
    .await
    .expect("scope failed")
}

async fn tokio_bounded(capacity: usize, n: u64) -> u64 {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<u64>(capacity.max(1));
    let producer = async move {
        for i in 0..n {
            tx.send(i).await.expect("receiver gone");
        }
    };
    let consumer = async move {
        let mut sum = 0;
        while let Some(i) = rx.recv().await {
            sum += i;
        }
        sum
    };
    tokio::join!(producer, consumer).1
}

async fn tokio_unbounded(n: u64) -> u64 {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<u64>();
    let producer = async move {
        for i in 0..n {
            tx.send(i).expect("receiver gone");
        }
    };
    let consumer = async move {
        let mut sum = 0;
        while let Some(i) = rx.recv().await {
            sum += i;
        }
        sum
    };
    tokio::join!(producer, consumer).1
}

async fn async_channel(capacity: usize, n: u64) -> u64 {
    let (tx, rx) = match capacity {
        usize::MAX => async_channel::unbounded::<u64>(),
        n => async_channel::bounded::<u64>(n.max(1)),
    };
    let producer = async move {
        for i in 0..n {
            tx.send(i).await.expect("receiver gone");
        }
    };
    let consumer = async move {
        let mut sum = 0;
        while let Ok(i) = rx.recv().await {
            sum += i;
        }
        sum
    };
    tokio::join!(producer, consumer).1
}

// ---------------------------------------------------------------------------
// Criterion.

fn group_name(capacity: usize) -> String {
    format!("channel_{}_current_thread", capacity_name(capacity))
}

fn bench_channel(c: &mut Criterion, capacity: usize) {
    let rt = Rt::CurrentThread.build();
    let n = items();
    let mut group = c.benchmark_group(group_name(capacity));
    group.throughput(Throughput::Elements(n));
    flat_sampling(&mut group, 10);
    let expected = expected_sum(n);
    for name in IMPLS {
        group.bench_function(name, |b| {
            b.iter(|| {
                let sum = match (name, capacity) {
                    ("scopes", _) => run(&rt, scopes_channel(capacity, n)),
                    ("tokio_mpsc", usize::MAX) => run(&rt, tokio_unbounded(n)),
                    ("tokio_mpsc", _) => run(&rt, tokio_bounded(capacity, n)),
                    ("async_channel", _) => run(&rt, async_channel(capacity, n)),
                    _ => unreachable!(),
                };
                assert_eq!(sum, expected, "{name}: wrong sum");
            })
        });
    }
    group.finish();
}

// ---------------------------------------------------------------------------
// The report: criterion's medians of this run, in ns per item, with each
// implementation's ratio to tokio's mpsc.

/// The median time per item of `group/function`, in nanoseconds, if this
/// run measured it (an older result is left out).
fn ns_per_item(group: &str, function: &str, since: SystemTime) -> Option<f64> {
    Some(median_ns(group, function, since)? / items() as f64)
}

fn report(since: SystemTime) {
    let mut out = format!(
        "# Channel throughput: ns per item (1 producer → 1 consumer, {} items; \
         current_thread runtime, parent a spawned task; medians)\n\n",
        if quick() { "100k" } else { "1M" }
    );
    out.push_str(&format!(
        "Mode: {}. Written by `cargo bench -p scopes-benches --bench channel`. Capacity 0 is \
         `channel(1)` for tokio and `bounded(1)` for async-channel. \
         Target: scopes ≤ 1.30× tokio_mpsc.\n\n",
        if quick() { "quick" } else { "full" }
    ));
    out.push_str(
        "| capacity | scopes | tokio_mpsc | async_channel \
         | scopes÷tokio_mpsc | async_channel÷tokio_mpsc |\n\
         |---|---|---|---|---|---|\n",
    );
    for capacity in CAPACITIES {
        let group = group_name(capacity);
        let [scopes, tokio, async_channel] = IMPLS.map(|name| ns_per_item(&group, name, since));
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            capacity_name(capacity),
            cell(scopes),
            cell(tokio),
            cell(async_channel),
            ratio(scopes, tokio),
            ratio(async_channel, tokio),
        ));
    }
    write_report("bench-channel.md", &out);
}

fn main() {
    criterion_main(
        |c| {
            for capacity in CAPACITIES {
                bench_channel(c, capacity);
            }
        },
        report,
    );
}
