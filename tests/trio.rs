//! Cases ported from Trio's own tests (python-trio/trio: `_core/_tests/
//! test_run.py`, `_tests/test_timeouts.py`, `_tests/test_channel.py`),
//! mapped onto the SPEC: a nursery is a `coroutine_scope` (R2, R6: the
//! first failure wins and later ones are suppressed, where Trio raises an
//! exception group), a shield is `non_cancellable` (R8), `move_on_after`
//! is `with_timeout_or_none` and `fail_after` is `with_timeout` (R9: a
//! timeout is a failure), a checkpoint is `yield_now`, a cancel scope's
//! `cancel()` is `Job::cancel` or `cancel_on`. Where the SPEC decides
//! otherwise than Trio (a child started in a cancelled scope never runs,
//! R7; closing a channel delivers what waiting senders sent, as Kotlin),
//! the case asserts the SPEC. Every case runs on tokio's paused clock with
//! exact virtual times (R12), except one on the real clock.
//!
//! One module per Trio test file; each case names the Trio test it comes
//! from.

use std::time::Duration;

pub use scopes_workspace::{Log, timed};

#[path = "trio/cancel.rs"]
mod cancel;
#[path = "trio/channel.rs"]
mod channel;
#[path = "trio/extra.rs"]
mod extra;
#[path = "trio/nursery.rs"]
mod nursery;
#[path = "trio/timeouts.rs"]
mod timeouts;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// A failure with a recognisable message.
fn fail(msg: &str) -> scopes::Error {
    scopes::Error::msg(msg.to_owned())
}

/// Longer than any case runs: Trio's `sleep_forever`.
fn forever() -> Duration {
    Duration::from_secs(1_000_000)
}
