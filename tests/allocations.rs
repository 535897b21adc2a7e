//! What common operations allocate, counted (`stats_alloc` as the global
//! allocator): the difference between 1,000 and 2,000 of them in a row,
//! so that what is allocated once (a scope, the runtime, buffers a list
//! grows into) drops out. Each count is what the operation needs; the
//! comments say what used to be more.
//!
//! One test in this binary, on one thread, so that nothing else allocates
//! while it counts.

use std::alloc::System;
use std::time::Duration;

use scopes::{channel, coroutine_scope, delay, with_timeout, yield_now};
use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};

#[global_allocator]
static ALLOCATOR: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// The operations counted.
#[derive(Clone, Copy, Debug)]
enum Op {
    /// Items through a channel of `capacity` from `senders` children to
    /// the body: nothing per item. A receive that let a waiting sender in
    /// allocated a list for the one waker it wakes (0.5 per item at
    /// capacity 0 and 1).
    ChannelItem { capacity: usize, senders: usize },
    /// A `with_timeout` whose work completes at once, or yields first: its
    /// job record. It also recorded on that job the unit of work its work
    /// runs in (2 per timeout).
    Timeout { suspends: bool },
    /// A `with_timeout` that fires: its job record, the job's cold part
    /// (which keeps the cancellation), the timeout's error and the
    /// cancellation (two blocks each). The error was made twice and the
    /// cancellation copied it (9).
    TimeoutFires,
    /// An empty scope entered in a child: the body's box (the caller's),
    /// the driver, the part its handles share, its job record, its queue
    /// and its registry entry. The registry's table was freed and made
    /// again when the scope was the only one (6.98).
    Scope,
    /// A scope entered in a child whose body starts twenty children, each
    /// yielding once: the empty scope's six, one per child (its future's
    /// box: its job record is one the thread let go of, emptied, when an
    /// earlier child ended; two per child before), and seven parts a scope
    /// makes once it has
    /// children: its children's part, the start list, two chunks of the
    /// slot slab, the registry's two lists (changes not yet made, the
    /// children `debug::dump` shows) and the cold part of the host job
    /// that holds the scope's attachment. The start list grows three times
    /// as children are started one by one. The registry's two lists grew
    /// one step at a time too (eight reallocations in all), though their
    /// size is known when the started children are adopted.
    ScopeOfTwenty,
    /// An `async` child awaited by the body while it runs: its future's
    /// box, its value's slot and the job's cold part, which holds the
    /// waiter; its job record is one the thread let go of when an earlier
    /// child ended (4 before). The lone waiter took a list of its own (5).
    AwaitedAsync,
}

/// Allocations and reallocations made by `n` operations `op` in a row,
/// in one scope.
fn allocations_for(rt: &tokio::runtime::Runtime, op: Op, n: usize) -> (usize, usize) {
    rt.block_on(coroutine_scope(|s| {
        Box::pin(async move {
            let before = ALLOCATOR.stats();
            match op {
                Op::ChannelItem { capacity, senders } => {
                    let (tx, rx) = channel::<usize>(capacity);
                    for _ in 0..senders {
                        let tx = tx.clone();
                        s.launch(async move {
                            for i in 0..n {
                                tx.send(i).await?;
                            }
                            Ok(())
                        });
                    }
                    drop(tx);
                    let mut received = 0;
                    while rx.recv().await?.is_some() {
                        received += 1;
                    }
                    assert_eq!(received, senders * n);
                }
                Op::Timeout { suspends } => {
                    for i in 0..n {
                        let work = async move {
                            if suspends {
                                yield_now().await?;
                            }
                            Ok(i)
                        };
                        assert_eq!(with_timeout(Duration::from_secs(10), work).await?, i);
                    }
                }
                Op::TimeoutFires => {
                    for _ in 0..n {
                        let work = delay(Duration::from_secs(20));
                        let fired = with_timeout(Duration::from_secs(10), work).await;
                        assert!(fired.unwrap_err().is_timeout());
                    }
                }
                Op::Scope => {
                    for i in 0..n {
                        let got = coroutine_scope(|_| Box::pin(async move { Ok(i) })).await?;
                        assert_eq!(got, i);
                    }
                }
                Op::ScopeOfTwenty => {
                    for _ in 0..n {
                        coroutine_scope(|s| {
                            Box::pin(async move {
                                for _ in 0..20 {
                                    s.launch(async { yield_now().await });
                                }
                                Ok(())
                            })
                        })
                        .await?;
                    }
                }
                Op::AwaitedAsync => {
                    for i in 0..n {
                        let d = s.r#async(async move {
                            yield_now().await?;
                            Ok(i)
                        });
                        assert_eq!(d.await?, i);
                    }
                }
            }
            let after = ALLOCATOR.stats();
            Ok((
                after.allocations - before.allocations,
                after.reallocations - before.reallocations,
            ))
        })
    }))
    .unwrap()
}

/// The fewest allocations and reallocations of three runs. The allocator
/// counts the whole process, and something besides the operation
/// allocates now and then (once in ten runs of this test, a channel run
/// of 1,000 items counted 4 allocations more than the others): what
/// others add is never less than nothing, so the fewest is the operation's.
fn fewest(run: impl Fn() -> (usize, usize)) -> (usize, usize) {
    let runs = [run(), run(), run()];
    let allocations = runs.iter().map(|&(made, _)| made).min();
    let reallocations = runs.iter().map(|&(_, grown)| grown).min();
    (allocations.unwrap(), reallocations.unwrap())
}

#[test]
fn common_operations_allocate_only_what_they_need() {
    // Paused clock: deadlines pass at once.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    // (operation, allocations each, reallocations each)
    let channel = |capacity, senders| Op::ChannelItem { capacity, senders };
    let cases = [
        (channel(0, 1), 0.0, 0.0),
        (channel(1, 1), 0.0, 0.0),
        (channel(64, 1), 0.0, 0.0),
        (channel(0, 100), 0.0, 0.0),
        (channel(1, 100), 0.0, 0.0),
        (channel(64, 100), 0.0, 0.0),
        (Op::Timeout { suspends: false }, 1.0, 0.0),
        (Op::Timeout { suspends: true }, 1.0, 0.0),
        (Op::TimeoutFires, 6.0, 0.0),
        (Op::Scope, 6.0, 0.0),
        (Op::ScopeOfTwenty, 33.0, 3.0),
        (Op::AwaitedAsync, 3.0, 0.0),
    ];
    for (op, allocations, reallocations) in cases {
        allocations_for(&rt, op, 100); // warm up
        let small = fewest(|| allocations_for(&rt, op, 1_000));
        let large = fewest(|| allocations_for(&rt, op, 2_000));
        let senders = match op {
            Op::ChannelItem { senders, .. } => senders as f64,
            _ => 1.0,
        };
        let per_op = |count: fn((usize, usize)) -> usize| {
            (count(large) as f64 - count(small) as f64) / 1_000.0 / senders
        };
        let made = per_op(|(allocations, _)| allocations);
        let grown = per_op(|(_, reallocations)| reallocations);
        assert!(
            (allocations..allocations + 0.01).contains(&made)
                && (reallocations..reallocations + 0.01).contains(&grown),
            "{op:?}: {made} allocations and {grown} reallocations each, \
             {allocations} and {reallocations} expected \
             ({small:?} for 1,000, {large:?} for 2,000)"
        );
    }
}
