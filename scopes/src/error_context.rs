//! anyhow's `.context(..)` on a `scopes` [`Result`](crate::Result), with
//! the `anyhow` feature. `scopes::Error` cannot be a `std::error::Error`
//! (its blanket `From` would collide with `From<T> for T`, rustc E0119),
//! so anyhow's own `Context` does not reach it; this trait does the same
//! through `From<Error> for anyhow::Error`, which keeps what the error
//! holds (the child it came from, suppressed failures, a cancellation).

use std::fmt::Display;

use crate::error::{Error, Result};

/// With the `anyhow` feature: `.context(..)` and `.with_context(..)` on a
/// [`Result`](crate::Result), as anyhow's `Context` gives them to results
/// of other errors: the error, converted into an `anyhow::Error`, with the
/// context around it. In the prelude; beside `use anyhow::Context` too
/// (each applies to its own results; where the error type is not known
/// yet, as in `s.parse().context(..)`, rustc asks which: name the type,
/// `s.parse::<u16>()`).
///
/// The context stays when the error goes back into a [`Error`]
/// ([`Error::from_anyhow`], `?` in a DSL body): `{:#}` shows
/// `loading config: http 500`, and a cancellation stays one.
///
/// ```
/// use anyhow::Context as _; // the app's other results
/// use scopes::prelude::*;
///
/// async fn fetch_all() -> anyhow::Result<u32> {
///     let total: scopes::Result<u32> = coroutine_scope! {
///         let page = async { Err::<u32, _>(Error::msg("http 500")) };
///         page.await
///     };
///     let total = total.context("fetching every page")?;
///     let port = "80".parse::<u16>().context("reading the port")?;
///     Ok(total + u32::from(port))
/// }
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let failed = fetch_all().await.unwrap_err();
/// assert_eq!(format!("{failed:#}"), "fetching every page: http 500");
/// # }
/// ```
pub trait Context<T>: sealed::Sealed {
    /// The error, if any, with `context` around it.
    fn context<C>(self, context: C) -> anyhow::Result<T>
    where
        C: Display + Send + Sync + 'static;

    /// The error, if any, with the context `f` makes around it (`f` runs
    /// only on an error).
    fn with_context<C, F>(self, f: F) -> anyhow::Result<T>
    where
        C: Display + Send + Sync + 'static,
        F: FnOnce() -> C;
}

impl<T> Context<T> for Result<T> {
    fn context<C>(self, context: C) -> anyhow::Result<T>
    where
        C: Display + Send + Sync + 'static,
    {
        self.map_err(|error| anyhow::Error::from(error).context(context))
    }

    fn with_context<C, F>(self, f: F) -> anyhow::Result<T>
    where
        C: Display + Send + Sync + 'static,
        F: FnOnce() -> C,
    {
        self.map_err(|error: Error| anyhow::Error::from(error).context(f()))
    }
}

mod sealed {
    pub trait Sealed {}
    impl<T> Sealed for crate::error::Result<T> {}
}
