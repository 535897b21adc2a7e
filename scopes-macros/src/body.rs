//! Finds the child forms in a scope body and rewrites them into calls on the
//! scope handle; rejects the ones that are not part of the scope.
//!
//! A scope body is the statements of `coroutine_scope! { }` /
//! `supervisor_scope! { }`, of an annotated fn, or of a child (each child
//! body is a scope of its own, as in Kotlin). Inside one, through `let`,
//! `if`, `match`, loops, blocks and closures:
//!
//! - `launch { }`, `launch(..) { }`, `async(..) { }` (markers from
//!   `kotlin.rs`), `launch! { }`, `launch!(..; ..)`, `r#async!(..)` and
//!   non-`move` `async { }` blocks start children; so they do in a closure
//!   (`ids.iter().map(|id| async { fetch(id).await })` starts a child per
//!   call: Kotlin's fan-out), and in another macro's input when it is a
//!   list of expressions (`vec![async { .. }, async { .. }]`);
//! - in another macro's input that is not (`tokio::select! { .. }`), a
//!   child form or a non-`move` `async { }` is an error saying what to do:
//!   never silently a plain future;
//! - `async move { }` blocks, async closures and nested items are not part
//!   of the scope: a child form there is an error saying so, and a
//!   non-`move` `async { }` there stays a plain Rust async block;
//! - nested `coroutine_scope!`/`supervisor_scope!` are left to expand
//!   themselves.

use proc_macro2::{Delimiter, Group, Span, TokenStream, TokenTree};
use quote::ToTokens as _;
use syn::punctuated::Punctuated;
use syn::visit_mut::{self, VisitMut};
use syn::{Block, Expr, Item, Macro, Stmt, Token};

use crate::diag;
use crate::expand;
use crate::kotlin;
use crate::parse::{BlockForm, BlockKind, Child, MacroRole, is_child_macro};
use crate::produce;
use crate::question;
use crate::valid;

/// `with_timeout!` / `with_timeout_or_none!` / `non_cancellable!` (and the
/// Kotlin look, which `kotlin.rs` turns into them): the Kotlin look inside
/// rewritten, the body parsed, its children rewritten, the block generated;
/// the errors of malformed forms inside are reported next to it.
/// `local`: the block is in a local scope's body, which expands it in
/// place (see `mac` below), so that its own scope is local too.
pub(crate) fn block_form(
    kind: BlockKind,
    keyword: Span,
    input: TokenStream,
    local: bool,
) -> TokenStream {
    let (tokens, rewrite_error) = kotlin::rewrite(input);
    let block = BlockForm::parse(kind, keyword, tokens).map(|mut form| {
        let implicit_ok = expand::implicit_ok(&mut form.body);
        let nested = rewrite(&mut form.body, local);
        expand::block(&form, implicit_ok, nested, local)
    });
    expand::with_errors(block, rewrite_error)
}

/// Rewrites the children of one scope body; returns whether it has any (a
/// child body without children needs no scope of its own). In a local
/// scope (`local`), a child's own scope and a block form's are local too.
pub(crate) fn rewrite(stmts: &mut [Stmt], local: bool) -> bool {
    let mut level = Level {
        context: Context::Scope,
        has_children: false,
        local,
        // A body's last child form is a statement (its tail, if any, is
        // the body's value: see `expand::implicit_ok`).
        discarded: true,
        fan_out_closure: false,
    };
    level.visit_stmts(stmts);
    question::convert(stmts);
    level.has_children
}

/// Where the walk is, relative to the scope body it started in.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Context {
    /// Part of the scope body (closures included): children start here.
    Scope,
    /// Inside an `async move { }` block.
    AsyncMove,
    /// Inside an async closure (`async |x| { }`).
    AsyncClosure,
    /// Inside a nested item (`fn`, `impl`, `const`, ...), named.
    Item(&'static str),
}

impl Context {
    /// Why a child form is not allowed here, and what to do instead.
    fn reason(self, form: &str) -> String {
        let (place, why) = match self {
            Context::Scope => ("here", "it is not part of the scope"),
            Context::AsyncMove => (
                "inside an `async move` block",
                "an `async move` block is plain Rust, not part of the scope",
            ),
            Context::AsyncClosure => (
                "inside an async closure",
                "an async closure is plain Rust, not part of the scope \
                 (a closure returning `async { .. }` is)",
            ),
            Context::Item(item) => (item, "an item is not part of the scope"),
        };
        format!(
            "{form} is not allowed {place}: {why}; start the child in the scope body, \
             or open a scope there with `coroutine_scope! {{ .. }}`"
        )
    }
}

struct Level {
    context: Context,
    has_children: bool,
    /// A local scope's body: children's own scopes are local too.
    local: bool,
    /// The value of the block being walked is dropped (a loop's body, a
    /// branch of an `if` written as a statement, a closure's body): a child
    /// form last in it is a statement. Where the value is used (a `let`
    /// initializer, the closure of a fan-out method such as `map`), it is
    /// the block's value: the child's handle
    /// (`.map(|id| { .. async(name = ..) { .. } })` fans out).
    discarded: bool,
    /// The closure about to be walked is an argument of a fan-out method
    /// (`fans_out`): its body's value is used.
    fan_out_closure: bool,
}

impl Level {
    fn within(&mut self, context: Context, walk: impl FnOnce(&mut Self)) {
        let saved = std::mem::replace(&mut self.context, context);
        walk(self);
        self.context = saved;
    }

    fn visit_stmts(&mut self, stmts: &mut [Stmt]) {
        let last = stmts.len().saturating_sub(1);
        let block_discarded = self.discarded;
        for (at, stmt) in stmts.iter_mut().enumerate() {
            reject_dropped_block(stmt, at == last);
            // The last statement without `;` gives the block's value, and a
            // `let` keeps its initializer's; every other value is dropped.
            self.discarded = match stmt {
                Stmt::Local(_) => false,
                Stmt::Expr(_, None) if at == last => block_discarded,
                Stmt::Macro(mac) if at == last && mac.semi_token.is_none() => block_discarded,
                _ => true,
            };
            // A child form written as a statement is a statement, also last
            // in a block whose value is dropped (`for id in ids { launch { .. } }`):
            // its handle is dropped, as in Kotlin; `let job = launch { .. }`
            // and a closure's `|id| { .. launch { .. } }` keep it.
            match stmt {
                Stmt::Macro(mac)
                    if self.discarded && mac.semi_token.is_none() && is_child_macro(&mac.mac) =>
                {
                    mac.semi_token = Some(Default::default());
                }
                Stmt::Expr(Expr::Macro(mac), semi @ None)
                    if self.discarded && is_child_macro(&mac.mac) =>
                {
                    *semi = Some(Default::default());
                }
                // A plain `async { }` child too (its `Deferred` is dropped;
                // the child still runs).
                Stmt::Expr(Expr::Async(block), semi @ None)
                    if self.discarded && block.capture.is_none() =>
                {
                    *semi = Some(Default::default());
                }
                _ => {}
            }
            self.visit_stmt_mut(stmt);
        }
        self.discarded = block_discarded;
    }

    /// Walks `expr` where its value is `discarded` or not.
    fn visit_expr_where(&mut self, expr: &mut Expr, discarded: bool) {
        let saved = std::mem::replace(&mut self.discarded, discarded);
        self.visit_expr_mut(expr);
        self.discarded = saved;
    }

    /// Walks a block-like expression: its blocks give its value, dropped
    /// where the expression's is (`self.discarded`); a loop's body's value
    /// is always dropped; its conditions, scrutinees and iterators are
    /// values. `None` for any other expression.
    fn visit_block_like(&mut self, expr: &mut Expr) -> Option<()> {
        let discarded = self.discarded;
        // An `if`'s branches or a `match`'s arms give a child's handle only
        // if all of them do (a branch giving `()` beside one giving a
        // handle compiled before as a statement, and still does).
        let branches = discarded || !ends_in_child(expr);
        match expr {
            Expr::Block(e) => {
                // A labeled block may be left by a `break 'label;`, which
                // gives `()`: its last child form stays a statement.
                self.discarded = discarded || e.label.is_some();
                self.visit_block_mut(&mut e.block);
            }
            Expr::Unsafe(e) => self.visit_block_mut(&mut e.block),
            Expr::If(e) => {
                self.visit_expr_where(&mut e.cond, false);
                self.discarded = branches;
                self.visit_block_mut(&mut e.then_branch);
                self.discarded = discarded;
                if let Some((_, other)) = &mut e.else_branch {
                    self.visit_expr_where(other, branches);
                }
            }
            Expr::Match(e) => {
                self.visit_expr_where(&mut e.expr, false);
                for arm in &mut e.arms {
                    self.visit_pat_mut(&mut arm.pat);
                    if branches {
                        // `0 => launch { .. },` in a `match` whose value is
                        // dropped: a statement, as in a block.
                        statement_arm(&mut arm.body);
                    }
                    self.visit_expr_where(&mut arm.body, branches);
                }
            }
            Expr::ForLoop(e) => {
                self.visit_pat_mut(&mut e.pat);
                self.visit_expr_where(&mut e.expr, false);
                self.discarded = true;
                self.visit_block_mut(&mut e.body);
            }
            Expr::While(e) => {
                self.visit_expr_where(&mut e.cond, false);
                self.discarded = true;
                self.visit_block_mut(&mut e.body);
            }
            Expr::Loop(e) => {
                self.discarded = true;
                self.visit_block_mut(&mut e.body);
            }
            _ => return None,
        }
        self.discarded = discarded;
        Some(())
    }

    /// A child form found at `self.context`: its expansion, or an error
    /// in its place.
    fn child(
        &mut self,
        child: syn::Result<Child>,
        form: &str,
        span_of: &dyn quote::ToTokens,
    ) -> Expr {
        if self.context != Context::Scope {
            let error = diag::error_spanned(span_of, self.context.reason(form));
            return expand::error_expr(error);
        }
        self.has_children = true;
        let mut child = match child {
            Ok(child) => child,
            Err(error) => return expand::error_expr(error),
        };
        let (options, error) = valid::options(&child.options);
        let implicit_ok = expand::needs_implicit_ok(&mut child);
        // A `parallel` child runs on the thread pool: its children are `Send`.
        let nested = rewrite(&mut child.body, self.local && !options.parallel);
        let expr = expand::child(&child, &options, implicit_ok, nested, self.local);
        match error {
            Some(error) => expand::with_error(error, expr),
            None => expr,
        }
    }

    /// `produce!(..)`: a producer child (`produce.rs`), allowed where the
    /// other child forms are.
    fn produce(&mut self, mac: &Macro) -> Expr {
        if self.context != Context::Scope {
            let (path, bang) = (&mac.path, &mac.bang_token);
            let reason = self.context.reason("`produce!`");
            return expand::error_expr(diag::error_spanned(quote::quote!(#path #bang), reason));
        }
        self.has_children = true;
        produce::expand(mac, rewrite)
    }

    /// A macro in the body: a child form becomes its expansion (`Some`);
    /// other macros stay, their input rewritten (children) or checked
    /// (errors) by `other_macro`.
    fn mac(&mut self, mac: &mut Macro) -> Option<Expr> {
        if produce::is_produce(mac) {
            return Some(self.produce(mac));
        }
        match MacroRole::of(mac) {
            MacroRole::Scope => None,
            // In a local scope, a block form's own scope must be local too,
            // which only this walk knows: it is expanded here.
            MacroRole::Block(kind) if self.local && self.context == Context::Scope => {
                let keyword = mac
                    .path
                    .segments
                    .last()
                    .map_or_else(Span::call_site, |s| s.ident.span());
                let local = true;
                let expr = block_form(kind, keyword, mac.tokens.clone(), local);
                Some(Expr::Verbatim(expr))
            }
            MacroRole::Block(_) => None,
            MacroRole::Other => {
                self.other_macro(mac);
                None
            }
            role => {
                let form = match role {
                    MacroRole::Marker => marker_form(mac),
                    _ => role.form().to_owned(),
                };
                let (path, bang) = (&mac.path, &mac.bang_token);
                let span_of = quote::quote!(#path #bang);
                Some(self.child(Child::from_macro(mac, role), &form, &span_of))
            }
        }
    }

    // Input:  vec![async { a().await }, async { b().await }]
    // Output: vec![scope.r#async(..), scope.r#async(..)]
    // Input:  tokio::select! { v = async { a().await } => v }
    // Output: tokio::select! { v = ::core::compile_error!("`async { .. }` cannot start a
    //         child inside `select!` ..") => v }
    /// Another macro's input, in the scope body: when it is a list of
    /// expressions (`vec!`, `format!`, `assert!`, `tokio::join!`, ...), its
    /// child forms are children; otherwise each one is an error naming the
    /// fix, so that an `async { }` there is never silently a plain future.
    /// Elsewhere (an `async move` block, a nested item), child forms in it
    /// are errors as they would be outside it.
    fn other_macro(&mut self, mac: &mut Macro) {
        if !mentions_children(mac.tokens.clone()) {
            return;
        }
        let name = macro_name(mac);
        if self.context != Context::Scope {
            let context = self.context;
            mac.tokens = reject_in_tokens(mac.tokens.clone(), &|form| context.reason(form), false);
            return;
        }
        let exprs = mac.parse_body_with(Punctuated::<Expr, Token![,]>::parse_terminated);
        match exprs {
            Ok(mut exprs) => {
                for expr in exprs.iter_mut() {
                    self.visit_expr_mut(expr);
                }
                mac.tokens = exprs.into_token_stream();
            }
            Err(_) => {
                let message = |form: &str| not_expressions(form, &name);
                mac.tokens = reject_in_tokens(mac.tokens.clone(), &message, true);
            }
        }
    }

    /// A macro where no expression is (a type, a pattern, an item macro):
    /// a child form there is an error.
    fn reject_in_macro(&mut self, mac: &mut Macro) {
        if !mentions_children(mac.tokens.clone()) {
            return;
        }
        let name = macro_name(mac);
        mac.tokens = match self.context {
            Context::Scope => {
                let message = |form: &str| not_expressions(form, &name);
                reject_in_tokens(mac.tokens.clone(), &message, true)
            }
            context => reject_in_tokens(mac.tokens.clone(), &|form| context.reason(form), false),
        };
    }

    // Input:  ids.iter().map(move |id| async { fetch(id).await })
    // Output: ids.iter().map({ let scope = &scope; move |id| scope.r#async(async move { .. }) })
    /// A closure in the scope body is part of it: its child forms start
    /// children of the scope each time it is called. A `move` closure that
    /// starts children takes the scope handle by reference (it is not
    /// `Copy`), so the body can go on using it. An async closure's body is
    /// plain Rust, like an `async move` block's.
    fn closure(&mut self, expr: &mut Expr) {
        let Expr::Closure(closure) = expr else {
            return;
        };
        if closure.asyncness.is_some() {
            self.within(Context::AsyncClosure, |level| {
                visit_mut::visit_expr_closure_mut(level, closure);
            });
            return;
        }
        let before = std::mem::replace(&mut self.has_children, false);
        // Its body's value is used only as a fan-out method's closure not
        // declared `-> ()` (`.map(|id| { .. })`); elsewhere a child form
        // last in it is a statement, as in a closure that must give `()`
        // (`for_each`, a callback, `and_modify`).
        // A declared return type decides: `-> ()` a statement, any other
        // (`-> Job<'_>`) the value. A body with a `return;` gives `()`.
        let used = match &closure.output {
            syn::ReturnType::Type(_, ty) => {
                !matches!(&**ty, syn::Type::Tuple(t) if t.elems.is_empty())
            }
            syn::ReturnType::Default => {
                std::mem::replace(&mut self.fan_out_closure, false) && !returns_unit(&closure.body)
            }
        };
        self.fan_out_closure = false;
        let saved = std::mem::replace(&mut self.discarded, !used);
        visit_mut::visit_expr_closure_mut(self, closure);
        self.discarded = saved;
        let starts_children = self.has_children;
        self.has_children |= before;
        if starts_children && closure.capture.is_some() {
            let s = expand::handle();
            let closure = closure.to_token_stream();
            *expr = Expr::Verbatim(quote::quote!({ let #s = &#s; #closure }));
        }
    }
}

impl VisitMut for Level {
    fn visit_block_mut(&mut self, block: &mut Block) {
        self.visit_stmts(&mut block.stmts);
    }

    fn visit_stmt_mut(&mut self, stmt: &mut Stmt) {
        match stmt {
            Stmt::Macro(stmt_mac) => {
                if let Some(expr) = self.mac(&mut stmt_mac.mac) {
                    let attrs = std::mem::take(&mut stmt_mac.attrs);
                    let expr = if attrs.is_empty() {
                        expr
                    } else {
                        Expr::Verbatim(quote::quote!(#(#attrs)* #expr))
                    };
                    *stmt = Stmt::Expr(expr, stmt_mac.semi_token);
                }
            }
            Stmt::Item(item) => self.visit_item_mut(item),
            _ => visit_mut::visit_stmt_mut(self, stmt),
        }
    }

    fn visit_item_mut(&mut self, item: &mut Item) {
        let context = Context::Item(item_place(item));
        self.within(context, |level| match item {
            // `macro_rules!` and item macros: not part of the scope.
            Item::Macro(item_mac) => level.visit_macro_mut(&mut item_mac.mac),
            _ => visit_mut::visit_item_mut(level, item),
        });
    }

    fn visit_expr_mut(&mut self, expr: &mut Expr) {
        match expr {
            Expr::Async(block) if block.capture.is_none() && self.context == Context::Scope => {
                let child = Child::from_async_block(block.clone());
                *expr = self.child(Ok(child), "`async`", &TokenStream::new());
            }
            Expr::Async(block) if block.capture.is_some() => {
                self.within(Context::AsyncMove, |level| {
                    visit_mut::visit_expr_async_mut(level, block);
                });
            }
            Expr::Call(call) if self.context == Context::Scope => {
                reject_child_as_future(call);
                visit_mut::visit_expr_call_mut(self, call);
            }
            Expr::Closure(_) => self.closure(expr),
            Expr::MethodCall(call) if fans_out(&call.method) => {
                self.visit_expr_where(&mut call.receiver, false);
                for arg in &mut call.args {
                    self.fan_out_closure = matches!(arg, Expr::Closure(_));
                    self.visit_expr_where(arg, false);
                    self.fan_out_closure = false;
                }
            }
            Expr::Macro(expr_mac) => {
                if let Some(new) = self.mac(&mut expr_mac.mac) {
                    *expr = new;
                }
            }
            _ => {
                if self.visit_block_like(expr).is_none() {
                    // Its parts are values (arguments, operands, a closure's
                    // body).
                    let saved = std::mem::replace(&mut self.discarded, false);
                    visit_mut::visit_expr_mut(self, expr);
                    self.discarded = saved;
                }
            }
        }
    }

    // Macros in types, patterns and items: not part of the scope either.
    fn visit_macro_mut(&mut self, mac: &mut Macro) {
        if !matches!(MacroRole::of(mac), MacroRole::Scope | MacroRole::Block(_)) {
            self.reject_in_macro(mac);
        }
    }
}

/// The methods whose closure's value is the fan-out's element (Kotlin's
/// `ids.map { async { .. } }`): a child form last in that closure's body is
/// its value, the child's handle. Decided by the method's name, as the DSL
/// decides by syntax alone; any other closure's body keeps it a statement.
fn fans_out(method: &syn::Ident) -> bool {
    ["map", "filter_map", "flat_map", "then", "and_then"]
        .iter()
        .any(|name| method == name)
}

/// A bare child form as a `match` arm's body, whose value is dropped:
/// made the statement of a block (`0 => { launch { .. }; }`).
fn statement_arm(body: &mut Expr) {
    let child = match &*body {
        Expr::Macro(mac) => is_child_macro(&mac.mac),
        Expr::Async(block) => block.capture.is_none(),
        _ => false,
    };
    if child {
        let expr = std::mem::replace(body, Expr::Verbatim(TokenStream::new()));
        *body = syn::parse_quote!({ #expr; });
    }
}

/// Whether a closure's body holds a `return;` of its own (not one of a
/// closure or async block in it): its value is then `()`.
fn returns_unit(body: &Expr) -> bool {
    struct Finder(bool);
    impl syn::visit::Visit<'_> for Finder {
        fn visit_expr(&mut self, expr: &Expr) {
            match expr {
                Expr::Closure(_) | Expr::Async(_) | Expr::Const(_) => {}
                Expr::Return(ret) if ret.expr.is_none() => self.0 = true,
                _ => syn::visit::visit_expr(self, expr),
            }
        }
        fn visit_item(&mut self, _item: &Item) {}
    }
    let mut finder = Finder(false);
    syn::visit::Visit::visit_expr(&mut finder, body);
    finder.0
}

/// Whether every branch of an `if` (with a final `else`) or every arm of a
/// `match` ends in a child form: only then do they give its handle.
fn ends_in_child(expr: &Expr) -> bool {
    match expr {
        Expr::If(e) => {
            block_ends_in_child(&e.then_branch)
                && e.else_branch
                    .as_ref()
                    .is_some_and(|(_, other)| ends_in_child(other))
        }
        Expr::Match(e) => !e.arms.is_empty() && e.arms.iter().all(|arm| ends_in_child(&arm.body)),
        Expr::Block(e) => block_ends_in_child(&e.block),
        Expr::Macro(e) => is_child_macro(&e.mac),
        Expr::Async(e) => e.capture.is_none(),
        _ => false,
    }
}

fn block_ends_in_child(block: &Block) -> bool {
    match block.stmts.last() {
        Some(Stmt::Macro(mac)) => mac.semi_token.is_none() && is_child_macro(&mac.mac),
        Some(Stmt::Expr(expr, None)) => ends_in_child(expr),
        _ => false,
    }
}

// Input:  with_timeout(d) { .. };   non_cancellable! { .. } let x = 1;
// Output: ::core::compile_error!("this `with_timeout` block gives a `scopes::Result` ...");
/// A block form written as a statement that drops its `scopes::Result`
/// (ended with `;`, or not last in its block) would lose its failure, a
/// timeout included: a compile error, as the DSL docs promise. Its tail
/// (the block's value), `?;` and `let r = ..;` keep it.
fn reject_dropped_block(stmt: &mut Stmt, last: bool) {
    let Stmt::Macro(stmt_mac) = stmt else { return };
    let MacroRole::Block(kind) = MacroRole::of(&stmt_mac.mac) else {
        return;
    };
    if last && stmt_mac.semi_token.is_none() {
        return;
    }
    // Only a timeout's block has a timeout to lose.
    let timeout = if kind.takes_duration() {
        " (a timeout included)"
    } else {
        ""
    };
    let error = diag::error_spanned(
        &stmt_mac.mac,
        format!(
            "this `{}` block gives a `scopes::Result`, dropped here: end it with `?;` to pass \
             a failure on{timeout}, or write `let _ = ..;` to drop it on purpose",
            kind.name()
        ),
    );
    *stmt = Stmt::Expr(expand::error_expr(error), Some(Default::default()));
}

/// The runtime fns that take a future to run in the caller's job.
const TAKES_A_FUTURE: [&str; 6] = [
    "with_timeout",
    "with_timeout_or_none",
    "non_cancellable",
    "cancellable",
    "cancel_on",
    "with_exception_handler",
];

// Input:  with_timeout(d, async { work().await })
// Output: with_timeout(d, ::core::compile_error!("this `async { .. }` starts a child, ..."))
/// In a scope body a non-`move` `async { }` is a child, whose `Deferred` is
/// not the future these fns want (and would run outside their job): the
/// error names the fix instead of rustc's "`Deferred` is not a future".
fn reject_child_as_future(call: &mut syn::ExprCall) {
    let Expr::Path(path) = &*call.func else {
        return;
    };
    let Some(message) = future_taker(&path.path) else {
        return;
    };
    for arg in call.args.iter_mut() {
        if let Expr::Async(block) = arg
            && block.capture.is_none()
        {
            let error = diag::error(block.async_token.span, message.clone());
            *arg = expand::error_expr(error);
        }
    }
}

/// tokio's fns that take a future to run as a task, or to time: a child's
/// `Deferred` there would be spawned or timed in place of the work (a
/// timeout then stops waiting, but the child runs on; SPEC §2a: never
/// silently a plain future).
const TOKIO_TAKES_A_FUTURE: [(&str, &str); 3] = [
    ("spawn", "task"),
    ("spawn_local", "task"),
    ("timeout", "time"),
];

/// What to say for a non-`move` `async { }` passed to the fn at `path`, if
/// it is one that wants a future: one of the runtime's (`with_timeout`,
/// `scopes::cancellable`, ..), or tokio's (`tokio::spawn`,
/// `tokio::time::timeout`, or their last segment alone).
fn future_taker(path: &syn::Path) -> Option<String> {
    let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    let (name, before) = segments.split_last()?;
    let before: Vec<&str> = before.iter().map(String::as_str).collect();
    let bare = before.is_empty() && path.leading_colon.is_none();
    if TAKES_A_FUTURE.contains(&name.as_str()) && (bare || before == ["scopes"]) {
        return Some(format!(
            "this `async {{ .. }}` starts a child, not a future for `{name}`: \
             write `async move {{ .. }}`"
        ));
    }
    let (_, module) = TOKIO_TAKES_A_FUTURE.iter().find(|(n, _)| n == name)?;
    let tokio_path = bare
        || before == ["tokio"] && *name == "spawn"
        || before == ["tokio", module]
        || before == [*module];
    if !tokio_path {
        return None;
    }
    Some(match name.as_str() {
        "timeout" => "this `async { .. }` starts a child, so `timeout` would time the child's \
                      handle and the child would run on: write `with_timeout(d) { .. }`, which \
                      cancels the work (R9), or `async move { .. }`"
            .to_owned(),
        _ => format!(
            "this `async {{ .. }}` starts a child of the scope, not a task for `{name}`: \
             write `async move {{ .. }}` for a task, or `launch(parallel) {{ .. }}` for a child \
             on the thread pool"
        ),
    })
}

fn macro_name(mac: &Macro) -> String {
    mac.path
        .segments
        .last()
        .map_or_else(String::new, |s| s.ident.to_string())
}

/// The error for a child form in a macro whose input is not a list of
/// expressions.
fn not_expressions(form: &str, macro_name: &str) -> String {
    let (example, plain) = if form == ASYNC_BLOCK {
        (
            "async { .. }",
            ", or write `async move { .. }` for a plain future",
        )
    } else {
        ("launch { .. }", "")
    };
    format!(
        "{form} cannot start a child inside `{macro_name}!`, whose input is not a list of \
         expressions: start the child in a statement before the macro \
         (`let handle = {example};`) and use its handle there{plain}"
    )
}

/// How a non-`move` `async { }` is named in messages.
const ASYNC_BLOCK: &str = "`async { .. }`";

/// `launch` / `launch(..)` / `async(..)`, as the user wrote the marker.
fn marker_form(mac: &Macro) -> String {
    let mut tokens = mac.tokens.clone().into_iter();
    let keyword = match tokens.next() {
        Some(TokenTree::Ident(ident)) => ident.to_string(),
        _ => "launch".to_owned(),
    };
    match tokens.next() {
        Some(TokenTree::Group(group)) if group.delimiter() == Delimiter::Parenthesis => {
            format!("`{keyword}(..)`")
        }
        _ => format!("`{keyword}`"),
    }
}

fn item_place(item: &Item) -> &'static str {
    match item {
        Item::Fn(_) => "inside a nested `fn`",
        Item::Impl(_) => "inside an `impl` block",
        Item::Trait(_) => "inside a trait",
        Item::Mod(_) => "inside a nested module",
        Item::Const(_) => "inside a `const` item",
        Item::Static(_) => "inside a `static` item",
        Item::Macro(_) => "inside an item macro",
        _ => "inside a nested item",
    }
}

// Input:  the tokens of `tokio::select! { _ = x => __scopes_dsl! { launch { .. } } }`
// Output: the same with the marker replaced by `::core::compile_error! { "`launch` cannot
//         start a child inside `select!` .." }`, so the other macro reports it once.
/// Each child form in the tokens (and, with `with_async`, each non-`move`
/// `async { }`) becomes the error `message` gives for it; nested scope
/// macros are left to check their own input.
fn reject_in_tokens(
    tokens: TokenStream,
    message: &dyn Fn(&str) -> String,
    with_async: bool,
) -> TokenStream {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    let mut out = Vec::with_capacity(tokens.len());
    let mut i = 0;
    while i < tokens.len() {
        if kotlin::is_scope_macro_call(&tokens, i) {
            out.extend_from_slice(&tokens[i..i + 3]);
            i += 3;
            continue;
        }
        if let Some((form, len)) = child_form_at(&tokens, i, with_async) {
            let span_tokens: TokenStream = tokens[i..i + len].iter().cloned().collect();
            out.extend(diag::to_tokens(diag::error_spanned(
                span_tokens,
                message(&form),
            )));
            i += len;
            continue;
        }
        match &tokens[i] {
            TokenTree::Group(group) => {
                let stream = reject_in_tokens(group.stream(), message, with_async);
                let mut new = Group::new(group.delimiter(), stream);
                new.set_span(group.span());
                out.push(TokenTree::Group(new));
            }
            other => out.push(other.clone()),
        }
        i += 1;
    }
    out.into_iter().collect()
}

/// Whether another macro's input holds a child form or a non-`move`
/// `async { }` (outside nested scope macros): only then is it rewritten.
fn mentions_children(tokens: TokenStream) -> bool {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    let mut i = 0;
    while i < tokens.len() {
        if kotlin::is_scope_macro_call(&tokens, i) {
            i += 3;
            continue;
        }
        if child_form_at(&tokens, i, true).is_some() {
            return true;
        }
        if let TokenTree::Group(group) = &tokens[i]
            && mentions_children(group.stream())
        {
            return true;
        }
        i += 1;
    }
    false
}

/// A child form at `tokens[i]`: a child macro (`launch!`, `r#async!`,
/// `produce!`, the marker) or, with `with_async`, a non-`move`
/// `async { }`; its name in messages and its length in tokens.
fn child_form_at(tokens: &[TokenTree], i: usize, with_async: bool) -> Option<(String, usize)> {
    match (&tokens[i], tokens.get(i + 1), tokens.get(i + 2)) {
        (TokenTree::Ident(name), Some(TokenTree::Group(block)), _)
            if with_async && name == "async" && block.delimiter() == Delimiter::Brace =>
        {
            Some((ASYNC_BLOCK.to_owned(), 2))
        }
        (TokenTree::Ident(name), Some(TokenTree::Punct(bang)), Some(TokenTree::Group(group)))
            if bang.as_char() == '!' =>
        {
            let mac = Macro {
                path: name.clone().into(),
                bang_token: Default::default(),
                delimiter: syn::MacroDelimiter::Brace(Default::default()),
                tokens: group.stream(),
            };
            if produce::is_produce(&mac) {
                return Some(("`produce!`".to_owned(), 3));
            }
            match MacroRole::of_path(false, std::iter::once(name)) {
                MacroRole::Marker => Some((marker_form(&mac), 3)),
                role @ (MacroRole::LaunchBang | MacroRole::AsyncBang) => {
                    Some((role.form().to_owned(), 3))
                }
                _ => None,
            }
        }
        _ => None,
    }
}
