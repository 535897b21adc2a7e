//! What the engine keeps of a child: its boxed future and job record, and
//! the start list a scope's handles share.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use super::handler::Handler;
use super::job::JobCore;
use super::ready::ReadyQueue;
use crate::error::{Error, Result};

/// A boxed, `Send` future living for `'s`: what a scope body is.
pub type BoxFuture<'s, T> = Pin<Box<dyn Future<Output = T> + Send + 's>>;

/// The part of a scope its handles share: where new children wait until the
/// scope adopts them.
pub(crate) struct Shared<'s> {
    pub(crate) queue: Arc<ReadyQueue>,
    pub(crate) job: Arc<JobCore>,
    pub(crate) started: Mutex<Vec<NewChild<'s>>>,
}

impl<'s> Shared<'s> {
    /// Starts a child: it waits in the start list until the scope adopts
    /// it. Started during a drain of the scope's tree (the usual case), the
    /// scope adopts it in order after the poll; from elsewhere, the scope
    /// is woken to adopt it.
    pub(crate) fn start(&self, new: NewChild<'s>) {
        self.started().push(new);
        self.queue.note_started();
    }

    /// The children started but not yet adopted by the scope.
    pub(crate) fn started(&self) -> std::sync::MutexGuard<'_, Vec<NewChild<'s>>> {
        // Nothing panics while the lock is held; recover anyway.
        self.started.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A child's future as its scope stores it.
pub(crate) type ChildFuture<'s> = Pin<Box<dyn ChildTask<'s> + 's>>;

/// What a scope needs of a child's future besides polling it.
pub(crate) trait ChildTask<'s>: Future<Output = Result<()>> + Send {
    /// Where a failure in a `supervisor_scope` is kept (`async` children);
    /// `None` sends it to the exception handler (`launch` children).
    fn failure_sink(&self) -> Option<Arc<dyn FailureSink + 's>>;
}

/// A child started and not yet adopted by its scope.
pub(crate) struct NewChild<'s> {
    pub(crate) job: Arc<JobCore>,
    pub(crate) fut: ChildFuture<'s>,
}

/// The type-erased side of a `Deferred`'s slot its scope needs.
pub(crate) trait FailureSink: Send + Sync {
    /// The child failed in a `supervisor_scope`: report it unless a handle
    /// awaits it.
    fn supervised_failure(&self, error: &Error, handler: Option<Handler>);
}
