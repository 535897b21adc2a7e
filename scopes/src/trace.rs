//! `tracing` spans for scopes and children (feature `tracing`).
//!
//! A span is made only when a subscriber wants it; a child's span is kept
//! in its job's cold part, so a child costs nothing here when nobody
//! listens.

use crate::job::JobCore;

#[cfg(feature = "tracing")]
pub(crate) struct Span(Option<Box<tracing::Span>>);

#[cfg(feature = "tracing")]
impl Span {
    pub(crate) fn scope(job: &JobCore) -> Self {
        Self::kept(|| tracing::debug_span!("scope", name = %job.name, id = job.id))
    }

    pub(crate) fn child(job: &JobCore) -> Self {
        Self::kept(|| tracing::debug_span!("child", name = %job.name, id = job.id))
    }

    fn kept(span: impl FnOnce() -> tracing::Span) -> Self {
        // Nobody ever installed a subscriber: skip even building the span.
        if !tracing::dispatcher::has_been_set() {
            return Self(None);
        }
        let span = span();
        Self((!span.is_disabled()).then(|| Box::new(span)))
    }

    /// Whether a subscriber wanted this span.
    pub(crate) fn is_recorded(&self) -> bool {
        self.0.is_some()
    }

    /// Enters the span for the life of the guard.
    pub(crate) fn enter(&self) -> Option<tracing::span::Entered<'_>> {
        self.0.as_deref().map(tracing::Span::enter)
    }
}

#[cfg(not(feature = "tracing"))]
pub(crate) struct Span;

#[cfg(not(feature = "tracing"))]
impl Span {
    pub(crate) fn scope(_job: &JobCore) -> Self {
        Self
    }

    pub(crate) fn child(_job: &JobCore) -> Self {
        Self
    }

    pub(crate) fn is_recorded(&self) -> bool {
        false
    }

    pub(crate) fn enter(&self) {}
}
