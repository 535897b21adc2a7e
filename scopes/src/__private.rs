//! What the macros' expanded code calls. Not public API.

use std::task::Poll;

use crate::error::Error;

pub use crate::engine::child::{BoxFuture, LocalBoxFuture};
pub use std::boxed::Box;
pub use std::result::Result::Ok;

/// A block form's future, its output typed `scopes::Result<T>`: what the
/// macros wrap a `non_cancellable { }` body in, whose function takes any
/// future, so that a body ending in `return Ok(v);` (whose value is not
/// typed where it ends: that would be unreachable code) still has an error
/// type (E0282 otherwise).
pub fn result_block<T, F: std::future::Future<Output = crate::Result<T>>>(fut: F) -> F {
    fut
}

/// The error type of the block a `bail!`/`ensure!` in a body runs in
/// (`scopes-macros/src/question.rs`): what anyhow's macros return with the
/// `anyhow` feature, into which another `ensure!`'s `e.into()` converts
/// too; without the feature, the body's own error type.
#[cfg(feature = "anyhow")]
pub type EarlyError = anyhow::Error;
/// The error type of the block a `bail!`/`ensure!` in a body runs in
/// (`scopes-macros/src/question.rs`): without the `anyhow` feature, the
/// body's own error type, as if the macro stood in the body itself.
#[cfg(not(feature = "anyhow"))]
pub type EarlyError = Error;

/// Types the block a `bail!`/`ensure!` whose arguments `.await` runs in
/// in a body: its error is [`EarlyError`] (rustc takes an async block's
/// output type from here).
pub fn early<T, F: std::future::Future<Output = Result<T, EarlyError>>>(fut: F) -> F {
    fut
}

/// Runs the closure a `bail!`/`ensure!` in a body runs in, where it stands;
/// its error is [`EarlyError`].
#[inline]
pub fn early_now<T, F: FnOnce() -> Result<T, EarlyError>>(f: F) -> Result<T, EarlyError> {
    f()
}

/// `e?` in a scope or child body is written `q(e)?` by the macros, so that
/// its error converts into [`Error`] from an `anyhow::Error` too (SPEC
/// §2e), which a `From` impl cannot do: `impl From<anyhow::Error>` collides
/// with the blanket `From<E: std::error::Error>` (E0119), since anyhow may
/// one day implement `std::error::Error`. Here the two are impls of
/// `IntoError<Via>` for different `Via`s, which do not collide; for any
/// other error the conversion is the one `?` makes.
#[inline]
pub fn q<R: Question<Via>, Via>(r: R) -> R::Output {
    r.question()
}

/// What `?` applies to in a body: a `Result`, or a `Poll` of one. The
/// message for anything else is rustc's for `?`, with the two slips it
/// usually is: a future not awaited (rustc's own hint to add `.await`
/// does not survive the rewrite), an `Option`.
#[diagnostic::on_unimplemented(
    message = "the `?` operator can only be applied to a `Result`, not to `{Self}`",
    label = "`?` applied to `{Self}`",
    note = "if it is a future (a `Deferred`, `delay(..)`, `job.join()`, ...), add `.await` before `?`",
    note = "in a scope or child body `?` returns a `scopes::Result`; for an `Option` write `.ok_or_else(|| scopes::Error::msg(\"..\"))?`"
)]
pub trait Question<Via> {
    type Output;
    fn question(self) -> Self::Output;
}

impl<T, E: IntoError<Via>, Via> Question<Via> for Result<T, E> {
    type Output = Result<T, Error>;
    #[inline]
    fn question(self) -> Self::Output {
        self.map_err(IntoError::into_error)
    }
}

impl<T, E: IntoError<Via>, Via> Question<Via> for Poll<Result<T, E>> {
    type Output = Poll<Result<T, Error>>;
    #[inline]
    fn question(self) -> Self::Output {
        self.map_err(IntoError::into_error)
    }
}

impl<T, E: IntoError<Via>, Via> Question<Via> for Poll<Option<Result<T, E>>> {
    type Output = Poll<Option<Result<T, Error>>>;
    #[inline]
    fn question(self) -> Self::Output {
        self.map_err(IntoError::into_error)
    }
}

/// An error `?` converts into [`Error`] in a scope or child body.
#[diagnostic::on_unimplemented(
    message = "`?` couldn't convert the error to `scopes::Error`",
    label = "the error here is `{Self}`",
    note = "`?` in a scope or child body takes a `std::error::Error + Send + Sync + 'static`, \
            a `scopes::Error`, or an `anyhow::Error` (feature `anyhow`); \
            convert other errors first, e.g. `.map_err(scopes::Error::msg)`"
)]
pub trait IntoError<Via> {
    fn into_error(self) -> Error;
}

/// How a `std::error::Error` converts: as `?` converts it.
pub struct ViaStd;
/// A `scopes::Error` stays as it is.
pub struct ViaSelf;
/// An `anyhow::Error` converts through [`Error::from_anyhow`].
#[cfg(feature = "anyhow")]
pub struct ViaAnyhow;

impl<E: std::error::Error + Send + Sync + 'static> IntoError<ViaStd> for E {
    #[inline]
    fn into_error(self) -> Error {
        Error::from(self)
    }
}

impl IntoError<ViaSelf> for Error {
    #[inline]
    fn into_error(self) -> Error {
        self
    }
}

#[cfg(feature = "anyhow")]
impl IntoError<ViaAnyhow> for anyhow::Error {
    #[inline]
    fn into_error(self) -> Error {
        Error::from_anyhow(self)
    }
}
