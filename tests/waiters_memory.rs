//! A waiter that gives up leaves nothing with the job it waited for: short-
//! lived children that await a long-lived `Deferred` (or join it, or
//! `join_all` it) under a timeout, one after another, keep the heap flat
//! however many have come and gone. Each used to leave its waker in the
//! job's list of waiters, and with it its own job record (about 230 bytes)
//! until the long-lived job completed.
//!
//! This binary counts every allocation (`stats_alloc` as the global
//! allocator) and holds a single test, so that nothing else runs while it
//! measures.

use std::alloc::System;
use std::time::Duration;

use scopes::{Deferred, coroutine_scope, delay, join_all, with_timeout_or_none};
use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};
use tokio::sync::Semaphore;

#[global_allocator]
static ALLOCATOR: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Bytes allocated and not yet freed.
fn live_bytes() -> isize {
    let stats = ALLOCATOR.stats();
    stats.bytes_allocated as isize - stats.bytes_deallocated as isize
}

/// How a child waits for the long-lived one.
#[derive(Clone, Copy, Debug)]
enum Waiting {
    Await,
    Join,
    JoinAll,
}

/// Children that give up waiting, one after another.
const CHILDREN: usize = 10_000;

/// At most this many children are alive at once.
const ALIVE: usize = 100;

/// Live heap growth, per child, once `CHILDREN` children have waited for a
/// long-lived `Deferred` for 1 ms and given up (while it still runs).
async fn kept_per_child(waiting: Waiting) -> isize {
    let places = Semaphore::new(ALIVE);
    let places = &places;
    coroutine_scope(|s| {
        Box::pin(async move {
            let long_lived: Deferred<'_, u64> = s.r#async(async {
                delay(Duration::from_secs(3600)).await?;
                Ok(1)
            });
            let mut before = None;
            for n in 0..CHILDREN {
                if n == ALIVE {
                    // The scope's own buffers have grown to their size.
                    before = Some(live_bytes());
                }
                let place = places.acquire().await.expect("open");
                let waited = long_lived.clone();
                s.launch(async move {
                    let _place = place;
                    let timeout = Duration::from_millis(1);
                    let gave_up = match waiting {
                        Waiting::Await => with_timeout_or_none(timeout, waited).await?.is_none(),
                        Waiting::Join => with_timeout_or_none(timeout, waited.join())
                            .await?
                            .is_none(),
                        Waiting::JoinAll => with_timeout_or_none(timeout, join_all([waited.job()]))
                            .await?
                            .is_none(),
                    };
                    assert!(gave_up, "the long-lived child still runs");
                    Ok(())
                });
            }
            delay(Duration::from_millis(2)).await?; // the last ones gave up
            let kept = live_bytes() - before.expect("more children than alive at once");
            long_lived.job().cancel();
            Ok(kept / (CHILDREN - ALIVE) as isize)
        })
    })
    .await
    .expect("the scope")
}

#[tokio::test(start_paused = true)]
async fn a_waiter_that_gives_up_leaves_nothing_with_the_job_it_waited_for() {
    for waiting in [Waiting::Await, Waiting::Join, Waiting::JoinAll] {
        let kept = kept_per_child(waiting).await;
        println!("{waiting:?}: {kept} bytes kept per child");
        assert!(
            kept <= 4,
            "{waiting:?}: {kept} bytes kept per child that gave up waiting"
        );
    }
}
