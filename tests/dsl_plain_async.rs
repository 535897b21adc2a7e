//! Plain Rust stays plain: a non-`move` `async { }` in a scope body is a
//! child (in its closures and in other macros' expression lists too, see
//! `dsl_fan_out.rs`); `async move { }`, and async blocks in nested fns and
//! async closures, are plain futures.

use std::time::Duration;

use scopes::prelude::*;
use scopes_workspace::Log;
use tokio::time::Instant;

#[tokio::test(start_paused = true)]
async fn a_non_move_async_block_is_a_child_that_runs_unawaited() {
    let log = Log::default();
    let log = &log;
    coroutine_scope! {
        let _never_awaited = async { log.push("child ran"); Ok(()) };
        log.push("body before yield");
        yield_now().await?;
        log.push("body after yield");
        Ok(())
    }
    .unwrap();
    assert_eq!(
        log.take(),
        ["body before yield", "child ran", "body after yield"]
    );
}

#[tokio::test(start_paused = true)]
async fn an_async_move_block_is_a_plain_future() {
    let log = Log::default();
    let log = &log;
    coroutine_scope! {
        let fut = async move { log.push("plain ran"); 5 };
        yield_now().await?;
        log.push("body after yield");
        // A plain future runs only when awaited, and its output is not a Result.
        assert_eq!(fut.await, 5);
        Ok(())
    }
    .unwrap();
    assert_eq!(log.take(), ["body after yield", "plain ran"]);
}

#[tokio::test(start_paused = true)]
async fn child_and_plain_differ_in_timing() {
    let start = Instant::now();
    coroutine_scope! {
        // Two children run concurrently: 100 ms in all.
        let a = async { delay(Duration::from_millis(100)).await?; Ok(1) };
        let b = async { delay(Duration::from_millis(100)).await?; Ok(2) };
        assert_eq!(a.await? + b.await?, 3);
        Ok(())
    }
    .unwrap();
    assert_eq!(start.elapsed(), Duration::from_millis(100));

    let start = Instant::now();
    coroutine_scope! {
        // Two plain futures awaited one after the other: 200 ms.
        let a = async move { delay(Duration::from_millis(100)).await.map(|()| 1) };
        let b = async move { delay(Duration::from_millis(100)).await.map(|()| 2) };
        assert_eq!(a.await? + b.await?, 3);
        Ok(())
    }
    .unwrap();
    assert_eq!(start.elapsed(), Duration::from_millis(200));
}

#[tokio::test(start_paused = true)]
async fn plain_futures_go_to_with_timeout_and_non_cancellable() {
    let result = coroutine_scope! {
        let slow = with_timeout(Duration::from_millis(10), async move {
            delay(Duration::from_secs(1)).await
        })
        .await;
        assert!(slow.unwrap_err().is_timeout());
        non_cancellable(async move { delay(Duration::from_millis(5)).await }).await?;
        Ok("done")
    };
    assert_eq!(result.unwrap(), "done");
}

#[tokio::test(start_paused = true)]
async fn async_blocks_in_nested_fns_async_closures_and_async_move_closures_stay_plain() {
    async fn helper() -> u32 {
        let fut = async { 3 };
        fut.await
    }
    let n = coroutine_scope! {
        let make = |x: u32| async move { x + 1 };
        let make_async = async |x: u32| {
            let inner = async { x * 10 }; // in an async closure: plain
            inner.await
        };
        fn nested() -> std::pin::Pin<Box<dyn std::future::Future<Output = u32> + Send>> {
            Box::pin(async { 20 })
        }
        Ok(make(1).await + make_async(1).await + nested().await + helper().await)
    };
    assert_eq!(n.unwrap(), 35);
}

#[tokio::test(start_paused = true)]
async fn async_blocks_in_closures_and_expression_macros_are_children() {
    let log = Log::default();
    let log = &log;
    let n = coroutine_scope! {
        // Children: they run when the body suspends, unawaited.
        let make_child = || async { log.push("closure child"); Ok(10) };
        let child = make_child();
        let (a, b) = tokio::join!(async { Ok(1) }, async { Ok(2) });
        let v = vec![async { log.push("vec child"); Ok(3) }];
        yield_now().await?;
        log.push("body after yield");
        let mut c = 0;
        for d in v {
            c += d.await?;
        }
        Ok(a? + b? + c + child.await?)
    };
    assert_eq!(n.unwrap(), 16);
    assert_eq!(
        log.take(),
        ["closure child", "vec child", "body after yield"]
    );
}

#[tokio::test(start_paused = true)]
async fn a_plain_async_block_in_a_child_body_is_a_grandchild() {
    let log = Log::default();
    let log = &log;
    coroutine_scope! {
        let child = async {
            let _grandchild = async { log.push("grandchild"); Ok(()) };
            log.push("child");
            Ok(1)
        };
        assert_eq!(child.await?, 1);
        Ok(())
    }
    .unwrap();
    assert_eq!(log.take(), ["child", "grandchild"]);
}

/// Plain Rust stays plain (SPEC §2): a value or a fn named `launch` used as
/// a value in a scope body is left alone; only `launch { }`,
/// `launch(..) { }` and a statement `launch;` (a child missing its body)
/// are the DSL's.
#[tokio::test]
async fn a_value_named_launch_is_plain_rust_in_a_scope_body() {
    fn launch(x: u32) -> u32 {
        x + 1
    }
    let got: Result<u32> = coroutine_scope! {
        let f = launch;
        let launch = 3u32;
        let x = launch;
        Ok(f(x))
    };
    assert_eq!(got.unwrap(), 4);
}
