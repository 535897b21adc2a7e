//! Support shared by the workspace's integration tests, examples and
//! benchmarks (the `scopes` crate itself lives in `scopes/`, the seed
//! scenarios and [`Log`] in `seeds/`).

mod gate;
mod trace_log;

pub use gate::{Gate, Wait};
pub use trace_log::TraceLog;

/// The log of side effects, defined beside the seed scenarios (the
/// `scopes-seeds` package, which `cargo run --example seeds` builds alone).
pub use scopes_seeds::Log;

use std::sync::Mutex;
use std::time::Duration;

/// Runs `fut` and returns its output with the (virtual, on tokio's paused
/// clock) time it took.
///
/// ```
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let ((), took) = scopes_workspace::timed(tokio::time::sleep(std::time::Duration::from_secs(3))).await;
/// assert_eq!(took, std::time::Duration::from_secs(3));
/// # }
/// ```
pub async fn timed<F: std::future::Future>(fut: F) -> (F::Output, Duration) {
    let start = tokio::time::Instant::now();
    let out = fut.await;
    (out, start.elapsed())
}

/// An exception handler that records what it receives in `log`, as
/// `handler: <message>`.
///
/// ```
/// let log = scopes_workspace::Log::default();
/// let handler = scopes_workspace::recording(&log);
/// handler(&scopes::Error::msg("lost"));
/// assert_eq!(log.take(), ["handler: lost"]);
/// ```
pub fn recording(log: &Log) -> impl Fn(&scopes::Error) + Send + Sync + 'static {
    let log = log.clone();
    move |e: &scopes::Error| log.push(format!("handler: {e}"))
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
