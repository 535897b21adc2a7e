//! Exception handlers: where the failures of `launch` children of a
//! `supervisor_scope` go, since no parent takes them (Kotlin's
//! `CoroutineExceptionHandler`).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::engine::handler::{Handler, HandlerGuard};
use crate::error::Error;

/// Runs `fut` with `handler` receiving the failures of the `launch`
/// children of every `supervisor_scope` started inside it (and of failed
/// `Deferred`s there that were dropped without being awaited). The nearest
/// installed handler wins, as with Kotlin's `CoroutineExceptionHandler` in
/// the coroutine context.
///
/// Without a handler, such failures are logged through `tracing` at error
/// level when a `tracing` subscriber is installed (feature `tracing`, on by
/// default; a global default or one set for the current thread), and printed
/// on stderr when none is: never lost silently, never reported twice.
/// A handler that panics does not take the scope down: the panic and the
/// failure it was handling are printed on stderr.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> scopes::Result<()> {
/// use std::sync::{Arc, Mutex};
/// use scopes::{supervisor_scope, with_exception_handler, Error};
///
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let log = seen.clone();
/// with_exception_handler(
///     move |e: &Error| log.lock().unwrap().push(e.to_string()),
///     supervisor_scope(|s| Box::pin(async move {
///         s.launch(async { Err(Error::msg("lost connection")) });
///         Ok(())
///     })),
/// )
/// .await?;
/// assert_eq!(*seen.lock().unwrap(), ["lost connection"]);
/// # Ok(())
/// # }
/// ```
pub fn with_exception_handler<H, F>(handler: H, fut: F) -> WithExceptionHandler<F>
where
    H: Fn(&Error) + Send + Sync + 'static,
    F: Future,
{
    WithExceptionHandler {
        handler: Arc::new(handler),
        fut,
    }
}

pin_project_lite::pin_project! {
    /// Future returned by [`with_exception_handler`].
    ///
    /// # Cancel safety
    ///
    /// As cancel safe as the future it wraps: dropping it drops that
    /// future. The handler is installed only while the future is polled,
    /// so nothing stays installed after it is dropped.
    #[must_use = "futures do nothing unless polled"]
    pub struct WithExceptionHandler<F> {
        handler: Handler,
        #[pin]
        fut: F,
    }
}

impl<F: Future> Future for WithExceptionHandler<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let _installed = HandlerGuard::enter(Some(this.handler.clone()));
        this.fut.poll(cx)
    }
}

impl<F> std::fmt::Debug for WithExceptionHandler<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WithExceptionHandler")
            .finish_non_exhaustive()
    }
}
