//! A `parallel` child's task whose poll panics outside the child's work
//! (here: in a `tracing` subscriber entering the child's span; the work's
//! own panics are caught where it is polled) still ends the child with
//! that panic as its failure, and its scope returns it: nothing is lost
//! when the scope keeps no `JoinHandle` to read tokio's `JoinError` from.
//! Alone in its test
//! binary: it installs a global subscriber, which the task's worker thread
//! must see.

use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use scopes::coroutine_scope;

/// Panics on entering a span whose `name` field is `"boom"`.
#[derive(Default)]
struct PanicsEnteringBoom {
    next_id: AtomicU64,
    boom: Mutex<HashSet<u64>>,
}

struct IsBoom(bool);

impl tracing::field::Visit for IsBoom {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "name" && format!("{value:?}") == "boom" {
            self.0 = true;
        }
    }
}

impl tracing::Subscriber for PanicsEnteringBoom {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let mut boom = IsBoom(false);
        span.record(&mut boom);
        if boom.0 {
            self.boom.lock().unwrap().insert(id);
        }
        tracing::span::Id::from_u64(id)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, _: &tracing::Event<'_>) {}
    fn enter(&self, span: &tracing::span::Id) {
        if self.boom.lock().unwrap().contains(&span.into_u64()) {
            panic!("expected: the subscriber panics entering the span");
        }
    }
    fn exit(&self, _: &tracing::span::Id) {}
}

#[test]
fn a_parallel_child_whose_task_panics_outside_its_work_fails_its_scope() {
    scopes_workspace::quiet_panics_starting_with("expected:");
    tracing::subscriber::set_global_default(PanicsEnteringBoom::default()).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let result = runtime.block_on(coroutine_scope(|s| {
        Box::pin(async move {
            s.child().name("boom").launch_parallel(async { Ok(()) });
            Ok(())
        })
    }));
    let error = result.unwrap_err();
    let panicked = "panicked: expected: the subscriber panics entering the span";
    assert!(
        error.is_panic() && error.to_string().starts_with(panicked),
        "{error}"
    );
}
