//! What one `parallel` child allocates: the box holding its work until its
//! first run spawns it (freed then), its tokio task (which holds the work
//! itself, not boxed again) and the small link its scope shares with the
//! task (where the task leaves the waker a cancel wakes it through, and
//! its outcome): three allocations. Its job record is one its thread let
//! go of when an earlier child ended (`engine/job.rs`; four allocations
//! before); three blocks are live while it runs.
//!
//! This binary counts every allocation (`stats_alloc` as the global
//! allocator) and holds a single test, so that nothing else runs while it
//! counts.

use std::alloc::System;

use scopes::{coroutine_scope, yield_now};
use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};

#[global_allocator]
static ALLOCATOR: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Allocations made while `n` parallel children, each yielding once,
/// start and end in one scope.
fn allocations_for(rt: &tokio::runtime::Runtime, n: usize) -> usize {
    rt.block_on(async {
        let before = ALLOCATOR.stats().allocations;
        coroutine_scope(|s| {
            Box::pin(async move {
                for _ in 0..n {
                    s.child().launch_parallel(async {
                        yield_now().await?;
                        Ok(())
                    });
                }
                Ok(())
            })
        })
        .await
        .unwrap();
        ALLOCATOR.stats().allocations - before
    })
}

#[test]
fn a_parallel_child_costs_three_allocations() {
    // One thread: nothing else allocates meanwhile.
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    // Warm up what the runtime and the scope machinery keep between runs.
    allocations_for(&rt, 2000);
    // The difference between two sizes leaves out what a scope costs once;
    // what remains besides the three per child is the growth of the
    // scope's lists, a few allocations per doubling.
    let small = allocations_for(&rt, 1000);
    let large = allocations_for(&rt, 2000);
    let per_child = (large - small) as f64 / 1000.0;
    assert!(
        (3.0..3.05).contains(&per_child),
        "{per_child} allocations per parallel child ({small} for 1000, {large} for 2000)"
    );
}
