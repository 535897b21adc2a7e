//! SPEC §3b: with the `tracing` feature, each scope and child runs in a
//! span carrying its name and id. Alone in its test binary: `tracing`
//! caches callsite interest process-wide, which other tests on other
//! threads (without a subscriber) would disturb.

use scopes::coroutine_scope;
use scopes_workspace::TraceLog;

#[test]
fn each_scope_and_child_runs_in_a_span_with_name_and_id() {
    let spans = TraceLog::default();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    tracing::subscriber::with_default(spans.clone(), || {
        runtime.block_on(coroutine_scope(|s| {
            Box::pin(async move {
                s.child().name("traced").launch(async { Ok(()) });
                Ok(())
            })
        }))
    })
    .unwrap();
    let spans = spans.spans();
    assert_eq!(spans.len(), 2, "{spans:?}");
    assert!(spans[0].starts_with("scope name=coroutine_scope at tests/tracing_spans.rs:"));
    assert!(spans[0].contains(" id="));
    assert!(spans[1].starts_with("child name=traced id="), "{spans:?}");
}
