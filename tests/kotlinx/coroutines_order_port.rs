//! kotlinx CoroutinesTest ordering cases (R14).

use super::common::*;
use scopes::prelude::*;

fn nums(n: usize) -> Vec<String> {
    (1..=n).map(|i| i.to_string()).collect()
}

// testWaitNestedChild
#[tokio::test(start_paused = true)]
async fn wait_nested_child() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        log.push(1);
        launch {
            log.push(3);
            launch { log.push(6); yield_now().await?; log.push(9); };
            log.push(4);
            yield_now().await?;
            log.push(7);
            yield_now().await?;
            log.push(10);
        };
        log.push(2);
        yield_now().await?;
        log.push(5);
        yield_now().await?;
        log.push(8);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), nums(10));
}

// testNested
#[tokio::test(start_paused = true)]
async fn nested_joins() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        log.push(1);
        let j1 = launch {
            log.push(3);
            let j2 = launch { log.push(5); };
            log.push(4);
            j2.join().await?;
            log.push(6);
        };
        log.push(2);
        j1.join().await?;
        log.push(7);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), nums(7));
}

// testCancelChildWithFinally
#[tokio::test(start_paused = true)]
async fn cancel_child_with_finally() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        log.push(1);
        let job = launch {
            log.push(3);
            let r = yield_now().await;
            log.push(6);
            r?;
            log.push("unreached");
        };
        log.push(2);
        yield_now().await?;
        log.push(4);
        job.cancel();
        log.push(5);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), nums(6));
}

// testLaunchAndYieldJoin
#[tokio::test(start_paused = true)]
async fn launch_and_yield_join() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        log.push(1);
        let job = launch { log.push(3); yield_now().await?; log.push(4); };
        log.push(2);
        assert!(job.is_active() && !job.is_completed());
        job.join().await?;
        assert!(!job.is_active() && job.is_completed());
        log.push(5);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), nums(5));
}

// LaunchLazyTest.testStart-like: lazy launch started, then join.
#[tokio::test(start_paused = true)]
async fn lazy_launch_start_and_join() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        log.push(1);
        let job = launch(start = lazy) { log.push(4); yield_now().await?; log.push(6); };
        log.push(2);
        assert!(!job.is_active() && !job.is_completed());
        assert!(job.start());
        assert!(job.is_active());
        log.push(3);
        yield_now().await?;
        log.push(5);
        job.join().await?;
        log.push(7);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), nums(7));
}
