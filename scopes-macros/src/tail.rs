//! Whether a body ends without a value, so that it means `Ok(())`.
//!
//! A `launch` body, a block form (`non_cancellable { .. }`, ...) and the
//! block of a scope macro evaluate to `scopes::Result<T>`. Written as Rust statements, one that
//! ends with `;` has no value; so do tails that cannot be a `Result`: a
//! `for`/`while` loop, a `loop` left by a plain `break`, an assignment,
//! `x?`, a `print!`-like macro, a child form, an `if` without `else`, and an
//! `if`/`match`/block one of whose branches ends that way (branches share
//! one type; the others may leave: `return`, `break`, `continue`,
//! `panic!`). Such a body gets `Ok(())` appended. A body that never ends
//! normally (a `loop` without `break`, a `return` last) is left alone: its
//! type `!` is a `Result` already.

use syn::visit::{self, Visit};
use syn::{Expr, ExprLoop, Label, Lifetime, Macro, Stmt};

use crate::parse::is_child_macro;

/// How a block or expression ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tail {
    /// With no value (`()`): the body means `Ok(())`.
    Unit,
    /// Never normally (`return`, `loop` without `break`, `panic!`).
    Diverges,
    /// With a value, or a type the macro cannot see.
    Value,
}

impl Tail {
    /// The ending of branches taken one or the other (`if`/`else`, `match`,
    /// the `break`s of a loop). Branches have one type, so one branch
    /// without a value means none has one (`0 => log.push(x), _ => {}` is
    /// `()`), whatever the macro cannot see in the others.
    fn or(self, other: Tail) -> Tail {
        match (self, other) {
            (Tail::Unit, _) | (_, Tail::Unit) => Tail::Unit,
            (Tail::Value, _) | (_, Tail::Value) => Tail::Value,
            (Tail::Diverges, Tail::Diverges) => Tail::Diverges,
        }
    }
}

// Input:  [.., Stmt::Expr(`loop { if done { break; } step().await?; }`, None)]
// Output: Tail::Unit
pub(crate) fn of_stmts(stmts: &[Stmt]) -> Tail {
    match stmts.last() {
        None | Some(Stmt::Local(_) | Stmt::Item(_)) => Tail::Unit,
        Some(Stmt::Expr(expr, Some(_))) if of_expr(expr) == Tail::Diverges => Tail::Diverges,
        Some(Stmt::Expr(_, Some(_))) => Tail::Unit,
        Some(Stmt::Macro(stmt)) => match of_macro(&stmt.mac) {
            Tail::Value if stmt.semi_token.is_some() => Tail::Unit,
            tail => tail,
        },
        Some(Stmt::Expr(expr, None)) => of_expr(expr),
    }
}

fn of_expr(expr: &Expr) -> Tail {
    match expr {
        Expr::Return(_) | Expr::Break(_) | Expr::Continue(_) => Tail::Diverges,
        // `x?` last: a `Result` only if `x` is a nested one, which the
        // `unused_must_use` lint then reports.
        Expr::ForLoop(_) | Expr::While(_) | Expr::Try(_) | Expr::Assign(_) => Tail::Unit,
        Expr::Binary(binary) if is_compound_assignment(&binary.op) => Tail::Unit,
        Expr::Loop(expr_loop) => of_loop(expr_loop),
        Expr::If(expr_if) => match &expr_if.else_branch {
            None => Tail::Unit,
            Some((_, else_branch)) => of_stmts(&expr_if.then_branch.stmts).or(of_expr(else_branch)),
        },
        Expr::Block(block) if block.label.is_none() => of_stmts(&block.block.stmts),
        Expr::Match(expr_match) => expr_match
            .arms
            .iter()
            .map(|arm| of_expr(&arm.body))
            .reduce(Tail::or)
            .unwrap_or(Tail::Diverges),
        Expr::Macro(mac) => of_macro(&mac.mac),
        Expr::Paren(paren) => of_expr(&paren.expr),
        Expr::Tuple(tuple) if tuple.elems.is_empty() => Tail::Unit,
        _ => Tail::Value,
    }
}

fn is_compound_assignment(op: &syn::BinOp) -> bool {
    use syn::BinOp::*;
    matches!(
        op,
        AddAssign(_)
            | SubAssign(_)
            | MulAssign(_)
            | DivAssign(_)
            | RemAssign(_)
            | BitXorAssign(_)
            | BitAndAssign(_)
            | BitOrAssign(_)
            | ShlAssign(_)
            | ShrAssign(_)
    )
}

/// Standard macros whose value is `()`, and those that never return. A
/// child form (`launch { .. }`, `launch! { .. }`) last in a block is a
/// statement there (`body.rs`): no value either.
fn of_macro(mac: &Macro) -> Tail {
    if is_child_macro(mac) {
        return Tail::Unit;
    }
    let Some(name) = mac.path.segments.last().map(|s| s.ident.to_string()) else {
        return Tail::Value;
    };
    match name.as_str() {
        "print" | "println" | "eprint" | "eprintln" | "assert" | "assert_eq" | "assert_ne"
        | "debug_assert" | "debug_assert_eq" | "debug_assert_ne" | "ensure" => Tail::Unit,
        // anyhow's `bail!` returns (`question.rs` makes its error the body's).
        "panic" | "unreachable" | "todo" | "unimplemented" | "bail" => Tail::Diverges,
        _ => Tail::Value,
    }
}

// Input:  loop { .. break; .. }      Output: Unit
// Input:  loop { .. break x; .. }    Output: Value
// Input:  loop { .. }                Output: Diverges (no `break` leaves it)
/// A `loop` is left by the `break`s that target it: unlabeled ones outside
/// inner loops, and those naming its label; not those in closures, async
/// blocks or items, which are other bodies.
fn of_loop(expr_loop: &ExprLoop) -> Tail {
    let mut breaks = Breaks {
        label: expr_loop.label.as_ref().map(|Label { name, .. }| name),
        depth: 0,
        found: None,
    };
    breaks.visit_block(&expr_loop.body);
    breaks.found.unwrap_or(Tail::Diverges)
}

struct Breaks<'a> {
    label: Option<&'a Lifetime>,
    /// Inner loops entered: an unlabeled `break` there is theirs.
    depth: usize,
    /// `Unit` once a plain `break` leaves the loop, `Value` for `break x`.
    found: Option<Tail>,
}

impl Breaks<'_> {
    fn inner_loop(&mut self, walk: impl FnOnce(&mut Self)) {
        self.depth += 1;
        walk(self);
        self.depth -= 1;
    }
}

impl<'ast> Visit<'ast> for Breaks<'_> {
    fn visit_expr_break(&mut self, expr: &'ast syn::ExprBreak) {
        let ours = match (&expr.label, self.label) {
            (None, _) => self.depth == 0,
            (Some(label), Some(ours)) => label.ident == ours.ident,
            (Some(_), None) => false,
        };
        if ours {
            let tail = if expr.expr.is_some() {
                Tail::Value
            } else {
                Tail::Unit
            };
            self.found = Some(self.found.map_or(tail, |found| found.or(tail)));
        }
        visit::visit_expr_break(self, expr);
    }

    fn visit_expr_loop(&mut self, expr: &'ast ExprLoop) {
        self.inner_loop(|v| visit::visit_expr_loop(v, expr));
    }

    fn visit_expr_while(&mut self, expr: &'ast syn::ExprWhile) {
        self.inner_loop(|v| visit::visit_expr_while(v, expr));
    }

    fn visit_expr_for_loop(&mut self, expr: &'ast syn::ExprForLoop) {
        self.inner_loop(|v| visit::visit_expr_for_loop(v, expr));
    }

    // Other bodies: a `break` there cannot leave this loop.
    fn visit_expr_closure(&mut self, _: &'ast syn::ExprClosure) {}
    fn visit_expr_async(&mut self, _: &'ast syn::ExprAsync) {}
    fn visit_item(&mut self, _: &'ast syn::Item) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tail(body: proc_macro2::TokenStream) -> Tail {
        let stmts = syn::parse::Parser::parse2(syn::Block::parse_within, body).unwrap();
        of_stmts(&stmts)
    }

    #[test]
    fn a_loop_left_by_a_plain_break_is_unit() {
        let body = quote::quote!(loop {
            if done() {
                break;
            }
            step();
        });
        assert_eq!(tail(body), Tail::Unit);
    }

    #[test]
    fn a_loop_left_with_a_value_has_a_value() {
        assert_eq!(
            tail(quote::quote!(loop {
                break Ok(1);
            })),
            Tail::Value
        );
    }

    #[test]
    fn a_loop_without_break_diverges() {
        let body = quote::quote! {
            loop { for x in xs { break; } let f = || loop { break 1; }; }
        };
        assert_eq!(tail(body), Tail::Diverges);
    }

    #[test]
    fn a_labeled_break_from_an_inner_loop_leaves_the_outer_one() {
        let body = quote::quote!('outer: loop {
            for x in xs {
                break 'outer;
            }
        });
        assert_eq!(tail(body), Tail::Unit);
    }

    #[test]
    fn if_and_match_with_unit_or_leaving_branches_are_unit() {
        let body = quote::quote! {
            match x { 0 => {} 1 => n += 1, 2 => return Ok(()), _ => { f(); } }
        };
        assert_eq!(tail(body), Tail::Unit);
        let body = quote::quote!(if a {
            f();
        } else if b {
            continue;
        } else {
            g();
        });
        assert_eq!(tail(body), Tail::Unit);
        // One branch without a value: the other has none either.
        assert_eq!(
            tail(quote::quote!(if a {
                f()
            } else {
                g();
            })),
            Tail::Unit
        );
        assert_eq!(tail(quote::quote!(if a { f() } else { g() })), Tail::Value);
        assert_eq!(
            tail(quote::quote!(match x {
                0 => f(),
                _ => return,
            })),
            Tail::Value
        );
    }

    #[test]
    fn a_return_last_diverges() {
        assert_eq!(tail(quote::quote!(f(); return Ok(());)), Tail::Diverges);
        assert_eq!(tail(quote::quote!(f(); Ok(()))), Tail::Value);
    }

    #[test]
    fn anyhow_s_bail_last_diverges_and_ensure_is_a_statement() {
        assert_eq!(
            tail(quote::quote!(f(); anyhow::bail!("no");)),
            Tail::Diverges
        );
        assert_eq!(tail(quote::quote!(f(); bail!("no"))), Tail::Diverges);
        assert_eq!(tail(quote::quote!(f(); ensure!(ok, "no");)), Tail::Unit);
    }
}
