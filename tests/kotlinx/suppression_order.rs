//! R6/R7 suppression order through a nested subtree (kotlinx
//! JobExceptionHandlingTest.testMultipleChildrenThrowAtomically and
//! JobNestedExceptionsTest shapes, cleanup failures instead of ATOMIC).

use super::common::*;
use scopes::prelude::*;

fn names(e: &scopes::Error) -> Vec<Option<&'static str>> {
    e.suppressed().iter().map(name_of).collect()
}

#[tokio::test(start_paused = true)]
async fn suppression_order_through_nested_subtree() {
    let r: scopes::Result<()> = coroutine_scope! {
        launch { delay(ms(10)).await?; Err::<(), _>(fail("A")) };
        launch {
            coroutine_scope! {
                launch { let _ = delay(FOREVER).await; Err::<(), _>(fail("G")) };
                let _ = delay(FOREVER).await;
                Err::<(), _>(fail("Bbody"))
            }?;
        };
        launch { let _ = delay(FOREVER).await; Err::<(), _>(fail("C")) };
        let _ = delay(FOREVER).await;
        Err(fail("body"))
    };
    let e = r.unwrap_err();
    assert_eq!(name_of(&e), Some("A"));
    assert_eq!(names(&e), [Some("G"), Some("C"), Some("body")], "{e:?}");
    assert_eq!(names(&e.suppressed()[0]), [Some("Bbody")], "{e:?}");
}

// Same with a supervisor in the middle: G goes to the handler, B's body
// failure is B's failure (suppressed in A).
#[tokio::test(start_paused = true)]
async fn suppression_order_with_supervisor_in_the_middle() {
    let (got, h) = recorder();
    let r: scopes::Result<()> = with_exception_handler(h, async {
        coroutine_scope! {
            launch { delay(ms(10)).await?; Err::<(), _>(fail("A")) };
            launch {
                supervisor_scope! {
                    launch { let _ = delay(FOREVER).await; Err::<(), _>(fail("G")) };
                    let _ = delay(FOREVER).await;
                    Err::<(), _>(fail("Bbody"))
                }?;
            };
            launch { let _ = delay(FOREVER).await; Err::<(), _>(fail("C")) };
            let _ = delay(FOREVER).await;
            Err(fail("body"))
        }
    })
    .await;
    let e = r.unwrap_err();
    assert_eq!(name_of(&e), Some("A"));
    assert_eq!(names(&e), [Some("Bbody"), Some("C"), Some("body")], "{e:?}");
    let got: Vec<_> = got.lock().unwrap().iter().map(name_of).collect();
    assert_eq!(got, [Some("G")]);
}
