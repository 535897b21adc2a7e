//! Starting a child: [`ChildBuilder`] (name, lazy start, the thread pool)
//! and [`Start`], over the engine's start list.

use std::borrow::Cow;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::deferred::{Deferred, Slot};
use crate::engine::child::{ChildTask, FailureSink, NewChild, Shared};
use crate::engine::job::{Host, JobCore};
use crate::engine::name::Name;
use crate::error::Result;
use crate::job::Job;
use crate::parallel;
#[cfg(doc)]
use crate::scope::Scope;

/// When a child starts: Kotlin's `CoroutineStart`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Start {
    /// At once: it first runs when its parent next suspends.
    #[default]
    Default,
    /// Only when started, awaited or joined. One never started by the time
    /// its scope's body returns is cancelled and never runs, so a forgotten
    /// lazy child cannot hang its scope.
    Lazy,
}

/// Options for a child, from [`Scope::child`].
///
/// ```
/// # #[tokio::main(flavor = "multi_thread", worker_threads = 2)]
/// # async fn main() -> scopes::Result<()> {
/// let n = scopes::coroutine_scope(|s| Box::pin(async move {
///     // Runs on the multi-thread pool: it must be `Send + 'static`.
///     let d = s.child().name("crunch").async_parallel(async { Ok((1..=10u64).product::<u64>()) });
///     d.await
/// }))
/// .await?;
/// assert_eq!(n, 3_628_800);
/// # Ok(())
/// # }
/// ```
#[must_use = "a child builder does nothing until `launch` or `async` is called"]
pub struct ChildBuilder<'a, 's, 'env> {
    shared: &'a Arc<Shared<'s>>,
    name: Name,
    start: Start,
    /// The handle's lifetimes, invariant like [`Scope`]'s.
    _scope: PhantomData<fn(&'s &'env ()) -> &'s &'env ()>,
}

impl<'a, 's> ChildBuilder<'a, 's, '_> {
    pub(crate) fn new(shared: &'a Arc<Shared<'s>>, name: Name) -> Self {
        Self {
            shared,
            name,
            start: Start::Default,
            _scope: PhantomData,
        }
    }
}

impl<'s> ChildBuilder<'_, 's, '_> {
    /// Names the child (shown by `Job::name`, errors and `debug::dump`).
    pub fn name(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        self.name = self.name.renamed(name.into());
        self
    }

    /// Sets when the child starts.
    pub fn start(mut self, start: Start) -> Self {
        self.start = start;
        self
    }

    fn new_job(&self) -> Arc<JobCore> {
        let host = Host::InPlace(self.shared.queue.clone());
        JobCore::new(self.name.clone(), host, self.start == Start::Lazy)
    }

    /// Starts the child as a `launch`; see [`Scope::launch`].
    pub fn launch<F>(self, fut: F) -> Job<'s>
    where
        F: Future<Output = Result<()>> + Send + 's,
    {
        let job = self.new_job();
        self.shared.start(NewChild {
            job: job.clone(),
            fut: Box::pin(Launched { fut }),
        });
        Job::new(job)
    }

    /// Starts the child as an `async`; see `Scope::async`.
    pub fn r#async<T, F>(self, fut: F) -> Deferred<'s, T>
    where
        F: Future<Output = Result<T>> + Send + 's,
        T: Send + 's,
    {
        let job = self.new_job();
        let slot = Slot::new();
        self.shared.start(NewChild {
            job: job.clone(),
            fut: Box::pin(Computing {
                fut,
                slot: slot.clone(),
            }),
        });
        Deferred::new(Job::new(job), slot)
    }

    /// Starts a `launch` child on tokio's thread pool (`tokio::spawn`). It is
    /// still a child: waited for, cancelled with its scope, aborted when the
    /// scope's future is dropped.
    pub fn launch_parallel<F>(self, fut: F) -> Job<'s>
    where
        F: Future<Output = Result<()>> + Send + 'static,
    {
        let name = self.name.clone();
        self.launch(parallel::child(name, fut))
    }

    /// Starts an `async` child on tokio's thread pool; see
    /// [`launch_parallel`](ChildBuilder::launch_parallel).
    pub fn async_parallel<T, F>(self, fut: F) -> Deferred<'s, T>
    where
        F: Future<Output = Result<T>> + Send + 'static,
        T: Send + 'static,
    {
        let name = self.name.clone();
        self.r#async(parallel::child(name, fut))
    }
}

pin_project_lite::pin_project! {
    /// A `launch` child's future.
    struct Launched<F> {
        #[pin]
        fut: F,
    }
}

impl<F: Future<Output = Result<()>>> Future for Launched<F> {
    type Output = Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        self.project().fut.poll(cx)
    }
}

impl<'s, F: Future<Output = Result<()>> + Send> ChildTask<'s> for Launched<F> {
    fn failure_sink(&self) -> Option<Arc<dyn FailureSink + 's>> {
        None
    }
}

pin_project_lite::pin_project! {
    /// An `async` child's future: leaves its value in the `Deferred` slot.
    struct Computing<F, T> {
        #[pin]
        fut: F,
        slot: Arc<Slot<T>>,
    }
}

impl<T, F: Future<Output = Result<T>>> Future for Computing<F, T> {
    type Output = Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        let this = self.project();
        this.fut.poll(cx).map_ok(|value| this.slot.set(value))
    }
}

impl<'s, T: Send + 's, F: Future<Output = Result<T>> + Send> ChildTask<'s> for Computing<F, T> {
    fn failure_sink(&self) -> Option<Arc<dyn FailureSink + 's>> {
        Some(self.slot.clone())
    }
}
