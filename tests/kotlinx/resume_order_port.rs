//! The order in which work resumes after a deadline or a signal cancels
//! it, and after a hand-opened scope completes (R14, with R7 and R9),
//! ported from kotlinx.coroutines' WithTimeoutOrNullTest,
//! WithTimeoutTest and CoroutineScopeTest shapes. Kotlin's timeout event
//! only cancels the block: the block's suspended code is then dispatched
//! as any resumed job, behind what was ready already.
use std::sync::{Arc, Mutex};
use std::time::Duration;

use scopes::prelude::*;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<String>>>);
impl Log {
    fn push(&self, s: impl ToString) {
        self.0.lock().unwrap().push(s.to_string());
    }
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

// WithTimeoutOrNullTest shape: A's delay and B's deadline are due at
// 10 ms, A's registered first. A runs and yields; the deadline cancels B's
// block, whose cleanup is then queued behind A's yield (as a `Job::cancel`
// at that instant would queue it).
#[tokio::test(start_paused = true)]
async fn a_deadline_queues_the_timed_out_work_behind_what_is_ready() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        launch { delay(ms(10)).await?; log.push("A1"); yield_now().await?; log.push("A2"); };
        launch {
            let r = with_timeout_or_none(ms(10)) {
                let r = delay(ms(20)).await;
                log.push("B cleanup");
                r?;
                Ok(())
            }?;
            log.push(format!("B {r:?}"));
        };
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), ["A1", "A2", "B cleanup", "B None"]);
}

// A's delay, B's deadline and C's delay are due at 10 ms, registered in
// that order: the deadline's event queues B's resumption behind C's.
#[tokio::test(start_paused = true)]
async fn a_deadline_queues_the_timed_out_work_behind_a_timer_due_with_it() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        launch { delay(ms(10)).await?; log.push("A"); };
        launch {
            let r = with_timeout_or_none(ms(10)) {
                let r = delay(ms(20)).await;
                log.push("B cleanup");
                r?;
                Ok(())
            }?;
            log.push(format!("B {r:?}"));
        };
        launch { delay(ms(10)).await?; log.push("C"); };
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), ["A", "C", "B cleanup", "B None"]);
}

// The same through the runtime `with_timeout` and through `cancel_on`
// (SPEC §2b: "like with_timeout_or_none with a future").
#[tokio::test(start_paused = true)]
async fn with_timeout_and_cancel_on_queue_the_cancelled_work_behind_what_is_ready() {
    let mut got = Vec::new();
    for kind in 0..2 {
        let log = Log::default();
        let log = &log;
        let r: scopes::Result<()> = coroutine_scope! {
            launch { delay(ms(10)).await?; log.push("A1"); yield_now().await?; log.push("A2"); };
            launch {
                let work = async move {
                    let r = delay(ms(20)).await;
                    log.push("B cleanup");
                    r
                };
                let timed_out = if kind == 0 {
                    with_timeout(ms(10), work).await.unwrap_err().is_timeout()
                } else {
                    cancel_on(tokio::time::sleep(ms(10)), work).await?.is_none()
                };
                log.push(format!("B {timed_out}"));
            };
            Ok(())
        };
        r.unwrap();
        got.push(log.take());
    }
    for (kind, log) in got.iter().enumerate() {
        assert_eq!(
            log,
            &["A1", "A2", "B cleanup", "B true"],
            "kind {kind}: {got:?}"
        );
    }
}

// CoroutineScopeTest shape: code after a nested scope whose last child
// completes after the body returned. Kotlin's ScopeCoroutine.afterCompletion
// resumes the caller with intercepted().resumeCancellableWith: a dispatch,
// queued behind S (due at the same instant, registered after C).
#[tokio::test(start_paused = true)]
async fn code_after_a_scope_its_last_child_ended_runs_behind_a_timer_due_with_it() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        launch {
            let r: scopes::Result<()> = coroutine_scope! {
                launch { delay(ms(10)).await?; log.push("C"); };
                Ok(())
            };
            r?;
            log.push("J after");
        };
        launch { yield_now().await?; delay(ms(10)).await?; log.push("S"); };
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), ["C", "S", "J after"]);
}

// Without timers: C completes while S's yield is queued; J's continuation
// is queued behind S.
#[tokio::test(start_paused = true)]
async fn code_after_a_scope_its_last_child_ended_runs_behind_what_is_ready() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        launch {
            let r: scopes::Result<()> = coroutine_scope! {
                launch { log.push("C"); };
                Ok(())
            };
            r?;
            log.push("J after");
        };
        launch { log.push("S1"); yield_now().await?; log.push("S2"); };
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), ["S1", "C", "S2", "J after"]);
}

// The other hand-opened scopes: supervisorScope, withTimeout and
// withContext(NonCancellable) are ScopeCoroutines too (TimeoutCoroutine,
// UndispatchedCoroutine), which resume their caller by a dispatch after
// their last child.
#[tokio::test(start_paused = true)]
async fn code_after_a_supervisor_timeout_or_non_cancellable_block_its_child_ended_is_queued_too() {
    let mut got = Vec::new();
    for kind in 0..3 {
        let log = Log::default();
        let log = &log;
        let r: scopes::Result<()> = coroutine_scope! {
            launch {
                match kind {
                    0 => supervisor_scope! { launch { log.push("C"); }; Ok(()) }?,
                    1 => with_timeout(ms(100)) { launch { log.push("C"); }; }?,
                    _ => non_cancellable { launch { log.push("C"); }; }?,
                }
                log.push("J after");
            };
            launch { log.push("S1"); yield_now().await?; log.push("S2"); };
            Ok(())
        };
        r.unwrap();
        got.push(log.take());
    }
    for (kind, log) in got.iter().enumerate() {
        assert_eq!(log, &["S1", "C", "S2", "J after"], "kind {kind}: {got:?}");
    }
}

// A scope whose body ends last (no child running then) returns to its
// caller at once (Kotlin's afterResume), and so does the child's own scope
// of a `launch` with children (the child's job itself, R14's JobStatesTest
// example): J's code after it runs in the same step, before S2.
#[tokio::test(start_paused = true)]
async fn code_after_a_scope_whose_body_ended_last_runs_in_that_step() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        launch {
            let r: scopes::Result<()> = coroutine_scope! {
                launch { log.push("C"); };
                yield_now().await?;
                yield_now().await?;
                log.push("body end");
                Ok(())
            };
            r?;
            log.push("J after");
        };
        launch { log.push("S1"); yield_now().await?; log.push("S2"); yield_now().await?; log.push("S3"); };
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), ["S1", "C", "S2", "body end", "J after", "S3"]);
}

/// A `cancel_on` signal seen on a route through the caller to an entry of
/// a scope inside the work: the route goes on, so that scope stays in the
/// tree's FIFO and Y's cleanup takes turns with X (the first version of the
/// queued resumption cut it off there: Y's whole cleanup ran in one step;
/// found by a review).
#[tokio::test(start_paused = true)]
async fn a_signal_seen_on_a_route_into_the_work_keeps_its_scope_in_the_fifo() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        let sig = launch { yield_now().await?; yield_now().await?; log.push("S"); };
        launch {
            let r = cancel_on(sig.join(), async move { coroutine_scope! {
                launch {
                    loop {
                        log.push("Y");
                        if let Err(e) = yield_now().await {
                            log.push("Y cancelled");
                            non_cancellable {
                                yield_now().await?; log.push("Y1");
                                yield_now().await?; log.push("Y2");
                                Ok(())
                            }?;
                            return Err(e);
                        }
                    }
                };
                Ok(())
            }}).await;
            log.push(format!("C {:?}", r.map_err(|e| e.to_string())));
        };
        launch { for i in 0..6 { log.push(format!("X{i}")); yield_now().await?; } };
        Ok(())
    };
    r.unwrap();
    assert_eq!(
        log.take(),
        [
            "X0",
            "Y",
            "X1",
            "S",
            "Y cancelled",
            "X2",
            "Y1",
            "X3",
            "Y2",
            "X4",
            "C Ok(None)",
            "X5"
        ]
    );
}

/// A hand-opened scope whose child yields `yields` times after its body
/// ended; logs as it goes.
async fn inner(name: &'static str, log: &Log, yields: usize) -> scopes::Result<&'static str> {
    coroutine_scope! {
        launch {
            for i in 0..yields { log.push(format!("{name}.c{i}")); yield_now().await?; }
            log.push(format!("{name}.c end"));
        };
        log.push(format!("{name} body end"));
        Ok(name)
    }
}

/// Two hand-opened scopes under one `select!` in a job (no Kotlin analogue:
/// one coroutine cannot wait in two `coroutineScope`s): the first scope's
/// result, queued for the job's own step, is not taken on a route through
/// the job to the second scope's child (found by a review).
#[tokio::test(start_paused = true)]
async fn the_code_after_a_select_of_two_scopes_runs_in_the_job_s_own_step() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        launch {
            let r = tokio::select! {
                biased;
                r = inner("D", log, 0) => r,
                r = inner("C", log, 3) => r,
            };
            log.push(format!("H after select {r:?}"));
        };
        launch { for i in 0..4 { log.push(format!("X{i}")); yield_now().await?; } };
        Ok(())
    };
    r.unwrap();
    assert_eq!(
        log.take(),
        [
            "D body end",
            "C body end",
            "X0",
            "D.c end",
            "C.c0",
            "X1",
            "H after select Ok(\"D\")",
            "X2",
            "X3"
        ]
    );
}
