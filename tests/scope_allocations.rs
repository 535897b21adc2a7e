//! What a scope entered inside a child allocates, entered again and again
//! (a `#[scoped]` fn called once per request): the same each time. The
//! registry's table of live scopes used to be freed whenever its last
//! scope left and allocated again by the next one (almost one allocation
//! more per scope: 6.98 for an empty scope, 6 now).
//!
//! This binary counts every allocation (`stats_alloc` as the global
//! allocator) and holds a single test, so that nothing else runs while it
//! counts.

use std::alloc::System;

use scopes::coroutine_scope;
use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};

#[global_allocator]
static ALLOCATOR: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Allocations made by `n` empty scopes entered one after another in one
/// child.
fn allocations_for(rt: &tokio::runtime::Runtime, n: usize) -> usize {
    rt.block_on(async {
        coroutine_scope(|s| {
            Box::pin(async move {
                let counted = s.r#async(async move {
                    let before = ALLOCATOR.stats().allocations;
                    for i in 0..n {
                        let got = coroutine_scope(|_| Box::pin(async move { Ok(i) })).await?;
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
fn a_scope_entered_again_and_again_allocates_its_six_parts_each_time() {
    // One thread: nothing else allocates meanwhile.
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    allocations_for(&rt, 100); // warm up
    let small = allocations_for(&rt, 1_000);
    let large = allocations_for(&rt, 2_000);
    let per_scope = (large as f64 - small as f64) / 1_000.0;
    // Its body's box (the caller's), its driver, the part its handles
    // share, its job record, its queue and its registry entry.
    assert!(
        (6.0..6.01).contains(&per_scope),
        "{per_scope} allocations per scope ({small} for 1,000 scopes, {large} for 2,000)"
    );
}
