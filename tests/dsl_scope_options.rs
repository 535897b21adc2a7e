//! Scope options in the DSL (SPEC §2b, §2d): `coroutine_scope!(limit = n; ..)`,
//! `supervisor_scope!(limit = n; ..)`, `#[scoped(limit = n)]`,
//! `#[supervised(limit = n)]`, and `local` (children need not be `Send`),
//! alone or combined (`coroutine_scope!(local, limit = 4; ..)`). Without
//! options, `coroutine_scope! { .. }` is as it was.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

use scopes::prelude::*;
use scopes_workspace::Log;
use tokio::time::Instant;

/// How many children run at once, and the most that ever did.
#[derive(Default)]
struct Running {
    now: AtomicUsize,
    most: AtomicUsize,
}

impl Running {
    async fn work(&self, ms: u64) -> Result<()> {
        let now = self.now.fetch_add(1, SeqCst) + 1;
        self.most.fetch_max(now, SeqCst);
        delay(Duration::from_millis(ms)).await?;
        self.now.fetch_sub(1, SeqCst);
        Ok(())
    }

    fn most(&self) -> usize {
        self.most.load(SeqCst)
    }
}

#[tokio::test(start_paused = true)]
async fn limit_in_coroutine_scope_runs_at_most_n_children_at_once() {
    let running = Running::default();
    let running = &running;
    let start = Instant::now();
    coroutine_scope!(limit = 2;
        for _ in 0..6 {
            launch { running.work(10).await? }
        }
        Ok(())
    )
    .unwrap();
    assert_eq!(running.most(), 2);
    // Two at a time: three rounds of 10 ms.
    assert_eq!(start.elapsed(), Duration::from_millis(30));
}

#[tokio::test(start_paused = true)]
async fn limit_in_braces_and_with_a_computed_value() {
    let running = Running::default();
    let running = &running;
    let workers = 1 + 2;
    let start = Instant::now();
    let total = coroutine_scope! { limit = workers;
        let ds: Vec<_> = (1..=6u64).map(|i| async { running.work(10).await?; Ok(i) }).collect();
        Ok(await_all(ds).await?.into_iter().sum::<u64>())
    }
    .unwrap();
    assert_eq!(total, 21);
    assert_eq!(running.most(), 3);
    assert_eq!(start.elapsed(), Duration::from_millis(20));
}

#[tokio::test(start_paused = true)]
async fn limit_in_supervisor_scope_starts_waiting_children_in_order() {
    let log = Log::default();
    let log = &log;
    let outcomes = supervisor_scope!(limit = 1;
        let ds: Vec<_> = ["a", "b", "c"]
            .into_iter()
            .map(|name| async {
                log.push(format!("{name} runs"));
                yield_now().await?;
                if name == "b" { Err(Error::msg("b failed")) } else { Ok(name) }
            })
            .collect();
        let mut outcomes = Vec::new();
        for d in ds {
            outcomes.push(d.await.map_err(|e| e.to_string()));
        }
        Ok(outcomes)
    )
    .unwrap();
    // One at a time, in start order; b's failure cancels nobody (R4).
    assert_eq!(log.take(), ["a runs", "b runs", "c runs"]);
    assert_eq!(outcomes, [Ok("a"), Err("b failed".to_owned()), Ok("c")]);
}

#[scoped(limit = 2)]
async fn fetch_all(running: &Running, n: u64) -> Result<u64> {
    let ds: Vec<_> = (0..n)
        .map(|i| async {
            running.work(10).await?;
            Ok(i)
        })
        .collect();
    Ok(await_all(ds).await?.into_iter().sum())
}

#[supervised(limit = max)]
async fn refresh_all(running: &Running, n: u64, max: usize) -> Result<()> {
    for _ in 0..n {
        launch! { running.work(10).await? }
    }
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn limit_in_annotated_fns_takes_literals_and_parameters() {
    let running = Running::default();
    let start = Instant::now();
    assert_eq!(fetch_all(&running, 4).await.unwrap(), 6);
    assert_eq!(running.most(), 2);
    assert_eq!(start.elapsed(), Duration::from_millis(20));

    let running = Running::default();
    let start = Instant::now();
    refresh_all(&running, 6, 3).await.unwrap();
    assert_eq!(running.most(), 3);
    assert_eq!(start.elapsed(), Duration::from_millis(20));
}

#[tokio::test(start_paused = true)]
async fn cancelling_a_child_waiting_for_a_place_completes_it_at_once() {
    let log = Log::default();
    let log = &log;
    coroutine_scope!(limit = 1;
        let first = launch { delay(Duration::from_millis(10)).await?; log.push("first"); };
        let waiting = launch { log.push("never runs"); };
        yield_now().await?;
        waiting.cancel();
        assert!(waiting.is_completed() && waiting.is_cancelled());
        first.join().await?;
        Ok(())
    )
    .unwrap();
    assert_eq!(log.take(), ["first"]);
}

#[tokio::test(start_paused = true)]
async fn a_nested_scope_with_options_in_a_child_limits_its_own_children() {
    let running = Running::default();
    let running = &running;
    let start = Instant::now();
    coroutine_scope! {
        launch {
            coroutine_scope!(limit = 1;
                for _ in 0..3 { launch { running.work(10).await? } }
                Ok(())
            )?;
        }
        Ok(())
    }
    .unwrap();
    assert_eq!(running.most(), 1);
    assert_eq!(start.elapsed(), Duration::from_millis(30));
}

#[tokio::test(start_paused = true)]
async fn a_first_statement_that_assigns_a_variable_is_not_an_option() {
    let mut count = 0;
    let mut limit = 0;
    coroutine_scope! {
        count = 5;
        { limit = 4; } // a variable named like the option: in a block
        Ok(())
    }
    .unwrap();
    assert_eq!((count, limit), (5, 4));
}

// Local scopes (SPEC §2d): children may hold `Rc`s and `RefCell` borrows
// across awaits; the scope's future is not `Send`, so these tests run on a
// current-thread runtime (`#[tokio::test]`'s default).

#[tokio::test(start_paused = true)]
async fn a_local_scope_takes_children_holding_an_rc_across_an_await() {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let shared = &seen;
    let start = Instant::now();
    let total = coroutine_scope!(local;
        let ds: Vec<_> = (1..=3u64)
            .map(|i| async {
                let seen = shared.clone(); // an `Rc`, held across the delay
                delay(Duration::from_millis(10 * (4 - i))).await?;
                seen.borrow_mut().push(i);
                Ok(Rc::new(i))
            })
            .collect();
        let mut total = 0;
        for d in ds {
            total += *d.await?;
        }
        Ok(total)
    )
    .unwrap();
    assert_eq!(total, 6);
    assert_eq!(*seen.borrow(), [3, 2, 1]);
    assert_eq!(start.elapsed(), Duration::from_millis(30));
}

#[tokio::test(start_paused = true)]
async fn local_and_limit_combine() {
    let running = Rc::new(Cell::new(0));
    let most = Rc::new(Cell::new(0));
    let (running, most) = (&running, &most);
    let start = Instant::now();
    supervisor_scope!(local, limit = 2;
        for _ in 0..6 {
            let (running, most) = (running.clone(), most.clone());
            launch {
                running.set(running.get() + 1);
                most.set(most.get().max(running.get()));
                delay(Duration::from_millis(10)).await?;
                running.set(running.get() - 1);
            }
        }
        Ok(())
    )
    .unwrap();
    assert_eq!(most.get(), 2);
    assert_eq!(start.elapsed(), Duration::from_millis(30));
}

#[tokio::test(start_paused = true)]
async fn in_a_local_scope_a_childs_children_and_block_forms_are_local_too() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let shared = &log;
    coroutine_scope!(local;
        let parent = async {
            let log = shared.clone();
            let mine = log.clone(); // moved into the grandchild
            let grandchild = async {
                yield_now().await?;
                mine.borrow_mut().push("grandchild");
                Ok(())
            };
            grandchild.await?;
            with_timeout(Duration::from_secs(1)) {
                let log = log.clone();
                launch { yield_now().await?; log.borrow_mut().push("in the block"); }
            }?;
            Ok(())
        };
        parent.await
    )
    .unwrap();
    assert_eq!(*log.borrow(), ["grandchild", "in the block"]);
}

#[scoped(local)]
async fn count_local(hits: &Rc<Cell<u32>>, n: u32) -> Result<()> {
    for _ in 0..n {
        let hits = hits.clone();
        launch! {
            yield_now().await?;
            hits.set(hits.get() + 1);
        }
    }
    Ok(()) // the scope waits for the children
}

#[supervised(local, limit = 1)]
async fn local_supervised(hits: &Rc<Cell<u32>>) -> Result<()> {
    let hits = hits.clone();
    let bad = async { Err::<(), _>(Error::msg("bad")) };
    launch! { yield_now().await?; hits.set(hits.get() + 10); }
    assert!(bad.await.is_err());
    Ok(())
}

#[scoped(local)]
async fn depth(node: Rc<Vec<u32>>, at: usize) -> Result<u32> {
    if at == node.len() {
        return Ok(0);
    }
    let tail = node.clone(); // an `Rc`, moved into the child
    let rest = async { depth(tail, at + 1).await };
    Ok(node[at] + rest.await?)
}

#[tokio::test(start_paused = true)]
async fn local_in_annotated_fns_recursive_ones_included() {
    let hits = Rc::new(Cell::new(0));
    count_local(&hits, 3).await.unwrap();
    assert_eq!(hits.get(), 3);
    local_supervised(&hits).await.unwrap();
    assert_eq!(hits.get(), 13);
    assert_eq!(depth(Rc::new(vec![1, 2, 3]), 0).await.unwrap(), 6);
}

#[tokio::test(start_paused = true)]
async fn a_parallel_child_in_a_local_scope_runs_on_the_pool_with_send_children() {
    let n = coroutine_scope!(local;
        let local_only = Rc::new(2u64);
        let d = async(parallel) {
            let inner = async { Ok(20u64) }; // its own scope is a plain one
            Ok(inner.await? + 1)
        };
        Ok(d.await? * *local_only)
    )
    .unwrap();
    assert_eq!(n, 42);
}
