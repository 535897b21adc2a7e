//! A `tracing` subscriber that writes down what it sees, for tests of the
//! spans and events `scopes` emits.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Records every span made (`"name field=value ..."`) and every event
/// (`"LEVEL field=value ..."`), in order. Install it with
/// `tracing::subscriber::with_default`.
///
/// ```
/// let log = scopes_workspace::TraceLog::default();
/// tracing::subscriber::with_default(log.clone(), || tracing::warn!(job = "x", "dropped"));
/// assert_eq!(log.events(), [r#"WARN message=dropped job="x""#]);
/// ```
#[derive(Clone, Default)]
pub struct TraceLog {
    spans: Arc<Mutex<Vec<String>>>,
    events: Arc<Mutex<Vec<String>>>,
    next_id: Arc<AtomicU64>,
}

impl TraceLog {
    /// The spans made so far.
    pub fn spans(&self) -> Vec<String> {
        self.spans.lock().unwrap().clone()
    }

    /// The events seen so far.
    pub fn events(&self) -> Vec<String> {
        self.events.lock().unwrap().clone()
    }
}

/// Writes the fields of a span or event after its name or level.
struct Fields(String);

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!(" {}={:?}", field.name(), value));
    }
}

impl tracing::Subscriber for TraceLog {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        let mut fields = Fields(span.metadata().name().to_owned());
        span.record(&mut fields);
        self.spans.lock().unwrap().push(fields.0);
        tracing::span::Id::from_u64(self.next_id.fetch_add(1, Ordering::Relaxed) + 1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut fields = Fields(event.metadata().level().to_string());
        event.record(&mut fields);
        self.events.lock().unwrap().push(fields.0);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}
