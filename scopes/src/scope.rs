//! The entry points `coroutine_scope` / `supervisor_scope` and [`Scope`],
//! the handle a body uses to start children.

use std::borrow::Cow;
use std::future::Future;
use std::marker::PhantomData;
use std::panic::Location;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use crate::deferred::{Deferred, FailureSink, Slot};
use crate::driver::{self, Kind};
use crate::error::Result;
use crate::job::{Host, Job, JobCore, Name};
use crate::parallel;
use crate::ready::ReadyQueue;

/// A boxed, `Send` future living for `'s`: what a scope body is.
pub type BoxFuture<'s, T> = Pin<Box<dyn Future<Output = T> + Send + 's>>;

/// Runs `body` as Kotlin's `coroutineScope`: children started through the
/// [`Scope`] it is given run concurrently with it, and the scope returns
/// only when the body and every child have completed (R1).
///
/// The first failure, of the body or of a child, cancels the body and every
/// other child; the scope waits for them and returns that failure, with the
/// failures that happened while cancelling attached as
/// [`suppressed`](crate::Error::suppressed) (R2, R5, R6).
///
/// The body is a closure returning the boxed body future:
/// `|s| Box::pin(async move { ... })`. The `coroutine_scope!` macro writes
/// that for you.
///
/// Dropping the returned future drops the body and every child at once
/// (R10), aborting `parallel` ones.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// use std::time::Duration;
/// use scopes::{coroutine_scope, delay, Error};
///
/// let result: scopes::Result<()> = coroutine_scope(|s| Box::pin(async move {
///     s.launch(async { delay(Duration::from_secs(3600)).await });
///     s.launch(async { Err(Error::msg("failed at once")) });
///     Ok(())
/// }))
/// .await;
/// // The sleeping sibling was cancelled: no hour passed.
/// assert_eq!(result.unwrap_err().to_string(), "failed at once");
/// # }
/// ```
///
/// A child cannot borrow a local of the body, because the body may return
/// before its children finish:
///
/// ```compile_fail,E0373
/// # async fn f() -> scopes::Result<()> {
/// scopes::coroutine_scope(|s| Box::pin(async move {
///     let local = vec![1, 2, 3];
///     s.launch(async { println!("{:?}", local); Ok(()) });
///     Ok(())
/// }))
/// .await
/// # }
/// ```
#[track_caller]
pub fn coroutine_scope<'env, T, F>(body: F) -> impl Future<Output = Result<T>> + 'env
where
    F: for<'s> FnOnce(Scope<'s, 'env>) -> BoxFuture<'s, Result<T>> + 'env,
    T: 'env,
{
    let name = Name::CoroutineScope(Location::caller());
    driver::run(Kind::Coroutine, name, body)
}

/// Runs `body` as Kotlin's `supervisorScope`: like [`coroutine_scope`](fn@coroutine_scope), but
/// a child's failure cancels nobody (R4).
///
/// An `async` child's failure stays in its [`Deferred`] and is returned by
/// `.await`; a `launch` child's failure goes to the exception handler (see
/// [`with_exception_handler`](crate::with_exception_handler); by default it
/// is logged and printed on stderr). The scope's result is the body's; when
/// the body fails, every child is cancelled and the body's error returned.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> scopes::Result<()> {
/// use scopes::{supervisor_scope, Error};
///
/// let answer = supervisor_scope(|s| Box::pin(async move {
///     let bad = s.r#async(async { Err::<u32, _>(Error::msg("bad input")) });
///     let good = s.r#async(async { Ok(42) });
///     assert!(bad.await.is_err());
///     good.await
/// }))
/// .await?;
/// assert_eq!(answer, 42);
/// # Ok(())
/// # }
/// ```
#[track_caller]
pub fn supervisor_scope<'env, T, F>(body: F) -> impl Future<Output = Result<T>> + 'env
where
    F: for<'s> FnOnce(Scope<'s, 'env>) -> BoxFuture<'s, Result<T>> + 'env,
    T: 'env,
{
    let name = Name::SupervisorScope(Location::caller());
    driver::run(Kind::Supervisor, name, body)
}

/// The handle a scope body uses to start children.
///
/// It is a cheap clone (one `Arc`); children may hold clones of it to start
/// siblings, and may hold sibling [`Job`]/[`Deferred`] handles. Neither it
/// nor those handles can leave the scope: `'s` ends with the scope.
///
/// `'env` is the lifetime of what children may borrow from outside the
/// scope; children are `Send + 's`.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> scopes::Result<()> {
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use scopes::coroutine_scope;
///
/// let hits = AtomicU32::new(0);
/// let hits = &hits; // children borrow from outside the scope
/// coroutine_scope(|s| Box::pin(async move {
///     for _ in 0..3 {
///         s.launch(async move { hits.fetch_add(1, Ordering::Relaxed); Ok(()) });
///     }
///     Ok(())
/// }))
/// .await?;
/// assert_eq!(hits.load(Ordering::Relaxed), 3);
/// # Ok(())
/// # }
/// ```
pub struct Scope<'s, 'env: 's> {
    pub(crate) shared: Arc<Shared<'s>>,
    /// Invariant in both: a handle can be neither stretched nor shrunk.
    _lifetimes: (Invariant<'s>, Invariant<'env>),
}

impl Clone for Scope<'_, '_> {
    fn clone(&self) -> Self {
        Self {
            shared: self.shared.clone(),
            _lifetimes: (PhantomData, PhantomData),
        }
    }
}

impl std::fmt::Debug for Scope<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scope")
            .field("name", &format_args!("{}", self.shared.job.name))
            .field("id", &self.shared.job.id)
            .finish()
    }
}

/// Makes a type invariant in `'a`.
type Invariant<'a> = PhantomData<fn(&'a ()) -> &'a ()>;

/// The part of a scope its handles share: where new children wait until the
/// scope adopts them.
pub(crate) struct Shared<'s> {
    pub(crate) queue: Arc<ReadyQueue>,
    pub(crate) job: Arc<JobCore>,
    pub(crate) started: Mutex<Vec<NewChild<'s>>>,
}

impl<'s> Shared<'s> {
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

pub(crate) struct NewChild<'s> {
    pub(crate) job: Arc<JobCore>,
    pub(crate) fut: ChildFuture<'s>,
}

impl<'s, 'env> Scope<'s, 'env> {
    pub(crate) fn new(shared: Arc<Shared<'s>>) -> Self {
        Self {
            shared,
            _lifetimes: (PhantomData, PhantomData),
        }
    }

    /// Starts a child running `fut`: Kotlin's `launch`. It first runs when
    /// the caller next suspends, after the children started before it (R14).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> scopes::Result<()> {
    /// scopes::coroutine_scope(|s| Box::pin(async move {
    ///     let job = s.launch(async { Ok(()) });
    ///     job.join().await
    /// }))
    /// .await
    /// # }
    /// ```
    #[track_caller]
    pub fn launch<F>(&self, fut: F) -> Job<'s>
    where
        F: Future<Output = Result<()>> + Send + 's,
    {
        self.child().launch(fut)
    }

    /// Starts a child computing a value: Kotlin's `async`. Its
    /// [`Deferred`] gives the value with `.await`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> scopes::Result<()> {
    /// let n = scopes::coroutine_scope(|s| Box::pin(async move {
    ///     s.r#async(async { Ok(6 * 7) }).await
    /// }))
    /// .await?;
    /// assert_eq!(n, 42);
    /// # Ok(())
    /// # }
    /// ```
    #[track_caller]
    pub fn r#async<T, F>(&self, fut: F) -> Deferred<'s, T>
    where
        F: Future<Output = Result<T>> + Send + 's,
        T: Send + 's,
    {
        self.child().r#async(fut)
    }

    /// A builder for a child with options: a name, lazy start, running on
    /// the multi-thread pool.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> scopes::Result<()> {
    /// use scopes::Start;
    /// scopes::coroutine_scope(|s| Box::pin(async move {
    ///     let job = s.child().name("refresh").start(Start::Lazy).launch(async { Ok(()) });
    ///     assert_eq!(job.name(), "refresh");
    ///     assert!(!job.is_active()); // lazy: not started yet
    ///     job.join().await // starts it and waits
    /// }))
    /// .await
    /// # }
    /// ```
    #[track_caller]
    pub fn child(&self) -> ChildBuilder<'_, 's, 'env> {
        ChildBuilder {
            scope: self,
            name: Name::Location(Location::caller()),
            start: Start::Default,
        }
    }

    fn start_child(&self, new: NewChild<'s>) {
        self.shared.started().push(new);
        // Started during a drain of the scope's tree (the usual case), the
        // scope adopts it in order after the poll; from elsewhere, the
        // scope is woken to adopt it.
        self.shared.queue.note_started();
    }
}

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
    scope: &'a Scope<'s, 'env>,
    name: Name,
    start: Start,
}

impl<'s> ChildBuilder<'_, 's, '_> {
    /// Names the child (shown by `Job::name`, errors and `debug::dump`).
    pub fn name(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        self.name = Name::from(name.into());
        self
    }

    /// Sets when the child starts.
    pub fn start(mut self, start: Start) -> Self {
        self.start = start;
        self
    }

    fn new_job(&self) -> Arc<JobCore> {
        let host = Host::InPlace(self.scope.shared.queue.clone());
        JobCore::new(self.name.clone(), host, self.start == Start::Lazy)
    }

    /// Starts the child as a `launch`; see [`Scope::launch`].
    pub fn launch<F>(self, fut: F) -> Job<'s>
    where
        F: Future<Output = Result<()>> + Send + 's,
    {
        let job = self.new_job();
        self.scope.start_child(NewChild {
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
        self.scope.start_child(NewChild {
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
