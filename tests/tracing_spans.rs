//! SPEC §3b: with the `tracing` feature, each scope and child runs in a
//! span carrying its name and id. Alone in its test binary: `tracing`
//! caches callsite interest process-wide, which other tests on other
//! threads (without a subscriber) would disturb.

use std::sync::{Arc, Mutex};

use scopes::coroutine_scope;

/// Records the spans created on this thread: name and fields.
#[derive(Clone, Default)]
struct SpanLog(Arc<Mutex<Vec<String>>>);

struct Fields(String);

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!(" {}={:?}", field.name(), value));
    }
}

impl tracing::Subscriber for SpanLog {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        let mut fields = Fields(span.metadata().name().to_owned());
        span.record(&mut fields);
        let mut log = self.0.lock().unwrap();
        log.push(fields.0);
        tracing::span::Id::from_u64(log.len() as u64)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, _: &tracing::Event<'_>) {}
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[test]
fn each_scope_and_child_runs_in_a_span_with_name_and_id() {
    let spans = SpanLog::default();
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
    let spans = spans.0.lock().unwrap().clone();
    assert_eq!(spans.len(), 2, "{spans:?}");
    assert!(spans[0].starts_with("scope name=coroutine_scope at tests/tracing_spans.rs:"));
    assert!(spans[0].contains(" id="));
    assert!(spans[1].starts_with("child name=traced id="), "{spans:?}");
}
