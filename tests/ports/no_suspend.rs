//! Waits on what has completed do not suspend (Kotlin: join/await/
//! awaitAll/joinAll/select on completed jobs return without a dispatch),
//! so a sibling's queued step runs after the caller's next line.

use super::common::*;
use scopes::prelude::*;

// JobTest-like: join of a completed job
#[tokio::test(start_paused = true)]
async fn join_of_a_completed_job_does_not_suspend() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        let c = launch { log.push("C"); };
        launch { log.push("S1"); yield_now().await?; log.push("S2"); };
        yield_now().await?;
        c.join().await?;
        log.push("after join");
        c.cancel_and_join().await?;
        log.push("after cancel_and_join");
        Ok(())
    };
    r.unwrap();
    assert_eq!(
        log.take(),
        ["C", "S1", "after join", "after cancel_and_join", "S2"]
    );
}

// AwaitTest-like: await / await_all / join_all / race of completed children
#[tokio::test(start_paused = true)]
async fn combinators_over_completed_children_do_not_suspend() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        let a = async { log.push("A"); Ok(1u32) };
        let b = async { log.push("B"); Ok(2u32) };
        launch { log.push("S1"); yield_now().await?; log.push("S2"); };
        yield_now().await?;
        assert_eq!(a.clone().await?, 1);
        log.push("after await");
        assert_eq!(await_all([a.clone(), b.clone()]).await?, [1, 2]);
        log.push("after await_all");
        join_all([a.job().clone(), b.job().clone()]).await?;
        log.push("after join_all");
        let v = race([a, b]).await?;
        log.push(format!("after race {v}"));
        Ok(())
    };
    r.unwrap();
    assert_eq!(
        log.take(),
        [
            "A",
            "B",
            "S1",
            "after await",
            "after await_all",
            "after join_all",
            "after race 1",
            "S2"
        ]
    );
}

// SupervisorTest / CoroutineExceptionHandlerTest-like: the handler is
// called in the failing child's own step (Kotlin's handleJobException runs
// as the child completes), before the next queued job.
#[tokio::test(start_paused = true)]
async fn the_handler_runs_in_the_failing_childs_step() {
    let log = Log::default();
    let l2 = log.clone();
    let r: scopes::Result<()> =
        with_exception_handler(move |e: &scopes::Error| l2.push(format!("H {e}")), async {
            let log = &log;
            supervisor_scope! {
                launch { log.push("C"); Err::<(), _>(fail("boom")) };
                launch { log.push("S1"); yield_now().await?; log.push("S2"); };
                Ok(())
            }
        })
        .await;
    r.unwrap();
    assert_eq!(log.take(), ["C", "H boom", "S1", "S2"]);
}
