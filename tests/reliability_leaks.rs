//! No leaks: after many scopes of every outcome, the bytes allocated in the
//! process return to where they were.
//!
//! This binary counts every allocation (`stats_alloc` as the global
//! allocator) and holds a single test, so that nothing else runs while it
//! measures.

mod model;

use std::alloc::System;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;
use scopes::{
    Error, Result, Start, coroutine_scope, delay, non_cancellable, supervisor_scope,
    with_exception_handler, with_timeout, with_timeout_or_none, yield_now,
};
use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};

#[global_allocator]
static ALLOCATOR: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Bytes allocated and not yet freed.
fn live_bytes() -> isize {
    let stats = ALLOCATOR.stats();
    stats.bytes_allocated as isize - stats.bytes_deallocated as isize
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Dropped exactly once by the children that capture it.
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// One scope of each outcome; returns how many `Counted` values it made.
async fn every_outcome(drops: &Arc<AtomicUsize>) -> usize {
    let made = AtomicUsize::new(0);
    let counted = || {
        made.fetch_add(1, Ordering::SeqCst);
        Counted(drops.clone())
    };

    // Success with children and grandchildren.
    let ok: Result<u32> = coroutine_scope(|s| {
        let (a, b) = (counted(), counted());
        Box::pin(async move {
            s.launch(async move {
                let _a = a;
                coroutine_scope(|inner| {
                    Box::pin(async move {
                        inner.launch(async move {
                            let _b = b;
                            delay(ms(3)).await
                        });
                        Ok(())
                    })
                })
                .await
            });
            let d = s.r#async(async { Ok(7) });
            d.await
        })
    })
    .await;
    assert_eq!(ok.unwrap(), 7);

    // Fail-fast with cleanup in non_cancellable and a suppressed failure.
    let failed: Result<()> = coroutine_scope(|s| {
        let (a, b) = (counted(), counted());
        Box::pin(async move {
            s.launch(async move {
                let _a = a;
                if delay(Duration::from_secs(60)).await.is_err() {
                    non_cancellable(delay(ms(2))).await?;
                    return Err(Error::msg("cleanup failed"));
                }
                Ok(())
            });
            s.launch(async move {
                let _b = b;
                delay(ms(1)).await?;
                Err(Error::msg("first"))
            });
            Ok(())
        })
    })
    .await;
    assert_eq!(failed.unwrap_err().suppressed().len(), 1);

    // Supervision: launch failures to the handler, an awaited async
    // failure, an unawaited one, a panic.
    let handled = Arc::new(AtomicUsize::new(0));
    let seen = handled.clone();
    let supervised: Result<()> = with_exception_handler(
        move |_: &Error| {
            seen.fetch_add(1, Ordering::SeqCst);
        },
        supervisor_scope(|s| {
            let (a, b, c) = (counted(), counted(), counted());
            Box::pin(async move {
                s.launch(async move {
                    let _a = a;
                    Err(Error::msg("launch failed"))
                });
                let awaited = s.r#async(async move {
                    let _b = b;
                    Err::<u8, _>(Error::msg("async failed"))
                });
                let _unawaited = s.r#async(async move {
                    let _c = c;
                    Err::<u8, _>(Error::msg("nobody awaits"))
                });
                s.launch(async {
                    if true {
                        panic!("scripted panic: child");
                    }
                    Ok(())
                });
                assert!(awaited.await.is_err());
                Ok(())
            })
        }),
    )
    .await;
    supervised.unwrap();
    assert_eq!(handled.load(Ordering::SeqCst), 3);

    // Body panic, timeouts, a lazy child never started, a cancelled job.
    let panicked: Result<()> = coroutine_scope(|s| {
        let a = counted();
        Box::pin(async move {
            s.launch(async move {
                let _a = a;
                delay(Duration::from_secs(60)).await
            });
            yield_now().await?;
            panic!("scripted panic: body");
        })
    })
    .await;
    assert!(panicked.unwrap_err().is_panic());

    let timed_out: Result<()> = coroutine_scope(|s| {
        let (a, b) = (counted(), counted());
        Box::pin(async move {
            s.child().start(Start::Lazy).launch(async move {
                let _a = a;
                Ok(())
            });
            let job = s.launch(async move {
                let _b = b;
                delay(Duration::from_secs(60)).await
            });
            job.cancel();
            let none = with_timeout_or_none(ms(2), delay(Duration::MAX)).await?;
            assert!(none.is_none());
            with_timeout(ms(1), delay(Duration::from_secs(1))).await
        })
    })
    .await;
    assert!(timed_out.unwrap_err().is_timeout());

    // R10: the scope's future dropped while children run.
    let dropped = coroutine_scope(|s| {
        let (a, b) = (counted(), counted());
        Box::pin(async move {
            s.launch(async move {
                let _a = a;
                delay(Duration::from_secs(60)).await
            });
            s.child().launch_parallel(async move {
                let _b = b;
                std::future::pending::<()>().await;
                Ok(())
            });
            delay(Duration::from_secs(60)).await
        })
    });
    assert!(tokio::time::timeout(ms(5), dropped).await.is_err());
    // The aborted parallel child is dropped by its task.
    tokio::task::yield_now().await;

    made.load(Ordering::SeqCst)
}

/// Runs `rounds` of every outcome on `runtime`, checking every captured
/// value was dropped exactly once.
fn rounds(runtime: &tokio::runtime::Runtime, rounds: usize) {
    for _ in 0..rounds {
        let drops = Arc::new(AtomicUsize::new(0));
        let made = runtime.block_on(every_outcome(&drops));
        // Let the runtime finish dropping aborted tasks.
        runtime.block_on(tokio::task::yield_now());
        assert_eq!(drops.load(Ordering::SeqCst), made);
    }
}

/// `count` scopes of 1,000 children each (their lists are large ones).
fn bursts(runtime: &tokio::runtime::Runtime, count: usize) {
    for _ in 0..count {
        runtime
            .block_on(scopes::coroutine_scope(|s| {
                Box::pin(async move {
                    for _ in 0..1_000 {
                        s.launch(async { scopes::yield_now().await });
                    }
                    Ok(())
                })
            }))
            .unwrap();
    }
}

/// `count` batches of four scopes polled through a `FuturesUnordered` in
/// one child: each scope is a root of its own, drained inside the step of
/// the tree the child belongs to, which itself starts nothing meanwhile.
async fn roots_inside_a_step(count: usize) {
    use futures_util::StreamExt;
    coroutine_scope(|s| {
        Box::pin(async move {
            let worker = s.r#async(async move {
                for _ in 0..count {
                    let mut batch: futures_util::stream::FuturesUnordered<_> = (0..4)
                        .map(|_| {
                            coroutine_scope(|t| {
                                Box::pin(async move {
                                    t.launch(async { yield_now().await });
                                    Ok(())
                                })
                            })
                        })
                        .collect();
                    while let Some(done) = batch.next().await {
                        done?;
                    }
                }
                Ok(())
            });
            worker.await
        })
    })
    .await
    .unwrap();
}

fn random_trees(count: usize, seed: u64) {
    let mut runner = TestRunner::new_with_rng(
        proptest::test_runner::Config::default(),
        proptest::test_runner::TestRng::from_seed(
            proptest::test_runner::RngAlgorithm::ChaCha,
            &seed.to_le_bytes().repeat(4),
        ),
    );
    let strategy = model::generate::tree();
    for _ in 0..count {
        let tree = strategy.new_tree(&mut runner).unwrap().current();
        let observed = model::real::run(&tree);
        assert_eq!(observed, model::sim::run(&tree), "{tree}");
    }
}

#[test]
fn allocated_bytes_return_to_baseline_after_many_scopes() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    model::real::quiet_scripted_panics();
    // Warm up: thread-locals, tokio's timer wheel, the debug registry, the
    // panic hook, tracing's callsites, and buffers that keep the capacity of
    // the largest burst they saw (they stop growing within a few hundred
    // random trees).
    rounds(&runtime, 20);
    random_trees(300, 1);
    // The registry keeps live scopes in shards by block of job ids (1,024
    // ids a block, one shard for every eighth block), and a shard keeps
    // one node once used: scopes enough to use every shard.
    for _ in 0..9 * 1024 {
        runtime
            .block_on(scopes::coroutine_scope(|_| Box::pin(async { Ok(()) })))
            .unwrap();
    }

    // A thread keeps some buffers for its next scopes (bounded; the root's
    // FIFO, `engine/spare.rs`), and they go with it: each measured part
    // runs on a thread of its own, so what remains after it has leaked.
    let on_its_own_thread = |part: &(dyn Fn() + Sync)| {
        std::thread::scope(|s| s.spawn(part).join().expect("the part panicked"));
    };
    let baseline = live_bytes();
    on_its_own_thread(&|| rounds(&runtime, 300));
    let after_rounds = live_bytes();
    on_its_own_thread(&|| random_trees(300, 2));
    let after_trees = live_bytes();

    // What a thread keeps for its next scopes (large lists: bursts of
    // children) is bounded and reaches a steady state: the same bursts
    // again on the same, warmed thread keep nothing more.
    on_its_own_thread(&|| {
        bursts(&runtime, 5);
        let warmed = live_bytes();
        bursts(&runtime, 50);
        assert!(
            live_bytes() - warmed <= 512,
            "50 more bursts on a warmed thread kept {} bytes more",
            live_bytes() - warmed
        );
    });

    // Scopes drained inside another tree's step (polled through
    // `FuturesUnordered`): what the thread notes of the children they
    // start, for `debug::dump`, is let go of as that step ends, even when
    // the step's own tree started nothing (it kept 84 bytes per child).
    on_its_own_thread(&|| {
        runtime.block_on(roots_inside_a_step(1_000));
        let warmed = live_bytes();
        runtime.block_on(roots_inside_a_step(10_000));
        assert!(
            live_bytes() - warmed <= 512,
            "10,000 batches of scopes inside a step kept {} bytes more",
            live_bytes() - warmed
        );
    });

    // A leak of one allocation per scope would be thousands of bytes here;
    // measured: 0 and 0.
    let slack = 512;
    assert!(
        after_rounds - baseline <= slack,
        "300 rounds of every outcome leaked {} bytes",
        after_rounds - baseline
    );
    assert!(
        after_trees - after_rounds <= slack,
        "300 random trees leaked {} bytes",
        after_trees - after_rounds
    );
}
