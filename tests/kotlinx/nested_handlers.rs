//! R4/R6 across nesting (kotlinx SupervisorTest / JobExceptionHandlingTest
//! shapes with a supervisor inside a failing coroutine_scope).

use super::common::*;
use scopes::prelude::*;

// A supervisor_scope inside a child of a failing coroutine_scope: its launch
// child failing in cleanup goes to the handler (R6), and is not suppressed in
// the outer failure.
#[tokio::test(start_paused = true)]
async fn supervisor_child_cleanup_failure_inside_failing_coroutine_scope() {
    let (got, h) = recorder();
    let r: scopes::Result<()> = with_exception_handler(h, async {
        coroutine_scope! {
            launch {
                supervisor_scope! {
                    launch {
                        let _ = delay(FOREVER).await;
                        Err::<(), _>(fail("sup child cleanup"))
                    };
                    delay(FOREVER).await?;
                    Ok(())
                }?;
            };
            launch { delay(ms(10)).await?; Err::<(), _>(fail("outer")) };
            Ok(())
        }
    })
    .await;
    let e = r.unwrap_err();
    assert_eq!(name_of(&e), Some("outer"));
    let sup: Vec<_> = e.suppressed().iter().map(|e| name_of(e)).collect();
    assert!(sup.is_empty(), "suppressed {sup:?}");
    let got: Vec<_> = got.lock().unwrap().iter().map(|e| name_of(e)).collect();
    assert_eq!(got, [Some("sup child cleanup")]);
}

// An async child of a supervisor_scope that fails in cleanup while the
// supervisor is cancelled from outside, its Deferred never awaited: the
// handler gets it (§3b), once.
#[tokio::test(start_paused = true)]
async fn unawaited_deferred_failing_in_cleanup_of_cancelled_supervisor() {
    let (got, h) = recorder();
    let r: scopes::Result<()> = with_exception_handler(h, async {
        coroutine_scope! {
            let j = launch {
                supervisor_scope! {
                    let _d = async {
                        let _ = delay(FOREVER).await;
                        Err::<(), _>(fail("deferred cleanup"))
                    };
                    delay(FOREVER).await?;
                    Ok(())
                }?;
            };
            delay(ms(10)).await?;
            j.cancel();
            Ok(())
        }
    })
    .await;
    r.unwrap();
    let got: Vec<_> = got.lock().unwrap().iter().map(|e| name_of(e)).collect();
    assert_eq!(got, [Some("deferred cleanup")]);
}

// A handler installed inside a child applies to supervisors started inside
// it, not to a sibling's.
#[tokio::test(start_paused = true)]
async fn handler_scope_is_lexical_to_its_future() {
    let (outer_got, oh) = recorder();
    let (inner_got, ih) = recorder();
    let r: scopes::Result<()> = with_exception_handler(oh, async {
        coroutine_scope! {
            launch {
                with_exception_handler(ih, async move {
                    supervisor_scope! { launch { Err::<(), _>(fail("in")) }; Ok(()) }
                }).await?;
            };
            launch {
                supervisor_scope! { launch { Err::<(), _>(fail("out")) }; Ok(()) }?;
            };
            Ok(())
        }
    })
    .await;
    r.unwrap();
    let o: Vec<_> = outer_got
        .lock()
        .unwrap()
        .iter()
        .map(|e| name_of(e))
        .collect();
    let i: Vec<_> = inner_got
        .lock()
        .unwrap()
        .iter()
        .map(|e| name_of(e))
        .collect();
    assert_eq!(i, [Some("in")]);
    assert_eq!(o, [Some("out")]);
}

// JobExceptionHandlingTest.testExceptionIsHandledOnce (supervisor): one
// failing launch, one sleeping; the failure is handled once; joinAll returns.
#[tokio::test(start_paused = true)]
async fn exception_is_handled_once() {
    let (got, h) = recorder();
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = with_exception_handler(h, async {
        supervisor_scope! {
            let j1 = launch { log.push(1); delay(ms(100)).await?; };
            let j2 = launch { log.push(2); Err::<(), _>(fail("t")) };
            join_all([&j1, &j2]).await?;
            log.push(3);
            Ok(())
        }
    })
    .await;
    r.unwrap();
    assert_eq!(log.take(), ["1", "2", "3"]);
    assert_eq!(got.lock().unwrap().len(), 1);
}

// A panic in a supervised launch child reaches the handler as is_panic, and
// can be resumed.
#[tokio::test(start_paused = true)]
async fn panic_in_supervised_launch_goes_to_handler() {
    let (got, h) = recorder();
    let r: scopes::Result<()> = with_exception_handler(h, async {
        supervisor_scope! {
            launch { if true { panic!("kaboom"); } };
            Ok(())
        }
    })
    .await;
    r.unwrap();
    let got = got.lock().unwrap();
    assert_eq!(got.len(), 1);
    assert!(got[0].is_panic());
    assert!(got[0].to_string().contains("kaboom"), "{}", got[0]);
}
