//! SPEC §6 W7: heap bytes per live nested scope. SPEC's targets are ≤ 300
//! for an empty nested scope whose body waits and ≤ 600 with one waiting
//! child (child included); the engine does not meet them yet (docs/performance-history.md:
//! 783 B and 1,002 B measured here in the twelfth session,
//! from 4,552 B and 5,072 B before the tree engine and 1,156 B and
//! 1,509 B at the start of the fourth). This test pins what is measured, with room, so
//! that the cost of a scope cannot grow unnoticed.
//!
//! This binary counts every allocation (`stats_alloc` as the global
//! allocator) and holds a single test, so that nothing else runs while it
//! measures. The shape is `benches/tree_alloc.rs`'s: 10,000 children of one
//! outer scope each enter a nested scope and wait on a gate that keeps its
//! wakers in a vector reserved in advance (waiting allocates nothing); the
//! live heap while all wait, minus before, ÷ 10,000. What the outer scope
//! keeps per child is included.

use std::alloc::System;
use std::future::Future;
use std::sync::Arc;

use scopes::coroutine_scope;
use scopes_workspace::Gate;
use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};

#[global_allocator]
static ALLOCATOR: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Bytes allocated and not yet freed.
fn live_bytes() -> i64 {
    let stats = ALLOCATOR.stats();
    stats.bytes_allocated as i64 - stats.bytes_deallocated as i64
}

const SCOPES: usize = 10_000;
/// Measured 784 B, debug and release (SPEC target: 300).
const EMPTY_LIMIT: f64 = 830.0;
/// Measured 1,002 B, debug and release (SPEC target: 600), twelfth
/// session: 1,058 B before, 962 B once a scope whose body has returned
/// gave back the list its children were adopted from, and 40 B more once
/// the outer root no longer took its FIFO's room from the root measured
/// before it (the room for 10,000 entries is now counted, as it should be).
const ONE_CHILD_LIMIT: f64 = 1050.0;

/// A nested scope whose body waits.
async fn empty(gate: Arc<Gate>) -> scopes::Result<()> {
    coroutine_scope(move |_s| Box::pin(gate.wait())).await
}

/// A nested scope with one child that waits.
async fn one_waiting_child(gate: Arc<Gate>) -> scopes::Result<()> {
    coroutine_scope(move |s| {
        Box::pin(async move {
            s.launch(gate.wait());
            Ok(())
        })
    })
    .await
}

/// Heap bytes per child of one outer scope, `n` children made by `child`
/// all waiting. The outer scope runs in a spawned task.
async fn bytes_per_nested_scope<F, Fut>(n: usize, child: F) -> f64
where
    F: Fn(Arc<Gate>) -> Fut + Send + 'static,
    Fut: Future<Output = scopes::Result<()>> + Send + 'static,
{
    let gate = Gate::new(n);
    let shared = gate.clone();
    let before = live_bytes();
    let outer = tokio::spawn(coroutine_scope(move |s| {
        Box::pin(async move {
            for _ in 0..n {
                s.launch(child(shared.clone()));
            }
            Ok(())
        })
    }));
    while gate.waiting() < n {
        tokio::task::yield_now().await;
    }
    let live = live_bytes() - before;
    gate.open();
    outer
        .await
        .expect("outer scope panicked")
        .expect("scope failed");
    assert_eq!(gate.passed(), n as u64);
    live as f64 / n as f64
}

#[tokio::test]
async fn w7_heap_per_live_nested_scope_stays_within_the_measured_bound() {
    // One-time set-up (thread locals, tracing call sites) is not counted.
    bytes_per_nested_scope(100, empty).await;
    bytes_per_nested_scope(100, one_waiting_child).await;

    let empty = bytes_per_nested_scope(SCOPES, empty).await;
    let one_child = bytes_per_nested_scope(SCOPES, one_waiting_child).await;
    println!("empty nested scope: {empty:.1} B; with one waiting child: {one_child:.1} B");
    assert!(
        empty <= EMPTY_LIMIT,
        "an empty nested scope whose body waits holds {empty:.1} B, more than {EMPTY_LIMIT}"
    );
    assert!(
        one_child <= ONE_CHILD_LIMIT,
        "a nested scope with one waiting child holds {one_child:.1} B, more than {ONE_CHILD_LIMIT}"
    );
}
