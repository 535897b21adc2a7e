//! A burst does not leave its buffers behind: after 100k children started
//! from another thread, or 100k wakes in one poll, a scope that goes on
//! running keeps only its child slots (which stay at their high-water mark,
//! by design) and its `debug::dump` list, not the burst's queues; after a
//! burst in a nested scope that has ended, its root keeps nothing of it.
//! And a scope dropped with a wake of a nested scope queued leaves nothing.
//!
//! This binary counts every allocation (`stats_alloc` as the global
//! allocator) and holds a single test, so that nothing else runs while it
//! measures.

use std::alloc::System;
use std::time::Duration;

use scopes::{delay, supervisor_scope, yield_now};
use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};
use tokio::sync::Notify;

#[global_allocator]
static ALLOCATOR: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Bytes allocated and not yet freed.
fn live_bytes() -> isize {
    let stats = ALLOCATOR.stats();
    stats.bytes_allocated as isize - stats.bytes_deallocated as isize
}

const BURST: usize = 100_000;

/// What a scope may keep per child of a past burst: its slab slot (24
/// bytes) and its entry in the `debug::dump` list (8), plus growth slack.
const KEPT_PER_CHILD: isize = 40;

/// Bytes left allocated since `before`, per child of the burst.
fn kept_per_child(before: isize) -> isize {
    (live_bytes() - before) / BURST as isize
}

#[tokio::test(start_paused = true)]
async fn a_burst_of_starts_or_wakes_leaves_no_queue_behind() {
    // Children started from another thread: the scope adopts them from its
    // start list, whose buffer must not stay at the burst's size.
    let starts = supervisor_scope(|s| {
        Box::pin(async move {
            let before = live_bytes();
            let handle = s.clone();
            std::thread::scope(|t| {
                t.spawn(move || {
                    for _ in 0..BURST {
                        handle.launch(async { Ok(()) });
                    }
                });
            });
            delay(Duration::from_millis(1)).await?; // every child has ended
            yield_now().await?; // and the scope has polled since
            Ok(kept_per_child(before))
        })
    })
    .await
    .unwrap();
    assert!(
        starts <= KEPT_PER_CHILD,
        "{starts} bytes per child kept after a burst of starts"
    );

    // Wakes in one poll: the thread-local wake list grows to the burst's
    // size, and must not be kept.
    let notify = Notify::new();
    let wakes = supervisor_scope(|s| {
        let notify = &notify;
        Box::pin(async move {
            let before = live_bytes();
            for _ in 0..BURST {
                s.launch(async move {
                    notify.notified().await;
                    Ok(())
                });
            }
            yield_now().await?; // every child waits
            notify.notify_waiters(); // 100k wakes during one poll
            delay(Duration::from_millis(1)).await?;
            yield_now().await?;
            Ok(kept_per_child(before))
        })
    })
    .await
    .unwrap();
    assert!(
        wakes <= KEPT_PER_CHILD,
        "{wakes} bytes per child kept after a burst of wakes"
    );

    // Starts in a nested scope that has ended since: its children's first
    // entries reached the root as one group, whose list the root must not
    // keep (it did for a while: 20 bytes per child, 16 MB after a million).
    let nested = supervisor_scope(|s| {
        Box::pin(async move {
            let before = live_bytes();
            s.launch(scopes::coroutine_scope(|inner| {
                Box::pin(async move {
                    for _ in 0..BURST {
                        inner.launch(async { Ok(()) });
                    }
                    Ok(())
                })
            }));
            delay(Duration::from_millis(1)).await?; // the nested scope has ended
            yield_now().await?;
            Ok(kept_per_child(before))
        })
    })
    .await
    .unwrap();
    assert!(
        nested <= KEPT_BY_ROOT,
        "{nested} bytes per child of a nested scope kept after its burst of starts"
    );

    // A scope dropped as it loses a `select!` while a timer's wake of one
    // of its nested scopes waits in its queue (the timer fired in the same
    // tick): the entry held the nested scope's queue, which holds the
    // root's, and neither was ever freed (R10; 360 bytes per drop).
    let before = live_bytes();
    for _ in 0..DROPS {
        let deadline = tokio::time::sleep(Duration::from_millis(1));
        tokio::select! {
            biased;
            () = deadline => {}
            ended = handler_with_a_nested_timer() => panic!("the handler ended first: {ended:?}"),
        }
    }
    let kept = (live_bytes() - before) / DROPS as isize;
    assert!(
        kept <= KEPT_BY_ROOT,
        "{kept} bytes kept per scope dropped with a nested scope's wake queued"
    );
}

/// Scopes dropped while a wake of one of their nested scopes is queued.
const DROPS: usize = 1_000;

/// A scope with a slow child and a nested scope whose child's timer fires
/// with the deadline that drops it.
async fn handler_with_a_nested_timer() -> scopes::Result<()> {
    scopes::coroutine_scope(|s| {
        Box::pin(async move {
            s.launch(async { delay(Duration::from_millis(10)).await });
            scopes::coroutine_scope(|nested| {
                Box::pin(async move {
                    nested.launch(async { delay(Duration::from_millis(1)).await });
                    Ok(())
                })
            })
            .await
        })
    })
    .await
}

/// What a root may keep per child of a burst in a nested scope that has
/// ended: nothing of the burst's (growth slack only).
const KEPT_BY_ROOT: isize = 8;
