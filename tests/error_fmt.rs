//! `Error`'s formats are a contract (crate docs of `Error`, "Formats"):
//! `{}` the message, `{:#}` the chain on one line, `{:?}` the path of
//! children the error left, the chain and the suppressed failures, with
//! long listings capped. Each test checks the exact string, as anyhow's
//! `tests/test_fmt.rs` does.

use std::fmt::{self, Display};
use std::time::Duration;

use scopes::{Error, Result, coroutine_scope, delay, with_timeout, yield_now};

const HOUR: Duration = Duration::from_secs(3600);

#[derive(Debug)]
struct ReadConfig(std::io::Error);

impl Display for ReadConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("read config")
    }
}

impl std::error::Error for ReadConfig {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

fn read_config() -> Error {
    let io = std::io::Error::new(std::io::ErrorKind::NotFound, "file not found");
    Error::from(ReadConfig(io))
}

/// `file:line:col` in this file.
fn at(line: u32, col: u32) -> String {
    format!("tests/error_fmt.rs:{line}:{col}")
}

#[test]
fn message() {
    let err = Error::msg("http 500");
    assert_eq!(format!("{err}"), "http 500");
    assert_eq!(format!("{err:#}"), "http 500");
    assert_eq!(format!("{err:?}"), "http 500");
    assert_eq!(format!("{err:#?}"), "http 500");
}

#[test]
fn chain() {
    let err = read_config();
    assert_eq!(format!("{err}"), "read config");
    assert_eq!(format!("{err:#}"), "read config: file not found");
    assert_eq!(
        format!("{err:?}"),
        "read config\n  caused by: file not found"
    );
    assert_eq!(format!("{err:#?}"), format!("{err:?}"));
}

#[test]
fn cancellation() {
    let err = Error::cancelled();
    assert_eq!(format!("{err}"), "job was cancelled");
    assert_eq!(format!("{err:#}"), "job was cancelled");
    assert_eq!(format!("{err:?}"), "job was cancelled");
}

#[tokio::test(start_paused = true)]
async fn timeout() {
    let err = with_timeout(Duration::from_millis(100), async move {
        delay(HOUR).await?;
        Ok(())
    })
    .await
    .unwrap_err();
    assert_eq!(format!("{err}"), "timed out after 100ms");
    assert_eq!(format!("{err:#}"), "timed out after 100ms");
}

#[tokio::test]
async fn panic() {
    let err = coroutine_scope(|_s| {
        Box::pin(async move {
            if true {
                panic!("bad state");
            }
            Ok(())
        })
    })
    .await
    .unwrap_err();
    assert_eq!(format!("{err}"), "panicked: bad state");
    assert_eq!(format!("{err:#}"), "panicked: bad state");
}

/// The path of children, from the one the error was raised in outwards; a
/// named child shows where it started, an unnamed one is named by it.
#[tokio::test]
async fn debug_shows_the_path_of_children() {
    let outer_line = line!() + 3;
    let result: Result<()> = coroutine_scope(|s| {
        Box::pin(async move {
            s.launch(async {
                coroutine_scope(|s| {
                    Box::pin(async move {
                        s.child().name("load").launch(async { Err(read_config()) });
                        Ok(())
                    })
                })
                .await
            });
            Ok(())
        })
    })
    .await;
    let err = result.unwrap_err();
    assert_eq!(format!("{err}"), "read config");
    assert_eq!(format!("{err:#}"), "read config: file not found");
    assert_eq!(
        format!("{err:?}"),
        format!(
            "read config\n  in child `load` ({})\n  in child `{}`\n  caused by: file not found",
            at(outer_line + 3, 27),
            at(outer_line, 15),
        ),
    );
    assert_eq!(err.child_name().as_deref(), Some("load"));
}

/// A scope whose 10,000 children fail while it is cancelling: the first 15
/// suppressed failures are listed, then how many more.
#[tokio::test(start_paused = true)]
async fn debug_caps_the_suppressed_failures() {
    let line = line!() + 4;
    let result: Result<()> = coroutine_scope(|s| {
        Box::pin(async move {
            for i in 0..10_000 {
                s.child().name(format!("c{i}")).launch(async move {
                    let _ = delay(HOUR).await;
                    Err(Error::msg(format!("cleanup {i} failed")))
                });
            }
            yield_now().await?;
            Err(Error::msg("first"))
        })
    })
    .await;
    let err = result.unwrap_err();
    assert_eq!(err.suppressed().len(), 10_000);
    let mut expected = "first".to_owned();
    for i in 0..15 {
        let c = at(line, 19);
        expected.push_str(&format!(
            "\n  suppressed: cleanup {i} failed (in child `c{i}` ({c}))"
        ));
    }
    expected.push_str("\n  ... and 9985 more suppressed");
    let debug = format!("{err:?}");
    assert_eq!(debug, expected);
    assert!(debug.len() < 2_000, "{} bytes", debug.len());
}
