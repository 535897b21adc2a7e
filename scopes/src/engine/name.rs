//! The name of a job: its `name` option, else where it was started.

use std::borrow::Cow;
use std::fmt;
use std::panic::Location;
use std::sync::Arc;

/// The name of a child or scope: its `name` option, else where it started.
/// Kept unformatted, and one word plus a tag, so naming costs nothing until
/// someone reads it.
#[derive(Clone)]
pub(crate) enum Name {
    Location(&'static Location<'static>),
    CoroutineScope(&'static Location<'static>),
    SupervisorScope(&'static Location<'static>),
    /// The work of a `with_timeout` / `with_timeout_or_none`.
    Timeout,
    /// The work of a `cancel_on`.
    CancelOn,
    /// The `name` option, and where the child was started.
    Named(Arc<(Cow<'static, str>, &'static Location<'static>)>),
}

impl Name {
    /// The same job, named `name`: where it was started is kept.
    pub(crate) fn renamed(&self, name: Cow<'static, str>) -> Self {
        let at = self.location().unwrap_or(Location::caller());
        Name::Named(Arc::new((name, at)))
    }

    /// Where the job was started (the work of a timeout: nowhere of its
    /// own).
    pub(crate) fn location(&self) -> Option<&'static Location<'static>> {
        match self {
            Name::Location(at) | Name::CoroutineScope(at) | Name::SupervisorScope(at) => Some(at),
            Name::Named(named) => Some(named.1),
            Name::Timeout | Name::CancelOn => None,
        }
    }

    /// Where the job was started, as `file:line:col` (or `unknown`).
    pub(crate) fn started_at(&self) -> String {
        self.location().map_or_else(
            || "unknown".to_owned(),
            |at| format!("{}:{}:{}", at.file(), at.line(), at.column()),
        )
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (kind, at) = match self {
            Name::Named(named) => return f.write_str(&named.0),
            Name::Timeout => return f.write_str("with_timeout"),
            Name::CancelOn => return f.write_str("cancel_on"),
            Name::Location(at) => ("", at),
            Name::CoroutineScope(at) => ("coroutine_scope at ", at),
            Name::SupervisorScope(at) => ("supervisor_scope at ", at),
        };
        write!(f, "{kind}{}:{}:{}", at.file(), at.line(), at.column())
    }
}
