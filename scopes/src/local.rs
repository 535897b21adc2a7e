//! Local scopes (SPEC §2d): [`coroutine_scope_local`] and
//! [`supervisor_scope_local`], whose children need not be `Send`, and the
//! two kinds of scope, [`Sendable`] and [`Local`].
//!
//! A local scope is the same engine as a plain one: the driver is generic
//! over how it boxes its body and children, and each kind is a
//! monomorphized copy of it. What changes is only the auto traits: a local
//! scope takes children holding `Rc`, `RefCell` or other `!Send` values,
//! and its future is `!Send` in turn, so it runs where the future is
//! polled: in `block_on` of a `current_thread` runtime, in a `LocalSet`
//! (`spawn_local`, `run_until`), or nested in any job of a tree.

use std::future::Future;
use std::panic::Location;

use crate::deferred::Deferred;
use crate::engine::child::{Boxes, ChildFuture, ChildTask, LocalBoxFuture};
use crate::engine::driver::{self, Kind};
use crate::engine::name::Name;
use crate::engine::options::ScopeOptions;
use crate::error::Result;
use crate::job::Job;
use crate::scope::Scope;

/// The kind of a scope: which children it takes. Implemented by
/// [`Sendable`] (plain scopes: `Send` children) and [`Local`] (local
/// scopes: any children), and by nothing else (the trait is sealed).
///
/// Code that only names scopes, whatever their kind, can be generic over
/// it; starting children takes the kind's own methods.
///
/// ```
/// use scopes::{Locality, Scope};
///
/// fn name_of<L: Locality>(s: &Scope<'_, '_, L>) -> String {
///     format!("{s:?}")
/// }
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> scopes::Result<()> {
/// scopes::coroutine_scope_local(|s| Box::pin(async move {
///     assert!(name_of(&s).starts_with("Scope"));
///     Ok(())
/// }))
/// .await
/// # }
/// ```
pub trait Locality: Boxes {}

/// The kind of a plain scope ([`coroutine_scope`](fn@crate::coroutine_scope),
/// [`supervisor_scope`](fn@crate::supervisor_scope)): its children are
/// `Send`, and so is its future when its body is: it runs anywhere,
/// `tokio::spawn` included. The default kind of [`Scope`].
///
/// ```
/// use scopes::{Scope, Sendable};
///
/// // The same type: a plain scope's handle.
/// fn plain<'s, 'env>(s: Scope<'s, 'env, Sendable>) -> Scope<'s, 'env> {
///     s
/// }
/// # let _ = plain;
/// ```
#[derive(Debug)]
pub enum Sendable {}

/// The kind of a local scope ([`coroutine_scope_local`],
/// [`supervisor_scope_local`]): its children need not be `Send`, and its
/// future is not `Send`. See [`LocalScope`].
///
/// ```
/// use scopes::{Local, LocalScope, Scope};
///
/// fn local<'s, 'env>(s: Scope<'s, 'env, Local>) -> LocalScope<'s, 'env> {
///     s
/// }
/// # let _ = local;
/// ```
#[derive(Debug)]
pub enum Local {}

impl Boxes for Sendable {
    type Body<'s, T> = dyn Future<Output = T> + Send + 's;
    type Child<'s> = dyn ChildTask<'s> + Send + 's;

    fn send_child<'s, C: ChildTask<'s> + Send + 's>(child: C) -> ChildFuture<'s, Self> {
        Box::pin(child)
    }
}

impl Boxes for Local {
    type Body<'s, T> = dyn Future<Output = T> + 's;
    type Child<'s> = dyn ChildTask<'s> + 's;

    fn send_child<'s, C: ChildTask<'s> + Send + 's>(child: C) -> ChildFuture<'s, Self> {
        Box::pin(child)
    }
}

impl Locality for Sendable {}
impl Locality for Local {}

/// The handle of a local scope: [`Scope`] of kind [`Local`]. It has the
/// same methods as a plain scope's (`launch`, `r#async`,
/// [`child`](Scope::child)) without the `Send` bounds, and gives the same [`Job`] and [`Deferred`] handles;
/// `parallel` children keep their `Send + 'static` bound.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> scopes::Result<()> {
/// use std::cell::Cell;
/// use std::rc::Rc;
/// use scopes::{LocalScope, yield_now};
///
/// // A helper taking the handle, as with a plain `Scope`.
/// fn count_to<'s>(s: &LocalScope<'s, '_>, n: u32, hits: &Rc<Cell<u32>>) {
///     for _ in 0..n {
///         let hits = hits.clone();
///         s.launch(async move {
///             yield_now().await?;
///             hits.set(hits.get() + 1);
///             Ok(())
///         });
///     }
/// }
///
/// let counter = Rc::new(Cell::new(0));
/// let hits = &counter;
/// scopes::coroutine_scope_local(|s| Box::pin(async move {
///     count_to(&s, 3, hits);
///     Ok(())
/// }))
/// .await?;
/// assert_eq!(counter.get(), 3);
/// # Ok(())
/// # }
/// ```
pub type LocalScope<'s, 'env> = Scope<'s, 'env, Local>;

/// [`coroutine_scope`](fn@crate::coroutine_scope) for children that need
/// not be `Send`: Kotlin's `coroutineScope` on a single thread. Every rule
/// holds as in a plain scope (fail-fast, cancellation, R14's order, ...);
/// only the `Send` bounds are gone, and with them the `Send`-ness of the
/// returned future.
///
/// Runs wherever its future is polled: `block_on` (a `current_thread`
/// runtime, `#[tokio::main(flavor = "current_thread")]`), a `LocalSet`
/// (`spawn_local`, `run_until`), or inside a child of a local scope. It
/// cannot be `tokio::spawn`ed, nor awaited in a child or the body of a
/// plain scope, whose futures are `Send` (both are compile errors: make
/// the enclosing scope local too). `parallel` children
/// ([`ChildBuilder::launch_parallel`](crate::ChildBuilder::launch_parallel))
/// are `Send + 'static` tokio tasks here too.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> scopes::Result<()> {
/// use std::cell::RefCell;
/// use std::rc::Rc;
/// use std::time::Duration;
/// use scopes::{coroutine_scope_local, delay};
///
/// let seen = Rc::new(RefCell::new(Vec::new()));
/// let shared = &seen;
/// coroutine_scope_local(|s| Box::pin(async move {
///     for i in 1..=3 {
///         let seen = shared.clone(); // an `Rc`: not `Send`
///         s.launch(async move {
///             delay(Duration::from_millis(10 * (4 - i))).await?;
///             seen.borrow_mut().push(i);
///             Ok(())
///         });
///     }
///     Ok(())
/// }))
/// .await?;
/// assert_eq!(*seen.borrow(), [3, 2, 1]);
/// # Ok(())
/// # }
/// ```
///
/// Its future is not `Send`:
///
/// ```compile_fail
/// # async fn f() {
/// let fut = scopes::coroutine_scope_local(|_s| Box::pin(async { Ok(()) }));
/// tokio::spawn(fut);
/// # }
/// ```
#[track_caller]
pub fn coroutine_scope_local<'env, T, F>(body: F) -> impl Future<Output = Result<T>> + 'env
where
    F: for<'s> FnOnce(LocalScope<'s, 'env>) -> LocalBoxFuture<'s, Result<T>> + 'env,
    T: 'env,
{
    coroutine_scope_local_with(ScopeOptions::new(), body)
}

/// [`supervisor_scope`](fn@crate::supervisor_scope) for children that need
/// not be `Send`; see [`coroutine_scope_local`].
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> scopes::Result<()> {
/// use std::rc::Rc;
/// use scopes::{supervisor_scope_local, Error};
///
/// let answer = supervisor_scope_local(|s| Box::pin(async move {
///     let bad = s.r#async(async { Err::<Rc<u32>, _>(Error::msg("bad input")) });
///     let good = s.r#async(async { Ok(Rc::new(42)) });
///     assert!(bad.await.is_err()); // cancels nobody (R4)
///     Ok(*good.await?)
/// }))
/// .await?;
/// assert_eq!(answer, 42);
/// # Ok(())
/// # }
/// ```
#[track_caller]
pub fn supervisor_scope_local<'env, T, F>(body: F) -> impl Future<Output = Result<T>> + 'env
where
    F: for<'s> FnOnce(LocalScope<'s, 'env>) -> LocalBoxFuture<'s, Result<T>> + 'env,
    T: 'env,
{
    supervisor_scope_local_with(ScopeOptions::new(), body)
}

/// [`coroutine_scope_local`] with options (`limit`); see [`ScopeOptions`].
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> scopes::Result<()> {
/// use std::cell::Cell;
/// use std::rc::Rc;
/// use std::time::Duration;
/// use scopes::{coroutine_scope_local_with, delay, ScopeOptions};
///
/// let (running, most) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(0)));
/// let start = tokio::time::Instant::now();
/// coroutine_scope_local_with(ScopeOptions::new().limit(2), |s| Box::pin(async move {
///     for _ in 0..6 {
///         let (running, most) = (running.clone(), most.clone());
///         s.launch(async move {
///             running.set(running.get() + 1);
///             most.set(most.get().max(running.get()));
///             delay(Duration::from_millis(10)).await?;
///             running.set(running.get() - 1);
///             Ok(())
///         });
///     }
///     Ok(())
/// }))
/// .await?;
/// // Two at a time: three rounds of 10 ms.
/// assert_eq!(start.elapsed(), Duration::from_millis(30));
/// # Ok(())
/// # }
/// ```
#[track_caller]
pub fn coroutine_scope_local_with<'env, T, F>(
    options: ScopeOptions,
    body: F,
) -> impl Future<Output = Result<T>> + 'env
where
    F: for<'s> FnOnce(LocalScope<'s, 'env>) -> LocalBoxFuture<'s, Result<T>> + 'env,
    T: 'env,
{
    let name = Name::CoroutineScope(Location::caller());
    driver::run(Kind::Coroutine, options, name, |shared| {
        body(Scope::new(shared))
    })
}

/// [`supervisor_scope_local`] with options (`limit`); see [`ScopeOptions`].
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> scopes::Result<()> {
/// use std::rc::Rc;
/// use scopes::{supervisor_scope_local_with, ScopeOptions};
///
/// let n = supervisor_scope_local_with(ScopeOptions::new().limit(1), |s| Box::pin(async move {
///     let a = s.r#async(async { Ok(Rc::new(1)) });
///     let b = s.r#async(async { Ok(Rc::new(2)) });
///     Ok(*a.await? + *b.await?)
/// }))
/// .await?;
/// assert_eq!(n, 3);
/// # Ok(())
/// # }
/// ```
#[track_caller]
pub fn supervisor_scope_local_with<'env, T, F>(
    options: ScopeOptions,
    body: F,
) -> impl Future<Output = Result<T>> + 'env
where
    F: for<'s> FnOnce(LocalScope<'s, 'env>) -> LocalBoxFuture<'s, Result<T>> + 'env,
    T: 'env,
{
    let name = Name::SupervisorScope(Location::caller());
    driver::run(Kind::Supervisor, options, name, |shared| {
        body(Scope::new(shared))
    })
}

impl<'s> Scope<'s, '_, Local> {
    /// Starts a child running `fut`, which need not be `Send`: Kotlin's
    /// `launch` in a local scope. As in a plain scope, it first runs when
    /// the caller next suspends, after the children started before it (R14).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> scopes::Result<()> {
    /// use std::cell::RefCell;
    /// use std::rc::Rc;
    ///
    /// let log = Rc::new(RefCell::new(Vec::new()));
    /// let seen = log.clone();
    /// scopes::coroutine_scope_local(|s| Box::pin(async move {
    ///     let job = s.launch(async move {
    ///         scopes::yield_now().await?; // holds the `Rc` across an await
    ///         seen.borrow_mut().push("child");
    ///         Ok(())
    ///     });
    ///     job.join().await
    /// }))
    /// .await?;
    /// assert_eq!(*log.borrow(), ["child"]);
    /// # Ok(())
    /// # }
    /// ```
    #[track_caller]
    pub fn launch<F>(&self, fut: F) -> Job<'s>
    where
        F: Future<Output = Result<()>> + 's,
    {
        self.child().launch(fut)
    }

    /// Starts a child computing a value, neither of which need be `Send`:
    /// Kotlin's `async` in a local scope.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> scopes::Result<()> {
    /// use std::rc::Rc;
    /// let n = scopes::coroutine_scope_local(|s| Box::pin(async move {
    ///     let d = s.r#async(async { Ok(Rc::new(6 * 7)) });
    ///     Ok(*d.await?)
    /// }))
    /// .await?;
    /// assert_eq!(n, 42);
    /// # Ok(())
    /// # }
    /// ```
    #[track_caller]
    pub fn r#async<T, F>(&self, fut: F) -> Deferred<'s, T>
    where
        F: Future<Output = Result<T>> + 's,
        T: 's,
    {
        self.child().r#async(fut)
    }
}
