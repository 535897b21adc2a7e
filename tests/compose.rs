//! SPEC §2b: composing handles — `await_all`, `join_all`, `race`,
//! `first_success`, `as_completed`, `Job::cancel_and_join`. Each: success,
//! first failure, a failure while others run, the caller cancelled while
//! waiting; for the races, that the losers are cancelled, their cleanup
//! has run and nothing outlives the call. Paused clock, exact times.

use std::time::Duration;

use futures_util::StreamExt;
use scopes::{
    Deferred, Error, Result, Scope, as_completed, await_all, coroutine_scope, delay, first_success,
    join_all, non_cancellable, race, supervisor_scope, yield_now,
};
use scopes_workspace::Log;
use tokio::time::Instant;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A child body: waits `after` ms, then gives `value` (or fails with
/// `fail`); logs its cleanup when cancelled, after a non-cancellable
/// `cleanup` ms.
async fn worker(
    log: &Log,
    name: &'static str,
    after: u64,
    outcome: std::result::Result<u64, &'static str>,
    cleanup: u64,
) -> Result<u64> {
    if let Err(cancelled) = delay(ms(after)).await {
        non_cancellable(delay(ms(cleanup))).await?;
        log.push(format!("{name} cleaned up at {}", now()));
        return Err(cancelled);
    }
    outcome.map_err(Error::msg)
}

/// Virtual milliseconds since the test began (its first call).
fn now() -> u128 {
    START.with(|s| s.elapsed().as_millis())
}

thread_local! {
    static START: Instant = Instant::now();
}

// ------------------------------------------------------------ await_all

#[tokio::test(start_paused = true)]
async fn await_all_gives_values_in_input_order() {
    let _ = now(); // times in the log count from here
    let start = Instant::now();
    let values = coroutine_scope(|s| {
        Box::pin(async move {
            let ds = [30, 10, 20].map(|t| {
                s.r#async(async move {
                    delay(ms(t)).await?;
                    Ok(t)
                })
            });
            await_all(ds).await
        })
    })
    .await
    .unwrap();
    assert_eq!(values, [30, 10, 20]);
    assert_eq!(start.elapsed(), ms(30));
}

#[tokio::test(start_paused = true)]
async fn await_all_of_nothing_is_empty() {
    let _ = now(); // times in the log count from here
    let values: Vec<u8> = coroutine_scope(|_s| Box::pin(async move { await_all([]).await }))
        .await
        .unwrap();
    assert!(values.is_empty());
}

#[tokio::test(start_paused = true)]
async fn await_all_fails_at_the_first_failure_in_completion_order() {
    let _ = now(); // times in the log count from here
    let start = Instant::now();
    let result = supervisor_scope(|s| {
        Box::pin(async move {
            let slow = s.r#async(async {
                delay(ms(300)).await?;
                Err::<u64, _>(Error::msg("slow failure"))
            });
            let fast = s.r#async(async {
                delay(ms(10)).await?;
                Err::<u64, _>(Error::msg("fast failure"))
            });
            let failed = await_all([slow, fast]).await.unwrap_err();
            assert_eq!(Instant::now() - start, ms(10), "not in list order");
            Ok(failed.to_string())
        })
    })
    .await
    .unwrap();
    assert_eq!(result, "fast failure");
    // The supervisor waited for the slow child, which nobody cancelled.
    assert_eq!(start.elapsed(), ms(300));
}

#[tokio::test(start_paused = true)]
async fn await_all_in_a_coroutine_scope_fails_the_scope_with_the_first_failure() {
    let _ = now(); // times in the log count from here
    let log = Log::default();
    let log = &log;
    let start = Instant::now();
    let err = coroutine_scope(|s| {
        Box::pin(async move {
            let a = s.r#async(worker(log, "a", 100, Ok(1), 5));
            let b = s.r#async(worker(log, "b", 10, Err("b failed"), 0));
            await_all([a, b]).await
        })
    })
    .await
    .unwrap_err();
    assert_eq!(err.to_string(), "b failed");
    // `a` was cancelled by the scope (R2), not by await_all, and cleaned up.
    assert_eq!(log.take(), ["a cleaned up at 15"]);
    assert_eq!(start.elapsed(), ms(15));
}

#[tokio::test(start_paused = true)]
async fn await_all_ends_with_the_callers_cancellation() {
    let _ = now(); // times in the log count from here
    let log = Log::default();
    let log = &log;
    let result = supervisor_scope(|s| {
        Box::pin(async move {
            let ds = [s.r#async(worker(log, "a", 1000, Ok(1), 0))];
            let waiter = s.launch(async move {
                let r = await_all(ds).await;
                log.push(format!(
                    "waiter: cancellation={} at {}",
                    r.unwrap_err().is_cancellation(),
                    now()
                ));
                Ok(())
            });
            delay(ms(50)).await?;
            waiter.cancel();
            Ok(())
        })
    })
    .await;
    result.unwrap();
    // The waiter is resumed with the cancellation; the child it waited for
    // is not cancelled by it and runs to its end.
    assert_eq!(log.take(), ["waiter: cancellation=true at 50"]);
}

// ------------------------------------------------------------- join_all

#[tokio::test(start_paused = true)]
async fn join_all_waits_for_every_job_whatever_its_outcome() {
    let _ = now(); // times in the log count from here
    let start = Instant::now();
    supervisor_scope(|s| {
        Box::pin(async move {
            let ok = s.launch(async { delay(ms(30)).await });
            let failed = s.r#async(async {
                delay(ms(10)).await?;
                Err::<(), _>(Error::msg("failed"))
            });
            let lazy = s
                .child()
                .start(scopes::Start::Lazy)
                .launch(async { delay(ms(20)).await });
            join_all([ok.clone(), failed.job().clone(), lazy.clone()]).await?;
            assert!(ok.is_completed() && failed.is_completed() && lazy.is_completed());
            // Kotlin's `joinAll` joins one job after the other, so the lazy
            // job starts when its turn comes, at 30 ms.
            assert_eq!(Instant::now() - start, ms(50));
            assert!(failed.await.is_err());
            Ok(())
        })
    })
    .await
    .unwrap();
}

#[tokio::test(start_paused = true)]
async fn join_all_fails_only_when_the_caller_is_cancelled() {
    let _ = now(); // times in the log count from here
    let log = Log::default();
    let log = &log;
    supervisor_scope(|s| {
        Box::pin(async move {
            let long = s.launch(async { delay(ms(1000)).await });
            let waited = long.clone();
            let joiner = s.launch(async move {
                let r = join_all([waited]).await;
                log.push(format!("joiner: {}", r.unwrap_err().is_cancellation()));
                Ok(())
            });
            yield_now().await?;
            joiner.cancel();
            joiner.join().await?;
            assert!(long.is_active());
            long.cancel();
            Ok(())
        })
    })
    .await
    .unwrap();
    assert_eq!(log.take(), ["joiner: true"]);
}

/// Kotlin's `joinAll` is a `join` of each job: in a cancelled job, a
/// completed job's `join` reports the cancellation, and no job means no
/// `join` and no check (kotlinx AwaitTest's `testJoinAllEmpty` shape, in a
/// cancelled job).
#[tokio::test(start_paused = true)]
async fn join_all_of_nothing_in_a_cancelled_job_is_ok_and_of_a_completed_job_is_the_cancellation() {
    let log = Log::default();
    let log = &log;
    coroutine_scope(|s| {
        Box::pin(async move {
            let done = s.launch(async { Ok(()) });
            let job = s.launch(async move {
                let cancelled = delay(ms(1000)).await.unwrap_err();
                let none: [scopes::Job<'_>; 0] = [];
                log.push(format!("nothing: {:?}", join_all(none).await.is_ok()));
                let one = join_all([&done]).await;
                log.push(format!("done: {}", one.unwrap_err().is_cancellation()));
                Err(cancelled)
            });
            yield_now().await?;
            job.cancel();
            Ok(())
        })
    })
    .await
    .unwrap();
    assert_eq!(log.take(), ["nothing: true", "done: true"]);
}

// ----------------------------------------------------------------- race

#[tokio::test(start_paused = true)]
async fn race_the_first_to_complete_wins_and_losers_are_cleaned_up_before_it_returns() {
    let _ = now(); // times in the log count from here
    let log = Log::default();
    let log = &log;
    let start = Instant::now();
    let winner = coroutine_scope(|s| {
        Box::pin(async move {
            let ds = [
                s.r#async(worker(log, "a", 50, Ok(50), 7)),
                s.r#async(worker(log, "b", 10, Ok(10), 0)),
                s.r#async(worker(log, "c", 30, Ok(30), 3)),
            ];
            let won = race(ds).await;
            log.push(format!("race returned at {}", now()));
            won
        })
    })
    .await
    .unwrap();
    assert_eq!(winner, 10);
    let log = log.take();
    // Losers were cancelled at 10 ms; race returned once both had cleaned up.
    assert!(log.contains(&"a cleaned up at 17".to_owned()), "{log:?}");
    assert!(log.contains(&"c cleaned up at 13".to_owned()), "{log:?}");
    assert_eq!(log.last().unwrap(), "race returned at 17");
    assert_eq!(start.elapsed(), ms(17));
}

#[tokio::test(start_paused = true)]
async fn race_a_failure_that_comes_first_decides() {
    let _ = now(); // times in the log count from here
    let log = Log::default();
    let log = &log;
    let err = supervisor_scope(|s| {
        Box::pin(async move {
            let ds = [
                s.r#async(worker(log, "slow", 100, Ok(1), 0)),
                s.r#async(worker(log, "bad", 5, Err("bad"), 0)),
            ];
            race(ds).await
        })
    })
    .await
    .unwrap_err();
    assert_eq!(err.to_string(), "bad");
    assert_eq!(log.take(), ["slow cleaned up at 5"]);
}

#[tokio::test(start_paused = true)]
async fn race_when_the_caller_is_cancelled_every_child_is_cancelled_and_waited_for() {
    let _ = now(); // times in the log count from here
    let log = Log::default();
    let log = &log;
    supervisor_scope(|s| {
        Box::pin(async move {
            let ds = [
                s.r#async(worker(log, "a", 1000, Ok(1), 4)),
                s.r#async(worker(log, "b", 1000, Ok(2), 2)),
            ];
            let racer = s.launch(async move {
                let r = race(ds).await;
                log.push(format!(
                    "racer: {} at {}",
                    r.unwrap_err().is_cancellation(),
                    now()
                ));
                Ok(())
            });
            delay(ms(20)).await?;
            racer.cancel();
            Ok(())
        })
    })
    .await
    .unwrap();
    assert_eq!(
        log.take(),
        [
            "b cleaned up at 22",
            "a cleaned up at 24",
            "racer: true at 24"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn race_of_no_children_is_an_error() {
    let _ = now(); // times in the log count from here
    let err = coroutine_scope(|_s| Box::pin(async move { race::<u8, _>([]).await }))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "`race` needs at least one child: it got none"
    );
}

#[tokio::test(start_paused = true)]
async fn first_success_of_no_children_is_an_error_that_names_it() {
    let err = coroutine_scope(|_s| Box::pin(async move { first_success::<u8, _>([]).await }))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "`first_success` needs at least one child: it got none"
    );
}

// -------------------------------------------------------- first_success

#[tokio::test(start_paused = true)]
async fn first_success_skips_failures_and_cleans_up_the_rest() {
    let _ = now(); // times in the log count from here
    let log = Log::default();
    let log = &log;
    let start = Instant::now();
    let value = supervisor_scope(|s| {
        Box::pin(async move {
            let ds = [
                s.r#async(worker(log, "down", 1, Err("down"), 0)),
                s.r#async(worker(log, "ok", 20, Ok(7), 0)),
                s.r#async(worker(log, "slow", 90, Ok(9), 5)),
            ];
            first_success(ds).await
        })
    })
    .await
    .unwrap();
    assert_eq!(value, 7);
    assert_eq!(log.take(), ["slow cleaned up at 25"]);
    assert_eq!(start.elapsed(), ms(25));
}

#[tokio::test(start_paused = true)]
async fn first_success_when_all_fail_gives_the_first_failure_with_the_others_suppressed() {
    let _ = now(); // times in the log count from here
    let log = Log::default();
    let log = &log;
    let err = supervisor_scope(|s| {
        Box::pin(async move {
            let ds = [
                s.r#async(worker(log, "a", 30, Err("a failed"), 0)),
                s.r#async(worker(log, "b", 10, Err("b failed"), 0)),
                s.r#async(worker(log, "c", 20, Err("c failed"), 0)),
            ];
            first_success(ds).await
        })
    })
    .await
    .unwrap_err();
    assert_eq!(err.to_string(), "b failed");
    let suppressed: Vec<String> = err.suppressed().iter().map(ToString::to_string).collect();
    assert_eq!(suppressed, ["c failed", "a failed"]);
}

#[tokio::test(start_paused = true)]
async fn first_success_when_the_caller_is_cancelled_waits_for_every_child() {
    let _ = now(); // times in the log count from here
    let log = Log::default();
    let log = &log;
    supervisor_scope(|s| {
        Box::pin(async move {
            let ds = [s.r#async(worker(log, "a", 1000, Ok(1), 3))];
            let caller = s.launch(async move {
                let r = first_success(ds).await;
                log.push(format!(
                    "caller: {} at {}",
                    r.unwrap_err().is_cancellation(),
                    now()
                ));
                Ok(())
            });
            delay(ms(10)).await?;
            caller.cancel();
            Ok(())
        })
    })
    .await
    .unwrap();
    assert_eq!(log.take(), ["a cleaned up at 13", "caller: true at 13"]);
}

// --------------------------------------------------------- as_completed

#[tokio::test(start_paused = true)]
async fn as_completed_gives_outcomes_in_completion_order() {
    let _ = now(); // times in the log count from here
    let seen = supervisor_scope(|s| {
        Box::pin(async move {
            let ds = [
                s.r#async(async {
                    delay(ms(30)).await?;
                    Ok(30)
                }),
                s.r#async(async {
                    delay(ms(10)).await?;
                    Err::<u64, _>(Error::msg("ten failed"))
                }),
                s.r#async(async {
                    delay(ms(20)).await?;
                    Ok(20)
                }),
            ];
            let mut stream = as_completed(ds);
            assert_eq!(futures_util::Stream::size_hint(&stream), (3, Some(3)));
            let mut seen = Vec::new();
            while let Some((index, outcome)) = stream.next().await {
                seen.push(format!(
                    "{index}: {}",
                    outcome.map_or_else(|e| e.to_string(), |v| v.to_string())
                ));
            }
            Ok(seen)
        })
    })
    .await
    .unwrap();
    assert_eq!(seen, ["1: ten failed", "2: 20", "0: 30"]);
}

#[tokio::test(start_paused = true)]
async fn as_completed_in_a_cancelled_job_gives_the_rest_at_once_then_ends() {
    let _ = now(); // times in the log count from here
    let log = Log::default();
    let log = &log;
    supervisor_scope(|s| {
        Box::pin(async move {
            let done = s.r#async(async { Ok(1) });
            yield_now().await?; // `done` completes
            let ds = [s.r#async(async { delay(ms(1000)).await.map(|()| 2) }), done];
            let reader = s.launch(async move {
                let mut stream = as_completed(ds);
                let mut items = Vec::new();
                while let Some((index, outcome)) = stream.next().await {
                    items.push(format!(
                        "{index}: {:?}",
                        outcome.map_err(|e| e.is_cancellation())
                    ));
                }
                log.push(items.join(", "));
                Ok(())
            });
            yield_now().await?;
            reader.cancel();
            Ok(())
        })
    })
    .await
    .unwrap();
    // The completed child still gives its value (R7: an outcome already
    // there is returned even in a cancelled job).
    assert_eq!(log.take(), ["1: Ok(1), 0: Err(true)"]);
}

// ------------------------------------------------------- cancel_and_join

#[tokio::test(start_paused = true)]
async fn cancel_and_join_returns_once_the_cleanup_has_run() {
    let _ = now(); // times in the log count from here
    let log = Log::default();
    let log = &log;
    coroutine_scope(|s| {
        Box::pin(async move {
            let job = s.r#async(worker(log, "job", 1000, Ok(1), 8));
            yield_now().await?;
            job.cancel_and_join().await?;
            log.push(format!("joined at {}", now()));
            assert!(job.is_cancelled() && job.is_completed());
            Ok(())
        })
    })
    .await
    .unwrap();
    assert_eq!(log.take(), ["job cleaned up at 8", "joined at 8"]);
}

/// A cancelled child is not a failure (docs/rules.md, Outcomes): when no
/// child succeeds, `first_success` returns the real failure, and does not
/// list the cancellation among the suppressed ones.
#[tokio::test(start_paused = true)]
async fn first_success_returns_the_real_failure_not_a_cancellation() {
    let failed = supervisor_scope(|s| {
        Box::pin(async move {
            let cancelled = s.r#async(async {
                delay(ms(100)).await?;
                Ok(1)
            });
            let failing = s.r#async(async {
                delay(ms(10)).await?;
                Err::<u32, _>(Error::msg("b"))
            });
            let late = s.r#async(async {
                delay(ms(100)).await?;
                Ok(3)
            });
            cancelled.cancel();
            let cancel_later = late.clone();
            s.launch(async move {
                delay(ms(20)).await?;
                cancel_later.cancel();
                Ok(())
            });
            first_success([cancelled, failing, late]).await
        })
    })
    .await
    .unwrap_err();
    assert_eq!(failed.to_string(), "b");
    assert!(!failed.is_cancellation());
    assert!(failed.suppressed().is_empty(), "{failed:?}");
}

// SPEC §2b orders by completion also what completed before the combinator
// looked: two children that both ended before the call, the second in the
// input first (found by a port of kotlinx's SelectDeferredTest; Kotlin's
// `select` is biased to the first clause, the SPEC decides completion order).

/// Two `async` children ending at 20 ms (`a`, first in the input) and
/// 10 ms (`b`); the caller looks at them at 30 ms, once both have ended.
async fn both_ended<'s, T: Send + 's>(
    s: &Scope<'s, '_>,
    a: Result<T>,
    b: Result<T>,
) -> Result<[Deferred<'s, T>; 2]> {
    let a = s.r#async(async move {
        delay(ms(20)).await?;
        a
    });
    let b = s.r#async(async move {
        delay(ms(10)).await?;
        b
    });
    delay(ms(30)).await?;
    Ok([a, b])
}

#[tokio::test(start_paused = true)]
async fn race_of_children_that_ended_before_it_is_won_by_the_first_to_complete() {
    let won = supervisor_scope(|s| {
        Box::pin(async move { race(both_ended(&s, Ok("a"), Ok("b")).await?).await })
    })
    .await;
    assert_eq!(won.unwrap(), "b");
}

#[tokio::test(start_paused = true)]
async fn await_all_of_children_that_failed_before_it_fails_with_the_first_to_fail() {
    let failed = supervisor_scope(|s| {
        Box::pin(async move {
            let ds = both_ended::<()>(&s, Err(Error::msg("a")), Err(Error::msg("b"))).await?;
            await_all(ds).await
        })
    })
    .await;
    assert_eq!(failed.unwrap_err().to_string(), "b");
}

#[tokio::test(start_paused = true)]
async fn as_completed_of_children_that_ended_before_it_yields_them_in_completion_order() {
    let order = supervisor_scope(|s| {
        Box::pin(async move {
            let ds = both_ended(&s, Ok(1), Ok(2)).await?;
            Ok(as_completed(ds)
                .map(|(index, _)| index)
                .collect::<Vec<_>>()
                .await)
        })
    })
    .await;
    assert_eq!(order.unwrap(), [1, 0]);
}

#[tokio::test(start_paused = true)]
async fn first_success_of_children_that_all_failed_before_it_fails_with_the_first_to_fail() {
    let failed = supervisor_scope(|s| {
        Box::pin(async move {
            let ds = both_ended::<()>(&s, Err(Error::msg("a")), Err(Error::msg("b"))).await?;
            first_success(ds).await
        })
    })
    .await
    .unwrap_err();
    assert_eq!(failed.to_string(), "b");
    assert_eq!(failed.suppressed().len(), 1);
    assert_eq!(failed.suppressed()[0].to_string(), "a");
}

/// SPEC §2a: a `Deferred` works with the futures ecosystem's `select!`, which
/// takes only fused futures: a handle is terminated once it gave its
/// outcome, so a loop of `select!`s takes each child once, in completion
/// order (found by a helper's DSL conformance hunt).
#[tokio::test(start_paused = true)]
async fn futures_select_takes_deferreds_in_a_loop_each_once() {
    let order = coroutine_scope(|s| {
        Box::pin(async move {
            let mut slow = s.r#async(async {
                delay(ms(20)).await?;
                Ok("slow")
            });
            let mut fast = s.r#async(async {
                delay(ms(10)).await?;
                Ok("fast")
            });
            let mut order = Vec::new();
            for _ in 0..2 {
                futures_util::select! {
                    value = slow => order.push(value?),
                    value = fast => order.push(value?),
                }
            }
            Ok(order)
        })
    })
    .await;
    assert_eq!(order.unwrap(), ["fast", "slow"]);
}
