//! Semantic checks: child options (unknown, duplicated, ill-valued) and the
//! fn under `#[supervised]` / `#[coroutine_scope]`.

use proc_macro2::Span;
use syn::spanned::Spanned as _;
use syn::{Expr, ExprLit, ExprPath, Lit, ReturnType, Type};

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

const EXPECTED: &str = "expected `name = \"..\"`, `start = lazy` or `parallel`";

// Input:  name = "x", start = lazy, name = "y", color = red
// Output: ChildOptions { name: "x", lazy: true, .. } and the errors
//         "duplicate option `name`" (on the 2nd `name`), "unknown option `color`"
/// Every valid option is kept even when others are wrong, so that the child
/// still expands and only the option's own error is reported.
pub(crate) fn options(raw: &[RawOption]) -> (ChildOptions, Option<syn::Error>) {
    let mut options = ChildOptions::default();
    let mut errors = Errors::default();
    let mut seen: Vec<String> = Vec::new();
    for option in raw {
        let key = option.key.to_string();
        if seen.contains(&key) {
            errors.push(syn::Error::new(
                option.key.span(),
                format!("duplicate option `{key}`: remove one of them"),
            ));
            continue;
        }
        seen.push(key.clone());
        let value = option.value.as_ref().map(|(_, value)| value);
        let checked = match (key.as_str(), value) {
            ("name", Some(value)) => name(value).map(|name| options.name = Some(name)),
            ("start", Some(value)) => start(value).map(|lazy| options.lazy = lazy),
            ("parallel", None) => {
                options.parallel = true;
                Ok(())
            }
            ("name", None) => Err(syn::Error::new(
                option.key.span(),
                "option `name` needs a value: `name = \"fetch\"`",
            )),
            ("start", None) => Err(syn::Error::new(
                option.key.span(),
                "option `start` needs a value: `start = lazy`",
            )),
            ("parallel", Some(value)) => Err(syn::Error::new(
                value.span(),
                "option `parallel` takes no value: write `parallel`",
            )),
            _ => Err(syn::Error::new(
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
        Expr::Lit(_) => Err(syn::Error::new_spanned(
            value,
            "option `name` expects a string: `name = \"fetch\"`",
        )),
        _ => Ok(value.clone()),
    }
}

/// `start = lazy` or `start = default` (Kotlin's `CoroutineStart`).
fn start(value: &Expr) -> syn::Result<bool> {
    let word = match value {
        Expr::Path(ExprPath {
            qself: None, path, ..
        }) => path.get_ident().map(|i| i.to_string()),
        _ => None,
    };
    match word.as_deref() {
        Some("lazy") => Ok(true),
        Some("default") => Ok(false),
        _ => Err(syn::Error::new_spanned(
            value,
            format!(
                "option `start` expects `lazy` or `default`, found `{}`",
                quote::ToTokens::to_token_stream(value)
            ),
        )),
    }
}

/// Which annotation a checked fn carries, for messages.
#[derive(Clone, Copy)]
pub(crate) struct AttrName(pub(crate) &'static str);

// Input:  #[supervised(x)] fn f() -> u32 { .. }
// Output: errors on `x` (no arguments), on `fn` (not async), on `u32` (not a Result)
pub(crate) fn scoped_fn(attr: AttrName, scoped: &ScopedFn) -> syn::Result<()> {
    let AttrName(attr) = attr;
    let mut errors = Errors::default();
    if !scoped.args.is_empty() {
        errors.push(syn::Error::new_spanned(
            &scoped.args,
            format!("`#[{attr}]` takes no arguments: write `#[{attr}]`"),
        ));
    }
    let sig = &scoped.item.sig;
    if sig.asyncness.is_none() {
        errors.push(syn::Error::new(
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

/// `Result<..>` by its last path segment: `Result<T>`, `scopes::Result<T>`,
/// `Result<T, E>`, `io::Result<T>`, ... (an alias named otherwise cannot be
/// recognized before type checking).
fn returns_result(ty: &Type) -> bool {
    match ty {
        Type::Path(path) => path
            .path
            .segments
            .last()
            .is_some_and(|segment| segment.ident == "Result"),
        Type::Group(group) => returns_result(&group.elem),
        Type::Paren(paren) => returns_result(&paren.elem),
        _ => false,
    }
}

fn not_result(attr: &str, span: Span) -> syn::Error {
    syn::Error::new(
        span,
        format!(
            "`#[{attr}]` requires a fn returning `Result<T, E>`: its body is a scope, \
             which evaluates to `scopes::Result<T>` (`E` must implement `From<scopes::Error>`)"
        ),
    )
}

/// Errors gathered so that every mistake is reported in one build.
#[derive(Default)]
pub(crate) struct Errors(pub(crate) Option<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(first) => first.combine(error),
            None => self.0 = Some(error),
        }
    }
}
