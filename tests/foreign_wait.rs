//! SPEC §2c: a child suspended outside any cancellation-aware call (a
//! *foreign wait*) is marked in `debug::dump`; once cancelled, it is
//! dropped there at its one resume (R7) and a `tracing` warning names it
//! and where it was started. Alone in its test binary: `tracing` caches
//! callsite interest process-wide.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use scopes::{Error, coroutine_scope, delay, yield_now};
use scopes_workspace::TraceLog;

/// Runs `fut` on a current-thread runtime with a paused clock, under a
/// subscriber that records events: its output, and the warnings.
fn traced<F: std::future::Future>(fut: F) -> (F::Output, Vec<String>) {
    let log = TraceLog::default();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    let output = tracing::subscriber::with_default(log.clone(), || runtime.block_on(fut));
    let warnings = log.events().into_iter().filter(|e| e.starts_with("WARN"));
    (output, warnings.collect())
}

#[test]
fn a_child_in_a_foreign_wait_is_marked_and_its_skipped_cleanup_reported() {
    let dumps = Arc::new(Mutex::new(Vec::new()));
    let seen = dumps.clone();
    let (result, warnings) = traced(coroutine_scope(|s| {
        Box::pin(async move {
            let lock = Arc::new(tokio::sync::Mutex::new(()));
            let held = lock.clone().lock_owned().await;
            let stuck = s.child().name("stuck worker").launch(async move {
                let _guard = lock.lock().await; // a foreign wait
                Ok(())
            });
            s.child()
                .name("aware worker")
                .launch(async { delay(Duration::from_secs(60)).await });
            yield_now().await?;
            seen.lock().unwrap().push(scopes::debug::dump());
            stuck.cancel();
            stuck.join().await?;
            drop(held);
            Err::<(), _>(Error::msg("stop"))
        })
    }));
    assert_eq!(result.unwrap_err().to_string(), "stop");
    let dump = dumps.lock().unwrap().remove(0);
    let line = |name: &str| {
        dump.lines()
            .find(|l| l.contains(name))
            .unwrap_or_else(|| panic!("{name} not in:\n{dump}"))
            .to_owned()
    };
    assert!(
        line("stuck worker").ends_with("[active, foreign wait]"),
        "{dump}"
    );
    assert!(line("aware worker").ends_with("[active]"), "{dump}");
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("job=stuck worker"), "{warnings:?}");
    assert!(
        warnings[0].contains("started_at=tests/foreign_wait.rs:"),
        "{warnings:?}"
    );
    assert!(warnings[0].contains("cleanup did not run"), "{warnings:?}");
}

/// The same for the work of a `cancel_on` whose signal fires while the
/// work is in a foreign wait: the warning names it `cancel_on`, not
/// `with_timeout` (found by a helper).
#[test]
fn cancel_on_work_dropped_in_a_foreign_wait_is_reported_by_its_own_name() {
    let (result, warnings) = traced(async {
        let (_tx, rx) = tokio::sync::oneshot::channel::<()>();
        let signal = tokio::time::sleep(Duration::from_millis(10));
        scopes::cancel_on(signal, async move {
            let _ = rx.await; // a foreign wait
            Ok(())
        })
        .await
    });
    assert_eq!(result.unwrap(), None);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("job=cancel_on"), "{warnings:?}");
}
