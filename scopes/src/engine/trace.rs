//! `tracing` spans for scopes and children (feature `tracing`).
//!
//! A span is made only when a subscriber wants it; a child's span is kept
//! in its job's cold part, so a child costs nothing here when nobody
//! listens.

use super::name::Name;

#[cfg(feature = "tracing")]
pub(crate) struct Span(Option<Box<tracing::Span>>);

#[cfg(feature = "tracing")]
impl Span {
    /// No span (yet).
    pub(crate) fn none() -> Self {
        Self(None)
    }

    pub(crate) fn scope(name: &Name, id: u64) -> Self {
        Self::kept(|| tracing::debug_span!("scope", name = %name, id = id))
    }

    pub(crate) fn child(name: &Name, id: u64) -> Self {
        Self::kept(|| tracing::debug_span!("child", name = %name, id = id))
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
    pub(crate) fn none() -> Self {
        Self
    }

    pub(crate) fn scope(_name: &Name, _id: u64) -> Self {
        Self
    }

    pub(crate) fn child(_name: &Name, _id: u64) -> Self {
        Self
    }

    pub(crate) fn is_recorded(&self) -> bool {
        false
    }

    pub(crate) fn enter(&self) {}
}
