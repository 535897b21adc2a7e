//! The one error type of the crate: failures, cancellations, timeouts and
//! panics, with the child they came from and the failures suppressed by them.

use std::any::Any;
use std::error::Error as StdError;
use std::fmt::{self, Debug, Display};
use std::sync::{Arc, Mutex};

use crate::engine::name::Name;

/// `std::result::Result` with [`Error`] as the error type.
///
/// Every scope, child body and cancellation-aware primitive returns this, so
/// `?` converts any `std::error::Error` into an [`Error`].
///
/// ```
/// fn parse(s: &str) -> scopes::Result<u32> {
///     Ok(s.parse::<u32>()?)
/// }
/// assert_eq!(parse("7").unwrap(), 7);
/// assert!(parse("x").is_err());
/// ```
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A failure, a cancellation, a timeout or a caught panic.
///
/// `Error` is cheap to clone (one `Arc`) and `Send + Sync + 'static`, so the
/// same failure can be returned by every handle of a [`Deferred`](crate::Deferred) and kept
/// as the cause of a scope's failure at once.
///
/// # Formats
///
/// These formats are a contract, checked to the character by the crate's
/// `tests/error_fmt.rs`:
///
/// - `{}` is the message alone: `read config`. A cancellation shows
///   `job was cancelled`, a timeout `timed out after 100ms`, a caught panic
///   `panicked: ` and the panic's message.
/// - `{:#}` is the message and its chain of sources on one line, joined by
///   `": "`: `read config: file not found`. A cancellation caused by a
///   failure shows that failure's `{:#}` after its own message.
/// - `{:?}` (and `{:#?}`, the same) is the message, then one line per item,
///   indented by two spaces: the children the error left, from the one it
///   was raised in outwards (`` in child `load` (src/app.rs:12:9) `` for a
///   child with a `name`, `` in child `src/app.rs:14:13` `` for one named by
///   where it started; a child that returned a sibling's error it awaited
///   comes after the sibling); the chain (`caused by: `); and the failures
///   suppressed by this one (R6), each with the child it came from. Past 15
///   children or 15 suppressed errors, one line says how many more there
///   are (as Python's `ExceptionGroup` does), so a scope whose 10,000
///   children failed prints a bounded report:
///
/// ```text
/// read config
///   in child `load` (src/app.rs:12:9)
///   in child `src/app.rs:20:5`
///   caused by: file not found
///   suppressed: cleanup failed (in child `src/app.rs:14:13`)
///   suppressed: http 500 (in child `fetch` (src/app.rs:15:13))
///   ... and 9985 more suppressed
/// ```
///
/// # Kinds
///
/// A *cancellation* ([`is_cancellation`](Error::is_cancellation)) is how a
/// cancelled job is resumed; it is not a failure and never fails a parent.
/// A *timeout* ([`is_timeout`](Error::is_timeout)) is a failure, unlike in
/// Kotlin. A *panic* ([`is_panic`](Error::is_panic)) is a failure whose
/// payload can be re-raised with [`resume_panic`](Error::resume_panic).
///
/// # Examples
///
/// ```
/// use scopes::Error;
///
/// let err = Error::msg("http 500");
/// assert_eq!(err.to_string(), "http 500");
/// assert!(!err.is_cancellation());
///
/// let io = std::io::Error::new(std::io::ErrorKind::NotFound, "gone");
/// let err = Error::from(io);
/// assert!(err.downcast_ref::<std::io::Error>().is_some());
/// ```
#[derive(Clone)]
pub struct Error {
    inner: Arc<Inner>,
}

#[derive(Clone)]
struct Inner {
    /// Shared by every `Error` derived from the same failure, so that a
    /// failure seen twice (a child's error awaited and re-returned by the
    /// body) is recognised as one.
    kind: Arc<Kind>,
    /// The last child the error left (the outermost so far); the one it
    /// left before is below it.
    origin: Option<Arc<Origin>>,
    suppressed: Suppressed,
}

/// The failures an error suppressed (R6). Shared by the errors derived
/// from it: an error taken back from `anyhow` with `.context(..)` added
/// (`from_anyhow`) holds the list of the error under the context, which
/// still holds it too, so a failure passed through many such layers keeps
/// one list, not one per layer. Copied only when an error that shares it
/// adds to it, so that each keeps what it had.
#[derive(Clone, Default)]
struct Suppressed(Option<Arc<Vec<Error>>>);

impl Suppressed {
    fn as_slice(&self) -> &[Error] {
        self.0.as_deref().map_or(&[], Vec::as_slice)
    }

    fn append(&mut self, more: &mut Vec<Error>) {
        match &mut self.0 {
            None => self.0 = Some(Arc::new(std::mem::take(more))),
            Some(list) => {
                if Arc::strong_count(list) > 1 {
                    copied(list.len());
                }
                Arc::make_mut(list).append(more);
            }
        }
    }
}

/// One child on the path an error took: a linked list from the outermost
/// child down to the one the error was raised in, so that leaving one more
/// child costs one allocation, whatever the depth.
struct Origin {
    name: Name,
    below: Option<Arc<Origin>>,
}

/// How many suppressed errors, and children on an error's path, `{:?}`
/// lists before it says how many more there are (as Python's
/// `ExceptionGroup` does), so that a scope with 10,000 failed children
/// prints a bounded report.
const LISTED: usize = 15;

enum Kind {
    Message(String),
    Source(Box<dyn StdError + Send + Sync>),
    Cancelled {
        cause: Option<Error>,
    },
    Timeout(std::time::Duration),
    Panic {
        message: String,
        payload: Mutex<Option<Box<dyn Any + Send>>>,
    },
    /// An `anyhow::Error` taken as it is, given back by
    /// `From<Error> for anyhow::Error`.
    #[cfg(feature = "anyhow")]
    Anyhow(anyhow::Error),
}

impl Error {
    /// An error with a message.
    ///
    /// ```
    /// let err = scopes::Error::msg(format!("status {}", 503));
    /// assert_eq!(format!("{err}"), "status 503");
    /// ```
    pub fn msg(message: impl Display) -> Self {
        Self::from_kind(Kind::Message(message.to_string()))
    }

    /// Wraps any `std::error::Error`; the same as `Error::from`.
    ///
    /// ```
    /// let err = scopes::Error::new(std::fmt::Error);
    /// assert!(err.downcast_ref::<std::fmt::Error>().is_some());
    /// ```
    pub fn new<E: StdError + Send + Sync + 'static>(error: E) -> Self {
        Self::from_kind(Kind::Source(Box::new(error)))
    }

    /// A cancellation: what a cancelled job's suspending calls return.
    ///
    /// ```
    /// assert!(scopes::Error::cancelled().is_cancellation());
    /// ```
    pub fn cancelled() -> Self {
        Self::from_kind(Kind::Cancelled { cause: None })
    }

    pub(crate) fn cancelled_by(cause: &Error) -> Self {
        let cause = (!cause.is_cancellation()).then(|| cause.as_cause());
        Self::from_kind(Kind::Cancelled { cause })
    }

    /// The failure as a cancellation names it. A cancellation shows of its
    /// cause only what it is (`Display`). A failure with a list of
    /// suppressed failures gets a copy without it (nor the children it came
    /// through), so that the failure itself stays the only holder of its
    /// list and adds to it in place as it climbs a tree (`with_suppressed`).
    /// One with no list yet is shared as it is (its path rides along,
    /// unshown): the first change to it as it climbs copies its parts, O(1)
    /// with no list, which is what a copy here cost; and a timeout's error,
    /// which its caller often handles where it returns, is not copied.
    fn as_cause(&self) -> Error {
        if self.suppressed().is_empty() {
            return self.clone();
        }
        Self {
            inner: Arc::new(Inner {
                kind: self.inner.kind.clone(),
                origin: None,
                suppressed: Suppressed::default(),
            }),
        }
    }

    pub(crate) fn timeout(after: std::time::Duration) -> Self {
        Self::from_kind(Kind::Timeout(after))
    }

    pub(crate) fn panic(payload: Box<dyn Any + Send>) -> Self {
        let message = panic_message(payload.as_ref());
        Self::from_kind(Kind::Panic {
            message,
            payload: Mutex::new(Some(payload)),
        })
    }

    fn from_kind(kind: Kind) -> Self {
        Self {
            inner: Arc::new(Inner {
                kind: Arc::new(kind),
                origin: None,
                suppressed: Suppressed::default(),
            }),
        }
    }

    /// True for a cancellation: the error a cancelled job's suspending calls
    /// return. A cancellation is not a failure.
    ///
    /// ```
    /// assert!(!scopes::Error::msg("x").is_cancellation());
    /// ```
    pub fn is_cancellation(&self) -> bool {
        matches!(*self.inner.kind, Kind::Cancelled { .. })
    }

    /// True for the failure of [`with_timeout`](fn@crate::with_timeout) when
    /// its deadline passed.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// use std::time::Duration;
    /// let err = scopes::with_timeout(Duration::from_millis(10), async {
    ///     scopes::delay(Duration::from_secs(1)).await
    /// })
    /// .await
    /// .unwrap_err();
    /// assert!(err.is_timeout());
    /// # }
    /// ```
    pub fn is_timeout(&self) -> bool {
        matches!(*self.inner.kind, Kind::Timeout(_))
    }

    /// True for a panic caught at a child or scope boundary.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let err = scopes::coroutine_scope(|_s| Box::pin(async move {
    ///     if true { panic!("bad state") }
    ///     Ok(())
    /// }))
    /// .await
    /// .unwrap_err();
    /// assert!(err.is_panic());
    /// assert_eq!(err.to_string(), "panicked: bad state");
    /// # }
    /// ```
    pub fn is_panic(&self) -> bool {
        matches!(*self.inner.kind, Kind::Panic { .. })
    }

    /// The wrapped error, if it is an `E`.
    ///
    /// ```
    /// let err = scopes::Error::from(std::fmt::Error);
    /// assert!(err.downcast_ref::<std::fmt::Error>().is_some());
    /// assert!(err.downcast_ref::<std::io::Error>().is_none());
    /// ```
    pub fn downcast_ref<E: StdError + 'static>(&self) -> Option<&E> {
        match &*self.inner.kind {
            Kind::Source(source) => source.downcast_ref::<E>(),
            // Through the context an app added (`.context("loading")`):
            // the layers of its chain, outermost first, as anyhow's own
            // `downcast_ref` sees through them.
            #[cfg(feature = "anyhow")]
            Kind::Anyhow(error) => error.chain().find_map(|layer| layer.downcast_ref()),
            _ => None,
        }
    }

    /// Failures that happened while the scope was already failing with this
    /// one (SPEC R6). Cancellations are never suppressed: they are not
    /// failures.
    ///
    /// ```
    /// assert!(scopes::Error::msg("x").suppressed().is_empty());
    /// ```
    pub fn suppressed(&self) -> &[Error] {
        self.inner.suppressed.as_slice()
    }

    /// The name of the child this error came from: its `name` option, else
    /// the `file:line:col` of its `launch`/`async`. `None` for an error that
    /// did not leave a child.
    ///
    /// ```
    /// assert!(scopes::Error::msg("x").child_name().is_none());
    /// ```
    pub fn child_name(&self) -> Option<String> {
        self.origins().first().map(ToString::to_string)
    }

    /// The children the error left, from the one it was raised in outwards.
    fn origins(&self) -> Vec<&Name> {
        let mut names = Vec::new();
        let mut origin = self.inner.origin.as_deref();
        while let Some(o) = origin {
            names.push(&o.name);
            origin = o.below.as_deref();
        }
        names.reverse();
        names
    }

    /// Re-raises the panic this error was caught from, with its original
    /// payload (the first time; later clones re-raise with the message).
    /// Any other error is raised as a panic with its message.
    ///
    /// ```should_panic
    /// scopes::Error::msg("fatal").resume_panic();
    /// ```
    pub fn resume_panic(self) -> ! {
        if let Kind::Panic { message, payload } = &*self.inner.kind {
            let taken = payload.lock().unwrap_or_else(|e| e.into_inner()).take();
            match taken {
                Some(payload) => std::panic::resume_unwind(payload),
                None => std::panic::panic_any(message.clone()),
            }
        }
        std::panic::panic_any(self.to_string())
    }

    /// The same failure, having left the child `name`: added to the path
    /// of children it came through (the one it was raised in stays first).
    pub(crate) fn with_origin(mut self, name: &Name) -> Self {
        let inner = self.own_inner();
        let below = inner.origin.take();
        inner.origin = Some(Arc::new(Origin {
            name: name.clone(),
            below,
        }));
        self
    }

    pub(crate) fn with_suppressed(mut self, mut more: Vec<Error>) -> Self {
        if !more.is_empty() {
            self.own_inner().suppressed.append(&mut more);
        }
        self
    }

    /// This error's parts, to change: in place when no other `Error` holds
    /// them (a failure climbing a tree), else copied first, so that clones
    /// made before (a `Deferred`'s, a handler's) keep what they saw. In
    /// place, a failure that gathers a suppressed failure at every level of
    /// a deep tree costs O(1) per level, not the length of its list.
    fn own_inner(&mut self) -> &mut Inner {
        // A copy shares the suppressed list, which is copied only if added
        // to (`Suppressed::append`).
        Arc::make_mut(&mut self.inner)
    }

    /// Whether both are the same failure (one was derived from the other).
    pub(crate) fn same_failure(&self, other: &Error) -> bool {
        Arc::ptr_eq(&self.inner.kind, &other.inner.kind)
    }

    /// Whether both are the same error object (one a clone of the other):
    /// the same failure, the same path and the same suppressed failures.
    pub(crate) fn is_same_error(&self, other: &Error) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// Whether this failure is held anywhere else (another `Error` of the
    /// same failure, or a clone of this one): only then can it be among
    /// failures seen before.
    pub(crate) fn is_shared(&self) -> bool {
        Arc::strong_count(&self.inner) > 1 || Arc::strong_count(&self.inner.kind) > 1
    }

    /// What `same_failure` compares, as a key: unique while the error (or
    /// one derived from it) is alive.
    pub(crate) fn identity(&self) -> usize {
        Arc::as_ptr(&self.inner.kind) as *const () as usize
    }

    fn source_chain(&self) -> Option<&(dyn StdError + 'static)> {
        match &*self.inner.kind {
            Kind::Source(source) => source.source(),
            #[cfg(feature = "anyhow")]
            Kind::Anyhow(error) => AsRef::<dyn StdError + Send + Sync>::as_ref(error).source(),
            _ => None,
        }
    }

    fn cause(&self) -> Option<&Error> {
        match &*self.inner.kind {
            Kind::Cancelled { cause } => cause.as_ref(),
            _ => None,
        }
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "Box<dyn Any>".to_owned()
    }
}

impl Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.inner.kind {
            Kind::Message(message) => f.write_str(message)?,
            Kind::Source(source) => Display::fmt(source, f)?,
            Kind::Cancelled { .. } => f.write_str("job was cancelled")?,
            Kind::Timeout(after) => write!(f, "timed out after {after:?}")?,
            Kind::Panic { message, .. } => write!(f, "panicked: {message}")?,
            // Not `Display::fmt(e, f)`: anyhow would print its chain for
            // `{:#}`, and the chain follows below.
            #[cfg(feature = "anyhow")]
            Kind::Anyhow(error) => write!(f, "{error}")?,
        }
        if f.alternate() {
            if let Some(cause) = self.cause() {
                write!(f, ": {cause:#}")?;
            }
            let mut source = self.source_chain();
            while let Some(s) = source {
                write!(f, ": {s}")?;
                source = s.source();
            }
        }
        Ok(())
    }
}

impl Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")?;
        let origins = self.origins();
        for name in origins.iter().take(LISTED) {
            write!(f, "\n  in child {}", ChildName(name))?;
        }
        if origins.len() > LISTED {
            write!(f, "\n  ... and {} more children", origins.len() - LISTED)?;
        }
        if let Some(cause) = self.cause() {
            write!(f, "\n  caused by: {cause}")?;
        }
        let mut source = self.source_chain();
        while let Some(s) = source {
            write!(f, "\n  caused by: {s}")?;
            source = s.source();
        }
        let suppressed = self.suppressed();
        for error in suppressed.iter().take(LISTED) {
            write!(f, "\n  suppressed: {error}")?;
            if let Some(name) = error.origins().first() {
                write!(f, " (in child {})", ChildName(name))?;
            }
        }
        if suppressed.len() > LISTED {
            write!(
                f,
                "\n  ... and {} more suppressed",
                suppressed.len() - LISTED
            )?;
        }
        Ok(())
    }
}

/// A child's name in `{:?}`: `` `fetch` (src/app.rs:3:9) `` for a named
/// child, `` `src/app.rs:3:9` `` for one named by where it started.
struct ChildName<'a>(&'a Name);

impl Display for ChildName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`", self.0)?;
        if let Name::Named(_) = self.0 {
            write!(f, " ({})", self.0.started_at())?;
        }
        Ok(())
    }
}

// Like anyhow: an `Error` is immutable apart from the panic payload, which
// is behind a mutex whose poisoning is ignored, so it can cross
// `catch_unwind`.
impl std::panic::UnwindSafe for Error {}
impl std::panic::RefUnwindSafe for Error {}

impl<E: StdError + Send + Sync + 'static> From<E> for Error {
    fn from(error: E) -> Self {
        Self::new(error)
    }
}

/// `Error` seen as a `std::error::Error`: what `Box<dyn Error>` and
/// `anyhow::Error` hold when an `Error` is converted into them. (`Error`
/// itself cannot implement `std::error::Error`: with its blanket
/// `From<E: std::error::Error>`, that would collide with `From<T> for T`.)
struct Compat(Error);

impl Display for Compat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Display::fmt(&self.0, f)
    }
}

impl Debug for Compat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Debug::fmt(&self.0, f)
    }
}

impl StdError for Compat {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.0.source_chain()
    }
}

/// `?` on a [`Result`] in a fn returning `Result<T, Box<dyn Error + Send +
/// Sync>>`. The box shows the error's message (`{}`), its chain
/// (`source()`) and its `Debug`.
///
/// ```
/// async fn app() -> Result<u32, Box<dyn std::error::Error + Send + Sync>> {
///     let n = scopes::coroutine_scope(|s| Box::pin(async move {
///         let d = s.r#async(async { Err::<u32, _>(scopes::Error::msg("no answer")) });
///         d.await
///     }))
///     .await?;
///     Ok(n)
/// }
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// assert_eq!(app().await.unwrap_err().to_string(), "no answer");
/// # }
/// ```
impl From<Error> for Box<dyn StdError + Send + Sync + 'static> {
    fn from(error: Error) -> Self {
        Box::new(Compat(error))
    }
}

/// `?` on a [`Result`] in a fn returning `Result<T, Box<dyn Error>>`, such
/// as `main`.
///
/// ```
/// fn main() -> Result<(), Box<dyn std::error::Error>> {
///     let answer: scopes::Result<u32> = Ok(42);
///     assert_eq!(answer?, 42);
///     Ok(())
/// }
/// ```
impl From<Error> for Box<dyn StdError + 'static> {
    fn from(error: Error) -> Self {
        Box::new(Compat(error))
    }
}

/// With the `anyhow` feature.
#[cfg(feature = "anyhow")]
impl Error {
    /// Takes an `anyhow::Error` into a `scopes::Error`: what `?` does in
    /// the DSL's bodies, for code the macros do not write (a plain `?`
    /// cannot: an `impl From<anyhow::Error>` would collide with the blanket
    /// `From<E: std::error::Error>`, rustc E0119). An error that came from
    /// `scopes` (a cancellation passed through an anyhow fn) comes back as
    /// it was, so a cancelled child stays cancelled (a cancellation stays
    /// one whatever context was added to it); any other is kept as it is,
    /// and [`downcast_ref`](Error::downcast_ref) reaches its innermost
    /// error. A `scopes` error an app added context to keeps the context
    /// (`{:#}` shows `loading config: http 500`), and the children it came
    /// through and the failures it suppressed.
    ///
    /// ```
    /// use scopes::Error;
    ///
    /// async fn load(path: &str) -> anyhow::Result<String> {
    ///     anyhow::bail!("no file {path}")
    /// }
    ///
    /// async fn child_body() -> scopes::Result<String> {
    ///     let text = load("a.toml").await.map_err(Error::from_anyhow)?;
    ///     Ok(text)
    /// }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// assert_eq!(child_body().await.unwrap_err().to_string(), "no file a.toml");
    ///
    /// let cancelled = anyhow::Error::from(Error::cancelled());
    /// assert!(Error::from_anyhow(cancelled).is_cancellation());
    /// # }
    /// ```
    pub fn from_anyhow(error: anyhow::Error) -> Self {
        // anyhow's own downcast would look through the context an app
        // added (`.context("loading config")`) and drop it.
        let ours = error.chain().find_map(|e| e.downcast_ref::<Compat>());
        let Some(Compat(ours)) = ours else {
            return Self::from_kind(Kind::Anyhow(error));
        };
        let as_it_was = error
            .chain()
            .next()
            .is_some_and(|outer| outer.is::<Compat>());
        if as_it_was || ours.is_cancellation() {
            return ours.clone();
        }
        Self {
            inner: Arc::new(Inner {
                origin: ours.inner.origin.clone(),
                suppressed: ours.inner.suppressed.clone(),
                kind: Arc::new(Kind::Anyhow(error)),
            }),
        }
    }
}

/// With the `anyhow` feature: `?` on a [`Result`] in a fn returning
/// `anyhow::Result<T>`, and `#[supervised]` / `#[scoped]` on such a fn.
///
/// The `anyhow::Error` shows the error's message (`{}`), its chain
/// (`{:#}`, `chain()`) and its `Debug` (`{:#?}`); [`Error::from_anyhow`]
/// takes it back. An `anyhow::Error` that went into an `Error` (through
/// [`Error::from_anyhow`]) and comes out unchanged is given back as it was,
/// so its `downcast_ref` still finds the app's own error types. One that
/// gathered suppressed failures on the way (R6), or whose `Error` is still
/// shared by a clone, cannot be given back without losing them: it comes
/// out wrapped, and anyhow's `downcast_ref` no longer sees the app's type
/// — [`Error::downcast_ref`] before the conversion still does (anyhow has
/// no place for suppressed errors; losing a failure is the worse choice).
///
/// Cost: with `RUST_BACKTRACE` or `RUST_LIB_BACKTRACE` set, anyhow
/// captures a backtrace for each error it makes, here a walk of the whole
/// stack, which a tree of nested scopes makes deep (about 1 ms per
/// conversion 1,000 levels down, against 5 µs without); set
/// `RUST_LIB_BACKTRACE=0` to keep panics' backtraces without it.
///
/// ```
/// use scopes::prelude::*;
///
/// #[supervised]
/// async fn refresh(ids: &[u32]) -> anyhow::Result<u32> {
///     let total = async { Ok(ids.iter().sum::<u32>()) };
///     Ok(total.await?)
/// }
///
/// async fn app() -> anyhow::Result<u32> {
///     let n = refresh(&[1, 2]).await?;
///     let failed: scopes::Result<u32> = coroutine_scope! {
///         let d = async { Err::<u32, _>(Error::msg("http 500")) };
///         d.await
///     };
///     Ok(n + failed?)
/// }
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// assert_eq!(app().await.unwrap_err().to_string(), "http 500");
/// # }
/// ```
#[cfg(feature = "anyhow")]
impl From<Error> for anyhow::Error {
    fn from(error: Error) -> Self {
        if !error.suppressed().is_empty() {
            return anyhow::Error::new(Compat(error));
        }
        let inner = match Arc::try_unwrap(error.inner) {
            Ok(inner) => inner,
            Err(inner) => return anyhow::Error::new(Compat(Error { inner })),
        };
        let kind = match Arc::try_unwrap(inner.kind) {
            Ok(Kind::Anyhow(original)) => return original,
            Ok(kind) => Arc::new(kind),
            Err(kind) => kind,
        };
        let inner = Inner {
            kind,
            origin: inner.origin,
            suppressed: Suppressed::default(),
        };
        anyhow::Error::new(Compat(Error {
            inner: Arc::new(inner),
        }))
    }
}

/// Counts suppressed failures copied because an error was shared as it
/// changed (tests pin that to none for a failure climbing a tree).
#[cfg(test)]
fn copied(suppressed: usize) {
    tests::COPIED.set(tests::COPIED.get() + suppressed);
}

#[cfg(not(test))]
fn copied(_: usize) {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    thread_local! {
        /// Suppressed failures copied because an error sharing its list
        /// added to it (`Suppressed::append`).
        pub(super) static COPIED: Cell<usize> = const { Cell::new(0) };
    }

    /// A recursion of `depth` scopes: the deepest level fails, and every
    /// level's cleanup then fails too; its error and the suppressed
    /// failures copied on the way.
    fn failing_cleanups(depth: u64) -> (Error, usize) {
        fn level(d: u64) -> crate::BoxFuture<'static, crate::Result<()>> {
            Box::pin(crate::coroutine_scope(move |s| {
                Box::pin(async move {
                    if d == 1 {
                        crate::yield_now().await?;
                        return Err(Error::msg("root cause"));
                    }
                    s.launch(level(d - 1));
                    if crate::delay(std::time::Duration::from_secs(3600))
                        .await
                        .is_err()
                    {
                        return Err(Error::msg(format!("cleanup {d} failed")));
                    }
                    Ok(())
                })
            }))
        }
        std::thread::Builder::new()
            .stack_size(512 << 20)
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .start_paused(true)
                    .build()
                    .expect("runtime");
                COPIED.set(0);
                let error = rt.block_on(level(depth)).expect_err("the recursion fails");
                (error, COPIED.get())
            })
            .expect("thread")
            .join()
            .expect("recursion thread")
    }

    /// R6 at depth: the root cause, with every level's cleanup failure
    /// suppressed once, deepest first (the order they happened in).
    #[test]
    fn a_failure_climbing_a_deep_tree_suppresses_each_level_s_cleanup_failure_once_in_order() {
        let (error, _) = failing_cleanups(200);
        assert_eq!(error.to_string(), "root cause");
        let suppressed: Vec<String> = error.suppressed().iter().map(ToString::to_string).collect();
        let expected: Vec<String> = (2..=200).map(|d| format!("cleanup {d} failed")).collect();
        assert_eq!(suppressed, expected);
    }

    /// The failure gathers one suppressed failure per level in place: held
    /// by nothing else as each scope adds to it, it is never copied (each
    /// level copied the whole list before, quadratic in the depth).
    #[test]
    fn a_failure_climbing_a_deep_tree_is_not_copied_at_each_level() {
        let (error, copied) = failing_cleanups(1_000);
        assert_eq!(error.suppressed().len(), 999);
        assert_eq!(copied, 0, "suppressed failures copied on the way up");
    }

    #[derive(Debug)]
    struct Outer(std::io::Error);
    impl Display for Outer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("read config")
        }
    }
    impl StdError for Outer {
        fn source(&self) -> Option<&(dyn StdError + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn formats_are_message_chain_and_debug() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "file not found");
        let err = Error::from(Outer(io));
        assert_eq!(format!("{err}"), "read config");
        assert_eq!(format!("{err:#}"), "read config: file not found");
        let with = err
            .clone()
            .with_suppressed(vec![Error::msg("cleanup failed")]);
        assert_eq!(
            format!("{with:?}"),
            "read config\n  caused by: file not found\n  suppressed: cleanup failed"
        );
        let mut many = Error::msg("first");
        for _ in 0..20 {
            many = many.with_origin(&Name::Timeout);
        }
        let listed = format!("{many:?}");
        assert_eq!(listed.matches("in child `with_timeout`").count(), LISTED);
        assert!(listed.ends_with("\n  ... and 5 more children"), "{listed}");
        assert!(with.same_failure(&err));
        assert!(!with.same_failure(&Error::msg("read config")));
    }

    #[test]
    fn resume_panic_reraises_the_payload_once() {
        let err = Error::panic(Box::new(7_u32));
        let again = err.clone();
        let caught = std::panic::catch_unwind(move || err.resume_panic()).unwrap_err();
        assert_eq!(caught.downcast_ref::<u32>(), Some(&7));
        let caught = std::panic::catch_unwind(move || again.resume_panic()).unwrap_err();
        assert_eq!(caught.downcast_ref::<String>().unwrap(), "Box<dyn Any>");
    }

    #[test]
    fn error_is_send_sync_clone_static() {
        fn assert<T: Send + Sync + Clone + std::panic::UnwindSafe + 'static>() {}
        assert::<Error>();
    }

    /// An error that shares its suppressed list with another (one derived
    /// from it) copies the list when it adds to it: the other keeps what
    /// it had.
    #[test]
    fn adding_to_a_shared_suppressed_list_copies_it_for_the_adder_alone() {
        let first = Error::msg("first").with_suppressed(vec![Error::msg("a"), Error::msg("b")]);
        COPIED.set(0);
        let derived = first.clone().with_suppressed(vec![Error::msg("c")]);
        let names = |e: &Error| {
            e.suppressed()
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&first), ["a", "b"]);
        assert_eq!(names(&derived), ["a", "b", "c"]);
        assert_eq!(COPIED.get(), 2, "the shared list is copied once");
        let alone = derived.with_suppressed(vec![Error::msg("d")]);
        assert_eq!(names(&alone), ["a", "b", "c", "d"]);
        assert_eq!(
            COPIED.get(),
            2,
            "a list held by one error is added to in place"
        );
    }
}
