//! The scope macros: where children may start (statements, `let`, loops,
//! `if`, `match`, blocks), child bodies as scopes of their own, `?` in
//! every body, captures and borrows. Paused clock: elapsed times are exact.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use scopes::prelude::*;
use scopes_workspace::Log;
use tokio::time::Instant;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[tokio::test(start_paused = true)]
async fn scope_evaluates_to_the_body_result() {
    let n: Result<u32> = coroutine_scope! { Ok(42) };
    assert_eq!(n.unwrap(), 42);
    let e: Result<u32> = supervisor_scope! { Err(Error::msg("body failed")) };
    assert_eq!(e.unwrap_err().to_string(), "body failed");
}

/// A scope block that ends without a value means `Ok(())`, as a `launch`
/// body does: once its children have completed. One that returns stays
/// as it is.
/// A body (of a scope or of a `launch`) ending in an `if`/`else` or a
/// `match` whose branches each start a child means `Ok(())` too: a child
/// form last in a branch is a statement there, with no value.
#[tokio::test(start_paused = true)]
async fn a_body_ending_in_branches_that_each_start_a_child_means_ok_after_it() {
    for pick in [0u8, 1, 2] {
        let log = Log::default();
        let log = &log;
        let result: Result<()> = coroutine_scope! {
            if pick == 0 {
                launch { log.push("if"); }
            } else {
                launch(name = "else") {
                    match pick {
                        1 => launch { log.push("one"); },
                        _ => launch! { log.push("other"); },
                    }
                }
            }
        };
        result.unwrap();
        let expected = ["if", "one", "other"][usize::from(pick)];
        assert_eq!(log.take(), [expected]);
    }
}

#[tokio::test(start_paused = true)]
async fn scope_block_ending_without_a_value_means_ok_after_its_children() {
    let log = Log::default();
    let log = &log;
    let start = Instant::now();
    let result: Result<()> = coroutine_scope! {
        launch {
            delay(ms(10)).await?;
            log.push("child");
        };
        log.push("body");
    };
    result.unwrap();
    assert_eq!(log.take(), ["body", "child"]);
    assert_eq!(start.elapsed(), ms(10));

    let returned: Result<u32> = supervisor_scope! {
        let a = async { Ok(5) };
        return a.await;
    };
    assert_eq!(returned.unwrap(), 5);
}

#[tokio::test(start_paused = true)]
async fn spec_example_fails_with_the_first_failure() {
    async fn compute() -> Result<String> {
        coroutine_scope! {
            let color = async { delay(Duration::from_secs(60)).await?; Ok("purple") };
            let height = async { delay(ms(100)).await?; Err::<f64, _>(Error::msg("http")) };
            Ok(format!("A {} box {:.1} inches tall", color.await?, height.await?))
        }
    }
    let start = Instant::now();
    assert_eq!(compute().await.unwrap_err().to_string(), "http");
    assert_eq!(start.elapsed(), ms(100));
}

#[tokio::test(start_paused = true)]
async fn body_borrows_outer_locals_like_a_block() {
    let names = ["a".to_owned(), "b".to_owned()];
    let mut total = 0;
    let joined = coroutine_scope! {
        total += names.len();
        Ok(names.join(","))
    }
    .unwrap();
    // Not moved into the scope: still usable, and the body's write is seen.
    assert_eq!(names.len(), 2);
    assert_eq!(total, 2);
    assert_eq!(joined, "a,b");
}

#[tokio::test(start_paused = true)]
async fn children_start_in_statements_lets_loops_ifs_matches_and_blocks() {
    let log = Log::default();
    let log = &log;
    let mode = Some(2);
    coroutine_scope! {
        launch { log.push("statement"); }
        let job = launch { log.push("let"); };
        for i in 0..2 {
            launch { log.push(format!("loop {i}")); }
        }
        if mode.is_some() {
            launch { log.push("if"); }
        } else {
            launch { log.push("else"); }
        }
        match mode {
            Some(n) => launch { log.push(format!("match {n}")); },
            None => launch { log.push("none"); },
        };
        {
            launch { log.push("block"); }
        }
        let d = async { Ok(7) };
        log.push("body");
        job.join().await?;
        assert_eq!(d.await?, 7);
        Ok(())
    }
    .unwrap();
    // Children first run when the body suspends, in start order (R14).
    assert_eq!(
        log.take(),
        [
            "body",
            "statement",
            "let",
            "loop 0",
            "loop 1",
            "if",
            "match 2",
            "block"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn children_capture_by_value() {
    let log = Log::default();
    let log = &log;
    let ids = vec![1, 2, 3];
    coroutine_scope! {
        for id in ids {
            launch {
                delay(ms(10 * id)).await?;
                log.push(format!("done {id}"));
            }
        }
        Ok(())
    }
    .unwrap();
    assert_eq!(log.take(), ["done 1", "done 2", "done 3"]);
}

#[tokio::test(start_paused = true)]
async fn a_child_body_is_a_scope_of_its_own() {
    let log = Log::default();
    let log = &log;
    let start = Instant::now();
    coroutine_scope! {
        let parent = launch {
            launch { delay(ms(100)).await?; log.push("grandchild"); }
            log.push("child body done");
        };
        // The child completes only when its own children have.
        parent.join().await?;
        log.push(format!("joined at {:?}", start.elapsed()));
        let sum = async {
            let a = async { delay(ms(50)).await?; Ok(1) };
            let b = async { Ok(2) };
            Ok(a.await? + b.await?)
        };
        assert_eq!(sum.await?, 3);
        Ok(())
    }
    .unwrap();
    assert_eq!(
        log.take(),
        ["child body done", "grandchild", "joined at 100ms"]
    );
    assert_eq!(start.elapsed(), ms(150));
}

#[tokio::test(start_paused = true)]
async fn a_failing_grandchild_fails_its_child_and_the_scope() {
    let start = Instant::now();
    let result: Result<()> = coroutine_scope! {
        launch {
            launch { delay(ms(10)).await?; Err(Error::msg("grandchild")) }
            delay(Duration::from_secs(3600)).await?;
        }
        delay(Duration::from_secs(3600)).await?;
        Ok(())
    };
    assert_eq!(result.unwrap_err().to_string(), "grandchild");
    assert_eq!(start.elapsed(), ms(10));
}

#[tokio::test(start_paused = true)]
async fn question_mark_works_in_every_body() {
    fn parse(s: &str) -> std::result::Result<u32, std::num::ParseIntError> {
        s.parse()
    }
    let sum = coroutine_scope! {
        let a = async { Ok(parse("1")?) };
        let job = launch {
            let _ = parse("2")?;
            launch { parse("3")?; }
        };
        job.join().await?;
        let n = parse("4")?;
        Ok(a.await? + n)
    }
    .unwrap();
    assert_eq!(sum, 5);

    let failed: Result<u32> = coroutine_scope! {
        let a = async { Ok(parse("x")?) };
        a.await
    };
    assert_eq!(
        failed.unwrap_err().to_string(),
        "invalid digit found in string"
    );
}

#[tokio::test(start_paused = true)]
async fn launch_body_without_a_tail_means_ok() {
    let log = Log::default();
    let log = &log;
    let flag = true;
    coroutine_scope! {
        launch { log.push("semicolon"); }
        launch { for i in 0..1 { log.push(format!("for {i}")); } }
        launch { if flag { log.push("if"); } }
        launch { if flag { log.push("if/else"); } else { log.push("never"); } }
        launch { println!("a println! tail is fine") }
        launch { let _unused = 1; }
        launch { }
        launch {
            if flag {
                return Ok(());
            }
            log.push("never");
        }
        launch { delay(ms(1)).await }
        Ok(())
    }
    .unwrap();
    assert_eq!(log.take(), ["semicolon", "for 0", "if", "if/else"]);
}

#[tokio::test(start_paused = true)]
async fn children_may_borrow_what_outlives_the_scope() {
    let hits = AtomicUsize::new(0);
    let hits = &hits;
    let text = String::from("shared");
    let text = &text;
    coroutine_scope! {
        for _ in 0..3 {
            launch { hits.fetch_add(text.len(), Ordering::Relaxed); }
        }
        Ok(())
    }
    .unwrap();
    assert_eq!(hits.load(Ordering::Relaxed), 18);
}

#[tokio::test(start_paused = true)]
async fn supervisor_scope_keeps_siblings_running() {
    let log = Log::default();
    let handled = Log::default();
    let h = handled.clone();
    let start = Instant::now();
    let log2 = &log;
    let result = with_exception_handler(move |e: &Error| h.push(e.to_string()), async move {
        supervisor_scope! {
            launch { Err(Error::msg("A failed")) }
            launch { delay(Duration::from_secs(1)).await?; log2.push("B printed"); }
            let bad = async { Err::<u32, _>(Error::msg("bad")) };
            assert_eq!(bad.await.unwrap_err().to_string(), "bad");
            Ok("body result")
        }
    })
    .await;
    assert_eq!(result.unwrap(), "body result");
    assert_eq!(log.take(), ["B printed"]);
    assert_eq!(handled.take(), ["A failed"]);
    assert_eq!(start.elapsed(), Duration::from_secs(1));
}

#[tokio::test(start_paused = true)]
async fn nested_scope_macros_expand_themselves() {
    let log = Log::default();
    let log = &log;
    let n = coroutine_scope! {
        launch { log.push("outer child"); }
        let inner = supervisor_scope! {
            launch { Err(Error::msg("ignored by the supervisor")) }
            let x = async { Ok(20) };
            Ok(x.await? + 1)
        };
        let nested_in_child = async {
            coroutine_scope! {
                let y = async { Ok(21) };
                y.await
            }
        };
        Ok(inner.unwrap_or(0) + nested_in_child.await?)
    };
    assert_eq!(n.unwrap(), 42);
    assert_eq!(log.take(), ["outer child"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dsl_future_is_send_and_spawnable() {
    async fn work(ids: Vec<u32>) -> Result<u32> {
        coroutine_scope! {
            let mut deferreds = Vec::new();
            for id in ids {
                deferreds.push(async { yield_now().await?; Ok(id * 2) });
            }
            let mut sum = 0;
            for d in deferreds {
                sum += d.await?;
            }
            Ok(sum)
        }
    }
    let handle = tokio::spawn(work(vec![1, 2, 3]));
    assert_eq!(handle.await.unwrap().unwrap(), 12);
}

#[tokio::test(start_paused = true)]
async fn jobs_can_be_cancelled_and_joined() {
    let log = Log::default();
    let log = &log;
    let start = Instant::now();
    coroutine_scope! {
        let job = launch {
            match delay(Duration::from_secs(10)).await {
                Err(e) if e.is_cancellation() => { log.push("cancelled"); }
                _ => { log.push("finished"); }
            }
        };
        delay(ms(5)).await?;
        job.cancel();
        job.join().await?;
        assert!(job.is_cancelled());
        Ok(())
    }
    .unwrap();
    assert_eq!(log.take(), ["cancelled"]);
    assert_eq!(start.elapsed(), ms(5));
}

#[tokio::test(start_paused = true)]
async fn a_user_variable_named_scope_is_not_the_handle() {
    let scope = "mine";
    let n = coroutine_scope! {
        let d = async { Ok(scope.len()) };
        let scope = 10;
        let e = async { Ok(scope) };
        Ok(d.await? + e.await?)
    };
    assert_eq!(n.unwrap(), 14);
}

/// A `launch` body is a scope of its own, as in Kotlin, so a job whose
/// child failed is Cancelling while its other children and its own body
/// clean up (Kotlin's JobStatesTest.testFailed): its handle and the code
/// inside it agree.
#[tokio::test(start_paused = true)]
async fn a_job_whose_child_failed_is_cancelling_until_its_cleanup_ends() {
    let log = Log::default();
    let log = &log;
    let outcome: Result<()> = with_exception_handler(|_: &Error| {}, async {
        supervisor_scope! {
            let job = launch {
                launch {
                    let waited = delay(ms(3_600_000)).await;
                    non_cancellable { delay(ms(100)).await?; }?;
                    waited?;
                };
                launch { yield_now().await?; Err(Error::msg("boom"))?; };
                let _ = delay(ms(3_600_000)).await;
                log.push(format!("inside: active {}", is_active()));
                non_cancellable { delay(ms(100)).await?; }?;
            };
            delay(ms(50)).await?;
            log.push(format!(
                "outside: active {} cancelled {} completed {}",
                job.is_active(), job.is_cancelled(), job.is_completed()
            ));
            job.join().await?;
            log.push(format!(
                "joined: active {} cancelled {} completed {}",
                job.is_active(), job.is_cancelled(), job.is_completed()
            ));
            Ok(())
        }
    })
    .await;
    outcome.unwrap();
    assert_eq!(
        log.take(),
        [
            "inside: active false",
            "outside: active false cancelled true completed false",
            "joined: active false cancelled true completed true",
        ]
    );
}

/// Kotlin's `JobSupport.cancelParent`: a child whose own child failed
/// fails its scope at once, while its other children still clean up: the
/// sibling and the body are cancelled at 1 ms, not at 101 ms, and the
/// failure that comes back carries what the child's scope suppressed.
#[tokio::test(start_paused = true)]
async fn a_child_s_child_failure_fails_the_outer_scope_at_once() {
    let log = Log::default();
    let log = &log;
    let start = Instant::now();
    let failed: Result<()> = coroutine_scope! {
        launch {
            launch { delay(ms(1)).await?; Err(Error::msg("TestException"))?; };
            launch {
                if delay(ms(3_600_000)).await.is_err() {
                    non_cancellable { delay(ms(100)).await?; }?;
                    Err(Error::msg("cleanup failed"))?;
                }
            };
        };
        launch {
            if delay(ms(3_600_000)).await.is_err() {
                log.push(format!("sibling cancelled at {:?}", start.elapsed()));
            }
        };
        if delay(ms(2)).await.is_err() {
            log.push(format!("body cancelled at {:?}", start.elapsed()));
        }
        Ok(())
    };
    let failed = failed.unwrap_err();
    assert_eq!(failed.to_string(), "TestException");
    assert_eq!(start.elapsed(), ms(101));
    let suppressed: Vec<String> = failed.suppressed().iter().map(|e| e.to_string()).collect();
    assert_eq!(suppressed, ["cleanup failed"]);
    assert_eq!(
        log.take(),
        ["sibling cancelled at 1ms", "body cancelled at 1ms"]
    );
}

/// A scope opened by hand inside a child's code is Kotlin's
/// `coroutineScope`: the code may handle its error, so the child's scope
/// hears of a failure only if the child ends with it.
#[tokio::test(start_paused = true)]
async fn a_nested_scope_s_failure_the_child_handles_never_reaches_its_scope() {
    let start = Instant::now();
    let value: Result<&str> = coroutine_scope! {
        let recovered = async {
            let inner: Result<()> = coroutine_scope! {
                launch { delay(ms(1)).await?; Err(Error::msg("inner"))?; };
                launch {
                    if delay(ms(3_600_000)).await.is_err() {
                        non_cancellable { delay(ms(100)).await?; }?;
                    }
                };
                Ok(())
            };
            Ok(inner.is_err())
        };
        launch { delay(ms(50)).await?; };
        assert!(recovered.await?);
        Ok("fine")
    };
    assert_eq!(value.unwrap(), "fine");
    assert_eq!(start.elapsed(), ms(101));
}

/// Kotlin's JobNestedExceptionsTest.testChildThrowsDuringCompletion: a
/// child that failed early (its own child's failure) and then ended with
/// more suppressed is suppressed once, as it ended.
#[tokio::test(start_paused = true)]
async fn a_child_that_failed_early_is_suppressed_once_with_what_it_suppressed() {
    let forever = ms(3_600_000);
    let failed: Result<()> = coroutine_scope! {
        launch {
            launch {
                launch {
                    if delay(forever).await.is_err() {
                        non_cancellable { yield_now().await?; }?;
                        Err(Error::msg("NullPointerException"))?;
                    }
                };
                if delay(forever).await.is_err() {
                    Err(Error::msg("IOException"))?;
                }
            };
            yield_now().await?;
            yield_now().await?;
            Err(Error::msg("ArithmeticException"))?;
        };
        Ok(())
    };
    let failed = failed.unwrap_err();
    assert_eq!(failed.to_string(), "ArithmeticException");
    let suppressed = failed.suppressed();
    assert_eq!(suppressed.len(), 1, "{failed:?}");
    assert_eq!(suppressed[0].to_string(), "IOException");
    let inner: Vec<String> = suppressed[0]
        .suppressed()
        .iter()
        .map(|e| e.to_string())
        .collect();
    assert_eq!(inner, ["NullPointerException"]);
}

/// `return;` in a `launch` body returns `Ok(())`, as the body's end does
/// (a helper's finding: it was a type error spanning the whole scope).
#[tokio::test(start_paused = true)]
async fn return_in_a_launch_body_is_ok() {
    let log = Log::default();
    let log = &log;
    coroutine_scope! {
        for i in 0..3 {
            launch {
                if i == 1 {
                    return;
                }
                log.push(format!("child {i}"));
            }
        }
        Ok(())
    }
    .unwrap();
    assert_eq!(log.take(), ["child 0", "child 2"]);
}

/// A `match` written as a statement whose arms are bare child forms, and a
/// plain `async { }` child last in a loop's body: statements, their handles
/// dropped, as a `launch { }` last in a block is (found by a second
/// review; both were type errors).
#[tokio::test(start_paused = true)]
async fn bare_child_arms_and_trailing_async_children_are_statements() {
    let log = Log::default();
    let log = &log;
    coroutine_scope! {
        for x in 0..3 {
            match x {
                0 => launch { log.push("zero"); },
                _ => launch { log.push("other"); },
            }
        }
        for x in 0..2 {
            async {
                log.push(format!("async {x}"));
                Ok(())
            }
        }
        Ok(())
    }
    .unwrap();
    let mut got = log.take();
    got.sort();
    assert_eq!(got, ["async 0", "async 1", "other", "other", "zero"]);
}

/// A body whose tail diverges where the macros cannot see it (a call of a
/// fn returning `!`) raises no `unreachable_code` warning on the code the
/// macros add after it: a scope's body, an `async` and a `launch` child.
#[deny(unreachable_code)]
mod tails_that_never_return {
    use scopes::prelude::*;

    fn never() -> ! {
        panic!("never returns")
    }

    pub async fn scope_body() -> scopes::Result<u8> {
        coroutine_scope! { never() }
    }

    pub async fn async_child() -> scopes::Result<u8> {
        coroutine_scope! {
            let d = async { never() };
            d.await
        }
    }

    pub async fn launch_child() -> scopes::Result<()> {
        coroutine_scope! {
            launch { never() };
            Ok(())
        }
    }
}

#[test]
fn tails_that_never_return_compile_without_warnings() {
    // Compiling the module above under `deny(unreachable_code)` is the
    // test; the futures are only made.
    let _ = (
        tails_that_never_return::scope_body(),
        tails_that_never_return::async_child(),
        tails_that_never_return::launch_child(),
    );
}
