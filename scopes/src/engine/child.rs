//! What the engine keeps of a child: its boxed future and job record, and
//! the start list a scope's handles share.
//!
//! The two kinds of scope share all of it: [`Boxes`] says how a kind
//! type-erases its body and children (`Send` futures for a plain scope, any
//! future for a local one), and everything above is generic over it, so each
//! kind gets its own monomorphized driver with no dynamic dispatch added.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use super::handler::{FailureSink, Handler};
use super::job::JobCore;
use super::pool::PoolChild;
use super::ready::{ReadyQueue, Unplaced};
use super::registry;
use super::spare;
use crate::error::Result;

/// A boxed, `Send` future living for `'s`: what a scope body is.
pub type BoxFuture<'s, T> = Pin<Box<dyn Future<Output = T> + Send + 's>>;

/// A boxed future living for `'s` that need not be `Send`: what a local
/// scope's body is ([`coroutine_scope_local`](crate::coroutine_scope_local)).
pub type LocalBoxFuture<'s, T> = Pin<Box<dyn Future<Output = T> + 's>>;

/// How a kind of scope stores its body and its children, type-erased.
///
/// Public in a private module: a sealed supertrait of
/// [`Locality`](crate::Locality), implemented by its two marker types only.
pub trait Boxes: 'static {
    /// The body's future.
    type Body<'s, T>: ?Sized + Future<Output = T>;
    /// A child's future.
    type Child<'s>: ?Sized + ChildTask<'s> + 's;

    /// Boxes a child that is `Send` (a `parallel` child's work until it is
    /// spawned), which every kind takes.
    fn send_child<'s, C: ChildTask<'s> + Send + 's>(child: C) -> ChildFuture<'s, Self>;
}

/// The part of a scope its handles share: where new children wait until the
/// scope adopts them.
pub(crate) struct Shared<'s, B: Boxes> {
    pub(crate) queue: Arc<ReadyQueue>,
    pub(crate) job: Arc<JobCore>,
    pub(crate) started: Mutex<Vec<NewChild<'s, B>>>,
}

impl<'s, B: Boxes> Shared<'s, B> {
    /// Starts a child: it waits in the start list until the scope adopts
    /// it. Started during a drain of the scope's tree (the usual case), the
    /// scope adopts it in order after the poll; from elsewhere, the scope
    /// is woken to adopt it.
    pub(crate) fn start(&self, new: NewChild<'s, B>) {
        let mut started = self.started();
        if self.queue.is_limited() {
            // It waits for a place: `cancel_children` completes it at once.
            let child: Arc<dyn Unplaced> = new.job.clone();
            self.queue.note_unadopted(Arc::downgrade(&child), &started);
        }
        if started.len() == started.capacity()
            && spare::is_large::<NewChild<'s, B>>(2 * started.len())
        {
            spare::grow_list(&mut started);
        }
        let ordinal = self.queue.count_start(&started);
        new.job.number_start(ordinal);
        let job = std::sync::Arc::downgrade(&new.job);
        started.push(new);
        drop(started);
        if self.queue.note_started() {
            // Until its scope takes it, after this step: `debug::dump`
            // shows it meanwhile.
            registry::note_started_here(job);
        }
    }

    /// The children started but not yet adopted by the scope.
    pub(crate) fn started(&self) -> std::sync::MutexGuard<'_, Vec<NewChild<'s, B>>> {
        // Nothing panics while the lock is held; recover anyway.
        self.started.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A body's future as its scope stores it: `BoxFuture` or `LocalBoxFuture`.
pub type BodyFuture<'s, B, T> = Pin<Box<<B as Boxes>::Body<'s, T>>>;

/// A child's future as its scope stores it.
pub type ChildFuture<'s, B> = Pin<Box<<B as Boxes>::Child<'s>>>;

/// What a scope needs of a child's future besides polling it.
pub trait ChildTask<'s>: Future<Output = Result<()>> {
    /// Where a failure in a `supervisor_scope` is kept (`async` children);
    /// `None` sends it to the exception handler (`launch` children).
    fn failure_sink(&self) -> Option<Arc<dyn FailureSink + 's>>;

    /// A `parallel` child taken by its scope: its work as a task of
    /// `job`, under `handler` (the scope's), spawned now if `first_run`
    /// (else at its first run). `None` for a child polled in place, or when
    /// there is no tokio runtime to spawn it on: the child is then polled
    /// in place, which fails it saying why.
    fn into_task(
        self: Pin<&mut Self>,
        job: &Arc<JobCore>,
        handler: Option<Handler>,
        first_run: bool,
    ) -> Option<PoolChild> {
        let _ = (job, handler, first_run);
        None
    }
}

/// A child started and not yet adopted by its scope.
pub(crate) struct NewChild<'s, B: Boxes> {
    pub(crate) job: Arc<JobCore>,
    pub(crate) fut: ChildFuture<'s, B>,
}

/// What runs a child's code. Two words, as a boxed future alone is.
pub(crate) enum Work<'s, B: Boxes> {
    /// Its future, polled in place by the scope.
    Here(ChildFuture<'s, B>),
    /// A `parallel` child's tokio task (or its work, until its first run).
    Pool(PoolChild),
}

#[cfg(test)]
mod tests {
    use super::Work;
    use crate::local::{Local, Sendable};

    /// A `parallel` child's storage adds nothing to every child's slot: the
    /// work is two words, as a boxed future alone is (SPEC §6 W4, W7).
    #[test]
    fn a_child_s_work_is_two_words_for_both_kinds() {
        let two_words = 2 * std::mem::size_of::<usize>();
        assert_eq!(std::mem::size_of::<Work<'static, Sendable>>(), two_words);
        assert_eq!(std::mem::size_of::<Work<'static, Local>>(), two_words);
    }
}
