//! Conformance tests for sentence combinations of SPEC §2b, §2c, §3 and §3b
//! that `tests/rules.rs` does not cover: a rule in a nested scope, in a
//! supervisor, in a lazy or parallel child, inside `with_timeout`, after a
//! cancel, with a panic instead of an `Err`, at the same virtual instant as
//! another event. The cases in `rules_extra/cases.rs` and
//! `rules_extra/deadline_order.rs` (dispatch order around deadlines) run on
//! both kinds of scope (`send::`, `local::`); `send_only::` and `dsl::` hold for plain
//! scopes (and the DSL's `local` option). All on tokio's paused clock with
//! exact virtual times, except the two multi-thread `Send` checks.

use std::time::Duration;

use scopes_workspace::{recording, timed};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[path = "rules_extra/local.rs"]
mod local;
#[path = "rules_extra/send.rs"]
mod send;

/// Tests that hold for plain scopes only.
mod send_only {
    use std::time::Duration;

    use futures_util::StreamExt;
    use scopes::{
        Error, Result, as_completed, await_all, cancel_on, coroutine_scope, delay, first_success,
        join_all, non_cancellable, race, supervisor_scope, with_timeout, with_timeout_or_none,
        yield_now,
    };

    use crate::{ms, timed};

    fn assert_send<T: Send>(t: T) -> T {
        t
    }

    /// R13: a scope whose body holds the combinators, a channel, a producer,
    /// timeouts and `cancel_on` across awaits is still `Send`, and runs in
    /// `tokio::spawn` on the multi-thread runtime.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn r13_a_scope_using_every_composition_is_send_and_spawnable() {
        let fut = assert_send(supervisor_scope(|s| {
            Box::pin(async move {
                let ds: Vec<_> = (0..3u64).map(|i| s.r#async(async move { Ok(i) })).collect();
                let all = await_all(ds).await?;
                let a = s.r#async(async { Ok(1u64) });
                let b = s.r#async(async { Ok(2u64) });
                let won = race([a, b]).await?;
                let c = s.r#async(async { Err::<u64, _>(Error::msg("no")) });
                let d = s.r#async(async { Ok(5u64) });
                let ok = first_success([c, d]).await?;
                let e = s.launch(async { yield_now().await });
                join_all([&e]).await?;
                let f = s.r#async(async { Ok(7u64) });
                let mut stream = as_completed([f]);
                let (_, seven) = stream.next().await.unwrap();
                let rx = s.produce(1, |tx| async move { tx.send(11u64).await });
                let eleven = rx.recv().await?.unwrap_or(0);
                let t = with_timeout(ms(100), async { Ok(13u64) }).await?;
                let n = with_timeout_or_none(ms(100), async { Ok(17u64) }).await?;
                let c = cancel_on(std::future::pending::<()>(), async { Ok(19u64) }).await?;
                let nc = non_cancellable(async { 23u64 }).await;
                Ok(all.iter().sum::<u64>()
                    + won
                    + ok
                    + seven?
                    + eleven
                    + t
                    + n.unwrap_or(0)
                    + c.unwrap_or(0)
                    + nc)
            })
        }));
        let total = tokio::spawn(fut).await.unwrap().unwrap();
        assert_eq!(total, 3 + 1 + 5 + 7 + 11 + 13 + 17 + 19 + 23);
    }

    /// R13 with `parallel` children on the multi-thread runtime: a failure
    /// on a worker fails the scope and cancels a sibling on another worker.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn r13_a_parallel_failure_cancels_a_parallel_sibling() {
        let result: Result<()> = tokio::spawn(coroutine_scope(|s| {
            Box::pin(async move {
                let sibling = s.child().async_parallel(async {
                    let r = delay(Duration::from_secs(3600)).await;
                    Ok(r.is_err())
                });
                s.child()
                    .launch_parallel(async { Err(Error::msg("remote")) });
                let cancelled = sibling.await;
                assert!(cancelled.is_err());
                Ok(())
            })
        }))
        .await
        .unwrap();
        assert_eq!(result.unwrap_err().to_string(), "remote");
    }

    /// R12 for the DSL block forms: a `with_timeout` block times out at the
    /// exact virtual deadline and cancels the children started in it.
    #[tokio::test(start_paused = true)]
    async fn r9_the_with_timeout_block_form_cancels_its_children() {
        use scopes::prelude::*;
        let log = scopes_workspace::Log::default();
        let log = &log;
        let (result, took) = timed(async {
            coroutine_scope! {
                let r = with_timeout(Duration::from_millis(30)) {
                    launch {
                        let r = delay(Duration::from_secs(60)).await;
                        non_cancellable(delay(Duration::from_millis(5))).await?;
                        log.push("block child cleaned up");
                        r?
                    }
                    delay(Duration::from_secs(60)).await?;
                    Ok(1)
                };
                Ok(r.unwrap_err().is_timeout())
            }
        })
        .await;
        assert!(result.unwrap());
        assert_eq!(took, Duration::from_millis(35));
        assert_eq!(log.take(), ["block child cleaned up"]);
    }
}

/// The rules through the DSL (plain and `local` scopes).
mod dsl {
    use std::cell::RefCell;
    use std::rc::Rc;
    use std::time::Duration;

    use scopes::prelude::*;
    use scopes_workspace::Log;

    use crate::{ms, recording, timed};

    /// §3b: an unnamed DSL child is named `file:line:col` of its `launch` /
    /// `async` token; a failure remembers it.
    #[tokio::test(start_paused = true)]
    async fn an_unnamed_dsl_child_is_named_after_its_launch_token() {
        let result: Result<()> = coroutine_scope! {
            let (j, line) = (launch { Ok(()) }, line!());
            assert_eq!(j.name(), format!("{}:{line}:30", file!()));
            let (bad, line) = (async { Err::<(), _>(Error::msg("x")) }, line!());
            assert_eq!(bad.name(), format!("{}:{line}:32", file!()));
            Ok(())
        };
        let err = result.unwrap_err();
        assert!(err.child_name().unwrap().ends_with(":32"), "{err:?}");
    }

    /// R8 with the block form: children started in a `non_cancellable`
    /// block of a cancelled child run to the end.
    #[tokio::test(start_paused = true)]
    async fn children_of_a_non_cancellable_block_in_a_cancelled_child_run_to_the_end() {
        let log = Log::default();
        let log = &log;
        let (result, took) = timed(async {
            coroutine_scope! {
                let job = launch {
                    let r = delay(Duration::from_secs(60)).await;
                    non_cancellable {
                        launch {
                            delay(Duration::from_millis(20)).await?;
                            log.push("block child finished");
                        }
                        delay(Duration::from_millis(10)).await?;
                        log.push("block body finished");
                    }?;
                    r?
                };
                delay(Duration::from_millis(5)).await?;
                job.cancel();
                Ok(())
            }
        })
        .await;
        result.unwrap();
        assert_eq!(took, ms(25));
        assert_eq!(log.take(), ["block body finished", "block child finished"]);
    }

    /// R2 through the DSL with a panic: a `launch` body is a scope of its
    /// own, so a grandchild's panic fails the outer scope at once, while
    /// the child's other child still cleans up.
    #[tokio::test(start_paused = true)]
    async fn a_grandchild_panic_fails_the_dsl_scope_at_once() {
        scopes_workspace::quiet_panics_starting_with("extra dsl: grandchild");
        let log = Log::default();
        let log = &log;
        let start = tokio::time::Instant::now();
        let result: Result<()> = coroutine_scope! {
            launch {
                launch {
                    delay(Duration::from_millis(1)).await?;
                    panic!("extra dsl: grandchild");
                }
                launch {
                    let r = delay(Duration::from_secs(60)).await;
                    non_cancellable(delay(Duration::from_millis(100))).await?;
                    r?
                }
            }
            launch {
                let r = delay(Duration::from_secs(60)).await;
                log.push(format!("sibling at {:?}", start.elapsed()));
                r?
            }
            Ok(())
        };
        let err = result.unwrap_err();
        assert!(err.is_panic());
        assert_eq!(log.take(), ["sibling at 1ms"]);
        assert_eq!(start.elapsed(), ms(101));
    }

    #[supervised(limit = 1)]
    async fn supervised_with_a_limit(log: &Log) -> scopes::Result<&'static str> {
        launch! {
            delay(Duration::from_millis(10)).await?;
            Err(Error::msg("first failed"))
        };
        launch! {
            delay(Duration::from_millis(10)).await?;
            log.push("second ran after the first");
        };
        Ok("body")
    }

    /// R4 + §2b on an annotated fn: `#[supervised(limit = 1)]` runs one
    /// child at a time, the failure goes to the handler, the result is the
    /// body's.
    #[tokio::test(start_paused = true)]
    async fn supervised_fn_with_a_limit_reports_and_goes_on() {
        let log = Log::default();
        let handled = Log::default();
        let (result, took) = timed(with_exception_handler(
            recording(&handled),
            supervised_with_a_limit(&log),
        ))
        .await;
        assert_eq!(result.unwrap(), "body");
        assert_eq!(took, ms(20));
        assert_eq!(log.take(), ["second ran after the first"]);
        assert_eq!(handled.take(), ["handler: first failed"]);
    }

    /// §2d with options combined: a local scope with a limit runs `Rc`
    /// children one at a time, in start order.
    #[tokio::test(start_paused = true)]
    async fn local_and_limit_combine_in_the_dsl() {
        let seen = Rc::new(RefCell::new(Vec::new()));
        let (result, took) = timed(async {
            coroutine_scope!(local, limit = 1;
                for i in 0..3u64 {
                    let seen = seen.clone();
                    launch {
                        delay(Duration::from_millis(10)).await?;
                        seen.borrow_mut().push(i);
                    }
                }
                Ok(())
            )
        })
        .await;
        result.unwrap();
        assert_eq!(took, ms(30));
        assert_eq!(*seen.borrow(), [0, 1, 2]);
    }

    /// R11 through the DSL: `async(start = lazy)` forgotten does not hang
    /// the scope; one awaited runs then.
    #[tokio::test(start_paused = true)]
    async fn lazy_dsl_children_run_when_awaited_and_forgotten_ones_never() {
        let log = Log::default();
        let log = &log;
        let (result, took) = timed(async {
            coroutine_scope! {
                let _forgotten = async(start = lazy) {
                    log.push("forgotten ran");
                    Ok(0)
                };
                let used = async(start = lazy, name = "used") {
                    delay(Duration::from_millis(10)).await?;
                    log.push("used ran");
                    Ok(2)
                };
                assert_eq!(used.name(), "used");
                used.await
            }
        })
        .await;
        assert_eq!(result.unwrap(), 2);
        assert_eq!(took, ms(10));
        assert_eq!(log.take(), ["used ran"]);
    }
}
