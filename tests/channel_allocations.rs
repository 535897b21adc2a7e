//! What a channel allocates per item: nothing, once its lists have grown,
//! whether the receiver takes items from the buffer, lets a waiting sender
//! in, or is handed them by a sender that finds it waiting. A receive that
//! let a waiting sender in used to allocate a list for the one waker it
//! wakes (an allocation per item, where tokio's `mpsc` makes none).
//!
//! This binary counts every allocation (`stats_alloc` as the global
//! allocator) and holds a single test, so that nothing else runs while it
//! counts.

use std::alloc::System;

use scopes::{channel, coroutine_scope};
use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};

#[global_allocator]
static ALLOCATOR: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Allocations made while `senders` children send `items` items each
/// through a channel of `capacity` to one receiving child.
fn allocations_for(
    rt: &tokio::runtime::Runtime,
    capacity: usize,
    senders: usize,
    items: usize,
) -> usize {
    rt.block_on(async {
        let before = ALLOCATOR.stats().allocations;
        coroutine_scope(|s| {
            Box::pin(async move {
                let (tx, rx) = channel::<usize>(capacity);
                for _ in 0..senders {
                    let tx = tx.clone();
                    s.launch(async move {
                        for i in 0..items {
                            tx.send(i).await?;
                        }
                        Ok(())
                    });
                }
                drop(tx);
                s.launch(async move {
                    let mut received = 0;
                    while rx.recv().await?.is_some() {
                        received += 1;
                    }
                    assert_eq!(received, senders * items);
                    Ok(())
                });
                Ok(())
            })
        })
        .await
        .unwrap();
        ALLOCATOR.stats().allocations - before
    })
}

#[test]
fn a_channel_allocates_nothing_per_item() {
    // One thread: nothing else allocates meanwhile.
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    // Capacity 0 (every item handed over), 1 and 64, one sender and 100
    // senders (which wait in line for room).
    for (capacity, senders) in [(0, 1), (1, 1), (64, 1), (0, 100), (1, 100), (64, 100)] {
        allocations_for(&rt, capacity, senders, 100); // warm up
        let small = allocations_for(&rt, capacity, senders, 1_000);
        let large = allocations_for(&rt, capacity, senders, 2_000);
        let items = (senders * 1_000) as f64;
        let per_item = (large as f64 - small as f64) / items;
        assert!(
            per_item < 0.01,
            "capacity {capacity}, {senders} senders: {per_item} allocations per item \
             ({small} for 1,000 items per sender, {large} for 2,000)"
        );
    }
}
