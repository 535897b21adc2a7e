//! Fan-out from closures and from other macros' inputs (SPEC §2a): a
//! non-`move` `async { }` in a closure in a scope body (or in a child body,
//! a scope of its own) starts a child each time the closure runs, so
//! `ids.iter().map(|id| async { .. })` is Kotlin's `ids.map { async { .. } }`;
//! in a macro whose input is a list of expressions (`vec![..]`,
//! `tokio::join!`, `format!`) it is a child too. `async move { }` stays a
//! plain future everywhere.

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

use scopes::prelude::*;
use scopes_workspace::Log;
use tokio::time::Instant;

async fn fetch(id: u32) -> Result<String> {
    delay(Duration::from_millis(100)).await?;
    Ok(format!("page {id}"))
}

#[tokio::test(start_paused = true)]
async fn map_to_async_blocks_starts_one_child_per_id_and_runs_them_at_once() {
    let ids = [1, 2, 3, 4, 5];
    let ids = &ids;
    let start = Instant::now();
    let pages = coroutine_scope! {
        let pages = ids.iter().map(|id| async { fetch(*id).await }).collect::<Vec<_>>();
        let mut out = Vec::new();
        for page in pages {
            out.push(page.await?);
        }
        Ok(out)
    }
    .unwrap();
    assert_eq!(pages, ["page 1", "page 2", "page 3", "page 4", "page 5"]);
    // Five 100 ms children at once: 100 ms, not 500.
    assert_eq!(start.elapsed(), Duration::from_millis(100));
}

#[tokio::test(start_paused = true)]
async fn await_all_of_a_mapped_iterator_runs_the_children_concurrently() {
    let start = Instant::now();
    let pages = coroutine_scope! {
        await_all((1..=5).map(|id| async { fetch(id).await })).await
    }
    .unwrap();
    assert_eq!(pages.len(), 5);
    assert_eq!(pages[4], "page 5");
    assert_eq!(start.elapsed(), Duration::from_millis(100));
}

#[tokio::test(start_paused = true)]
async fn children_of_a_closure_start_each_time_it_is_called_and_belong_to_the_scope() {
    let log = Log::default();
    let log = &log;
    let start = Instant::now();
    coroutine_scope! {
        let spawn_refresh = |id: u32| launch {
            delay(Duration::from_millis(10 * u64::from(id))).await?;
            log.push(format!("refreshed {id}"));
        };
        let first = spawn_refresh(3);
        spawn_refresh(1);
        log.push("body done");
        assert!(first.is_active());
        Ok(())
    }
    .unwrap();
    // The scope waited for both children the closure started.
    assert_eq!(log.take(), ["body done", "refreshed 1", "refreshed 3"]);
    assert_eq!(start.elapsed(), Duration::from_millis(30));
}

#[tokio::test(start_paused = true)]
async fn a_failing_child_of_a_closure_fails_the_scope_and_cancels_its_siblings() {
    let log = Log::default();
    let log = &log;
    let start = Instant::now();
    let result = coroutine_scope! {
        let ds: Vec<_> = (0..4u64)
            .map(|i| async {
                if let Err(cancelled) = delay(Duration::from_millis(10 * (i + 1))).await {
                    log.push(format!("{i} cancelled"));
                    return Err(cancelled);
                }
                log.push(format!("{i} done"));
                if i == 1 { Err(Error::msg("fetch 1 failed")) } else { Ok(i) }
            })
            .collect();
        await_all(ds).await
    };
    assert_eq!(result.unwrap_err().to_string(), "fetch 1 failed");
    assert_eq!(
        log.take(),
        ["0 done", "1 done", "2 cancelled", "3 cancelled"]
    );
    assert_eq!(start.elapsed(), Duration::from_millis(20));
}

#[tokio::test(start_paused = true)]
async fn a_move_closure_starting_children_leaves_the_scope_usable() {
    let start = Instant::now();
    let total = coroutine_scope! {
        let factor = 10;
        let ds: Vec<_> = (1..=3u64)
            .map(move |i| async {
                delay(Duration::from_millis(10 * i)).await?;
                Ok(i * factor)
            })
            .collect();
        let after = async { Ok(100) }; // the body still starts children
        Ok(await_all(ds).await?.into_iter().sum::<u64>() + after.await?)
    };
    assert_eq!(total.unwrap(), 160);
    assert_eq!(start.elapsed(), Duration::from_millis(30));
}

#[tokio::test(start_paused = true)]
async fn an_async_move_block_in_a_closure_stays_a_plain_future() {
    let start = Instant::now();
    let pages = coroutine_scope! {
        // Plain futures, awaited one after the other: 300 ms.
        let futures: Vec<_> = (1..=3).map(|id| async move { fetch(id).await }).collect();
        let mut out = Vec::new();
        for fut in futures {
            out.push(fut.await?);
        }
        Ok(out)
    }
    .unwrap();
    assert_eq!(pages.len(), 3);
    assert_eq!(start.elapsed(), Duration::from_millis(300));
}

#[tokio::test(start_paused = true)]
async fn closures_in_a_child_body_start_children_of_that_child() {
    let log = Log::default();
    let log = &log;
    let start = Instant::now();
    coroutine_scope! {
        let parent = async {
            let parts = (1..=3).map(|id| async { fetch(id).await }).collect::<Vec<_>>();
            Ok(await_all(parts).await?.join(", "))
        };
        let joined = parent.await?;
        log.push(joined);
        Ok(())
    }
    .unwrap();
    assert_eq!(log.take(), ["page 1, page 2, page 3"]);
    assert_eq!(start.elapsed(), Duration::from_millis(100));
}

#[tokio::test(start_paused = true)]
async fn in_a_supervisor_scope_a_closure_child_failure_cancels_nobody() {
    let start = Instant::now();
    let outcomes = supervisor_scope! {
        let ds: Vec<_> = (0..3u64)
            .map(|i| async {
                delay(Duration::from_millis(10 * (i + 1))).await?;
                if i == 0 { Err(Error::msg("first failed")) } else { Ok(i) }
            })
            .collect();
        let mut outcomes = Vec::new();
        for d in ds {
            outcomes.push(d.await.map_err(|e| e.to_string()));
        }
        Ok(outcomes)
    }
    .unwrap();
    assert_eq!(outcomes, [Err("first failed".to_owned()), Ok(1), Ok(2)]);
    assert_eq!(start.elapsed(), Duration::from_millis(30));
}

#[scoped]
async fn fetch_all(ids: &[u32]) -> Result<Vec<String>> {
    let pages: Vec<_> = ids.iter().map(|&id| async { fetch(id).await }).collect();
    await_all(pages).await
}

#[supervised]
async fn refresh_all(ids: &[u32], done: &AtomicUsize) -> Result<()> {
    ids.iter().for_each(|id| {
        launch! {
            delay(Duration::from_millis(u64::from(*id))).await?;
            done.fetch_add(1, SeqCst);
        }
    });
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn closures_in_annotated_fns_start_children_too() {
    let start = Instant::now();
    let pages = fetch_all(&[7, 8]).await.unwrap();
    assert_eq!(pages, ["page 7", "page 8"]);
    assert_eq!(start.elapsed(), Duration::from_millis(100));

    let done = AtomicUsize::new(0);
    refresh_all(&[5, 20, 10], &done).await.unwrap();
    assert_eq!(done.load(SeqCst), 3);
    assert_eq!(start.elapsed(), Duration::from_millis(120));
}

#[tokio::test(start_paused = true)]
async fn async_blocks_in_vec_are_children() {
    let start = Instant::now();
    let pages = coroutine_scope! {
        let mirrors = vec![async { fetch(1).await }, async { fetch(2).await }];
        await_all(mirrors).await
    }
    .unwrap();
    assert_eq!(pages, ["page 1", "page 2"]);
    assert_eq!(start.elapsed(), Duration::from_millis(100));
}

#[tokio::test(start_paused = true)]
#[allow(clippy::useless_vec, reason = "the test is about `vec!`'s input")]
async fn a_single_async_block_in_vec_is_a_child_that_runs_unawaited() {
    let log = Log::default();
    let log = &log;
    coroutine_scope! {
        let _one = vec![async { log.push("child ran"); Ok(()) }];
        yield_now().await?;
        log.push("body after yield");
        Ok(())
    }
    .unwrap();
    assert_eq!(log.take(), ["child ran", "body after yield"]);
}

#[tokio::test(start_paused = true)]
async fn async_blocks_in_tokio_join_and_format_are_children() {
    let start = Instant::now();
    let text = coroutine_scope! {
        let (a, b) = tokio::join!(async { fetch(1).await }, async { fetch(2).await });
        let c = format!("{} {}", a?, b?);
        let race_winner = race(vec![
            async { delay(Duration::from_millis(50)).await?; Ok("fast") },
            async { delay(Duration::from_secs(5)).await?; Ok("slow") },
        ])
        .await?;
        Ok(format!("{c} {race_winner}"))
    }
    .unwrap();
    assert_eq!(text, "page 1 page 2 fast");
    assert_eq!(start.elapsed(), Duration::from_millis(150));
}

#[tokio::test(start_paused = true)]
#[allow(clippy::useless_vec, reason = "the test is about `vec!`'s input")]
async fn a_launch_in_a_macro_of_expressions_is_a_child() {
    let log = Log::default();
    let log = &log;
    coroutine_scope! {
        let jobs = vec![launch { log.push("a"); }, launch!(name = "b"; log.push("b");)];
        assert_eq!(jobs[1].name(), "b");
        join_all(jobs.iter()).await?;
        Ok(())
    }
    .unwrap();
    assert_eq!(log.take(), ["a", "b"]);
}

/// A user fetched after 100 ms of virtual time.
async fn fetch_user(id: u32) -> Result<String> {
    tokio::time::sleep(Duration::from_millis(100)).await;
    Ok(format!("user {id}"))
}

/// The README tour's `fetch_users`, verbatim.
#[scoped(limit = 4)] // at most 4 children run at once, the rest wait in order
async fn fetch_users(ids: &[u32]) -> scopes::Result<Vec<String>> {
    // A child per id (Kotlin's `ids.map { async { .. } }.awaitAll()`): values in
    // input order; the first failure fails the call and cancels the others.
    await_all(ids.iter().map(|id| async { fetch_user(*id).await })).await
}

#[tokio::test(start_paused = true)]
async fn the_readme_tours_fan_out_runs_four_at_a_time_in_input_order() {
    let start = tokio::time::Instant::now();
    let users = fetch_users(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]).await.unwrap();
    assert_eq!(users.len(), 10);
    assert_eq!(users[0], "user 1");
    assert_eq!(users[9], "user 10");
    // Ten children, four at a time: three rounds of 100 ms.
    assert_eq!(start.elapsed(), Duration::from_millis(300));
}

// A child form last in a block gives the block's value where that value is
// used (SPEC §2: `launch { }` yields a `Job`, `async { }` a `Deferred`): a
// closure's body, an `if` giving a value. Where the block's value is
// dropped (a loop's body) it stays a statement. Found by a helper writing
// the named fan-out a user would.

#[tokio::test(start_paused = true)]
async fn a_closure_whose_body_ends_in_an_async_with_options_fans_out() {
    let start = Instant::now();
    let pages = coroutine_scope! {
        let pages = [1u32, 2, 3].iter().map(|id| {
            let id = *id;
            async(name = format!("fetch {id}")) { fetch(id).await }
        });
        await_all(pages).await
    }
    .unwrap();
    assert_eq!(pages, ["page 1", "page 2", "page 3"]);
    assert_eq!(start.elapsed(), Duration::from_millis(100));
}

#[tokio::test(start_paused = true)]
async fn a_closure_whose_body_ends_in_a_launch_gives_its_job() {
    let log = Log::default();
    let log = &log;
    coroutine_scope! {
        let jobs: Vec<Job> = [1u32, 2]
            .iter()
            .map(|id| {
                let id = *id;
                launch { log.push(format!("job {id}")); }
            })
            .collect();
        join_all(jobs).await
    }
    .unwrap();
    assert_eq!(log.take(), ["job 1", "job 2"]);
}

#[tokio::test(start_paused = true)]
async fn an_if_giving_a_value_gives_the_child_its_branch_ends_in() {
    for (fast, expected) in [(true, 1), (false, 2)] {
        let got = coroutine_scope! {
            let d = if fast { async(name = "fast") { Ok(1) } } else { async { Ok(2) } };
            d.await
        };
        assert_eq!(got.unwrap(), expected);
    }
}

#[tokio::test(start_paused = true)]
async fn a_child_form_last_in_a_loop_body_or_a_statement_if_is_a_statement() {
    let log = Log::default();
    let log = &log;
    coroutine_scope! {
        for id in 0..2 {
            if id == 0 {
                launch { log.push("first"); }
            } else {
                launch { log.push("second"); }
            }
        }
        if log.take().is_empty() {
            launch { log.push("third"); }
        }
        Ok(())
    }
    .unwrap();
    assert_eq!(log.take(), ["first", "second", "third"]);
}

/// Where a closure must give `()` (a callback, `and_modify`, `-> ()`), or
/// an `if`/`match` mixes branches giving `()` with branches ending in a
/// child form, a child form last in it stays a statement: these compiled
/// before the fan-out change above and still do (found by a review).
#[tokio::test(start_paused = true)]
async fn closures_that_give_unit_keep_a_trailing_child_a_statement() {
    let count = AtomicUsize::new(0);
    let count = &count;
    coroutine_scope! {
        let callback: Box<dyn Fn(usize) + Send + '_> =
            Box::new(|x| { launch { count.fetch_add(x, SeqCst); } });
        callback(1);
        let mut map = std::collections::HashMap::new();
        map.insert(1, 0);
        map.entry(1).and_modify(|_| { launch { count.fetch_add(10, SeqCst); } });
        let typed = |x: usize| -> () { launch { count.fetch_add(x, SeqCst); } };
        typed(100);
        let mixed = |c: bool| { if c { launch { count.fetch_add(1000, SeqCst); } } else { count.fetch_add(0, SeqCst); } };
        mixed(true);
        let chain = |c: u8| {
            if c == 1 {
                launch { count.fetch_add(10_000, SeqCst); }
            } else if c == 2 {
                launch { count.fetch_add(20_000, SeqCst); }
            }
        };
        chain(1);
        let arms = |c: u8| match c {
            0 => {}
            1 => { launch { count.fetch_add(100_000, SeqCst); } }
            _ => { count.fetch_add(0, SeqCst); }
        };
        arms(1);
        Ok(())
    }
    .unwrap();
    assert_eq!(count.load(SeqCst), 111_111);
}

/// A closure declared `-> Job<'_>` gives its trailing child's handle; a
/// fan-out closure with a `return;` gives `()`; a labeled block left by a
/// `break 'label;` gives `()` (found by a second review).
#[tokio::test(start_paused = true)]
async fn declared_returns_early_returns_and_labeled_blocks_decide_the_value() {
    let count = AtomicUsize::new(0);
    let count = &count;
    let skip_first = true;
    coroutine_scope! {
        let spawn = |i: usize| -> Job<'_> { launch { count.fetch_add(i, SeqCst); } };
        spawn(1).join().await?;
        let started = (0..4)
            .map(|x| {
                if x == 0 && skip_first {
                    return;
                }
                launch { count.fetch_add(10, SeqCst); }
            })
            .count();
        assert_eq!(started, 4);
        let _unit: () = 'early: {
            if skip_first {
                break 'early;
            }
            launch { count.fetch_add(1000, SeqCst); }
        };
        Ok(())
    }
    .unwrap();
    assert_eq!(count.load(SeqCst), 31);
}
