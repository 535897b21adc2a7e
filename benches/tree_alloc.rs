//! SPEC §6 W7: heap bytes per live nested scope, measured with a counting
//! global allocator (not RSS; a binary of its own so that the allocator does
//! not disturb the timing benches).
//!
//! One outer `coroutine_scope` (the body of a spawned task on a
//! `current_thread` runtime) holds 10,000 children, each of which enters a
//! nested `coroutine_scope`:
//!
//! - `empty`: the nested scope's body waits on a gate;
//! - `one_waiting_child`: the nested scope's body launches one child that
//!   waits on the gate, and returns (the scope stays live until the child
//!   ends);
//! - `plain_child` (reference, W4's shape): the outer scope's child waits on
//!   the gate itself, no nested scope.
//!
//! The number is the live heap once all 10,000 wait, minus the live heap
//! before the first child was started, ÷ 10,000: what the outer scope keeps
//! per child is included, and so is the nested scope's child. The gate keeps
//! its wakers in a vector reserved in advance (as in `alloc.rs`), so waiting
//! allocates nothing. Each shape is run once at 1,000 first so that one-time
//! set-up is not counted.
//!
//! Prints its table, leaves `<target>/bench-tree-w7.json` and rewrites
//! `<target>/bench-tree-report.md`. Run: `cargo bench -p scopes-benches --bench tree_alloc`.

mod support;

use std::alloc::System;
use std::future::Future;
use std::sync::Arc;

use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};

use scopes_workspace::Gate;
use support::Rt;

#[path = "support/tree_report.rs"]
mod tree_report;

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Bytes currently allocated (see `alloc.rs` on `bytes_reallocated`).
fn live_bytes() -> i64 {
    let s = GLOBAL.stats();
    s.bytes_allocated as i64 - s.bytes_deallocated as i64
}

/// The outer scope's child: a nested scope whose body waits.
async fn empty(gate: Arc<Gate>) -> scopes::Result<()> {
    scopes::coroutine_scope(move |_s| Box::pin(gate.wait())).await
}

/// The outer scope's child: a nested scope with one child that waits.
async fn one_waiting_child(gate: Arc<Gate>) -> scopes::Result<()> {
    scopes::coroutine_scope(move |s| {
        Box::pin(async move {
            s.launch(gate.wait());
            Ok(())
        })
    })
    .await
}

/// The outer scope's child: waits itself (no nested scope).
async fn plain_child(gate: Arc<Gate>) -> scopes::Result<()> {
    gate.wait().await
}

/// The outer scope, `n` children made by `child`.
async fn outer<F, Fut>(gate: Arc<Gate>, n: usize, child: F) -> u64
where
    F: Fn(Arc<Gate>) -> Fut + Send + 'static,
    Fut: Future<Output = scopes::Result<()>> + Send + 'static,
{
    let shared = gate.clone();
    scopes::coroutine_scope(move |s| {
        Box::pin(async move {
            for _ in 0..n {
                s.launch(child(shared.clone()));
            }
            Ok(())
        })
    })
    .await
    .expect("scope failed");
    gate.passed()
}

/// Heap bytes per child of the outer scope with `n` of them waiting.
fn bytes_per_child<F, Fut>(n: usize, child: F) -> f64
where
    F: Fn(Arc<Gate>) -> Fut + Send + 'static,
    Fut: Future<Output = scopes::Result<()>> + Send + 'static,
{
    let rt = Rt::CurrentThread.build();
    rt.block_on(async {
        let gate = Gate::new(n);
        let before = live_bytes();
        let task = tokio::spawn(outer(gate.clone(), n, child));
        while gate.waiting() < n {
            tokio::task::yield_now().await;
        }
        let live = live_bytes() - before;
        gate.open();
        let passed = task.await.expect("outer scope panicked");
        assert_eq!(passed, n as u64, "waiters not all through");
        live as f64 / n as f64
    })
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test -p scopes-benches --benches` does not: then
    // only check that every shape runs.
    let bench = std::env::args().any(|arg| arg == "--bench");
    let n = if bench { 10_000 } else { 1_000 };
    println!("W7: heap bytes per live nested scope, {n} children of one outer scope\n");
    println!("| child of the outer scope | bytes per child |");
    println!("|---|---|");
    let mut results = serde_json::Map::new();
    let mut measure = |key: &str, label: &str, f: &dyn Fn(usize) -> f64| {
        f(1_000); // one-time set-up, not counted
        let bytes = f(n);
        println!("| {label} | {bytes:.1} |");
        results.insert(key.to_string(), serde_json::json!(bytes));
    };
    measure("empty", "a nested scope whose body waits", &|n| {
        bytes_per_child(n, empty)
    });
    measure(
        "one_waiting_child",
        "a nested scope with one waiting child (child included)",
        &|n| bytes_per_child(n, one_waiting_child),
    );
    measure(
        "plain_child",
        "(reference) a plain waiting child, no nested scope",
        &|n| bytes_per_child(n, plain_child),
    );
    if bench {
        results.insert("n".to_string(), serde_json::json!(n));
        results.insert(
            "profile".to_string(),
            serde_json::json!(tree_report::profile()),
        );
        tree_report::save(&tree_report::w7_path(), &serde_json::Value::Object(results));
        tree_report::write();
    }
}
