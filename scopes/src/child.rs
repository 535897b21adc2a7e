//! Starting a child: [`ChildBuilder`] (name, lazy start, the thread pool)
//! and [`Start`], over the engine's start list.

use std::borrow::Cow;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::deferred::{Deferred, Slot};
use crate::engine::child::{ChildFuture, ChildTask, NewChild, Shared};
use crate::engine::handler::{FailureSink, Handler};
use crate::engine::job::JobCore;
use crate::engine::name::Name;
use crate::engine::pool::{self, PoolChild, TaskSink, TaskWork};
use crate::error::Result;
use crate::job::Job;
use crate::local::{Local, Locality, Sendable};
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
/// Like [`Scope`], the builder has a kind `L`: a plain scope's
/// ([`Sendable`], the default) takes `Send` children; a local scope's
/// ([`Local`](crate::Local)) takes any. `parallel` children are
/// `Send + 'static` tokio tasks in both.
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
pub struct ChildBuilder<'a, 's, 'env, L: Locality = Sendable> {
    shared: &'a Arc<Shared<'s, L>>,
    name: Name,
    start: Start,
    /// The handle's lifetimes, invariant like [`Scope`]'s.
    _scope: PhantomData<fn(&'s &'env ()) -> &'s &'env ()>,
}

impl<'a, 's, L: Locality> ChildBuilder<'a, 's, '_, L> {
    pub(crate) fn new(shared: &'a Arc<Shared<'s, L>>, name: Name) -> Self {
        Self {
            shared,
            name,
            start: Start::Default,
            _scope: PhantomData,
        }
    }
}

impl<'s, L: Locality> ChildBuilder<'_, 's, '_, L> {
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

    /// The job record of the child about to start. Made before its future
    /// is boxed: the hot path allocates the two in this order.
    /// `ordered`: an `async` child, whose completion is stamped so that
    /// the combinators take outcomes in completion order (SPEC §2b).
    fn new_job(&self, parallel: bool, ordered: bool) -> Arc<JobCore> {
        let queue = self.shared.queue.clone();
        let lazy = self.start == Start::Lazy;
        let job = JobCore::new_child(self.name.clone(), queue, lazy, parallel, ordered);
        let scope = &self.shared.job;
        if scope.is_cancelled() {
            // Started in a cancelled scope: cancelled from its start, as
            // Kotlin attaches a child to a cancelled parent (R7), so its
            // handle says so at once; a lazy one completes (R11) and can
            // no longer be started. It never runs.
            job.cancel(Some(&scope.cancellation_error()));
        }
        job
    }

    /// Starts the child `job` running `fut`: the same code for both kinds,
    /// which differ only in how `fut` was boxed.
    fn start_child(&self, job: Arc<JobCore>, fut: ChildFuture<'s, L>) -> Job<'s> {
        self.shared.start(NewChild {
            job: job.clone(),
            fut,
        });
        Job::new(job)
    }

    /// Starts a `launch` child on tokio's thread pool (`tokio::spawn`). It is
    /// still a child: waited for, cancelled with its scope, aborted when the
    /// scope's future is dropped. In a local scope too: the work must be
    /// `Send + 'static` and runs as a task of the runtime, outside any
    /// `LocalSet`.
    pub fn launch_parallel<F>(self, fut: F) -> Job<'s>
    where
        F: Future<Output = Result<()>> + Send + 'static,
    {
        let job = self.new_job(true, false);
        self.start_child(job, L::send_child(Unspawned(Some(Launched { fut }))))
    }

    /// Starts an `async` child on tokio's thread pool; see
    /// [`launch_parallel`](ChildBuilder::launch_parallel).
    pub fn async_parallel<T, F>(self, fut: F) -> Deferred<'s, T>
    where
        F: Future<Output = Result<T>> + Send + 'static,
        T: Send + 'static,
    {
        let job = self.new_job(true, true);
        let slot = Slot::new();
        let work = Unspawned(Some(Computing {
            fut,
            slot: slot.clone(),
        }));
        Deferred::new(self.start_child(job, L::send_child(work)), slot)
    }
}

impl<'s> ChildBuilder<'_, 's, '_, Sendable> {
    /// Starts a child whose future says itself where its failure goes
    /// (a producer's, to its channel).
    pub(crate) fn launch_child<C: ChildTask<'s> + Send + 's>(self, child: C) -> Job<'s> {
        let job = self.new_job(false, false);
        self.start_child(job, Box::pin(child))
    }

    /// Starts the child as a `launch`; see [`Scope::launch`].
    pub fn launch<F>(self, fut: F) -> Job<'s>
    where
        F: Future<Output = Result<()>> + Send + 's, // not `Send`? a local scope takes it: `coroutine_scope_local`
    {
        let job = self.new_job(false, false);
        self.start_child(job, Box::pin(Launched { fut }))
    }

    /// Starts the child as an `async`; see `Scope::async`.
    pub fn r#async<T, F>(self, fut: F) -> Deferred<'s, T>
    where
        F: Future<Output = Result<T>> + Send + 's, // not `Send`? a local scope takes it: `coroutine_scope_local`
        T: Send + 's,
    {
        let job = self.new_job(false, true);
        let slot = Slot::new();
        let fut = Box::pin(Computing {
            fut,
            slot: slot.clone(),
        });
        Deferred::new(self.start_child(job, fut), slot)
    }
}

impl<'s> ChildBuilder<'_, 's, '_, Local> {
    /// Starts a child whose future says itself where its failure goes, in
    /// a local scope (a producer's, to its channel).
    pub(crate) fn launch_child<C: ChildTask<'s> + 's>(self, child: C) -> Job<'s> {
        let job = self.new_job(false, false);
        self.start_child(job, Box::pin(child))
    }

    /// Starts the child as a `launch` in a local scope; see
    /// [`LocalScope`](crate::LocalScope). It need not be `Send`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> scopes::Result<()> {
    /// use std::rc::Rc;
    /// scopes::coroutine_scope_local(|s| Box::pin(async move {
    ///     let shared = Rc::new("not Send");
    ///     let job = s.child().name("reader").launch(async move {
    ///         scopes::yield_now().await?;
    ///         assert_eq!(*shared, "not Send");
    ///         Ok(())
    ///     });
    ///     assert_eq!(job.name(), "reader");
    ///     Ok(())
    /// }))
    /// .await
    /// # }
    /// ```
    pub fn launch<F>(self, fut: F) -> Job<'s>
    where
        F: Future<Output = Result<()>> + 's,
    {
        let job = self.new_job(false, false);
        self.start_child(job, Box::pin(Launched { fut }))
    }

    /// Starts the child as an `async` in a local scope; neither it nor its
    /// value need be `Send`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> scopes::Result<()> {
    /// use std::rc::Rc;
    /// let n = scopes::coroutine_scope_local(|s| Box::pin(async move {
    ///     let d = s.child().name("rc").r#async(async { Ok(Rc::new(7)) });
    ///     Ok(*d.await?)
    /// }))
    /// .await?;
    /// assert_eq!(n, 7);
    /// # Ok(())
    /// # }
    /// ```
    pub fn r#async<T, F>(self, fut: F) -> Deferred<'s, T>
    where
        F: Future<Output = Result<T>> + 's,
        T: 's,
    {
        let job = self.new_job(false, true);
        let slot = Slot::new();
        let fut = Box::pin(Computing {
            fut,
            slot: slot.clone(),
        });
        Deferred::new(self.start_child(job, fut), slot)
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

impl<'s, F: Future<Output = Result<()>>> ChildTask<'s> for Launched<F> {
    fn failure_sink(&self) -> Option<Arc<dyn FailureSink + 's>> {
        None
    }
}

impl<F: Future<Output = Result<()>> + Send + 'static> TaskWork for Launched<F> {
    fn task_sink(&self) -> Option<TaskSink> {
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

impl<'s, T: 's, F: Future<Output = Result<T>>> ChildTask<'s> for Computing<F, T> {
    fn failure_sink(&self) -> Option<Arc<dyn FailureSink + 's>> {
        Some(self.slot.clone())
    }
}

impl<T: Send + 'static, F: Future<Output = Result<T>> + Send + 'static> TaskWork
    for Computing<F, T>
{
    fn task_sink(&self) -> Option<TaskSink> {
        Some(self.slot.clone())
    }
}

/// A `parallel` child's work until its scope takes it (`into_task`): boxed
/// as any child, so that the start list holds children of both kinds
/// alike. Polled only when it could not be spawned (its scope is polled
/// outside a tokio runtime), which fails the child saying so.
struct Unspawned<W>(Option<W>);

impl<W: TaskWork> Future for Unspawned<W> {
    type Output = Result<()>;

    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<()>> {
        Poll::Ready(Err(pool::no_runtime()))
    }
}

/// The work is never polled here, only moved into its task: the wrapper
/// may move freely.
impl<W> Unpin for Unspawned<W> {}

impl<'s, W: TaskWork> ChildTask<'s> for Unspawned<W> {
    fn failure_sink(&self) -> Option<Arc<dyn FailureSink + 's>> {
        let sink = self.0.as_ref()?.task_sink()?;
        Some(sink)
    }

    fn into_task(
        self: Pin<&mut Self>,
        job: &Arc<JobCore>,
        handler: Option<Handler>,
        first_run: bool,
    ) -> Option<PoolChild> {
        let this = self.get_mut();
        let work = this.0.take()?;
        if !first_run {
            return Some(pool::unspawned(work));
        }
        match pool::spawn(work, job, handler) {
            Ok(task) => Some(task),
            Err(work) => {
                this.0 = Some(work);
                None
            }
        }
    }
}
