//! What a `with_timeout` allocates: its job record, nothing else, whether
//! its work completes at once or suspends first. It used to record on
//! that job the unit of work its work runs in, a second allocation.
//!
//! This binary counts every allocation (`stats_alloc` as the global
//! allocator) and holds a single test, so that nothing else runs while it
//! counts.

use std::alloc::System;
use std::time::Duration;

use scopes::{coroutine_scope, with_timeout, yield_now};
use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};

#[global_allocator]
static ALLOCATOR: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Allocations made by `n` timeouts in a row in one child, around work
/// that yields first if `suspends`.
fn allocations_for(rt: &tokio::runtime::Runtime, n: usize, suspends: bool) -> usize {
    rt.block_on(async {
        coroutine_scope(|s| {
            Box::pin(async move {
                let counted = s.r#async(async move {
                    let before = ALLOCATOR.stats().allocations;
                    for i in 0..n {
                        let got = with_timeout(Duration::from_secs(10), async move {
                            if suspends {
                                yield_now().await?;
                            }
                            Ok(i)
                        })
                        .await?;
                        assert_eq!(got, i);
                    }
                    Ok(ALLOCATOR.stats().allocations - before)
                });
                counted.await
            })
        })
        .await
        .unwrap()
    })
}

#[test]
fn a_timeout_allocates_its_job_record_alone() {
    // One thread: nothing else allocates meanwhile.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    for suspends in [false, true] {
        allocations_for(&rt, 100, suspends); // warm up
        let small = allocations_for(&rt, 1_000, suspends);
        let large = allocations_for(&rt, 2_000, suspends);
        let per_timeout = (large as f64 - small as f64) / 1_000.0;
        assert!(
            (1.0..1.01).contains(&per_timeout),
            "work that suspends: {suspends}: {per_timeout} allocations per timeout \
             ({small} for 1,000 timeouts, {large} for 2,000)"
        );
    }
}
