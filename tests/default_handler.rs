//! R4's default exception handler: a supervised child's unhandled failure
//! becomes a `tracing` error event when a subscriber is installed, and is
//! printed on stderr only when none is (never both, never neither).
//!
//! Stderr is observed in a child process: the test binary runs itself with
//! `SCOPES_DEFAULT_HANDLER_CASE` set and only `report_in_child_process`
//! selected, with `--nocapture` so the handler's `eprintln!` reaches the
//! pipe. Alone in its test binary: `tracing` caches callsite interest
//! process-wide.

use std::process::Command;

use scopes::{Error, supervisor_scope};
use scopes_workspace::TraceLog;

const CASE: &str = "SCOPES_DEFAULT_HANDLER_CASE";
const STDERR_LINE: &str = "scopes: unhandled failure in a supervised child: ";

/// A supervisor scope whose `launch` child fails, with no handler installed.
fn unhandled_failure() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime
        .block_on(supervisor_scope(|s| {
            Box::pin(async move {
                s.child()
                    .name("failing")
                    .launch(async { Err(Error::msg("boom")) });
                Ok(())
            })
        }))
        .unwrap();
}

#[test]
fn r4_with_a_subscriber_the_failure_is_an_error_event() {
    let log = TraceLog::default();
    tracing::subscriber::with_default(log.clone(), unhandled_failure);
    let events = log.events();
    assert_eq!(
        events,
        [
            r#"ERROR message=unhandled failure in a supervised child error=boom child=Some("failing")"#
        ],
    );
}

/// Runs `report_in_child_process` in a child process for `case`; its stderr.
fn stderr_of(case: &str) -> String {
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["report_in_child_process", "--exact", "--nocapture"])
        .env(CASE, case)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stderr).unwrap()
}

#[test]
fn r4_without_a_subscriber_the_failure_goes_to_stderr() {
    let stderr = stderr_of("no-subscriber");
    assert_eq!(stderr.matches(STDERR_LINE).count(), 1, "{stderr}");
    assert!(stderr.contains("boom"), "{stderr}");
}

#[test]
fn r4_with_a_subscriber_nothing_goes_to_stderr() {
    let stderr = stderr_of("subscriber");
    assert!(!stderr.contains(STDERR_LINE), "{stderr}");
}

/// The child process's side; does nothing in a normal run.
#[test]
fn report_in_child_process() {
    match std::env::var(CASE).as_deref() {
        Ok("no-subscriber") => unhandled_failure(),
        Ok("subscriber") => {
            let log = TraceLog::default();
            tracing::subscriber::with_default(log.clone(), unhandled_failure);
            assert_eq!(log.events().len(), 1);
        }
        _ => {}
    }
}
