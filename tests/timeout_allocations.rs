//! What a `with_timeout` allocates: its job record, nothing else, whether
//! its work completes at once or suspends first. It used to record on
//! that job the unit of work its work runs in, a second allocation. One
//! that fires adds its error and the cancellation it brings its work: six
//! allocations in all (nine before: the error was made twice, and the
//! cancellation copied it).
//!
//! This binary counts every allocation (`stats_alloc` as the global
//! allocator) and holds a single test, so that nothing else runs while it
//! counts.

use std::alloc::System;
use std::time::Duration;

use scopes::{coroutine_scope, delay, with_timeout, yield_now};
use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};

#[global_allocator]
static ALLOCATOR: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// How the timed work goes.
#[derive(Clone, Copy, Debug)]
enum Work {
    /// Completes at its first poll.
    AtOnce,
    /// Yields once, then completes.
    Suspends,
    /// Outlasts the deadline, which fires.
    TimesOut,
}

/// Allocations made by `n` timeouts in a row in one child.
fn allocations_for(rt: &tokio::runtime::Runtime, n: usize, work: Work) -> usize {
    rt.block_on(async {
        coroutine_scope(|s| {
            Box::pin(async move {
                let counted = s.r#async(async move {
                    let before = ALLOCATOR.stats().allocations;
                    for i in 0..n {
                        let got = with_timeout(Duration::from_secs(10), async move {
                            match work {
                                Work::AtOnce => {}
                                Work::Suspends => yield_now().await?,
                                Work::TimesOut => delay(Duration::from_secs(20)).await?,
                            }
                            Ok(i)
                        })
                        .await;
                        match work {
                            Work::TimesOut => assert!(got.unwrap_err().is_timeout()),
                            _ => assert_eq!(got?, i),
                        }
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
fn a_timeout_allocates_its_job_record_and_once_fired_its_error_and_cancellation() {
    // One thread: nothing else allocates meanwhile. Paused clock: the
    // deadlines pass at once.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    for (work, expected) in [
        (Work::AtOnce, 1.0),
        (Work::Suspends, 1.0),
        (Work::TimesOut, 6.0),
    ] {
        allocations_for(&rt, 100, work); // warm up
        let small = allocations_for(&rt, 1_000, work);
        let large = allocations_for(&rt, 2_000, work);
        let per_timeout = (large as f64 - small as f64) / 1_000.0;
        assert!(
            (expected..expected + 0.01).contains(&per_timeout),
            "{work:?}: {per_timeout} allocations per timeout, {expected} expected \
             ({small} for 1,000 timeouts, {large} for 2,000)"
        );
    }
}
