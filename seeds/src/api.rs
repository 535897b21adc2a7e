//! The seed scenarios S1–S6 of SPEC §4 written on the runtime API, by hand:
//! the same programs as [`crate::dsl`] without macros, kept as tests of
//! what the macros lower to.

use std::time::Duration;

use scopes::{
    BoxFuture, Error, Result, Scope, coroutine_scope, delay, non_cancellable, supervisor_scope,
    with_exception_handler,
};

use crate::Log;

/// Runs scenario `id` (`"S1"` ... `"S6"`).
pub async fn run(id: &str, log: &Log) -> Result<String> {
    match id {
        "S1" => s1(log).await,
        "S2" => s2(log).await,
        "S3" => s3(log).await,
        "S4" => s4(log).await,
        "S5" => s5(log).await,
        "S6" => s6(log).await,
        other => Err(Error::msg(format!("no seed scenario `{other}`"))),
    }
}

/// S1 and S2's body: A fails at once; B prints after a second.
fn a_fails_b_prints<'s>(s: Scope<'s, '_>, log: &'s Log) -> BoxFuture<'s, Result<String>> {
    Box::pin(async move {
        s.child()
            .name("A")
            .launch(async { Err(Error::msg("A failed")) });
        s.child().name("B").launch(async move {
            delay(Duration::from_secs(1)).await?;
            log.push("B done");
            Ok(())
        });
        Ok("done".to_owned())
    })
}

/// S1: in a `coroutine_scope`, A's failure cancels B before it prints.
pub async fn s1(log: &Log) -> Result<String> {
    coroutine_scope(|s| a_fails_b_prints(s, log)).await
}

/// S2: in a `supervisor_scope`, A's failure goes to the handler and B runs.
pub async fn s2(log: &Log) -> Result<String> {
    let handler_log = log.clone();
    let handler = move |e: &Error| handler_log.push(format!("handler: {e}"));
    with_exception_handler(handler, supervisor_scope(|s| a_fails_b_prints(s, log))).await
}

async fn color() -> Result<&'static str> {
    delay(Duration::from_secs(60)).await?;
    Ok("purple")
}

async fn height() -> Result<f64> {
    delay(Duration::from_millis(100)).await?;
    Err(Error::msg("http error while fetching height"))
}

/// S3: awaiting color first does not hide height's failure: it cancels the
/// wait at 100 ms.
pub async fn s3(_log: &Log) -> Result<String> {
    coroutine_scope(|s| {
        Box::pin(async move {
            let color = s.child().name("color").r#async(color());
            let height = s.child().name("height").r#async(height());
            Ok(format!(
                "A {} box {:.1} inches tall",
                color.await?,
                height.await?
            ))
        })
    })
    .await
}

/// S4: the body's own failure (height's error, not caught) cancels color.
pub async fn s4(_log: &Log) -> Result<String> {
    supervisor_scope(|s| {
        Box::pin(async move {
            let color = s.child().name("color").r#async(color());
            let height = s.child().name("height").r#async(height());
            let h = height.await?;
            Ok(format!("A {} box {h:.1} inches tall", color.await?))
        })
    })
    .await
}

/// S5: catching the error in a supervisor recovers; the scope still waits
/// for color.
pub async fn s5(_log: &Log) -> Result<String> {
    supervisor_scope(|s| {
        Box::pin(async move {
            let color = s.child().name("color").r#async(color());
            let height = s.child().name("height").r#async(height());
            match height.await {
                Ok(h) => Ok(format!("A {} box {h:.1} inches tall", color.await?)),
                Err(_) => Ok("there was an error".to_owned()),
            }
        })
    })
    .await
}

/// S6: cancelled color cleans up inside `non_cancellable` before the scope
/// returns height's failure.
pub async fn s6(log: &Log) -> Result<String> {
    coroutine_scope(|s| {
        Box::pin(async move {
            let color = s.child().name("color").r#async(async move {
                match delay(Duration::from_secs(60)).await {
                    Ok(()) => Ok("purple"),
                    Err(_cancelled) => {
                        non_cancellable(delay(Duration::from_secs(2))).await?;
                        log.push("color got cancelled");
                        Ok("got error")
                    }
                }
            });
            let height = s.child().name("height").r#async(height());
            Ok(format!(
                "A {} box {:.1} inches tall",
                color.await?,
                height.await?
            ))
        })
    })
    .await
}
