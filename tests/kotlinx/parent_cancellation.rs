//! kotlinx ParentCancellationTest: a failing grandchild cancels the builders
//! above it up to the first scope that rethrows; a grandchild that ends with a
//! cancellation cancels nobody.

use super::common::*;
use scopes::prelude::*;

// testLaunchChild, TestException: the launch child is cancelled by its own
// child's failure (its join reports cancellation, code after it never runs),
// and the outer coroutine_scope fails with the grandchild's error.
#[tokio::test(start_paused = true)]
async fn launch_child_failing_grandchild_cancels_parent() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        log.push(1);
        launch {
            let grandchild = launch { Err::<(), _>(fail("boom")) };
            let j = grandchild.join().await;
            log.push(format!("after join {:?}", j.as_ref().map_err(|e| e.is_cancellation())));
            j?;
            log.push("unreached");
        };
        log.push(2);
        Ok(())
    };
    log.push(3);
    let e = r.unwrap_err();
    assert_eq!(name_of(&e), Some("boom"));
    assert!(e.suppressed().is_empty(), "{e:?}");
    assert_eq!(log.take(), ["1", "2", "after join Err(true)", "3"]);
}

// testLaunchChild, CancellationException: the grandchild ends cancelled,
// nobody else is cancelled.
#[tokio::test(start_paused = true)]
async fn launch_child_cancelled_grandchild_cancels_nobody() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        launch {
            let grandchild = launch { Err::<(), _>(Error::cancelled()) };
            grandchild.join().await?;
            log.push(format!("after join gc_cancelled={}", grandchild.is_cancelled()));
            yield_now().await?;
            log.push("still active");
        };
        yield_now().await?;
        yield_now().await?;
        log.push(format!("body active={}", is_active()));
        Ok(())
    };
    r.unwrap();
    // Kotlin order: L(launch G, join) body(yield) G(ends) body(log) L(log).
    assert_eq!(
        log.take(),
        [
            "body active=true",
            "after join gc_cancelled=true",
            "still active"
        ]
    );
}

// testAsyncChild, TestException.
#[tokio::test(start_paused = true)]
async fn async_child_failing_grandchild_cancels_parent() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        let d = async {
            let grandchild = launch { Err::<(), _>(fail("boom")) };
            grandchild.join().await?;
            log.push("unreached");
            Ok(5)
        };
        let v = d.await;
        log.push(format!("await: {:?}", v.as_ref().map_err(|e| (name_of(e), e.is_cancellation()))));
        v?;
        Ok(())
    };
    let e = r.unwrap_err();
    assert_eq!(name_of(&e), Some("boom"));
    // Kotlin: the awaiting body is cancelled by the scope's failure; `await`
    // gives the awaited child's own error (docs/rules.md R7).
    assert_eq!(log.take(), ["await: Err((Some(\"boom\"), false))"]);
}

// testAsyncChild, CancellationException.
#[tokio::test(start_paused = true)]
async fn async_child_cancelled_grandchild_cancels_nobody() {
    let r: scopes::Result<u32> = coroutine_scope! {
        let d = async {
            let grandchild = launch { Err::<(), _>(Error::cancelled()) };
            grandchild.join().await?;
            Ok(5)
        };
        d.await
    };
    assert_eq!(r.unwrap(), 5);
}

// testProduceChild, TestException: the producer's own child fails, the
// producer is cancelled, the coroutine_scope fails once with that error.
#[tokio::test(start_paused = true)]
async fn produce_child_failing_grandchild_cancels_parent() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = scopes::coroutine_scope(|s| {
        Box::pin(async move {
            let rx = s.produce::<u32, _, _>(0, |_tx| async move {
                coroutine_scope! {
                    let grandchild = launch { Err::<(), _>(fail("boom")) };
                    grandchild.join().await?;
                    log.push("unreached");
                    Ok(())
                }
            });
            let got = rx.recv().await;
            log.push(format!(
                "recv: {:?}",
                got.as_ref().map_err(|e| (name_of(e), e.is_cancellation()))
            ));
            Ok(())
        })
    })
    .await;
    let e = r.unwrap_err();
    assert_eq!(name_of(&e), Some("boom"));
    assert!(e.suppressed().is_empty(), "{e:?}");
    assert!(!log.take().contains(&"unreached".to_string()));
}

// testSupervisorChild, TestException: the grandchild's failure goes to the
// handler; the supervisor scope and everything above stays active.
#[tokio::test(start_paused = true)]
async fn supervisor_scope_child_failing_grandchild_goes_to_handler() {
    let (got, h) = recorder();
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = with_exception_handler(h, async move {
        coroutine_scope! {
            let j = launch {
                supervisor_scope! {
                    let grandchild = launch { Err::<(), _>(fail("boom")) };
                    grandchild.join().await?;
                    log.push(format!("after join handled={}", 1));
                    Ok(())
                }?;
                log.push(format!("child active={}", is_active()));
            };
            j.join().await?;
            log.push(format!("body active={}", is_active()));
            Ok(())
        }
    })
    .await;
    r.unwrap();
    let got = got.lock().unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(name_of(&got[0]), Some("boom"));
    assert_eq!(
        log.take(),
        [
            "after join handled=1",
            "child active=true",
            "body active=true"
        ]
    );
}

// testCoroutineScopeChild, TestException: the nested coroutine_scope rethrows,
// the code that entered it stays active and may handle it.
#[tokio::test(start_paused = true)]
async fn coroutine_scope_child_rethrows_and_parent_stays_active() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        let inner: scopes::Result<()> = coroutine_scope! {
            let grandchild = launch { Err::<(), _>(fail("boom")) };
            grandchild.join().await?;
            log.push("unreached");
            Ok(())
        };
        let e = inner.unwrap_err();
        log.push(format!("caught {:?} active={}", name_of(&e), is_active()));
        yield_now().await?;
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), ["caught Some(\"boom\") active=true"]);
}

// testCoroutineScopeChild in a launch child (runsInScopeContext): the child
// catches the nested scope's error, the outer scope stays fine.
#[tokio::test(start_paused = true)]
async fn coroutine_scope_in_child_rethrows_and_child_handles_it() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        launch {
            let inner: scopes::Result<()> = coroutine_scope! {
                let grandchild = launch { Err::<(), _>(fail("boom")) };
                grandchild.join().await?;
                Ok(())
            };
            log.push(format!("caught {:?} active={}", inner.as_ref().err().and_then(name_of), is_active()));
            yield_now().await?;
            log.push("child goes on");
        };
        Ok(())
    };
    r.unwrap();
    assert_eq!(
        log.take(),
        ["caught Some(\"boom\") active=true", "child goes on"]
    );
}

// testWithTimeoutChild, TestException: with_timeout is a scope; a child's
// failure in it is rethrown by it, the caller stays active.
#[tokio::test(start_paused = true)]
async fn with_timeout_child_rethrows_and_parent_stays_active() {
    let log = Log::default();
    let log = &log;
    let start = tokio::time::Instant::now();
    let r: scopes::Result<()> = coroutine_scope! {
        let inner: scopes::Result<()> = with_timeout(ms(1000)) {
            let grandchild = launch { Err::<(), _>(fail("boom")) };
            grandchild.join().await?;
            log.push("unreached");
            Ok(())
        };
        let e = inner.unwrap_err();
        log.push(format!("caught {:?} timeout={} active={}", name_of(&e), e.is_timeout(), is_active()));
        yield_now().await?;
        Ok(())
    };
    r.unwrap();
    assert_eq!(start.elapsed(), ms(0));
    assert_eq!(
        log.take(),
        ["caught Some(\"boom\") timeout=false active=true"]
    );
}

// testWithTimeoutChild / testCoroutineScopeChild, CancellationException:
// nothing is rethrown.
#[tokio::test(start_paused = true)]
async fn scoped_builders_with_cancelled_grandchild_return_normally() {
    let r: scopes::Result<()> = coroutine_scope! {
        coroutine_scope! {
            let grandchild = launch { Err::<(), _>(Error::cancelled()) };
            grandchild.join().await?;
            Ok(())
        }?;
        supervisor_scope! {
            let grandchild = launch { Err::<(), _>(Error::cancelled()) };
            grandchild.join().await?;
            Ok(())
        }?;
        with_timeout(ms(1000)) {
            let grandchild = launch { Err::<(), _>(Error::cancelled()) };
            grandchild.join().await?;
            Ok(())
        }?;
        Ok(())
    };
    r.unwrap();
}
