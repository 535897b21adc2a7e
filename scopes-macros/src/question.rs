//! `?` in a scope or child body: `e?` becomes `::scopes::__private::q(e)?`,
//! so that an `anyhow::Error` converts into `scopes::Error` as a
//! `std::error::Error` does (SPEC §2e); a `From` impl cannot do that (see
//! `q` in `scopes/src/__private.rs`).
//!
//! Only the `?`s that return from the body itself: not those in a closure,
//! an async block or a nested item (they return from that, typed by the
//! user). In the input of std's macros that take a list of expressions and
//! evaluate it in place (`format!("{}", load()?)`, `vec![a()?]`,
//! `assert!`, `println!`, `write!`, ...) too; another macro may move the
//! expression elsewhere (into a closure of its own, another `Result`), so
//! its input is left as written. A child form's body is a body of its own,
//! rewritten when that child is.

use proc_macro2::{TokenStream, TokenTree};
use quote::{ToTokens as _, quote_spanned};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned as _;
use syn::visit_mut::{self, VisitMut};
use syn::{Expr, Item, Macro, Stmt, Token};

use crate::parse::MacroRole;

/// Rewrites the `?`s of one body (its statements).
pub(crate) fn convert(stmts: &mut [Stmt]) {
    let mut body = Body;
    for stmt in stmts {
        body.visit_stmt_mut(stmt);
    }
}

struct Body;

impl VisitMut for Body {
    fn visit_stmt_mut(&mut self, stmt: &mut Stmt) {
        if let Stmt::Macro(stmt_mac) = stmt
            && let Some(early) = early_return(&stmt_mac.mac)
        {
            let semi = stmt_mac.semi_token;
            *stmt = Stmt::Expr(Expr::Verbatim(early), semi);
            return;
        }
        visit_mut::visit_stmt_mut(self, stmt);
    }

    fn visit_expr_mut(&mut self, expr: &mut Expr) {
        match expr {
            Expr::Macro(expr_mac) if early_return(&expr_mac.mac).is_some() => {
                let early = early_return(&expr_mac.mac).expect("checked");
                *expr = Expr::Verbatim(early);
            }
            // Their `?` returns from them.
            Expr::Closure(_) | Expr::Async(_) | Expr::TryBlock(_) | Expr::Const(_) => {}
            Expr::Try(question) => {
                visit_mut::visit_expr_mut(self, &mut question.expr);
                let operand = &question.expr;
                // Spanned at the operand: a type error points at the
                // user's expression.
                let call = quote_spanned! {operand.span()=> ::scopes::__private::q(#operand)};
                *question.expr = Expr::Verbatim(call);
            }
            _ => visit_mut::visit_expr_mut(self, expr),
        }
    }

    // A nested fn, impl, ...: its `?` is its own.
    fn visit_item_mut(&mut self, _item: &mut Item) {}

    fn visit_macro_mut(&mut self, mac: &mut Macro) {
        if !matches!(MacroRole::of(mac), MacroRole::Other)
            || !evaluates_in_place(mac)
            || !has_question(mac.tokens.clone())
        {
            return;
        }
        let Ok(mut exprs) = mac.parse_body_with(Punctuated::<Expr, Token![,]>::parse_terminated)
        else {
            return;
        };
        exprs.iter_mut().for_each(|expr| self.visit_expr_mut(expr));
        mac.tokens = exprs.into_token_stream();
    }
}

// Input:  anyhow::bail!("too big: {n}")
// Output: match ::scopes::__private::q(
//             ::scopes::__private::early_now::<Infallible, _>(|| anyhow::bail!("too big: {n}")),
//         )? {}
// Input:  ensure!(five.await? < 3, "too big")
// Output: ::scopes::__private::q(
//             ::scopes::__private::early::<(), _>(async { ensure!(five.await? < 3, "too big"); Ok(()) })
//                 .await,
//         )?
/// anyhow's `bail!` and `ensure!` return an `anyhow::Error` from where they
/// stand, where a body returns `scopes::Error` (a type error about two
/// `Error`s): they run as written in a closure called where they stand,
/// whose `Result` the body's `?` converts, as it does `Err(anyhow!(..))?`;
/// in an async block awaited there when their arguments `.await` (a
/// closure cannot), and only then, so that a body that holds a
/// `MutexGuard` or an `Rc` across the macro stays `Send` (R13). The error
/// type is `scopes::__private::EarlyError`: `anyhow::Error` with the
/// `anyhow` feature, which anyhow's macros return and into which an
/// `ensure!` of another crate's shape (snafu's: `Err(e.into())`) converts;
/// `scopes::Error` without it, as if the macro stood in the body itself.
/// Only anyhow's paths and the bare names (`use anyhow::bail;`). Nothing
/// the closure or block borrows outlives it, and the block is written after
/// the body's children are (a non-`move` `async` block here is not a
/// child).
fn early_return(mac: &Macro) -> Option<TokenStream> {
    let segments: Vec<String> = mac
        .path
        .segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect();
    let (name, before) = segments.split_last()?;
    let anyhow_path = before.is_empty() && mac.path.leading_colon.is_none()
        || before.len() == 1 && before[0] == "anyhow";
    if !anyhow_path {
        return None;
    }
    let span = mac.path.span();
    let user = mac.to_token_stream();
    // What the closure or block runs: a `bail!` diverges; an `ensure!`
    // whose condition holds gives `Ok(())`.
    let (ok, run) = match name.as_str() {
        "bail" => (quote_spanned! {span=> ::core::convert::Infallible}, user),
        "ensure" => (
            quote_spanned! {span=> ()},
            quote_spanned! {span=> #user; ::core::result::Result::Ok(()) },
        ),
        _ => return None,
    };
    let ran = if has_await(mac.tokens.clone()) {
        quote_spanned! {span=> ::scopes::__private::early::<#ok, _>(async { #run }).await }
    } else {
        quote_spanned! {span=> ::scopes::__private::early_now::<#ok, _>(|| { #run }) }
    };
    Some(match name.as_str() {
        "bail" => quote_spanned! {span=> match ::scopes::__private::q(#ran)? {} },
        _ => quote_spanned! {span=> ::scopes::__private::q(#ran)? },
    })
}

/// Whether `tokens` hold a `.await` at any depth.
fn has_await(tokens: TokenStream) -> bool {
    let mut after_dot = false;
    tokens.into_iter().any(|token| {
        let found = match &token {
            TokenTree::Ident(ident) => after_dot && ident == "await",
            TokenTree::Group(group) => has_await(group.stream()),
            _ => false,
        };
        after_dot = matches!(&token, TokenTree::Punct(punct) if punct.as_char() == '.');
        found
    })
}

/// std's macros whose arguments are evaluated where the macro stands, so
/// that a `?` in them returns from the body.
fn evaluates_in_place(mac: &Macro) -> bool {
    const IN_PLACE: [&str; 17] = [
        "format",
        "format_args",
        "print",
        "println",
        "eprint",
        "eprintln",
        "write",
        "writeln",
        "vec",
        "assert",
        "assert_eq",
        "assert_ne",
        "debug_assert",
        "debug_assert_eq",
        "debug_assert_ne",
        "panic",
        "dbg",
    ];
    mac.path
        .segments
        .last()
        .is_some_and(|segment| IN_PLACE.iter().any(|name| segment.ident == name))
}

/// Whether `tokens` hold a `?` at any depth (only then is a macro's input
/// parsed and written again).
fn has_question(tokens: TokenStream) -> bool {
    tokens.into_iter().any(|token| match token {
        TokenTree::Punct(punct) => punct.as_char() == '?',
        TokenTree::Group(group) => has_question(group.stream()),
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::has_await;

    #[test]
    fn an_await_is_found_at_any_depth_and_only_after_a_dot() {
        assert!(has_await(quote::quote!(five.await? < 3, "too big")));
        assert!(has_await(quote::quote!(f(x, (d.await)?), "m")));
        assert!(!has_await(quote::quote!(awaited < 3, "await")));
        assert!(!has_await(quote::quote!(n.awaits() < 3)));
    }
}
