//! Semantic checks: child and scope options (unknown, duplicated,
//! ill-valued) and the fn under `#[supervised]` / `#[coroutine_scope]`.

use proc_macro2::Span;
use quote::ToTokens as _;
use syn::spanned::Spanned as _;
use syn::{Expr, ExprLit, ExprPath, Lit, ReturnType, Type};

use crate::diag::{self, Errors};
use crate::parse::{RawOption, ScopedFn};

/// A child's options, checked.
#[derive(Default)]
pub(crate) struct ChildOptions {
    /// `name = ".."`: any expression giving `impl Into<Cow<'static, str>>`.
    pub(crate) name: Option<Expr>,
    /// `start = lazy`.
    pub(crate) lazy: bool,
    /// `parallel`: runs on the multi-thread pool.
    pub(crate) parallel: bool,
}

/// Each option with its name, the first time the name appears; a later one
/// is an error on its name ("duplicate option").
fn first_of_each<'a>(raw: &'a [RawOption], errors: &mut Errors) -> Vec<(&'a RawOption, String)> {
    let mut seen: Vec<(&RawOption, String)> = Vec::new();
    for option in raw {
        let key = option.key.to_string();
        if seen.iter().any(|(_, k)| *k == key) {
            errors.push(diag::error(
                option.key.span(),
                format!("duplicate option `{key}`: remove one of them"),
            ));
        } else {
            seen.push((option, key));
        }
    }
    seen
}

const EXPECTED: &str = "expected `name = \"..\"`, `start = lazy` or `parallel`";

// Input:  name = "x", start = lazy, name = "y", color = red
// Output: ChildOptions { name: "x", lazy: true, .. } and the errors
//         "duplicate option `name`" (on the 2nd `name`), "unknown option `color`"
/// Every valid option is kept even when others are wrong, so that the child
/// still expands and only the option's own error is reported.
pub(crate) fn options(raw: &[RawOption]) -> (ChildOptions, Option<syn::Error>) {
    let mut options = ChildOptions::default();
    let mut errors = Errors::default();
    for (option, key) in first_of_each(raw, &mut errors) {
        let value = option.value.as_ref().map(|(_, value)| value);
        let checked = match (key.as_str(), value) {
            ("name", Some(value)) => name(value).map(|name| options.name = Some(name)),
            ("start", Some(value)) => start(value).map(|lazy| options.lazy = lazy),
            ("parallel", None) => {
                options.parallel = true;
                Ok(())
            }
            ("name", None) => Err(diag::error(
                option.key.span(),
                "option `name` needs a value: `name = \"fetch\"`",
            )),
            ("start", None) => Err(diag::error(
                option.key.span(),
                "option `start` needs a value: `start = lazy`",
            )),
            ("parallel", Some(value)) => Err(diag::error(
                value.span(),
                "option `parallel` takes no value: write `parallel`",
            )),
            _ => Err(diag::error(
                option.key.span(),
                format!("unknown option `{key}`: {EXPECTED}"),
            )),
        };
        if let Err(error) = checked {
            errors.push(error);
        }
    }
    (options, errors.0)
}

/// `name = "fetch"`, or an expression computing the name
/// (`name = format!("fetch {id}")`); other literals are wrong.
fn name(value: &Expr) -> syn::Result<Expr> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(_), ..
        }) => Ok(value.clone()),
        Expr::Lit(_) => Err(diag::error_spanned(
            value,
            "option `name` expects a string: `name = \"fetch\"`",
        )),
        _ => Ok(value.clone()),
    }
}

/// `start = lazy` or `start = default` (Kotlin's `CoroutineStart`), also
/// written as the runtime's `Start::Lazy` / `Start::Default` (the prelude
/// brings `Start`).
fn start(value: &Expr) -> syn::Result<bool> {
    let word = match value {
        Expr::Path(ExprPath {
            qself: None, path, ..
        }) => match path.get_ident() {
            Some(ident) => Some(ident.to_string()),
            None => {
                let segments: Vec<String> =
                    path.segments.iter().map(|s| s.ident.to_string()).collect();
                match segments.as_slice() {
                    [.., start, variant]
                        if start == "Start" && (variant == "Lazy" || variant == "Default") =>
                    {
                        Some(variant.to_lowercase())
                    }
                    _ => None,
                }
            }
        },
        _ => None,
    };
    match word.as_deref() {
        Some("lazy") => Ok(true),
        Some("default") => Ok(false),
        _ => Err(diag::error_spanned(
            value,
            format!(
                "option `start` expects `lazy` or `default`, found `{}`",
                quote::ToTokens::to_token_stream(value)
            ),
        )),
    }
}

/// A scope's options, checked: `limit = n`, `local`.
#[derive(Default)]
pub(crate) struct ScopeOptions {
    /// `limit = n`: at most `n` children run at once.
    pub(crate) limit: Option<Expr>,
    /// `local`: children need not be `Send`.
    pub(crate) local: bool,
}

// Input:  limit = 4, local, limit = 8, name = "x"
// Output: ScopeOptions { limit: 4, local: true } and the errors
//         "duplicate option `limit`", "unknown scope option `name`"
/// As for a child's options, every valid option is kept when others are
/// wrong: the scope still expands, and only the bad option is reported.
pub(crate) fn scope_options(raw: &[RawOption]) -> (ScopeOptions, Option<syn::Error>) {
    let mut options = ScopeOptions::default();
    let mut errors = Errors::default();
    for (option, key) in first_of_each(raw, &mut errors) {
        let value = option.value.as_ref().map(|(_, value)| value);
        let checked = match (key.as_str(), value) {
            ("limit", Some(value)) => limit(value).map(|()| options.limit = Some(value.clone())),
            ("local", None) => {
                options.local = true;
                Ok(())
            }
            ("limit", None) => Err(diag::error(
                option.key.span(),
                "option `limit` needs a value: `limit = 4`",
            )),
            ("local", Some(value)) => Err(diag::error(
                value.span(),
                "option `local` takes no value: write `local`",
            )),
            _ => Err(unknown_scope_option(option, &key)),
        };
        if let Err(error) = checked {
            errors.push(error);
        }
    }
    (options, errors.0)
}

fn unknown_scope_option(option: &RawOption, key: &str) -> syn::Error {
    let hint = match key {
        "name" | "start" | "parallel" => {
            format!(" (`{key}` is an option of `launch` and `async`, not of a scope)")
        }
        _ => String::new(),
    };
    diag::error(
        option.key.span(),
        format!("unknown scope option `{key}`: expected `limit = n` or `local`{hint}"),
    )
}

/// `limit = 4`, or an expression giving the `usize` (`limit = n`); a literal
/// that is not a positive integer is wrong.
fn limit(value: &Expr) -> syn::Result<()> {
    let literal = match value {
        Expr::Lit(ExprLit { lit, .. }) => Some(lit),
        Expr::Unary(unary) if matches!(unary.op, syn::UnOp::Neg(_)) => {
            return Err(diag::error_spanned(
                value,
                "option `limit` expects a number of children, at least 1: `limit = 4`",
            ));
        }
        _ => None,
    };
    match literal {
        None => Ok(()),
        Some(Lit::Int(int)) if int.base10_digits() == "0" => Err(diag::error_spanned(
            value,
            "option `limit` must be at least 1: `limit = 0` would let no child run",
        )),
        Some(Lit::Int(_)) => Ok(()),
        Some(_) => Err(diag::error_spanned(
            value,
            "option `limit` expects a number of children, at least 1: `limit = 4`",
        )),
    }
}

/// Which annotation a checked fn carries, for messages.
#[derive(Clone, Copy)]
pub(crate) struct AttrName(pub(crate) &'static str);

// Input:  #[supervised] fn f() -> u32 { .. }
// Output: errors on `fn` (not async), on `u32` (not a Result)
/// The fn itself; its options are checked by `scope_options`.
pub(crate) fn scoped_fn(attr: AttrName, scoped: &ScopedFn) -> syn::Result<()> {
    let AttrName(attr) = attr;
    let mut errors = Errors::default();
    let sig = &scoped.item.sig;
    if sig.asyncness.is_none() && runs_a_runtime(&scoped.item.block) {
        errors.push(diag::error(
            sig.fn_token.span,
            format!(
                "`#[{attr}]` must come above `#[tokio::main]` / `#[tokio::test]`: attributes \
                 run from the top, and tokio's has already turned this `async fn` into a \
                 plain fn that starts a runtime"
            ),
        ));
    } else if sig.asyncness.is_none() {
        errors.push(diag::error(
            sig.fn_token.span,
            format!(
                "`#[{attr}]` can only be applied to an `async fn`: add `async` \
                 (the body becomes a scope, which is awaited)"
            ),
        ));
    }
    match &sig.output {
        ReturnType::Type(_, ty) if returns_result(ty) => {}
        ReturnType::Type(_, ty) => errors.push(not_result(attr, ty.span())),
        ReturnType::Default => errors.push(not_result(attr, sig.ident.span())),
    }
    errors.0.map_or(Ok(()), Err)
}

/// Whether a plain fn's body is what `#[tokio::main]` or `#[tokio::test]`
/// writes for an `async fn` (an attribute above ours ran first): it builds
/// a runtime (`Builder`) and blocks on the async body (`.block_on(body)`).
fn runs_a_runtime(block: &syn::Block) -> bool {
    fn mentions(tokens: proc_macro2::TokenStream, name: &str) -> bool {
        tokens.into_iter().any(|token| match token {
            proc_macro2::TokenTree::Ident(ident) => ident == name,
            proc_macro2::TokenTree::Group(group) => mentions(group.stream(), name),
            _ => false,
        })
    }
    let body = block.to_token_stream();
    mentions(body.clone(), "Builder") && mentions(body, "block_on")
}

/// `Result<..>` by its last path segment: `Result<T>`, `scopes::Result<T>`,
/// `Result<T, E>`, `io::Result<T>`, and aliases whose name ends in
/// `Result` (`AppResult<T>`); an alias named otherwise cannot be recognized
/// before type checking.
fn returns_result(ty: &Type) -> bool {
    match ty {
        Type::Path(path) => path
            .path
            .segments
            .last()
            .is_some_and(|segment| segment.ident.to_string().ends_with("Result")),
        Type::Group(group) => returns_result(&group.elem),
        Type::Paren(paren) => returns_result(&paren.elem),
        _ => false,
    }
}

fn not_result(attr: &str, span: Span) -> syn::Error {
    diag::error(
        span,
        format!(
            "`#[{attr}]` requires a fn returning `Result<T, E>` (or an alias whose name \
             ends in `Result`): its body is a scope, which evaluates to `scopes::Result<T>` \
             (`E` must implement `From<scopes::Error>`)"
        ),
    )
}
