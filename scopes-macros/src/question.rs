//! `?` in a scope or child body: `e?` becomes `::scopes::__private::q(e)?`,
//! so that an `anyhow::Error` converts into `scopes::Error` as a
//! `std::error::Error` does (SPEC §2e); a `From` impl cannot do that (see
//! `q` in `scopes/src/__private.rs`).
//!
//! Only the `?`s that return from the body itself: not those in a closure,
//! an async block or a nested item (they return from that, typed by the
//! user), nor in another macro's input (tokens, not parsed here). A child
//! form's body is a body of its own, rewritten when that child is.

use quote::quote_spanned;
use syn::spanned::Spanned as _;
use syn::visit_mut::{self, VisitMut};
use syn::{Expr, Item, Stmt};

/// Rewrites the `?`s of one body (its statements).
pub(crate) fn convert(stmts: &mut [Stmt]) {
    let mut body = Body;
    for stmt in stmts {
        body.visit_stmt_mut(stmt);
    }
}

struct Body;

impl VisitMut for Body {
    fn visit_expr_mut(&mut self, expr: &mut Expr) {
        match expr {
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
}
