//! The entry points `coroutine_scope` / `supervisor_scope` and [`Scope`],
//! the handle a body uses to start children.

use std::future::Future;
use std::marker::PhantomData;
use std::panic::Location;
use std::sync::Arc;

use crate::child::ChildBuilder;
use crate::deferred::Deferred;
use crate::engine::child::{BoxFuture, Shared};
use crate::engine::driver::{self, Kind};
use crate::engine::name::Name;
use crate::engine::options::ScopeOptions;
use crate::error::Result;
use crate::job::Job;
use crate::local::{Locality, Sendable};

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
    coroutine_scope_with(ScopeOptions::new(), body)
}

/// Runs `body` as Kotlin's `supervisorScope`: like [`coroutine_scope`](fn@coroutine_scope), but
/// a child's failure cancels nobody (R4).
///
/// An `async` child's failure stays in its [`Deferred`] and is returned by
/// `.await`; a `launch` child's failure goes to the exception handler (see
/// [`with_exception_handler`](crate::with_exception_handler); by default it
/// goes to `tracing`, or to stderr when no subscriber is installed). The scope's result is the body's; when
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
    supervisor_scope_with(ScopeOptions::new(), body)
}

/// [`coroutine_scope`](fn@coroutine_scope) with options: the DSL's
/// `coroutine_scope!(limit = n; ..)`. See [`ScopeOptions`].
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> scopes::Result<()> {
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use scopes::{coroutine_scope_with, yield_now, ScopeOptions};
///
/// let (running, most) = (AtomicUsize::new(0), AtomicUsize::new(0));
/// let (running, most) = (&running, &most);
/// coroutine_scope_with(ScopeOptions::new().limit(3), |s| Box::pin(async move {
///     for _ in 0..10 {
///         s.launch(async move {
///             most.fetch_max(running.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
///             yield_now().await?;
///             running.fetch_sub(1, Ordering::SeqCst);
///             Ok(())
///         });
///     }
///     Ok(())
/// }))
/// .await?;
/// assert_eq!(most.load(Ordering::SeqCst), 3);
/// # Ok(())
/// # }
/// ```
#[track_caller]
pub fn coroutine_scope_with<'env, T, F>(
    options: ScopeOptions,
    body: F,
) -> impl Future<Output = Result<T>> + 'env
where
    F: for<'s> FnOnce(Scope<'s, 'env>) -> BoxFuture<'s, Result<T>> + 'env,
    T: 'env,
{
    let name = Name::CoroutineScope(Location::caller());
    driver::run(Kind::Coroutine, options, name, |shared| {
        body(Scope::new(shared))
    })
}

/// [`supervisor_scope`](fn@supervisor_scope) with options: the DSL's
/// `supervisor_scope!(limit = n; ..)`. See [`ScopeOptions`].
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> scopes::Result<()> {
/// use scopes::{supervisor_scope_with, ScopeOptions};
///
/// let n = supervisor_scope_with(ScopeOptions::new().limit(1), |s| Box::pin(async move {
///     let a = s.r#async(async { Ok(1) });
///     let b = s.r#async(async { Ok(2) });
///     Ok(a.await? + b.await?)
/// }))
/// .await?;
/// assert_eq!(n, 3);
/// # Ok(())
/// # }
/// ```
#[track_caller]
pub fn supervisor_scope_with<'env, T, F>(
    options: ScopeOptions,
    body: F,
) -> impl Future<Output = Result<T>> + 'env
where
    F: for<'s> FnOnce(Scope<'s, 'env>) -> BoxFuture<'s, Result<T>> + 'env,
    T: 'env,
{
    let name = Name::SupervisorScope(Location::caller());
    driver::run(Kind::Supervisor, options, name, |shared| {
        body(Scope::new(shared))
    })
}

/// The handle a scope body uses to start children.
///
/// It is a cheap clone (one `Arc`); children may hold clones of it to start
/// siblings, and may hold sibling [`Job`]/[`Deferred`] handles. Neither it
/// nor those handles can leave the scope: `'s` ends with the scope.
///
/// `'env` is the lifetime of what children may borrow from outside the
/// scope; children are `Send + 's` (in a local scope, `'s` only).
///
/// `L` is the scope's kind: [`Sendable`] (the default, what
/// [`coroutine_scope`](fn@coroutine_scope) gives) or [`Local`](crate::Local)
/// (what [`coroutine_scope_local`](crate::coroutine_scope_local) gives, also
/// named [`LocalScope`](crate::LocalScope)), whose children need not be
/// `Send`. Both kinds have the same methods and give the same [`Job`] and
/// [`Deferred`] handles.
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
pub struct Scope<'s, 'env: 's, L: Locality = Sendable> {
    pub(crate) shared: Arc<Shared<'s, L>>,
    /// Invariant in both: a handle can be neither stretched nor shrunk.
    _lifetimes: (Invariant<'s>, Invariant<'env>),
}

impl<L: Locality> Clone for Scope<'_, '_, L> {
    fn clone(&self) -> Self {
        Self {
            shared: self.shared.clone(),
            _lifetimes: (PhantomData, PhantomData),
        }
    }
}

impl<L: Locality> std::fmt::Debug for Scope<'_, '_, L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scope")
            .field("name", &format_args!("{}", self.shared.job.name))
            .field("id", &self.shared.job.id)
            .finish()
    }
}

/// Makes a type invariant in `'a`.
type Invariant<'a> = PhantomData<fn(&'a ()) -> &'a ()>;

impl<'s, 'env, L: Locality> Scope<'s, 'env, L> {
    pub(crate) fn new(shared: Arc<Shared<'s, L>>) -> Self {
        Self {
            shared,
            _lifetimes: (PhantomData, PhantomData),
        }
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
    pub fn child(&self) -> ChildBuilder<'_, 's, 'env, L> {
        ChildBuilder::new(&self.shared, Name::Location(Location::caller()))
    }
}

impl<'s, 'env> Scope<'s, 'env, Sendable> {
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
        F: Future<Output = Result<()>> + Send + 's, // not `Send`? a local scope takes it: `coroutine_scope_local`
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
        F: Future<Output = Result<T>> + Send + 's, // not `Send`? a local scope takes it: `coroutine_scope_local`
        T: Send + 's,
    {
        self.child().r#async(fut)
    }
}
