//! Support shared by the workspace's integration tests, examples and
//! benchmarks (the `scopes` crate itself lives in `scopes/`).

mod gate;
pub mod seeds;
pub mod seeds_api;
mod trace_log;

pub use gate::{Gate, Wait};
pub use trace_log::TraceLog;

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

/// Keeps expected panics off stderr. The first call installs (once per
/// process) a panic hook that hides panics whose message starts with one of
/// the registered prefixes; every other panic still reaches the previous
/// hook. Each call registers `prefix` (once; calling again is free).
///
/// ```
/// scopes_workspace::quiet_panics_starting_with("expected:");
/// let caught = std::panic::catch_unwind(|| panic!("expected: a test panic"));
/// assert!(caught.is_err());
/// ```
pub fn quiet_panics_starting_with(prefix: &'static str) {
    static PREFIXES: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());
    static HOOK: std::sync::Once = std::sync::Once::new();
    let mut prefixes = PREFIXES.lock().unwrap_or_else(|e| e.into_inner());
    if !prefixes.contains(&prefix) {
        prefixes.push(prefix);
    }
    drop(prefixes);
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let payload = info.payload();
            let message = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied());
            let prefixes = PREFIXES.lock().unwrap_or_else(|e| e.into_inner());
            if !message.is_some_and(|m| prefixes.iter().any(|p| m.starts_with(p))) {
                default(info);
            }
        }));
    });
}
