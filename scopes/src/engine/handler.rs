//! The exception handler in force: Kotlin's `CoroutineExceptionHandler` in
//! the coroutine context, installed by `with_exception_handler` for the
//! code it polls, and where a supervised child's failure goes.

use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use crate::error::Error;

pub(crate) type Handler = Arc<dyn Fn(&Error) + Send + Sync>;

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
        return report_default(error);
    };
    if let Err(payload) = catch_unwind(AssertUnwindSafe(|| handler(error))) {
        let panic = Error::panic(payload);
        eprintln!("scopes: the exception handler panicked ({panic}) while handling: {error:?}");
    }
}

fn report_default(error: &Error) {
    #[cfg(feature = "tracing")]
    tracing::error!(error = %error, child = ?error.child_name(), "unhandled failure in a supervised child");
    eprintln!("scopes: unhandled failure in a supervised child: {error:?}");
}
