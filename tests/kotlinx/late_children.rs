//! Children started through a clone of the scope handle after the body
//! returned (Kotlin: launching into a Completing job attaches and is waited
//! for). R1 and R11.

use super::common::*;
use scopes::{Start, coroutine_scope, delay, supervisor_scope, yield_now};

// R1: a child started by a sibling after the body returned is waited for.
#[tokio::test(start_paused = true)]
async fn child_started_after_body_returned_is_waited_for() {
    let log = Log::default();
    let log = &log;
    let start = tokio::time::Instant::now();
    let r: scopes::Result<()> = coroutine_scope(|s| {
        Box::pin(async move {
            let s2 = s.clone();
            s.launch(async move {
                delay(ms(10)).await?;
                s2.launch(async move {
                    delay(ms(10)).await?;
                    log.push("late child");
                    Ok(())
                });
                Ok(())
            });
            Ok(())
        })
    })
    .await;
    r.unwrap();
    assert_eq!(start.elapsed(), ms(20));
    assert_eq!(log.take(), ["late child"]);
}

// R11: a lazy child created after the body returned and never started must
// not hang the scope ("a forgotten lazy child cannot hang the scope").
#[tokio::test(start_paused = true)]
async fn lazy_child_created_after_body_returned_does_not_hang() {
    let log = Log::default();
    let log = &log;
    let r = tokio::time::timeout(
        std::time::Duration::from_secs(3600),
        coroutine_scope(|s| {
            Box::pin(async move {
                let s2 = s.clone();
                s.launch(async move {
                    delay(ms(10)).await?;
                    let _lazy = s2.child().start(Start::Lazy).launch(async move {
                        log.push("lazy ran");
                        Ok(())
                    });
                    Ok(())
                });
                Ok(())
            })
        }),
    )
    .await;
    let r = r.expect("the scope hung on a lazy child never started");
    r.unwrap();
    assert!(log.take().is_empty());
}

// Same in a supervisor_scope.
#[tokio::test(start_paused = true)]
async fn lazy_child_created_after_body_returned_does_not_hang_supervisor() {
    let r = tokio::time::timeout(
        std::time::Duration::from_secs(3600),
        supervisor_scope(|s| {
            Box::pin(async move {
                let s2 = s.clone();
                s.launch(async move {
                    yield_now().await?;
                    let _lazy = s2
                        .child()
                        .start(Start::Lazy)
                        .r#async(async move { Ok(1u8) });
                    Ok(())
                });
                Ok(())
            })
        }),
    )
    .await;
    r.expect("the scope hung on a lazy child never started")
        .unwrap();
}

// R11: a lazy child created after the body returned can still be started
// and awaited by the child that created it.
#[tokio::test(start_paused = true)]
async fn lazy_child_created_after_body_returned_can_be_awaited() {
    let log = Log::default();
    let log = &log;
    let r = tokio::time::timeout(
        std::time::Duration::from_secs(3600),
        coroutine_scope(|s| {
            Box::pin(async move {
                let s2 = s.clone();
                let d = s.r#async(async move {
                    yield_now().await?;
                    let lazy = s2
                        .child()
                        .start(Start::Lazy)
                        .r#async(async move { Ok(7u8) });
                    lazy.await
                });
                let d2 = d.clone();
                s.launch(async move {
                    let v = d2.await;
                    log.push(format!("{:?}", v.map_err(|e| e.is_cancellation())));
                    Ok(())
                });
                Ok(())
            })
        }),
    )
    .await;
    r.expect("hung").unwrap();
    assert_eq!(log.take(), ["Ok(7)"]);
}
