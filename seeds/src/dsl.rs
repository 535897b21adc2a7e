//! The seed scenarios S1–S6 of SPEC §4, written with the DSL. Each returns
//! the scope's outcome; side effects (Kotlin's `println`s and handler calls)
//! go to the [`Log`]. [`crate::api`] has the same programs on the
//! runtime API.

use std::time::Duration;

use scopes::prelude::*;

use crate::Log;

/// One seed scenario: its id and what it shows.
pub struct Seed {
    /// `S1` ... `S6`.
    pub id: &'static str,
    /// One line on what happens.
    pub about: &'static str,
}

/// The scenarios in order.
pub const SEEDS: [Seed; 6] = [
    Seed {
        id: "S1",
        about: "coroutine_scope: A fails at once, B delays 1 s then prints",
    },
    Seed {
        id: "S2",
        about: "supervisor_scope: A fails at once, B delays 1 s then prints",
    },
    Seed {
        id: "S3",
        about: "coroutine_scope: await color (60 s) then height (fails at 100 ms)",
    },
    Seed {
        id: "S4",
        about: "supervisor_scope: await height first, no catch",
    },
    Seed {
        id: "S5",
        about: "supervisor_scope: await height, catch the error",
    },
    Seed {
        id: "S6",
        about: "coroutine_scope: color cleans up in non_cancellable for 2 s",
    },
];

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

/// S1: in a `coroutine_scope`, A's failure cancels B before it prints.
pub async fn s1(log: &Log) -> Result<String> {
    coroutine_scope! {
        launch(name = "A") { Err(Error::msg("A failed")) }
        launch(name = "B") {
            delay(Duration::from_secs(1)).await?;
            log.push("B done");
        }
        Ok("done".to_owned())
    }
}

/// S2: in a `supervisor_scope`, A's failure goes to the handler and B runs.
pub async fn s2(log: &Log) -> Result<String> {
    let handler_log = log.clone();
    let handler = move |e: &Error| handler_log.push(format!("handler: {e}"));
    with_exception_handler(handler, async {
        supervisor_scope! {
            launch(name = "A") { Err(Error::msg("A failed")) }
            launch(name = "B") {
                delay(Duration::from_secs(1)).await?;
                log.push("B done");
            }
            Ok("done".to_owned())
        }
    })
    .await
}

/// S3: awaiting color first does not hide height's failure: it cancels the
/// wait at 100 ms.
pub async fn s3(_log: &Log) -> Result<String> {
    coroutine_scope! {
        let color = async(name = "color") { delay(Duration::from_secs(60)).await?; Ok("purple") };
        let height = async(name = "height") {
            delay(Duration::from_millis(100)).await?;
            Err::<f64, _>(Error::msg("http error while fetching height"))
        };
        Ok(format!("A {} box {:.1} inches tall", color.await?, height.await?))
    }
}

/// S4: the body's own failure (height's error, not caught) cancels color.
pub async fn s4(_log: &Log) -> Result<String> {
    supervisor_scope! {
        let color = async(name = "color") { delay(Duration::from_secs(60)).await?; Ok("purple") };
        let height = async(name = "height") {
            delay(Duration::from_millis(100)).await?;
            Err::<f64, _>(Error::msg("http error while fetching height"))
        };
        let h = height.await?;
        Ok(format!("A {} box {h:.1} inches tall", color.await?))
    }
}

/// S5: catching the error in a supervisor recovers; the scope still waits
/// for color.
pub async fn s5(_log: &Log) -> Result<String> {
    supervisor_scope! {
        let color = async(name = "color") { delay(Duration::from_secs(60)).await?; Ok("purple") };
        let height = async(name = "height") {
            delay(Duration::from_millis(100)).await?;
            Err::<f64, _>(Error::msg("http error while fetching height"))
        };
        match height.await {
            Ok(h) => Ok(format!("A {} box {h:.1} inches tall", color.await?)),
            Err(_) => Ok("there was an error".to_owned()),
        }
    }
}

/// S6: cancelled color cleans up inside `non_cancellable` before the scope
/// returns height's failure.
pub async fn s6(log: &Log) -> Result<String> {
    coroutine_scope! {
        let color = async(name = "color") {
            match delay(Duration::from_secs(60)).await {
                Ok(()) => Ok("purple"),
                Err(_cancelled) => {
                    non_cancellable(delay(Duration::from_secs(2))).await?;
                    log.push("color got cancelled");
                    Ok("got error")
                }
            }
        };
        let height = async(name = "height") {
            delay(Duration::from_millis(100)).await?;
            Err::<f64, _>(Error::msg("http error while fetching height"))
        };
        Ok(format!("A {} box {:.1} inches tall", color.await?, height.await?))
    }
}
