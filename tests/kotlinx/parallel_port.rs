//! Kotlin scenarios (ParentCancellationTest, SupervisorTest,
//! CoroutineScopeTest) replayed with `parallel` children (Dispatchers.Default
//! in Kotlin: the rules do not depend on the dispatcher).

use super::common::*;
use scopes::prelude::*;

// ParentCancellationTest.testLaunchChild on the pool: a parallel child's own
// child fails: the scope fails with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_child_failing_grandchild_fails_scope() {
    let r = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        let r: scopes::Result<()> = coroutine_scope! {
            launch(parallel) {
                let g = launch { Err::<(), _>(fail("boom")) };
                g.join().await?;
                Err::<(), _>(fail("unreached"))
            };
            delay(FOREVER).await?;
            Ok(())
        };
        r
    })
    .await
    .expect("hung");
    let e = r.unwrap_err();
    assert_eq!(name_of(&e), Some("boom"), "{e:?}");
}

// SupervisorTest.testSupervisorScope inside a parallel child: the handler
// installed around the outer scope receives the failures (the nearest
// installed handler: the context is inherited, as in Kotlin).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handler_is_inherited_by_supervisor_scope_in_parallel_child() {
    let (got, h) = recorder();
    let r = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        with_exception_handler(h, async {
            let r: scopes::Result<()> = coroutine_scope! {
                launch(parallel) {
                    supervisor_scope! {
                        launch { Err::<(), _>(fail("1")) };
                        launch { Err::<(), _>(fail("2")) };
                        Ok(())
                    }?;
                };
                Ok(())
            };
            r
        }),
    )
    .await
    .expect("hung");
    r.unwrap();
    let got: Vec<_> = got.lock().unwrap().iter().map(|e| name_of(e)).collect();
    assert_eq!(got, [Some("1"), Some("2")]);
}

// A parallel launch child of a supervisor_scope failing goes to the handler.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_launch_failure_in_supervisor_goes_to_handler() {
    let (got, h) = recorder();
    let r = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        with_exception_handler(h, async {
            let r: scopes::Result<&str> = supervisor_scope! {
                launch(parallel) { Err::<(), _>(fail("p")) };
                Ok("OK")
            };
            r
        }),
    )
    .await
    .expect("hung");
    assert_eq!(r.unwrap(), "OK");
    let got: Vec<_> = got.lock().unwrap().iter().map(|e| name_of(e)).collect();
    assert_eq!(got, [Some("p")]);
}

// CoroutineScopeTest.testOuterJobIsCancelled with a parallel job: its nested
// scope's child cleans up, the scope gives a cancellation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_outer_job_is_cancelled() {
    let log = Log::default();
    let log2 = log.clone();
    let r = tokio::time::timeout(std::time::Duration::from_secs(10), async move {
        let r: scopes::Result<()> = coroutine_scope! {
            let (tx, rx) = tokio::sync::oneshot::channel::<()>();
            let log = log2.clone();
            let outer = launch(parallel) {
                let log2 = log.clone();
                let r: scopes::Result<u32> = coroutine_scope! {
                    let log3 = log2.clone();
                    launch {
                        let r = delay(FOREVER).await;
                        log3.push("child cleanup");
                        r
                    };
                    yield_now().await?;
                    tx.send(()).unwrap();
                    delay(FOREVER).await?;
                    Ok(42)
                };
                log.push(format!("inner cancellation={:?}", r.map_err(|e| e.is_cancellation())));
            };
            rx.await.unwrap();
            outer.cancel();
            outer.join().await?;
            log2.push("joined");
            Ok(())
        };
        r
    })
    .await
    .expect("hung");
    r.unwrap();
    assert_eq!(
        log.take(),
        ["child cleanup", "inner cancellation=Err(true)", "joined"]
    );
}
