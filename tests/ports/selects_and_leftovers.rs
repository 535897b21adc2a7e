//! kotlinx.coroutines tests ported in the twentieth session:
//! selects/SelectDeferredTest and SelectJobTest (`select { d.onAwait }` →
//! `race([d])`, `job.onJoin` → `join_all([job])`; the clause's block is the
//! code after the call), AtomicCancellationTest (prompt cancellation of
//! channel send/receive and of select waits), SupervisorTest.testSupervisorJob,
//! exceptions/JobExceptionHandlingTest (testChildException, testBadException),
//! ProduceTest (awaitClose cases, testSilentKillerInProduce),
//! CoroutineScopeTest.testIsActiveWithoutJob,
//! exceptions/WithContextExceptionHandlingTest (testSameCancellation,
//! testConflictingCancellation3).
//! CoroutineStart.UNDISPATCHED does not exist here: a child launched
//! undispatched is launched and the parent yields once, so that it runs up
//! to its first suspension before the parent goes on (Kotlin's order).
use super::common::*;
use scopes::prelude::*;
use std::sync::{Arc, OnceLock};

// ---------------------------------------------------------------- SelectDeferredTest

// SelectDeferredTest.testSimpleReturnsImmediately
#[tokio::test(start_paused = true)]
async fn select_deferred_simple_returns_immediately() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        log.push(1);
        let d1 = async { log.push(3); Ok(42) };
        log.push(2);
        let v = race([d1]).await?;
        log.push(4);
        assert_eq!(v, 42);
        log.push(5);
        log.push(6);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), nums(6));
}

// SelectDeferredTest.testSimpleWithYield
#[tokio::test(start_paused = true)]
async fn select_deferred_simple_with_yield() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        log.push(1);
        let d1 = async { log.push(3); Ok(42) };
        launch {
            log.push(4);
            yield_now().await?;
            log.push(6);
        };
        log.push(2);
        let v = race([d1]).await?;
        log.push(5);
        assert_eq!(v, 42);
        yield_now().await?;
        log.push(7);
        log.push(8);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), nums(8));
}

// SelectDeferredTest.testSelectIncompleteLazy: race starts a lazy child.
#[tokio::test(start_paused = true)]
async fn select_deferred_incomplete_lazy() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        log.push(1);
        let d1 = async(start = lazy) { log.push(5); Ok(42) };
        launch {
            log.push(3);
            let v = race([d1]).await?;
            log.push(7);
            assert_eq!(v, 42);
            log.push(8);
        };
        log.push(2);
        yield_now().await?;
        log.push(4);
        yield_now().await?;
        log.push(6);
        yield_now().await?;
        log.push(9);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), nums(9));
}

// SelectDeferredTest.testSelectTwo, adapted: Kotlin's select leaves the
// losing d1 running (it logs 5 and 7); `race` cancels the losers and
// returns once they have completed (SPEC §2b), so d1 is resumed from its
// second yield with the cancellation before race returns, and logs
// "d1 cancelled" where Kotlin's d1 logs 7.
#[tokio::test(start_paused = true)]
async fn select_deferred_two_race_cancels_the_loser() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        log.push(1);
        let d1 = async {
            log.push(3);
            yield_now().await?; // to the other deferred
            log.push(5);
            if let Err(e) = yield_now().await { // to the fired select
                log.push("d1 cancelled");
                return Err(e);
            }
            log.push("7 (Kotlin: d1 goes on)");
            Ok("d1")
        };
        let d2 = async { log.push(4); Ok("d2") };
        log.push(2);
        let v = race([d1, d2]).await?;
        log.push(6);
        assert_eq!(v, "d2");
        yield_now().await?;
        log.push(8);
        log.push(9);
        Ok(())
    };
    r.unwrap();
    assert_eq!(
        log.take(),
        ["1", "2", "3", "4", "5", "d1 cancelled", "6", "8", "9"]
    );
}

// SelectDeferredTest.testSelectFailure: one clause already failed, the other
// already has a value; Kotlin (biased, input order) throws the failure.
// Here both completed before race looked (in input order, the failure
// first), so completion order gives the failure too.
#[tokio::test(start_paused = true)]
async fn select_deferred_failure() {
    let r: scopes::Result<()> = supervisor_scope! {
        let d = async { Err::<u32, _>(fail("TestException")) };
        let d2 = async { Ok(42u32) };
        yield_now().await?;
        assert!(d.is_completed() && d2.is_completed());
        let e = race([d, d2]).await.unwrap_err();
        assert_eq!(name_of(&e), Some("TestException"), "{e:?}");
        Ok(())
    };
    r.unwrap();
}

// SelectDeferredTest.testSelectCancel: the awaited deferred is cancelled
// after the select began: select throws a cancellation.
#[tokio::test(start_paused = true)]
async fn select_deferred_cancel() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = supervisor_scope! {
        log.push(1);
        let d = async { delay(FOREVER).await?; Ok("never") };
        let dj = d.job().clone();
        launch {
            log.push(3);
            dj.cancel();
        };
        log.push(2);
        let r = race([d]).await;
        assert!(matches!(&r, Err(e) if e.is_cancellation()), "{r:?}");
        log.push(4);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), nums(4));
}

// SelectDeferredTest.testSelectIncomplete
#[tokio::test(start_paused = true)]
async fn select_deferred_incomplete() {
    let r: scopes::Result<&str> = coroutine_scope! {
        let deferred = async { Ok("OK") };
        assert!(!deferred.is_completed());
        assert!(deferred.is_active());
        race([deferred]).await
    };
    assert_eq!(r.unwrap(), "OK");
}

// ---------------------------------------------------------------- SelectJobTest

// SelectJobTest.testSelectCompleted: a job already cancelled: onJoin is
// selected at once, without letting the other child run first.
#[tokio::test(start_paused = true)]
async fn select_job_completed() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        log.push(1);
        launch { log.push(4); };
        let job = launch(start = lazy) { log.push("unreached"); };
        job.cancel();
        join_all([&job]).await?;
        log.push(2);
        log.push(3);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), nums(4));
}

// SelectJobTest.testSelectIncomplete, adapted: Kotlin's bare Job()
// completes as it is cancelled, so the selecting child (6, 7) runs at main's
// yield, before 8. There is no bare job here: the job is a child waiting in
// `delay` (a lazy one would be started by the join, R11), which completes in
// a step of its own after the cancel, as a Kotlin `launch { delay(..) }`
// does: the selecting child is then queued behind main, so 8 comes before
// 6, 7 (Kotlin's order for that shape).
#[tokio::test(start_paused = true)]
async fn select_job_incomplete() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        log.push(1);
        let job = launch { delay(FOREVER).await?; };
        let j = job.clone();
        launch {
            log.push(3);
            join_all([&j]).await?;
            log.push(6);
            log.push(7);
        };
        log.push(2);
        yield_now().await?;
        log.push(4);
        job.cancel();
        log.push(5);
        yield_now().await?;
        log.push(8);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), ["1", "2", "3", "4", "5", "8", "6", "7"]);
}

// SelectJobTest.testSelectLazy: onJoin starts a lazy job.
#[tokio::test(start_paused = true)]
async fn select_job_lazy() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        log.push(1);
        let job = launch(start = lazy) { log.push(2); };
        join_all([&job]).await?;
        log.push(3);
        log.push(4);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), nums(4));
}

// ---------------------------------------------------------------- AtomicCancellationTest

// AtomicCancellationTest.testSendCancellable: the suspended sender's value
// is taken, the sender is scheduled and cancelled before it resumes: its
// send returns the cancellation (Kotlin's prompt cancellation).
#[tokio::test(start_paused = true)]
async fn atomic_send_cancellable() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        log.push(1);
        let (tx, rx) = channel::<u32>(0);
        let job = launch {
            log.push(2);
            let r = tx.send(42).await;
            log.push(format!("send {:?}", r.as_ref().map_err(|e| e.is_cancellation())));
            r?;
            log.push("unreached");
        };
        yield_now().await?; // UNDISPATCHED
        log.push(3);
        assert_eq!(rx.recv().await?, Some(42));
        job.cancel();
        yield_now().await?;
        log.push(4);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), ["1", "2", "3", "send Err(true)", "4"]);
}

// AtomicCancellationTest.testReceiveCancellable
#[tokio::test(start_paused = true)]
async fn atomic_receive_cancellable() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        log.push(1);
        let (tx, rx) = channel::<u32>(0);
        let job = launch {
            log.push(2);
            let r = rx.recv().await;
            log.push(format!("recv {:?}", r.as_ref().map_err(|e| e.is_cancellation())));
            r?;
            log.push("unreached");
        };
        yield_now().await?; // UNDISPATCHED
        log.push(3);
        tx.send(42).await?;
        job.cancel();
        yield_now().await?;
        log.push(4);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), ["1", "2", "3", "recv Err(true)", "4"]);
}

// AtomicCancellationTest.testSelectDeferredAwaitCancellable: the job is
// woken by the deferred's completion and cancelled before it resumes: its
// select (race) gives the cancellation; the finally block runs (7).
// UNDISPATCHED adapted: `deferred` is lazy and started by the race, so that
// the job suspends in it (2) before the deferred runs (4), as in Kotlin.
#[tokio::test(start_paused = true)]
async fn atomic_select_deferred_await_cancellable() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        log.push(1);
        let deferred = async(start = lazy) { log.push(4); Ok("OK") };
        let d = deferred.clone();
        assert!(!deferred.is_completed());
        let job = launch {
            log.push(2);
            let r = race([d]).await;
            log.push(format!("7 {:?}", r.as_ref().map_err(|e| e.is_cancellation())));
            r?;
            log.push("unreached");
        };
        yield_now().await?;
        log.push(3);
        let j = job.clone();
        let dd = deferred.clone();
        launch {
            log.push(5);
            assert!(dd.is_completed());
            j.cancel();
        };
        yield_now().await?;
        log.push(6);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), ["1", "2", "3", "4", "5", "6", "7 Err(true)"]);
}

// AtomicCancellationTest.testSelectJobJoinCancellable (adapted as above).
#[tokio::test(start_paused = true)]
async fn atomic_select_job_join_cancellable() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        log.push(1);
        let to_join = launch(start = lazy) { log.push(4); };
        let tj = to_join.clone();
        assert!(!to_join.is_completed());
        let job = launch {
            log.push(2);
            let r = join_all([&tj]).await;
            log.push(format!("7 {:?}", r.as_ref().map_err(|e| e.is_cancellation())));
            r?;
            log.push("unreached");
        };
        yield_now().await?;
        log.push(3);
        let j = job.clone();
        let tj2 = to_join.clone();
        launch {
            log.push(5);
            assert!(tj2.is_completed());
            j.cancel();
        };
        yield_now().await?;
        log.push(6);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), ["1", "2", "3", "4", "5", "6", "7 Err(true)"]);
}

// AtomicCancellationTest.testSelectJobJoinCancellable with a plain `join`.
#[tokio::test(start_paused = true)]
async fn atomic_join_cancellable() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        log.push(1);
        let to_join = launch(start = lazy) { log.push(4); };
        let tj = to_join.clone();
        let job = launch {
            log.push(2);
            let r = tj.join().await;
            log.push(format!("7 {:?}", r.as_ref().map_err(|e| e.is_cancellation())));
            r?;
            log.push("unreached");
        };
        yield_now().await?;
        log.push(3);
        let j = job.clone();
        launch {
            log.push(5);
            j.cancel();
        };
        yield_now().await?;
        log.push(6);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), ["1", "2", "3", "4", "5", "6", "7 Err(true)"]);
}

// ---------------------------------------------------------------- SupervisorTest

// SupervisorTest.testSupervisorJob: both launch children fail; the handler
// gets TE2 then TE1; both jobs end cancelled; the supervisor is fine.
#[tokio::test(start_paused = true)]
async fn supervisor_job_two_failing_children_go_to_handler() {
    let log = Log::default();
    let log = &log;
    let (got, h) = recorder();
    let r: scopes::Result<()> = with_exception_handler(h, async {
        supervisor_scope! {
            log.push(1);
            let job1 = launch(name = "job1") {
                log.push(2);
                yield_now().await?;
                log.push(4);
                Err::<(), _>(fail("TestException1"))
            };
            let job2 = launch(name = "job2") {
                log.push(3);
                Err::<(), _>(fail("TestException2"))
            };
            join_all([&job1, &job2]).await?;
            log.push(5);
            assert!(job1.is_cancelled());
            assert!(job2.is_cancelled());
            assert!(is_active());
            Ok(())
        }
    })
    .await;
    r.unwrap();
    assert_eq!(log.take(), nums(5));
    assert_eq!(
        names(&got),
        [Some("TestException2"), Some("TestException1")]
    );
}

// ---------------------------------------------------------------- JobExceptionHandlingTest

// JobExceptionHandlingTest.testChildException: a child of a root Job
// (→ supervisor_scope) fails: the handler gets it.
#[tokio::test(start_paused = true)]
async fn job_exception_child_exception_goes_to_handler() {
    let log = Log::default();
    let log = &log;
    let (got, h) = recorder();
    let r: scopes::Result<()> = with_exception_handler(h, async {
        supervisor_scope! {
            let job = launch {
                log.push(2);
                Err::<(), _>(fail("IllegalStateException"))
            };
            log.push(1);
            job.join().await?;
            log.push(3);
            Ok(())
        }
    })
    .await;
    r.unwrap();
    assert_eq!(log.take(), nums(3));
    assert_eq!(names(&got), [Some("IllegalStateException")]);
}

// JobExceptionHandlingTest.testBadException, adapted: the second child is
// started ATOMIC in Kotlin (it runs although its parent was cancelled by the
// first and logs 4; its failure is suppressed in the first's). No ATOMIC here:
// a child cancelled before it first runs never runs (R7), so 4 is absent. The
// handler gets the first failure once.
#[tokio::test(start_paused = true)]
async fn job_exception_bad_exception_reaches_handler_once() {
    let log = Log::default();
    let log = &log;
    let (got, h) = recorder();
    let r: scopes::Result<()> = with_exception_handler(h, async {
        supervisor_scope! {
            let job = launch {
                log.push(2);
                launch { log.push(3); Err::<(), _>(fail("BadException")) };
                launch { log.push("4 (ATOMIC in Kotlin)"); Err::<(), _>(fail("BadException2")) };
                yield_now().await?;
                let _ = fail("BadException"); // created, not thrown
            };
            log.push(1);
            yield_now().await?;
            yield_now().await?;
            log.push(5);
            job.join().await?;
            log.push(6);
            Ok(())
        }
    })
    .await;
    r.unwrap();
    assert_eq!(log.take(), ["1", "2", "3", "5", "6"]);
    let got = got.lock().unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(name_of(&got[0]), Some("BadException"));
    assert!(got[0].suppressed().is_empty(), "{:?}", got[0]);
}

// ---------------------------------------------------------------- ProduceTest

// ProduceTest.testAwaitConsumerCancellation: awaitClose → a wait in
// `delay(FOREVER)` whose cancellation runs the close block (4); the parent
// Job (completed and joined) → a nested coroutine_scope.
#[tokio::test(start_paused = true)]
async fn produce_await_consumer_cancellation() {
    let log = Log::default();
    let log = &log;
    let start = tokio::time::Instant::now();
    let r: scopes::Result<()> = coroutine_scope! {
        coroutine_scope! {
            let channel = produce!(|_tx: Sender<u32>| {
                log.push(2);
                if delay(FOREVER).await.is_err() { log.push(4); }
            });
            log.push(1);
            yield_now().await?;
            log.push(3);
            channel.cancel();
            Ok(())
        }?;
        log.push(5);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), nums(5));
    assert_eq!(start.elapsed(), ms(0));
}

// ProduceTest.testAwaitParentCancellation: the producer's parent job is
// cancelled and joined: the producer's awaitClose block runs (4). Kotlin's
// bare parent Job → a launch child holding the receiver; Kotlin starts the
// producer from the test body, here the parent's body does, so the body
// yields once first to let the parent start it (adapted).
#[tokio::test(start_paused = true)]
async fn produce_await_parent_cancellation() {
    let log = Log::default();
    let log = &log;
    let start = tokio::time::Instant::now();
    let r: scopes::Result<()> = coroutine_scope! {
        let parent = launch {
            let _channel = produce!(|_tx: Sender<u32>| {
                log.push(2);
                if delay(FOREVER).await.is_err() { log.push(4); }
            });
            delay(FOREVER).await?;
        };
        yield_now().await?; // the parent starts the producer
        log.push(1);
        yield_now().await?;
        log.push(3);
        parent.cancel_and_join().await?;
        log.push(5);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), nums(5));
    assert_eq!(start.elapsed(), ms(0));
}

// ProduceTest.testSilentKillerInProduce: the producer (in a supervisor
// scope of its own, Kotlin's `CoroutineScope(SupervisorJob())`) cancels that
// scope after five sends to an unlimited channel, then sends -1; a consumer
// outside that scope iterates. Kotlin: the consumer gets 0..4 and -1 (a send
// to an unlimited channel does not suspend, so it succeeds in a cancelled
// job), then its loop throws a cancellation (the producer ended cancelled).
// Here `send` is cancellation-aware (SPEC §2c, R7: called in a cancelled job
// it returns the cancellation at once, whatever the capacity), so -1 is not
// sent: a documented difference. The rest is Kotlin's.
#[tokio::test(start_paused = true)]
async fn produce_silent_killer() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        let holder: Arc<OnceLock<Receiver<i32>>> = Default::default();
        let me: Arc<OnceLock<Job<'_>>> = Default::default();
        let h = holder.clone();
        let m = me.clone();
        let parent = launch {
            supervisor_scope! {
                let m = m.clone();
                let channel = produce!(capacity = scopes::channel::UNLIMITED; |tx: Sender<i32>| {
                    for i in 0..5 { tx.send(i).await?; }
                    m.get().unwrap().cancel();
                    let r = tx.send(-1).await;
                    log.push(format!("send(-1) {:?}", r.as_ref().map_err(|e| e.is_cancellation())));
                    r?;
                });
                let _ = h.set(channel);
                Ok(())
            }?;
        };
        let _ = me.set(parent.clone());
        let consumer = launch {
            while holder.get().is_none() { yield_now().await?; }
            let channel = holder.get().unwrap();
            loop {
                match channel.recv().await {
                    Ok(Some(c)) => log.push(c),
                    Ok(None) => { log.push("closed"); break; }
                    Err(e) => { log.push(format!("recv cancellation={}", e.is_cancellation())); break; }
                }
            }
        };
        join_all([&parent, &consumer]).await?;
        Ok(())
    };
    r.unwrap();
    assert_eq!(
        log.take(),
        [
            "send(-1) Err(true)",
            "0",
            "1",
            "2",
            "3",
            "4",
            "recv cancellation=true"
        ]
    );
}

// ---------------------------------------------------------------- CoroutineScopeTest

// CoroutineScopeTest.testIsActiveWithoutJob: outside any job, the context
// is active.
#[tokio::test(start_paused = true)]
async fn coroutine_scope_is_active_without_job() {
    assert!(is_active());
    assert!(ensure_active().is_ok());
}

// ---------------------------------------------------------------- WithContextExceptionHandlingTest

// WithContextExceptionHandlingTest.testSameCancellation /
// testConflictingCancellation3 (WITH_CONTEXT mode): the job is cancelled
// inside the block, which then throws a cancellation: the caller gets a
// cancellation (no cause can be given to `cancel()` here, so "the same"
// one is checked as "a cancellation", nothing suppressed).
#[tokio::test(start_paused = true)]
async fn with_context_cancelled_then_throwing_cancellation_gives_cancellation() {
    let log = Log::default();
    let log = &log;
    log.push(1);
    let r: scopes::Result<()> = coroutine_scope! {
        let me: Arc<OnceLock<Job<'_>>> = Default::default();
        let own = me.clone();
        let job = launch {
            let r: scopes::Result<()> = coroutine_scope! {
                assert!(is_active());
                own.get().unwrap().cancel();
                assert!(!is_active());
                log.push(2);
                Err(scopes::Error::cancelled())
            };
            let e = r.unwrap_err();
            assert!(e.is_cancellation(), "{e:?}");
            assert!(e.suppressed().is_empty(), "{e:?}");
            log.push(3);
            Err::<(), _>(e)
        };
        let _ = me.set(job.clone());
        job.join().await?;
        assert!(job.is_cancelled());
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), nums(3));
}

// ---------------------------------------------------------------- CancellableResumeTest

// CancellableResumeTest.testResumeImmediateAfterCancel: the continuation is
// cancelled, then resumed with a value: the caller gets the cancellation.
// → a `cancellable` whose future is ready at once, called in a job cancelled
// just before: the cancellation (R7), the value is not given.
#[tokio::test(start_paused = true)]
async fn cancellable_resume_immediate_after_cancel() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        let me: Arc<OnceLock<Job<'_>>> = Default::default();
        let own = me.clone();
        let job = launch {
            log.push(1);
            own.get().unwrap().cancel();
            let r = cancellable(async move { 42u32 }).await;
            log.push(format!("2 {:?}", r.as_ref().map_err(|e| e.is_cancellation())));
            r?;
            log.push("unreached");
        };
        let _ = me.set(job.clone());
        job.join().await?;
        log.push(3);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), ["1", "2 Err(true)", "3"]);
}

// CancellableResumeTest.testResumeImmediateNormally
#[tokio::test(start_paused = true)]
async fn cancellable_resume_immediate_normally() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        log.push(1);
        let ok = cancellable(async move { "OK" }).await?;
        assert_eq!(ok, "OK");
        log.push(2);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), nums(2));
}

// CancellableResumeTest.testResumeLaterNormally: suspended in a foreign
// wait, resumed by a sibling: the value, in Kotlin's order.
#[tokio::test(start_paused = true)]
async fn cancellable_resume_later_normally() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        log.push(1);
        let (tx, rx) = tokio::sync::oneshot::channel::<&str>();
        let job = launch {
            log.push(2);
            let ok = cancellable(rx).await?.unwrap();
            assert_eq!(ok, "OK");
            log.push(4);
        };
        yield_now().await?;
        log.push(3);
        tx.send("OK").unwrap();
        job.join().await?;
        log.push(5);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), nums(5));
}
