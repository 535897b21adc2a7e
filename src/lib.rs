//! Support shared by the workspace's integration tests, examples and
//! benchmarks (the `scopes` crate itself lives in `scopes/`).

pub mod seeds;
pub mod seeds_api;

use std::sync::{Arc, Mutex};

/// An ordered log of side effects that children can append to from any
/// thread; tests compare it with the sequence the rules predict.
///
/// ```
/// let log = scopes_workspace::Log::default();
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
