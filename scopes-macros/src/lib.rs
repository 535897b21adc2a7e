//! Procedural macros of the [`scopes`] crate: the Kotlin-like DSL for
//! structured concurrency. Use them through `scopes` (`use
//! scopes::prelude::*;`), which re-exports them and documents the DSL with
//! runnable examples; the expanded code calls `::scopes::..`.
//!
//! [`scopes`]: https://docs.rs/scopes
//!
//! | macro | Kotlin | expands to |
//! |---|---|---|
//! | [`coroutine_scope!`]`{ .. }` | `coroutineScope { }` | `::scopes::coroutine_scope(\|s\| Box::pin(async { .. })).await` |
//! | [`supervisor_scope!`]`{ .. }` | `supervisorScope { }` | `::scopes::supervisor_scope(..).await` |
//! | `coroutine_scope!(limit = n; ..)` | `coroutineScope` + `limitedParallelism(n)` | `::scopes::coroutine_scope_with(ScopeOptions::new().limit(n), ..)` |
//! | `coroutine_scope!(local; ..)` | a single-threaded `coroutineScope` | `::scopes::coroutine_scope_local(..)` (`_local_with` with a limit) |
//! | `launch { .. }`, [`launch!`]`{ .. }` | `launch { }` | `s.launch(async move { .. })` |
//! | `async { .. }`, `r#async! { .. }` | `async { }` | `s.r#async(async move { .. })` |
//! | `launch(name = "x", start = lazy, parallel) { .. }` | `launch(CoroutineName("x"), start = LAZY)` | `s.child().name("x").start(Start::Lazy).launch_parallel(..)` |
//! | [`produce!`]`(capacity = n; \|tx\| ..)` | `produce(capacity = n) { }` | `s.produce(n, move \|tx\| async move { .. })` |
//! | [`#[supervised]`](macro@supervised), `#[supervised(limit = n, local)]` | `= supervisorScope { }` | the fn body in a `supervisor_scope` (`_with`, `_local`) |
//! | [`#[coroutine_scope]`](macro@coroutine_scope_attr), [`#[scoped]`](macro@scoped), `#[scoped(limit = n, local)]` | `= coroutineScope { }` | the fn body in a `coroutine_scope` (`_with`, `_local`) |
//! | `ids.iter().map(\|id\| async { .. })` | `ids.map { async { .. } }` | a child per call: `.map(\|id\| s.r#async(async move { .. }))` |
//! | `with_timeout(d) { .. }`, [`with_timeout!`]`(d; ..)` | `withTimeout(d) { }` | `::scopes::with_timeout(d, async { .. }).await` |
//! | `with_timeout_or_none(d) { .. }`, [`with_timeout_or_none!`]`(d; ..)` | `withTimeoutOrNull(d) { }` | `::scopes::with_timeout_or_none(d, async { .. }).await` |
//! | `non_cancellable { .. }`, [`non_cancellable!`]`{ .. }` | `withContext(NonCancellable) { }` | `::scopes::non_cancellable(async { .. }).await` |
//!
//! # What it expands to
//!
//! ```text
//! coroutine_scope! { launch { f().await?; } Ok(()) }
//! ```
//! becomes (a unit test in `expand.rs` checks this string)
//! ```text
//! ::scopes::coroutine_scope(|scope| ::scopes::__private::Box::pin(async {
//!     let scope = scope;
//!     let value: ::scopes::Result<_> = {
//!         scope.launch(async move {
//!             let value: ::scopes::Result<()> = { f().await?; ::scopes::__private::Ok(()) };
//!             let value = value;
//!             value
//!         });
//!         Ok(())
//!     };
//!     let value = value;
//!     value
//! })).await
//! ```
//! (The typed `value`s make a tail of the wrong type, in a child's body
//! or in the scope's, one error on that tail, with rustc's "try wrapping
//! the expression in `Ok`", not one on every `?`. The `let`s carry
//! `#[allow]`s, left out here, for the lints a tail that never returns
//! would raise on them: `unreachable_code`, clippy's
//! `diverging_sub_expression`.)
//! The body's async block is not `move`: it takes the scope handle by value
//! and borrows everything else, like a plain block. Child bodies are
//! `async move` (they capture by value); a child body that starts children
//! of its own runs them in a nested `coroutine_scope`, as in Kotlin.
//!
//! # Design decisions
//!
//! - **`#[coroutine_scope]` vs `coroutine_scope!`.** Rust has one macro
//!   namespace per module: a function-like macro and an attribute cannot
//!   share a name there, so `use scopes::prelude::*;` cannot bring both
//!   (verified on rustc 1.95: two imports are E0252, two globs are
//!   ambiguous, and `macro_rules!` attribute arms are unstable). The
//!   prelude brings the bang `coroutine_scope!`; the attribute is
//!   `#[scopes::attr::coroutine_scope]` (import `scopes::attr` and write
//!   `#[attr::coroutine_scope]`), also in the prelude as `#[scoped]`.
//!   `#[supervised]` has no clash.
//! - **Options in annotated bodies.** An annotated body must be valid Rust
//!   before the attribute sees it, so the Kotlin look `launch(..) { }` is
//!   only for the scope macros; everywhere the bang forms work:
//!   `launch! { body }`, `launch!(name = "x", parallel; body)`,
//!   `r#async!(start = lazy; body)` (options, `;`, then the body's
//!   statements).
//! - **Plain Rust stays plain.** A non-`move` `async { }` in a scope body is
//!   a child; `async move { }` is a plain future. Nested items, `async move`
//!   blocks and async closures are not part of the scope: `launch`/`async(..)`
//!   forms there are errors saying so, and a non-`move` `async { }` there
//!   stays a plain async block.
//! - **Closures are part of the scope** (Kotlin's fan-out,
//!   `ids.map { async { fetch(it) } }`): a child form in a closure starts a
//!   child of the scope each time the closure runs, so
//!   `ids.iter().map(|id| async { fetch(id).await }).collect::<Vec<_>>()`
//!   starts one child per id. A `move` closure that starts children takes
//!   the handle by reference (`{ let scope = &scope; move |..| .. }`).
//!   So does a closure handed to a helper of your own: in
//!   `retry(5, || async { fetch().await })` each attempt is a child, and in
//!   a `coroutine_scope!` the first failed attempt fails the scope (R2).
//!   Write `async move { }` there for a plain future the helper awaits.
//! - **Other macros' inputs.** When a macro's input is a list of
//!   expressions (`vec![..]`, `format!`, `assert!`, `tokio::join!`), its
//!   child forms are children; otherwise (`tokio::select!`, `vec![x; n]`)
//!   each is an error naming the fix: start the child in a statement before
//!   the macro, or write `async move { }` for a plain future. A proc macro
//!   cannot know what another macro does with its input, so this is decided
//!   by its syntax alone.
//! - **Scope options.** `coroutine_scope!(limit = 4, local; ..)`: a proc
//!   macro does not see its delimiters, so the first statement is the
//!   options when it is an option list and not a statement (two options or
//!   more, or one starting with `limit` or `local`); `x = 5;` first stays a
//!   statement, and a variable named `limit` is assigned first as
//!   `{ limit = 4; }`. In a local scope, children's own scopes and the
//!   block forms' scopes are local too (but a `parallel` child's, which runs
//!   on the pool). `#[scoped(limit = 4)]`, `#[supervised(local)]`: the same
//!   options as the attribute's arguments.
//! - **Where `launch` is the DSL.** In the scope macros, `launch` followed
//!   by `{ }` or `(..) { }` is a child where an expression starts, and a
//!   statement `launch;` is a child missing its body (an error that says
//!   so); `s.launch(..)`, `fn launch`, `if launch(x) { }` and a value named
//!   `launch` (`let x = launch;`) are left alone, and `r#launch(..)` calls
//!   a function named `launch`.
//! - **A `launch` body's `Ok(())`.** A `launch` body (or a block form's)
//!   with no tail expression, or whose tail cannot be a `Result`, means
//!   `Ok(())`: a `for`/`while` loop, a `loop` left by a plain `break`, an
//!   `if` without `else`, an `if`/`match` one of whose branches has no
//!   value (branches share one type), an assignment, `println!`, a child
//!   form. A body that never ends normally (a `loop` without `break`)
//!   gets nothing: its type `!` is a `Result` already. `return;` in a
//!   `launch` body returns `Ok(())` (not in a closure or async block in
//!   it, whose `return` is its own).
//! - **Block forms.** `with_timeout(d) { .. }`, `with_timeout_or_none(d)
//!   { .. }` and `non_cancellable { .. }` in the scope macros become the
//!   bang macros `with_timeout!(d; ..)`, ..., which work anywhere (an
//!   annotated body, a plain `async fn`). The block is a non-`move`
//!   `async { }` awaited in place: it borrows like a plain block, its value
//!   is `scopes::Result<T>` (`?` converts), and a block with children is a
//!   scope of its own, as Kotlin's `withTimeout` is. Written as a statement
//!   followed by another without `?;`, a Kotlin-look block form is an
//!   error: it would drop a `Result`.
//! - **A non-`move` `async { }` given to `with_timeout(d, ..)`,
//!   `non_cancellable(..)`, ...** in a scope body would be a child (its
//!   `Deferred` is not the future they run): an error says to write
//!   `async move { }`.
//! - **Recursion.** An annotated fn whose body calls it by name
//!   (`f(..)`, `Self::f(..)`, `self.f(..)`) is written as a plain fn
//!   returning `scopes::BoxFuture<'scoped, ..>`: a recursive `async fn`
//!   whose child calls it cannot be proven `Send` by rustc, a boxed future
//!   states it.
//! - **A child form written as a statement is a statement**, also last in
//!   a block whose value is dropped: a loop's body
//!   (`for id in ids { launch { .. } }`), a branch of an `if` or `match`
//!   written as a statement, a closure's body (`for_each(|id| { launch {
//!   .. } })`, Kotlin's `forEach { launch { } }`, or a callback); its
//!   handle is dropped (the child still runs). It is the block's value,
//!   the child's handle, where that value is used: `let job = { launch {
//!   .. } };`, the closure of a fan-out method (`map`, `filter_map`,
//!   `flat_map`, `then`, `and_then`) not declared `-> ()`
//!   (`ids.iter().map(|id| { let id = *id; async(name = ..) { .. } })`
//!   fans out with names; so `Some(x).map(|x| { launch { .. } })` gives
//!   `Some(job)`), and an `if`/`match` giving a value whose every branch
//!   ends in a child form (`let d = if fast { async { .. } } else {
//!   async { .. } };`). Decided by syntax, as the rest of the DSL.
//! - **Generated code** calls `::scopes::..` (a renamed `scopes`
//!   dependency is not supported) and names the scope handle `scope` with
//!   `mixed_site` hygiene: user code neither sees nor shadows it.
//! - **Options.** `name = "lit"` (or an expression giving
//!   `impl Into<Cow<'static, str>>`, such as `format!(..)`),
//!   `start = lazy` / `start = default` (or the runtime's `Start::Lazy` /
//!   `Start::Default`), `parallel`; unknown, duplicated or
//!   ill-valued options are errors on the option.
//! - **Errors never discard the expansion.** Each pass (parse → validate →
//!   expand) gathers its errors, and they are reported next to what is
//!   valid: a bad option next to the scope or fn expanded with the valid
//!   ones, a malformed child next to the body with that child stubbed, an
//!   annotated fn of the wrong shape next to a stand-in with its signature;
//!   so a mistake gives one error, never a second misleading one (such as
//!   "`launch!` is only allowed in a scope body" for a body left
//!   unexpanded). `diag.rs` is the one place errors become tokens; a message
//!   over 100 characters is split into the message and a `help:` line.
//! - **Modules**, each using only those before it: `diag` (errors), `parse`
//!   (the typed DSL), `valid` (checks), `kotlin` (the Kotlin look into
//!   parseable tokens), `recursion`, `tail`, `expand` (codegen), `produce`,
//!   `body` (the walk over a scope body, which dispatches to the others).

#![forbid(unsafe_code)]

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use syn::parse::Parser as _;

mod body;
mod diag;
mod expand;
mod kotlin;
mod parse;
mod produce;
mod question;
mod recursion;
mod tail;
mod valid;

use expand::ScopeKind;
use parse::{BlockKind, ScopeInput, ScopedFn};
use valid::AttrName;

/// Kotlin's `coroutineScope { }`: runs the statements as a scope body and
/// evaluates to its `scopes::Result<T>`, already awaited.
///
/// In the body, `launch { }` / `launch(opts) { }` / `launch! { }` start
/// `launch` children (a `Job`), and `async { }` / `async(opts) { }` start
/// `async` children (a `Deferred<T>`, `.await` gives `scopes::Result<T>`).
/// The first failure cancels the body and every child.
///
/// ```
/// use scopes::prelude::*;
///
/// async fn sum() -> scopes::Result<u32> {
///     coroutine_scope! {
///         let a = async { Ok(1) };
///         let b = async(name = "b") { Ok(2) };
///         launch { println!("running"); }
///         Ok(a.await? + b.await?)
///     }
/// }
/// ```
///
/// Options go first, ended by `;`: `limit = n` (at most `n` children run
/// at once, the others wait in start order) and `local` (children need not
/// be `Send`; the scope's future is not `Send` either).
///
/// ```
/// use std::rc::Rc;
/// use scopes::prelude::*;
///
/// async fn fetch(id: u32) -> scopes::Result<u32> { Ok(id * 10) }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> scopes::Result<()> {
/// let ids = [1, 2, 3, 4, 5];
/// let ids = &ids;
/// let pages = coroutine_scope!(limit = 2;
///     await_all(ids.iter().map(|&id| async { fetch(id).await })).await
/// )?;
/// assert_eq!(pages, [10, 20, 30, 40, 50]);
///
/// let shared = coroutine_scope!(local, limit = 4;
///     let d = async { yield_now().await?; Ok(Rc::new("not Send")) };
///     d.await
/// )?;
/// assert_eq!(*shared, "not Send");
/// # Ok(())
/// # }
/// ```
#[proc_macro]
pub fn coroutine_scope(input: TokenStream) -> TokenStream {
    scope_macro(ScopeKind::Coroutine, input.into()).into()
}

/// Kotlin's `supervisorScope { }`: like [`coroutine_scope!`], but a
/// child's failure cancels nobody; an `async` child's failure stays in its
/// `Deferred`, a `launch` child's goes to the exception handler.
///
/// ```
/// use scopes::prelude::*;
///
/// async fn best_effort() -> scopes::Result<u32> {
///     supervisor_scope! {
///         let bad = async { Err::<u32, _>(Error::msg("bad")) };
///         let good = async { Ok(2) };
///         Ok(bad.await.unwrap_or(0) + good.await?)
///     }
/// }
/// ```
#[proc_macro]
pub fn supervisor_scope(input: TokenStream) -> TokenStream {
    scope_macro(ScopeKind::Supervisor, input.into()).into()
}

/// Starts a `launch` child; only meaningful in a scope body, where the
/// enclosing macro or attribute rewrites it: `launch! { body }` or, with
/// options, `launch!(name = "x", start = lazy, parallel; body)`.
///
/// Reached on its own (outside any scope), it is an error.
///
/// ```
/// use scopes::prelude::*;
///
/// #[supervised]
/// async fn refresh_all(ids: &[u32]) -> scopes::Result<()> {
///     for &id in ids {
///         launch!(name = format!("refresh {id}"); refresh(id).await?);
///     }
///     Ok(())
/// }
/// # async fn refresh(_: u32) -> scopes::Result<()> { Ok(()) }
/// ```
#[proc_macro]
pub fn launch(_input: TokenStream) -> TokenStream {
    outside_scope("launch!")
}

/// Starts an `async` child with options where the Kotlin look cannot be
/// written (an annotated fn's body): `r#async!(start = lazy; body)`.
/// Without options, a non-`move` `async { body }` block is the same.
///
/// Reached on its own (outside any scope), it is an error.
///
/// ```
/// use scopes::prelude::*;
///
/// #[scoped]
/// async fn lazily() -> scopes::Result<u32> {
///     let d = r#async!(name = "answer", start = lazy; Ok(42));
///     d.await
/// }
/// ```
#[proc_macro]
pub fn r#async(_input: TokenStream) -> TokenStream {
    outside_scope("r#async!")
}

/// Starts a producer child and evaluates to the receiving side of its
/// channel: Kotlin's `produce { }`. Only meaningful in a scope body, where
/// the enclosing macro or attribute rewrites it:
///
/// - `produce!(|tx| body)`: a rendezvous channel (capacity 0, Kotlin's
///   default for `produce`);
/// - `produce!(capacity = 16, name = "numbers"; |tx| body)`: options, `;`,
///   then the producer as a closure taking the `scopes::Sender`
///   (`move |tx: Sender<u64>| ..` is fine too).
///
/// The body is a `launch` body (it means `Ok(())` when it ends without a
/// value). When it ends, the channel closes with its outcome; when the
/// receiver is cancelled or dropped, the producer is cancelled at once.
/// It lowers to `Scope::produce` (`s.produce(capacity, move |tx| async move { .. })`).
///
/// ```
/// use scopes::prelude::*;
///
/// #[scoped]
/// async fn first_squares() -> scopes::Result<Vec<u64>> {
///     let squares = produce!(|tx| for i in 1u64.. { tx.send(i * i).await?; });
///     let mut firsts = Vec::new();
///     while firsts.len() < 3 {
///         firsts.extend(squares.recv().await?);
///     }
///     Ok(firsts) // the receiver is dropped: the producer is cancelled
/// }
/// ```
#[proc_macro]
pub fn produce(_input: TokenStream) -> TokenStream {
    outside_scope("produce!")
}

/// Kotlin's `withTimeout(d) { }` as a block: `with_timeout!(d; body)` runs
/// the body for at most `d` and evaluates to its `scopes::Result<T>`,
/// already awaited (`Err(e)` with `e.is_timeout()` when the deadline passed,
/// the work cancelled). Inside the scope macros the Kotlin look
/// `with_timeout(d) { body }` is the same.
///
/// The body is a block: it borrows what it uses, `?` converts into
/// `scopes::Error`, and with no tail expression it means `Ok(())`. Children
/// started in it belong to it (it is a scope of its own, as in Kotlin).
/// Usable in any async context.
///
/// ```
/// use std::time::Duration;
/// use scopes::prelude::*;
///
/// #[scoped]
/// async fn fetch_both() -> scopes::Result<u32> {
///     let a = with_timeout!(Duration::from_millis(100);
///         delay(Duration::from_millis(10)).await?;
///         Ok(1)
///     )?;
///     let b = with_timeout!(Duration::from_millis(100); slow().await);
///     assert!(b.unwrap_err().is_timeout());
///     Ok(a)
/// }
/// # async fn slow() -> scopes::Result<u32> { delay(Duration::from_secs(5)).await?; Ok(2) }
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() { assert_eq!(fetch_both().await.unwrap(), 1); }
/// ```
#[proc_macro]
pub fn with_timeout(input: TokenStream) -> TokenStream {
    body::block_form(BlockKind::Timeout, Span::call_site(), input.into(), false).into()
}

/// Kotlin's `withTimeoutOrNull(d) { }` as a block:
/// `with_timeout_or_none!(d; body)` is `Ok(None)` when the deadline passed,
/// else `Ok(Some(value))` (or the body's `Err`). Inside the scope macros,
/// `with_timeout_or_none(d) { body }`. The body is as in [`with_timeout!`].
///
/// ```
/// use std::time::Duration;
/// use scopes::prelude::*;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> scopes::Result<()> {
/// let ads = with_timeout_or_none!(Duration::from_millis(100);
///     delay(Duration::from_secs(1)).await?;
///     Ok("ads")
/// )?;
/// assert_eq!(ads, None);
/// # Ok(())
/// # }
/// ```
#[proc_macro]
pub fn with_timeout_or_none(input: TokenStream) -> TokenStream {
    body::block_form(
        BlockKind::TimeoutOrNone,
        Span::call_site(),
        input.into(),
        false,
    )
    .into()
}

/// Kotlin's `withContext(NonCancellable) { }` as a block:
/// `non_cancellable! { body }` runs the body to its end even in a cancelled
/// job (cleanup that suspends), and evaluates to its `scopes::Result<T>`.
/// Inside the scope macros, `non_cancellable { body }`. The body is as in
/// [`with_timeout!`].
///
/// ```
/// use std::time::Duration;
/// use scopes::prelude::*;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let flushed = std::sync::atomic::AtomicBool::new(false);
/// let flushed = &flushed;
/// let result: scopes::Result<()> = coroutine_scope! {
///     launch {
///         if let Err(cancelled) = delay(Duration::from_secs(60)).await {
///             non_cancellable {
///                 delay(Duration::from_secs(1)).await?; // not cut short
///                 flushed.store(true, std::sync::atomic::Ordering::SeqCst);
///             }?;
///             return Err(cancelled);
///         }
///     }
///     launch { Err(Error::msg("fail")) }
///     Ok(())
/// };
/// assert_eq!(result.unwrap_err().to_string(), "fail");
/// assert!(flushed.load(std::sync::atomic::Ordering::SeqCst));
/// # }
/// ```
#[proc_macro]
pub fn non_cancellable(input: TokenStream) -> TokenStream {
    body::block_form(
        BlockKind::NonCancellable,
        Span::call_site(),
        input.into(),
        false,
    )
    .into()
}

/// Makes the body of an `async fn` returning `Result<T, E>` a
/// `supervisor_scope`. Its arguments are the scope's options:
/// `#[supervised(limit = 8)]`, `#[supervised(local)]`, both.
///
/// The body is a scope body: `launch! { }`, `launch!(opts; ..)`,
/// `r#async!(opts; ..)` and non-`move` `async { }` start children. It
/// evaluates to `scopes::Result<T>`, converted to `E` with `Into`.
///
/// With `#[tokio::main]` or `#[tokio::test]`, put this attribute above
/// tokio's: attributes run from the top, and tokio's turns the `async fn`
/// into a plain fn (the error says so).
///
/// ```
/// use scopes::prelude::*;
///
/// #[supervised(limit = 8)] // at most 8 refreshes at once
/// async fn refresh_all(ids: &[u32]) -> scopes::Result<()> {
///     for &id in ids {
///         launch! { refresh(id).await }
///     }
///     Ok(())
/// }
/// # async fn refresh(_: u32) -> scopes::Result<()> { Ok(()) }
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() { refresh_all(&[1, 2, 3]).await.unwrap(); }
/// ```
#[proc_macro_attribute]
pub fn supervised(args: TokenStream, item: TokenStream) -> TokenStream {
    scoped_fn(
        ScopeKind::Supervisor,
        AttrName("supervised"),
        args.into(),
        item.into(),
    )
    .into()
}

/// Makes the body of an `async fn` returning `Result<T, E>` a
/// `coroutine_scope`; re-exported as `scopes::attr::coroutine_scope` (the
/// name `coroutine_scope` is taken by the function-like macro in the
/// prelude, see the crate docs). Its arguments are the scope's options
/// (`limit = n`, `local`), as for [`#[scoped]`](macro@scoped).
///
/// ```
/// use scopes::attr;
/// use scopes::prelude::*;
///
/// #[attr::coroutine_scope]
/// async fn both() -> scopes::Result<(u32, u32)> {
///     let a = async { Ok(1) };
///     let b = async { Ok(2) };
///     Ok((a.await?, b.await?))
/// }
/// ```
#[proc_macro_attribute]
pub fn coroutine_scope_attr(args: TokenStream, item: TokenStream) -> TokenStream {
    let attr = AttrName("coroutine_scope");
    scoped_fn(ScopeKind::Coroutine, attr, args.into(), item.into()).into()
}

/// The same as `#[coroutine_scope]` (`scopes::attr::coroutine_scope`),
/// under a name the prelude can export next to `coroutine_scope!`. Its
/// arguments are the scope's options: `#[scoped(limit = 4)]`,
/// `#[scoped(local)]`, `#[scoped(local, limit = n)]` (`n` may name a
/// parameter).
///
/// ```
/// use scopes::prelude::*;
///
/// #[scoped]
/// async fn both() -> scopes::Result<(u32, u32)> {
///     let a = async { Ok(1) };
///     let b = async { Ok(2) };
///     Ok((a.await?, b.await?))
/// }
///
/// #[scoped(limit = max)]
/// async fn squares(n: u32, max: usize) -> scopes::Result<Vec<u32>> {
///     await_all((1..=n).map(|i| async { Ok(i * i) })).await
/// }
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// # assert_eq!(both().await.unwrap(), (1, 2));
/// # assert_eq!(squares(3, 2).await.unwrap(), [1, 4, 9]);
/// # }
/// ```
#[proc_macro_attribute]
pub fn scoped(args: TokenStream, item: TokenStream) -> TokenStream {
    scoped_fn(
        ScopeKind::Coroutine,
        AttrName("scoped"),
        args.into(),
        item.into(),
    )
    .into()
}

/// `coroutine_scope! { .. }` / `supervisor_scope!(limit = 4; ..)`: the
/// options split off and checked, the Kotlin look rewritten, the statements
/// parsed, the children rewritten, the scope generated. Every error is
/// reported next to what still expands: a bad option next to the scope
/// with the valid ones, a malformed child next to the body with it
/// stubbed; only input that is not Rust leaves no scope to expand.
fn scope_macro(kind: ScopeKind, input: TokenStream2) -> TokenStream2 {
    let input = match ScopeInput::split(input) {
        Ok(input) => input,
        Err(error) => return expand::with_errors(Err(error), None),
    };
    let (options, mut errors) = valid::scope_options(&input.options);
    let (tokens, rewrite_error) = kotlin::rewrite(input.body);
    errors = diag::combine(errors, rewrite_error);
    let scope = syn::Block::parse_within.parse2(tokens).map(|mut stmts| {
        // A block that ends without a value means `Ok(())`, as a `launch`
        // body and the block forms do (`tail.rs`).
        let implicit_ok = expand::implicit_ok(&mut stmts);
        body::rewrite(&mut stmts, options.local);
        if implicit_ok {
            let ok: syn::Expr = syn::parse_quote!(::scopes::__private::Ok(()));
            stmts.push(syn::Stmt::Expr(ok, None));
        }
        expand::scope(kind, &options, &stmts, Span::call_site())
    });
    expand::with_errors(scope, errors)
}

/// `#[supervised]` / `#[coroutine_scope]` / `#[scoped]`: the arguments and
/// the fn checked, the body rewritten, the scope generated. A bad argument
/// is reported next to the fn expanded with the valid options (so a
/// `launch!` in it raises no second error); a fn of the wrong shape (not
/// `async`, not returning `Result`) next to a stand-in with its signature;
/// anything but a fn next to the item as written.
fn scoped_fn(
    kind: ScopeKind,
    attr: AttrName,
    args: TokenStream2,
    item: TokenStream2,
) -> TokenStream2 {
    let Some((scoped, args_error)) = ScopedFn::parse(args, item.clone()) else {
        // A slip in the body (a missing `;`, the Kotlin look, which is not
        // Rust there): rustc reports it, and a stand-in with the fn's
        // signature keeps this macro and the `launch!`s in the body from
        // adding errors that are not the user's mistake.
        if let Some((broken, body)) = parse::fn_with_broken_body(item.clone()) {
            let hint = kotlin::kotlin_look_in_fn(body);
            return expand::item_with_errors(expand::stand_in(broken), hint);
        }
        let message = format!("`#[{}]` can only be applied to an `async fn`", attr.0);
        let error = diag::error(Span::call_site(), message);
        return expand::item_with_errors(item, Some(error));
    };
    let (options, option_error) = valid::scope_options(&scoped.options);
    let errors = diag::combine(args_error, option_error);
    if let Err(error) = valid::scoped_fn(attr, &scoped) {
        let stand_in = expand::stand_in(scoped.item);
        return expand::item_with_errors(stand_in, diag::combine(errors, Some(error)));
    }
    let mut item = scoped.item;
    let mut stmts = std::mem::take(&mut item.block.stmts);
    let recursive = recursion::calls_itself(&item.sig, &stmts);
    body::rewrite(&mut stmts, options.local);
    let expanded = expand::scoped_fn(kind, &options, item, &stmts, recursive);
    expand::item_with_errors(expanded, errors)
}

fn outside_scope(form: &str) -> TokenStream {
    let error = diag::error(
        Span::call_site(),
        format!(
            "`{form}` is only allowed in a scope body: use it inside `coroutine_scope! {{ .. }}`, \
             `supervisor_scope! {{ .. }}`, or an `async fn` with `#[scoped]` or `#[supervised]`"
        ),
    );
    diag::to_tokens(error).into()
}
