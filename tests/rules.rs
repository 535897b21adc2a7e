//! SPEC §3, rules R1–R14, on the runtime API: one test (or a few) per rule,
//! named after it, all on tokio's paused clock with exact virtual times.
//!
//! Every rule holds for both kinds of scope (SPEC §2d), so every test runs
//! twice: the tests live in `rules/cases.rs`, which is compiled once in
//! [`send`] against `coroutine_scope` / `supervisor_scope` and once in
//! [`local`] against `coroutine_scope_local` / `supervisor_scope_local`.
//! Each of those modules names its kind's entry points, handle
//! (`Scope`) and boxed body (`BoxFuture`) the same way, and adds the tests
//! that only hold for its kind (R13: a plain scope's future is `Send`; a
//! local scope takes children that are not). Filter by kind with
//! `cargo test --test rules send::` (or `local::`), by rule with `r7_`.

use std::time::Duration;

use scopes_workspace::{recording, timed};

#[path = "rules/local.rs"]
mod local;
#[path = "rules/send.rs"]
mod send;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}
