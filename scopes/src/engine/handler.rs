//! The exception handler in force: Kotlin's `CoroutineExceptionHandler` in
//! the coroutine context, installed by `with_exception_handler` for the
//! code it polls, and where a supervised child's failure goes.

use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use crate::error::Error;

pub(crate) type Handler = Arc<dyn Fn(&Error) + Send + Sync>;

/// Where a supervised `async` child's failure goes: the type-erased side of
/// its `Deferred`'s slot, which reports it unless a handle awaits it.
pub trait FailureSink {
    /// The child failed in a `supervisor_scope`: report it to `handler`
    /// unless a handle awaits it.
    fn supervised_failure(&self, error: &Error, handler: Option<Handler>);
}

thread_local! {
    /// The handler installed by the nearest `with_exception_handler`.
    static HANDLER: RefCell<Option<Handler>> = const { RefCell::new(None) };
}

pub(crate) fn current_handler() -> Option<Handler> {
    HANDLER.with(|handler| handler.borrow().clone())
}

/// Replaces the current handler for the life of the guard.
pub(crate) struct HandlerGuard {
    previous: Option<Handler>,
}

impl HandlerGuard {
    pub(crate) fn enter(handler: Option<Handler>) -> Self {
        let previous = HANDLER.with(|current| current.replace(handler));
        Self { previous }
    }
}

/// Installs `handler` for the life of the guard unless it is the one in
/// force already (a nested scope runs under its parent's handler unless a
/// `with_exception_handler` sits between them): then no clone, no guard.
pub(crate) fn enter_scope(handler: &Option<Handler>) -> Option<HandlerGuard> {
    let same = HANDLER.with(|current| match (&*current.borrow(), handler) {
        (None, None) => true,
        (Some(a), Some(b)) => Arc::ptr_eq(a, b),
        _ => false,
    });
    (!same).then(|| HandlerGuard::enter(handler.clone()))
}

impl Drop for HandlerGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        HANDLER.with(|current| *current.borrow_mut() = previous);
    }
}

/// Hands a failure nobody else takes to `handler`, or to the default one.
pub(crate) fn report(handler: Option<&Handler>, error: &Error) {
    let Some(handler) = handler else {
        // The error's own `Display` may panic too: nothing escapes here.
        if catch_unwind(AssertUnwindSafe(|| report_default(error))).is_err() {
            eprintln!("scopes: unhandled failure in a supervised child (printing it panicked)");
        }
        return;
    };
    if let Err(payload) = catch_unwind(AssertUnwindSafe(|| handler(error))) {
        let panic = Error::panic(payload);
        eprintln!("scopes: the exception handler panicked ({panic}) while handling: {error:?}");
    }
}

/// The default handler: a `tracing` error event when a subscriber is in
/// force (global or this thread's), stderr otherwise, so a failure is never
/// lost and never printed twice.
fn report_default(error: &Error) {
    #[cfg(feature = "tracing")]
    if tracing_subscriber_in_force() {
        tracing::error!(error = %error, child = ?error.child_name(), "unhandled failure in a supervised child");
        return;
    }
    eprintln!("scopes: unhandled failure in a supervised child: {error:?}");
}

/// Whether events go anywhere: the dispatcher in force is not `tracing`'s
/// no-op one (`Dispatch::none()`, what `get_default` sees when neither a
/// global nor a scoped default was set).
#[cfg(feature = "tracing")]
fn tracing_subscriber_in_force() -> bool {
    tracing::dispatcher::get_default(|dispatch| !dispatch.is::<tracing::subscriber::NoSubscriber>())
}
