//! The seed scenarios S1–S6 of SPEC §4: [`dsl`] writes them with the
//! macros, [`api`] by hand on the runtime API (what the macros lower to).
//! Side effects go to a [`Log`].
//!
//! A package of its own so that `cargo run --example seeds` (the example is
//! `examples/seeds.rs` at the workspace root) builds only `scopes`, its
//! macros and tokio; tests/seeds.rs in the root package checks both
//! versions against SPEC §4.

#![forbid(unsafe_code)]

pub mod api;
pub mod dsl;

use std::sync::{Arc, Mutex};

/// An ordered log of side effects that children can append to from any
/// thread; tests compare it with the sequence the rules predict.
///
/// ```
/// let log = scopes_seeds::Log::default();
/// log.push("a");
/// log.push(format!("b{}", 1));
/// assert_eq!(log.take(), ["a", "b1"]);
/// ```
#[derive(Clone, Default, Debug)]
pub struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    /// Appends one entry.
    pub fn push(&self, entry: impl Into<String>) {
        self.0.lock().unwrap().push(entry.into());
    }

    /// Returns every entry so far and clears the log.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}
