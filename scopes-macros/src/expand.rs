//! Code generation: a scope, a child, an annotated fn. Everything here
//! succeeds; the errors were found by `parse.rs`, `body.rs` and `valid.rs`.
//!
//! Generated code names the runtime by absolute path (`::scopes::..`) and
//! carries the user's spans, so that `#[track_caller]` names a child after
//! its `launch`/`async` token and rustc's type errors land on the user's
//! code. The scope handle is a `mixed_site` ident: user code cannot see it,
//! and each scope (nested macro or child body) binds its own.

use proc_macro2::{Delimiter, Group, Ident, Span, TokenStream, TokenTree};
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned as _;
use syn::visit_mut::VisitMut;
use syn::{Block, Expr, ItemFn, Stmt, Token};

use crate::diag;
use crate::parse::{BlockForm, Child, ChildKind, is_child_macro};
use crate::recursion;
use crate::tail::{self, Tail};
use crate::valid::{ChildOptions, ScopeOptions};

/// Which scope a macro or attribute opens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ScopeKind {
    /// `coroutine_scope`: the first failure cancels everything.
    Coroutine,
    /// `supervisor_scope`: a child's failure cancels nobody.
    Supervisor,
}

// Input:  Coroutine, `limit = n`, `local`, |scope| ..
// Output: ::scopes::coroutine_scope_local_with(::scopes::ScopeOptions::new().limit(n), |scope| ..)
/// Opens a scope by the runtime fn its options ask for:
/// `coroutine_scope` / `supervisor_scope`, `_local` for a local scope,
/// `_with` and a `ScopeOptions` when there is a limit.
fn open(kind: ScopeKind, options: &ScopeOptions, span: Span, closure: TokenStream) -> TokenStream {
    let kind = match kind {
        ScopeKind::Coroutine => "coroutine_scope",
        ScopeKind::Supervisor => "supervisor_scope",
    };
    let local = if options.local { "_local" } else { "" };
    match &options.limit {
        None => {
            let function = Ident::new(&format!("{kind}{local}"), span);
            quote_spanned!(span=> ::scopes::#function(#closure))
        }
        Some(limit) => {
            let function = Ident::new(&format!("{kind}{local}_with"), span);
            // On the user's expression: a value of the wrong type is an
            // error there.
            let options = quote_spanned! {limit.span()=>
                ::scopes::ScopeOptions::new().limit(#limit)
            };
            quote_spanned!(span=> ::scopes::#function(#options, #closure))
        }
    }
}

/// A block's own scope: a `coroutine_scope`, local in a local scope, with
/// no limit.
fn nested_options(local: bool) -> ScopeOptions {
    ScopeOptions { limit: None, local }
}

// Input:  launch { launch { f().await? }; g().await? }   (a child with children)
// Output: ::scopes::coroutine_scope_with(::scopes::ScopeOptions::new().body_of_child(),
//             move |scope| ::scopes::__private::Box::pin(async move { .. }))
/// A child's own scope: a `coroutine_scope` (local in a local scope) that
/// is the child's whole body, so its children are the child's own, as in
/// Kotlin: their failure fails the child at once (`body_of_child`).
fn open_child_scope(local: bool, span: Span, closure: TokenStream) -> TokenStream {
    let local = if local { "_local" } else { "" };
    let function = Ident::new(&format!("coroutine_scope{local}_with"), span);
    quote_spanned!(span=> ::scopes::#function(::scopes::ScopeOptions::new().body_of_child(), #closure))
}

/// The scope handle in generated code: `mixed_site`, so it neither sees nor
/// shadows a user's `scope`, while rustc's messages still say `scope`.
pub(crate) fn handle() -> Ident {
    Ident::new("scope", Span::mixed_site())
}

// Input:  coroutine_scope! { let a = async { f().await }; Ok(a.await? + 1) }
// Output: ::scopes::coroutine_scope(|scope| ::scopes::__private::Box::pin(async {
//             let scope = scope;
//             let a = scope.r#async(async move { f().await });
//             Ok(a.await? + 1)
//         })).await
// Input:  coroutine_scope!(limit = 4; body)
// Output: ::scopes::coroutine_scope_with(::scopes::ScopeOptions::new().limit(4),
//             |scope| ::scopes::__private::Box::pin(async { let scope = scope; body })).await
/// The body is a non-`move` async block that takes only the handle by
/// value, so it borrows the surrounding locals like a plain block would.
///
/// `at`: where rustc's errors about the scope itself point (a `Deferred`
/// returned out of it, a local borrowed by a child): the macro call, or an
/// annotated fn's body rather than its attribute. Only the location moves:
/// the code stays the macro's, so lints still treat it as generated.
pub(crate) fn scope(
    kind: ScopeKind,
    options: &ScopeOptions,
    stmts: &[Stmt],
    at: Span,
) -> TokenStream {
    let span = Span::call_site().located_at(at);
    let s = Ident::new("scope", Span::mixed_site().located_at(at));
    let body = scope_value(stmts);
    let closure = quote_spanned! {span=>
        |#s| ::scopes::__private::Box::pin(async {
            let #s = #s;
            #body
        })
    };
    let call = open(kind, options, span, closure);
    quote_spanned!(span=> #call.await)
}

// Input:  let a = async { Ok(1) }; a.await? + 1          (a scope's body)
// Output: let value: ::scopes::Result<_> = { let a = ..; a.await? + 1 }; value
/// A scope body's value typed where it ends, as a child's is (`typed`): a
/// tail that is not a `Result` (a forgotten `Ok(..)`) is one error on that
/// tail, with rustc's "try wrapping the expression in `Ok`", instead of
/// one per `?` ("`?` in an async block that returns `u64`") and one on the
/// whole body. Not for a body that never ends (`return Ok(v);` last): the
/// `value` after it would be unreachable code.
fn scope_value(stmts: &[Stmt]) -> TokenStream {
    if tail::of_stmts(stmts) == Tail::Diverges {
        return quote!(#(#stmts)*);
    }
    let value = Ident::new("value", Span::mixed_site());
    // A tail that diverges where `tail.rs` cannot see it (a call of a fn
    // returning `!`) makes the generated `value` unreachable, and clippy
    // sees a diverging initializer: both lints are about generated code,
    // not the user's.
    quote! {
        #[allow(clippy::diverging_sub_expression)]
        let #value: ::scopes::Result<_> = { #(#stmts)* };
        #[allow(unreachable_code)]
        let #value = #value;
        #value
    }
}

// Input:  #[supervised] async fn f(&self, id: u32) -> Result<u32, MyError> { body }
// Output: async fn f(&self, id: u32) -> Result<u32, MyError> {
//             ::scopes::supervisor_scope(|scope| ..{ body }..)
//                 .await
//                 .map_err(::core::convert::Into::into)
//         }
/// `map_err(Into::into)` turns the scope's `scopes::Error` into the fn's
/// error type (the identity when it is `scopes::Error`). A fn that calls
/// itself becomes a fn returning `scopes::BoxFuture` (`recursion.rs`).
pub(crate) fn scoped_fn(
    kind: ScopeKind,
    options: &ScopeOptions,
    mut item: ItemFn,
    stmts: &[Stmt],
    recursive: bool,
) -> TokenStream {
    let scope = scope(kind, options, stmts, item.block.brace_token.span.join());
    let body = quote! {
        #scope.map_err(::core::convert::Into::into)
    };
    if recursive {
        return recursion::boxed(item, body, options.local);
    }
    item.block = Box::new(Block {
        brace_token: item.block.brace_token,
        stmts: vec![Stmt::Expr(Expr::Verbatim(body), None)],
    });
    item.into_token_stream()
}

// Input:  launch(name = "fetch", start = lazy) { fetch(id).await?; }
// Output: scope.child().name("fetch").start(::scopes::Start::Lazy).launch(async move {
//             let value: ::scopes::Result<()> = { fetch(id).await?; ::scopes::__private::Ok(()) };
//             value
//         })
// Input:  async { let a = async { Ok(1) }; a.await }   (a child with children)
// Output: scope.r#async(async move {
//             let value: ::scopes::Result<_> = {
//                 ::scopes::coroutine_scope(move |scope| ::scopes::__private::Box::pin(
//                     async move { let a = scope.r#async(..); a.await })).await
//             };
//             value
//         })
/// A child body captures by value (`async move`); its value is typed where
/// it ends (`typed`). One with children of its own runs them in a nested
/// `coroutine_scope`, as in Kotlin (a local one in a local scope, but for a
/// `parallel` child); one without pays for no scope.
pub(crate) fn child(
    child: &Child,
    options: &ChildOptions,
    implicit_ok: bool,
    nested: bool,
    local: bool,
) -> Expr {
    let keyword = child.keyword;
    // Hygienic, but located at the user's keyword: rustc's errors about the
    // call (a `Deferred` used as a future, a `parallel` capture) land there.
    let s = Ident::new("scope", Span::mixed_site().located_at(keyword));
    let stmts = &child.body;
    // Not on a user span: after a diverging tail, rustc must not call it
    // unreachable code of the user's.
    let ok = implicit_ok.then(|| quote!(::scopes::__private::Ok(())));
    let body = quote_spanned!(child.brace=> { #(#stmts)* #ok });
    let body = if nested {
        let closure = quote_spanned! {child.brace=>
            move |#s| ::scopes::__private::Box::pin(async move #body)
        };
        let local = local && !options.parallel;
        let call = open_child_scope(local, keyword, closure);
        quote_spanned!(child.brace=> { #call.await })
    } else {
        body
    };
    let attrs = &child.attrs;
    let body = typed(child.kind, implicit_ok, stmts, body, child.brace);
    let future = quote_spanned!(child.brace=> #(#attrs)* async move #body);
    let method = match (child.kind, options.parallel) {
        (ChildKind::Launch, false) => Ident::new("launch", keyword),
        (ChildKind::Async, false) => Ident::new_raw("async", keyword),
        (ChildKind::Launch, true) => Ident::new("launch_parallel", keyword),
        (ChildKind::Async, true) => Ident::new("async_parallel", keyword),
    };
    let plain = options.name.is_none() && !options.lazy && !options.parallel;
    let call = if plain {
        quote_spanned!(keyword=> #s.#method(#future))
    } else {
        // `child()` is `#[track_caller]`: the child's location is taken there.
        let builder = Ident::new("child", keyword);
        let name = options
            .name
            .as_ref()
            .map(|name| quote_spanned!(keyword=> .name(#name)));
        let lazy = options
            .lazy
            .then(|| quote_spanned!(keyword=> .start(::scopes::Start::Lazy)));
        quote_spanned!(keyword=> #s.#builder() #name #lazy .#method(#future))
    };
    Expr::Verbatim(call)
}

// Input:  { yield_now().await?; log.push(x) }       (a `launch` body)
// Output: { let value: ::scopes::Result<()> = { yield_now().await?; log.push(x) }; value }
/// A body's value typed where it ends: a tail of the wrong type
/// (`log.push(x)` last in a `launch`) is then one error on that tail, with
/// rustc's "try adding `Ok(())`", instead of one on every `?` ("`?` in an
/// async block that returns `()`") and one on the call. Not for a body that
/// never ends: the `value` after it would be unreachable code.
///
/// The block's braces take the body's (`brace`): an `async move` block
/// made of it then spans the user's child form, which is where rustc
/// points a capture error (two children moving one `&mut`), rather than
/// the whole scope macro.
fn typed(
    kind: ChildKind,
    implicit_ok: bool,
    stmts: &[Stmt],
    body: TokenStream,
    brace: Span,
) -> TokenStream {
    if !implicit_ok && tail::of_stmts(stmts) == Tail::Diverges {
        return body;
    }
    let value = Ident::new("value", Span::mixed_site());
    let ty = match kind {
        ChildKind::Launch => quote!(::scopes::Result<()>),
        ChildKind::Async => quote!(::scopes::Result<_>),
    };
    let inner = quote! {
        #[allow(clippy::diverging_sub_expression)]
        let #value: #ty = #body;
        #[allow(unreachable_code)]
        let #value = #value;
        #value
    };
    let mut block = Group::new(Delimiter::Brace, inner);
    block.set_span(brace);
    TokenTree::Group(block).into()
}

/// Decides whether a `launch` body means `Ok(())` at its end, and makes a
/// child form in tail position a statement.
pub(crate) fn needs_implicit_ok(child: &mut Child) -> bool {
    if child.kind != ChildKind::Launch {
        return false;
    }
    ReturnOk.visit_stmts(&mut child.body);
    implicit_ok(&mut child.body)
}

// Input:  launch { if done { return; } work().await?; }
// Output: launch { if done { return ::scopes::__private::Ok(()); } work().await?; }
/// `return;` in a `launch` body returns `Ok(())`, as the body's end does
/// (its value is `scopes::Result<()>`, so `return;` can mean nothing else).
/// Not in a closure, an async block or a nested item, whose `return` is
/// their own.
struct ReturnOk;

impl ReturnOk {
    fn visit_stmts(&mut self, stmts: &mut [Stmt]) {
        stmts.iter_mut().for_each(|stmt| self.visit_stmt_mut(stmt));
    }
}

impl VisitMut for ReturnOk {
    fn visit_expr_mut(&mut self, expr: &mut Expr) {
        match expr {
            Expr::Closure(_) | Expr::Async(_) | Expr::Const(_) => {}
            Expr::Return(ret) if ret.expr.is_none() => {
                let ok = quote_spanned!(ret.return_token.span=> ::scopes::__private::Ok(()));
                ret.expr = Some(Box::new(Expr::Verbatim(ok)));
            }
            _ => syn::visit_mut::visit_expr_mut(self, expr),
        }
    }

    fn visit_item_mut(&mut self, _item: &mut syn::Item) {}
}

/// Whether a body that evaluates to `scopes::Result<()>` means `Ok(())` at
/// its end (see `tail.rs`; also when a child form is last); if so its tail
/// becomes a statement, for `Ok(())` to follow.
pub(crate) fn implicit_ok(body: &mut [Stmt]) -> bool {
    let semi = Some(<Token![;]>::default());
    let implicit = match body.last_mut() {
        Some(Stmt::Macro(mac)) if is_child_macro(&mac.mac) => true,
        Some(Stmt::Expr(Expr::Macro(mac), None)) if is_child_macro(&mac.mac) => true,
        Some(Stmt::Expr(Expr::Async(block), None)) if block.capture.is_none() => true,
        _ => tail::of_stmts(body) == Tail::Unit,
    };
    match body.last_mut() {
        Some(Stmt::Macro(mac)) if implicit => mac.semi_token = mac.semi_token.or(semi),
        Some(Stmt::Expr(_, tail @ None)) if implicit => *tail = semi,
        _ => {}
    }
    implicit
}

// Input:  with_timeout!(d; let x = f().await?; Ok(x + 1))
// Output: ::scopes::with_timeout(d, async {
//             let value: ::scopes::Result<_> = { let x = f().await?; Ok(x + 1) };
//             value
//         }).await
// Input:  non_cancellable! { flush().await?; }
// Output: ::scopes::non_cancellable(::scopes::__private::result_block(async {
//             let value: ::scopes::Result<_> = { flush().await?; ::scopes::__private::Ok(()) };
//             value
//         })).await
/// The block is a non-`move` async block: it borrows like a plain block and
/// is awaited in place. Its value is typed `scopes::Result<T>` where it
/// ends (`non_cancellable` takes any future, so it needs that; for all, a
/// wrong tail is then one error). A body with children runs them in a
/// nested `coroutine_scope`, as a child body does (Kotlin's `withTimeout`
/// is a scope).
pub(crate) fn block(form: &BlockForm, implicit_ok: bool, nested: bool, local: bool) -> TokenStream {
    let keyword = form.keyword;
    let mut stmts = form.body.clone();
    if implicit_ok {
        let ok = quote!(::scopes::__private::Ok(()));
        stmts.push(Stmt::Expr(Expr::Verbatim(ok), None));
    }
    let body = if nested {
        scope(
            ScopeKind::Coroutine,
            &nested_options(local),
            &stmts,
            Span::call_site(),
        )
    } else {
        quote!(#(#stmts)*)
    };
    let function = Ident::new(form.kind.name(), keyword);
    let body = typed(
        ChildKind::Async,
        implicit_ok,
        &form.body,
        quote!({ #body }),
        Span::call_site(),
    );
    match &form.duration {
        Some(duration) => quote_spanned! {keyword=>
            ::scopes::#function(#duration, async { #body }).await
        },
        // `non_cancellable` takes any future: its block's output is typed
        // here too, for a body that ends in `return` (see `typed`).
        None => quote_spanned! {keyword=>
            ::scopes::#function(::scopes::__private::result_block(async { #body })).await
        },
    }
}

/// An expansion in expression position with the errors found on the way:
/// `{ compile_error!(..); expansion }`, so that what is valid still expands
/// (an IDE keeps working, rustc reports the body's own errors and no
/// spurious ones); the errors alone, as a block, when nothing could be
/// expanded.
///
/// When the input did not parse after errors were found, only those are
/// reported: a malformed form's stand-in may not parse with what follows
/// it (`async(..) Ok(1)`), and its own error says what is wrong.
pub(crate) fn with_errors(
    expansion: syn::Result<TokenStream>,
    errors: Option<syn::Error>,
) -> TokenStream {
    match expansion {
        Err(_) if errors.is_some() => {
            let errors = errors.map(diag::to_tokens);
            quote!({ #errors })
        }
        Ok(expansion) => match errors {
            None => expansion,
            Some(errors) => {
                let errors = diag::to_tokens(errors);
                quote!({ #errors; #expansion })
            }
        },
        Err(error) => {
            let errors = diag::combine(errors, Some(error)).map(diag::to_tokens);
            quote!({ #errors })
        }
    }
}

/// An item with the errors found on the way, next to it.
pub(crate) fn item_with_errors(item: TokenStream, errors: Option<syn::Error>) -> TokenStream {
    let mut tokens = errors.map(diag::to_tokens).unwrap_or_default();
    tokens.extend(item);
    tokens
}

/// A stand-in for an annotated fn of the wrong shape (not `async`, not
/// returning `Result`): its signature with a body that only panics, so
/// that its callers still compile and its body (a scope body, whose
/// `launch!` would be an error anywhere else) raises no second error. It
/// never runs: the error reported beside it fails the build.
pub(crate) fn stand_in(mut item: ItemFn) -> TokenStream {
    item.block = Box::new(syn::parse_quote!({
        ::core::panic!("stand-in for a fn the scopes macros reported an error on")
    }));
    // The stand-in uses none of the parameters.
    item.attrs
        .push(syn::parse_quote!(#[allow(unused_variables)]));
    item.into_token_stream()
}

/// An error in place of an expression: `compile_error!` has any type, so
/// the code around it raises no second error.
pub(crate) fn error_expr(error: syn::Error) -> Expr {
    Expr::Verbatim(diag::to_tokens(error))
}

/// An error next to a child that still expands (a bad option is reported,
/// the valid ones are used), keeping the child's type.
pub(crate) fn with_error(error: syn::Error, expr: Expr) -> Expr {
    Expr::Verbatim(with_errors(Ok(expr.into_token_stream()), Some(error)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand(input: TokenStream) -> String {
        crate::scope_macro(ScopeKind::Coroutine, input).to_string()
    }

    #[test]
    fn launch_without_tail_means_ok() {
        let output = expand(quote!(launch { f().await?; } Ok(())));
        assert_eq!(
            output,
            ":: scopes :: coroutine_scope (| scope | :: scopes :: __private :: Box :: pin \
             (async { let scope = scope ; # [allow (clippy :: diverging_sub_expression)] let value : :: scopes :: Result < _ > = \
             { scope . launch (async move \
             { # [allow (clippy :: diverging_sub_expression)] let value : :: scopes :: Result < () > = \
             { :: scopes :: __private :: q (f () . await) ? ; :: scopes :: __private :: Ok (()) } ; # [allow (unreachable_code)] let value = value ; value }) ; Ok (()) } ; # [allow (unreachable_code)] let value = value ; value })) \
             . await"
        );
    }

    #[test]
    fn launch_with_tail_keeps_it() {
        let output = expand(quote!(launch { f().await } Ok(())));
        assert!(
            output.contains(
                "scope . launch (async move \
                 { # [allow (clippy :: diverging_sub_expression)] let value : :: scopes :: Result < () > = { f () . await } ; # [allow (unreachable_code)] let value = value ; value })"
            ),
            "{output}"
        );
    }

    #[test]
    fn async_block_is_a_child_and_async_move_is_not() {
        let output = expand(quote! {
            let a = async { Ok(1) };
            let b = async move { 2 };
            Ok(a.await? + b.await)
        });
        assert!(
            output.contains(
                "let a = scope . r#async (async move \
                 { # [allow (clippy :: diverging_sub_expression)] let value : :: scopes :: Result < _ > = { Ok (1) } ; # [allow (unreachable_code)] let value = value ; value })"
            ),
            "{output}"
        );
        assert!(output.contains("let b = async move { 2 }"), "{output}");
    }

    #[test]
    fn options_use_the_builder() {
        let output = expand(quote!(launch(name = "x", start = lazy, parallel) { f().await }));
        assert!(
            output.contains(
                "scope . child () . name (\"x\") . start (:: scopes :: Start :: Lazy) \
                 . launch_parallel (async move \
                 { # [allow (clippy :: diverging_sub_expression)] let value : :: scopes :: Result < () > = { f () . await } ; # [allow (unreachable_code)] let value = value ; value })"
            ),
            "{output}"
        );
    }

    #[test]
    fn a_child_with_children_is_a_scope() {
        let output = expand(quote!(launch { launch { g().await } } Ok(())));
        assert!(
            output.contains(
                "scope . launch (async move { # [allow (clippy :: diverging_sub_expression)] let value : :: scopes :: Result < () > = \
                 { :: scopes :: coroutine_scope_with (:: scopes :: ScopeOptions :: new () \
                 . body_of_child () , move | scope | \
                 :: scopes :: __private :: Box :: pin (async move { scope . launch \
                 (async move { # [allow (clippy :: diverging_sub_expression)] let value : :: scopes :: Result < () > = { g () . await } ; \
                 # [allow (unreachable_code)] let value = value ; value }) ; :: scopes :: __private :: Ok (()) })) . await } ; # [allow (unreachable_code)] let value = value ; value })"
            ),
            "{output}"
        );
    }

    #[test]
    fn scope_options_choose_the_runtime_fn() {
        let output = expand(quote!(limit = 4; Ok(())));
        assert!(
            output.starts_with(
                ":: scopes :: coroutine_scope_with (:: scopes :: ScopeOptions :: new () \
                 . limit (4) , | scope | :: scopes :: __private :: Box :: pin (async {"
            ),
            "{output}"
        );
        let output = expand(quote!(local; Ok(())));
        assert!(
            output.starts_with(":: scopes :: coroutine_scope_local (| scope |"),
            "{output}"
        );
        let output = crate::scope_macro(
            ScopeKind::Supervisor,
            quote!(local, limit = n; launch { launch { f().await } } Ok(())),
        )
        .to_string();
        assert!(
            output.starts_with(
                ":: scopes :: supervisor_scope_local_with (:: scopes :: ScopeOptions :: new () \
                 . limit (n) , | scope |"
            ),
            "{output}"
        );
        // A child's own scope in a local scope is local too.
        assert!(
            output.contains(
                "{ :: scopes :: coroutine_scope_local_with (:: scopes :: ScopeOptions :: new () \
                 . body_of_child () , move | scope |"
            ),
            "{output}"
        );
    }

    #[test]
    fn a_first_statement_is_an_option_only_when_it_cannot_be_a_statement() {
        let output = expand(quote!(x = 5; Ok(())));
        assert!(
            output.contains("let scope = scope ; # [allow (clippy :: diverging_sub_expression)] let value : :: scopes :: Result < _ > = { x = 5 ; Ok (()) } ; # [allow (unreachable_code)] let value = value ; value"),
            "{output}"
        );
        let output = expand(quote!(launch; Ok(())));
        assert!(
            output.contains("expected a block after `launch`"),
            "{output}"
        );
        let output = expand(quote!(limit = 4, color = red; Ok(())));
        assert!(output.contains("unknown scope option `color`"), "{output}");
        assert!(output.contains("coroutine_scope_with"), "{output}");
    }

    #[test]
    fn async_blocks_in_closures_are_children() {
        let output = expand(quote! {
            let ds = ids.iter().map(|id| async { f(id).await }).collect::<Vec<_>>();
            Ok(())
        });
        assert!(
            output.contains(
                "ids . iter () . map (| id | scope . r#async (async move \
                 { # [allow (clippy :: diverging_sub_expression)] let value : :: scopes :: Result < _ > = { f (id) . await } ; # [allow (unreachable_code)] let value = value ; value }))"
            ),
            "{output}"
        );
    }

    #[test]
    fn a_move_closure_with_children_borrows_the_handle() {
        let output = expand(quote!(let f = move |i| launch { g(i).await }; Ok(())));
        assert!(
            output.contains("let f = { let scope = & scope ; move | i | scope . launch"),
            "{output}"
        );
        let output = expand(quote!(let f = move |i| async move { g(i).await }; Ok(())));
        assert!(
            output.contains("let f = move | i | async move { g (i) . await } ;"),
            "{output}"
        );
    }

    #[test]
    fn other_macros_take_children_in_expression_lists_and_reject_them_elsewhere() {
        let output = expand(quote!(let v = vec![async { Ok(1) }, async move { 2 }]; Ok(())));
        assert!(
            output.contains("vec ! [scope . r#async (async move"),
            "{output}"
        );
        assert!(output.contains(", async move { 2 }]"), "{output}");
        let output = expand(quote!(tokio::select! { v = async { 1 } => v }));
        assert!(
            output.contains("cannot start a child inside `select!`"),
            "{output}"
        );
        let output = expand(quote!(println!("{}", x); Ok(())));
        assert!(output.contains("println ! (\"{}\" , x) ;"), "{output}");
    }

    #[test]
    fn nested_scope_macros_are_left_alone() {
        let output = expand(quote!(let x = coroutine_scope! { launch { f().await } Ok(1) }; x));
        assert!(
            output.contains("coroutine_scope ! { launch { f () . await } Ok (1) }"),
            "{output}"
        );
    }
}
