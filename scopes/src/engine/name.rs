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
    Timeout,
    Named(Arc<Cow<'static, str>>),
}

impl From<Cow<'static, str>> for Name {
    fn from(name: Cow<'static, str>) -> Self {
        Name::Named(Arc::new(name))
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (kind, at) = match self {
            Name::Named(name) => return f.write_str(name),
            Name::Timeout => return f.write_str("with_timeout"),
            Name::Location(at) => ("", at),
            Name::CoroutineScope(at) => ("coroutine_scope at ", at),
            Name::SupervisorScope(at) => ("supervisor_scope at ", at),
        };
        write!(f, "{kind}{}:{}:{}", at.file(), at.line(), at.column())
    }
}
