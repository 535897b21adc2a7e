//! Typed AST of the DSL: the forms that start a child, their options, and
//! the annotated fn. Parsing keeps the user's tokens (and so their spans);
//! what the options *mean* is checked in `valid.rs`.

use proc_macro2::{Span, TokenStream, TokenTree};
use syn::ext::IdentExt as _;
use syn::parse::{ParseStream, Parser as _};
use syn::punctuated::Punctuated;
use syn::{Attribute, Block, Expr, ExprAsync, Ident, ItemFn, Macro, MacroDelimiter, Stmt, Token};

use crate::diag;

/// The internal marker macro `kotlin.rs` writes for the Kotlin look
/// (`__scopes_dsl! { launch (opts) { .. } }`); no user code spells it.
pub(crate) const MARKER: &str = "__scopes_dsl";

/// What a child form starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ChildKind {
    /// `launch`: a child yielding a `Job`.
    Launch,
    /// `async`: a child yielding a `Deferred<T>`.
    Async,
}

/// A form that starts a child, from any of its spellings:
///
/// ```text
/// launch { body }            launch(opts) { body }     async(opts) { body }
/// launch! { body }           launch!(opts; body)       r#async!(opts; body)
/// async { body }             (non-`move`, in a scope body)
/// ```
pub(crate) struct Child {
    pub(crate) kind: ChildKind,
    /// The user's `launch`/`async` token: the child's default name is its
    /// location, and rustc's errors about the call land on it.
    pub(crate) keyword: Span,
    /// Attributes written on an `async { }` block; kept on the child's future.
    pub(crate) attrs: Vec<Attribute>,
    pub(crate) options: Vec<RawOption>,
    /// The span of the body's braces (or of the bang form's delimiters).
    pub(crate) brace: Span,
    pub(crate) body: Vec<Stmt>,
}

/// One option as written: `key` or `key = value`, before validation.
pub(crate) struct RawOption {
    pub(crate) key: Ident,
    pub(crate) value: Option<(Token![=], Expr)>,
}

/// What a macro invocation found in a scope body is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MacroRole {
    /// A Kotlin-look form rewritten by `kotlin.rs` into the internal marker.
    Marker,
    /// `launch! { .. }` / `launch!(..; ..)` (also `scopes::launch!`).
    LaunchBang,
    /// `r#async! { .. }` / `r#async!(..; ..)` (also `scopes::r#async!`).
    AsyncBang,
    /// A nested `coroutine_scope!`/`supervisor_scope!`: it expands itself.
    Scope,
    /// `with_timeout!`, `with_timeout_or_none!`, `non_cancellable!` (also
    /// what the Kotlin look `with_timeout(d) { .. }` becomes): a block that
    /// expands itself, a scope of its own when it starts children.
    Block(BlockKind),
    /// Any other macro: its input is not part of the scope.
    Other,
}

impl MacroRole {
    pub(crate) fn of(mac: &Macro) -> Self {
        Self::of_path(
            mac.path.leading_colon.is_some(),
            mac.path.segments.iter().map(|s| &s.ident),
        )
    }

    /// `launch`, `scopes::launch` and `::scopes::launch` are the DSL;
    /// `other::launch` is not.
    pub(crate) fn of_path<'a>(
        leading_colon: bool,
        segments: impl Iterator<Item = &'a Ident>,
    ) -> Self {
        let segments: Vec<String> = segments.map(|ident| ident.unraw().to_string()).collect();
        let name = match segments.as_slice() {
            [name] if !leading_colon => name.as_str(),
            [krate, name] if krate == "scopes" => name.as_str(),
            _ => return Self::Other,
        };
        match name {
            MARKER if segments.len() == 1 => Self::Marker,
            "launch" => Self::LaunchBang,
            "async" => Self::AsyncBang,
            "coroutine_scope" | "supervisor_scope" => Self::Scope,
            name => BlockKind::of_name(name).map_or(Self::Other, Self::Block),
        }
    }

    /// How the form is named in messages.
    pub(crate) fn form(self) -> &'static str {
        match self {
            Self::LaunchBang => "`launch!`",
            Self::AsyncBang => "`r#async!`",
            _ => "this form",
        }
    }
}

impl Child {
    /// `async { body }`, a non-`move` async block in a scope body.
    pub(crate) fn from_async_block(block: ExprAsync) -> Self {
        Self {
            kind: ChildKind::Async,
            keyword: block.async_token.span,
            attrs: block.attrs,
            options: Vec::new(),
            brace: block.block.brace_token.span.join(),
            body: block.block.stmts,
        }
    }

    /// A child macro: the internal marker or a bang form.
    pub(crate) fn from_macro(mac: &Macro, role: MacroRole) -> syn::Result<Self> {
        match role {
            MacroRole::Marker => mac.parse_body_with(parse_marker),
            MacroRole::LaunchBang => parse_bang(mac, ChildKind::Launch),
            MacroRole::AsyncBang => parse_bang(mac, ChildKind::Async),
            MacroRole::Scope | MacroRole::Block(_) | MacroRole::Other => Err(diag::error_spanned(
                mac,
                "internal error: not a child form (please report it)",
            )),
        }
    }
}

// Input:  `launch (name = "x") { body }` after kotlin.rs, i.e. the tokens of
//         `__scopes_dsl! { launch (name = "x") { body } }`
// Output: Child { kind: Launch, options: [name = "x"], body }
fn parse_marker(input: ParseStream) -> syn::Result<Child> {
    let keyword = input.call(Ident::parse_any)?;
    let kind = if keyword == "async" {
        ChildKind::Async
    } else {
        ChildKind::Launch
    };
    let options = if input.peek(syn::token::Paren) {
        let content;
        syn::parenthesized!(content in input);
        parse_options(&content)?
    } else {
        Vec::new()
    };
    let content;
    let brace = syn::braced!(content in input);
    let body = content.call(Block::parse_within)?;
    Ok(Child {
        kind,
        keyword: keyword.span(),
        attrs: Vec::new(),
        options,
        brace: brace.span.join(),
        body,
    })
}

// Input:  `launch! { body }` or `launch!(name = "x", parallel; body)`
// Output: Child { kind: Launch, options, body }
fn parse_bang(mac: &Macro, kind: ChildKind) -> syn::Result<Child> {
    let keyword = mac
        .path
        .segments
        .last()
        .map_or_else(Span::call_site, |s| s.ident.span());
    let (brace, options, body) = match &mac.delimiter {
        MacroDelimiter::Brace(brace) => (brace.span.join(), Vec::new(), mac.tokens.clone()),
        MacroDelimiter::Paren(paren) => {
            let (options, body) = split_options(mac, paren.span.join())?;
            (paren.span.join(), options, body)
        }
        MacroDelimiter::Bracket(bracket) => {
            let (options, body) = split_options(mac, bracket.span.join())?;
            (bracket.span.join(), options, body)
        }
    };
    Ok(Child {
        kind,
        keyword,
        attrs: Vec::new(),
        options,
        brace,
        body: Block::parse_within.parse2(body)?,
    })
}

/// Splits `opts; body` at the first top-level `;`.
fn split_options(mac: &Macro, span: Span) -> syn::Result<(Vec<RawOption>, TokenStream)> {
    let mut tokens = mac.tokens.clone().into_iter();
    let options: TokenStream = tokens
        .by_ref()
        .take_while(|tt| !matches!(tt, TokenTree::Punct(p) if p.as_char() == ';'))
        .collect();
    let body: TokenStream = tokens.collect();
    let has_semi = mac
        .tokens
        .clone()
        .into_iter()
        .any(|tt| matches!(&tt, TokenTree::Punct(p) if p.as_char() == ';'));
    if !has_semi {
        let form = MacroRole::of(mac).form();
        return Err(diag::error(
            span,
            format!(
                "expected `options; body` in the parentheses of {form}: \
                 write the options before a `;` (`(name = \"x\"; ..)`), \
                 or put a body without options in braces (`{{ .. }}`)"
            ),
        ));
    }
    Ok((parse_options.parse2(options)?, body))
}

/// `name = "x", start = lazy, parallel` (a trailing comma is fine).
pub(crate) fn parse_options(input: ParseStream) -> syn::Result<Vec<RawOption>> {
    let expected = "expected an option: `name = \"..\"`, `start = lazy` or `parallel`";
    options_list(input, expected)
}

/// A scope's options: `limit = 4, local` (a trailing comma is fine).
pub(crate) fn parse_scope_options(input: ParseStream) -> syn::Result<Vec<RawOption>> {
    options_list(input, "expected a scope option: `limit = n` or `local`")
}

fn options_list(input: ParseStream, expected: &'static str) -> syn::Result<Vec<RawOption>> {
    let mut options = Vec::new();
    while !input.is_empty() {
        let option = parse_option(input, expected)?;
        let key = option.key.to_string();
        options.push(option);
        if input.is_empty() {
            break;
        }
        input.parse::<Token![,]>().map_err(|e| {
            diag::error(
                e.span(),
                format!(
                    "expected `,` before the next option, or `=` and a value after \
                     `{key}`: options read `name = \"fetch\", parallel`"
                ),
            )
        })?;
    }
    Ok(options)
}

fn parse_option(input: ParseStream, expected: &'static str) -> syn::Result<RawOption> {
    let key = input
        .call(Ident::parse_any)
        .map_err(|e| diag::error(e.span(), expected))?;
    let value = if input.peek(Token![=]) && !input.peek(Token![==]) {
        let eq: Token![=] = input.parse()?;
        // On `key =`, not where the value is missing: at the end of an
        // attribute's or a macro's input that is the whole invocation.
        let value = input.parse().map_err(|_| {
            diag::error_spanned(
                quote::quote!(#key #eq),
                format!(
                    "expected a value after `{key} =`: as in `{}`",
                    option_example(&key.to_string())
                ),
            )
        })?;
        Some((eq, value))
    } else {
        None
    };
    Ok(RawOption { key, value })
}

/// An option written with its value, for the error of one without.
fn option_example(key: &str) -> String {
    match key {
        "name" => "name = \"fetch\"".to_owned(),
        "limit" => "limit = 4".to_owned(),
        "start" => "start = lazy".to_owned(),
        "capacity" => "capacity = 16".to_owned(),
        other => format!("{other} = .."),
    }
}

/// The input of `coroutine_scope!` / `supervisor_scope!`: options, if the
/// first statement is an option list, then the body's tokens.
pub(crate) struct ScopeInput {
    pub(crate) options: Vec<RawOption>,
    pub(crate) body: TokenStream,
}

/// The scope options there are, in the order messages list them.
const SCOPE_OPTIONS: [&str; 2] = ["limit", "local"];

impl ScopeInput {
    // Input:  limit = 4, local; let a = async { .. }; ..
    // Output: ScopeInput { options: [limit = 4, local], body: `let a = async { .. }; ..` }
    /// A proc macro does not see its delimiters, so `coroutine_scope!(limit = 4; ..)`
    /// and `coroutine_scope! { limit = 4; .. }` are the same input: the
    /// tokens before the first top-level `;` are options when they parse as
    /// an option list that is not a statement: two or more options
    /// (`a = 1, b;` is not Rust), or one starting with a scope option's
    /// name (`local;`, `limit = 4;`: to assign a variable named `limit`
    /// first, write `{ limit = 4; }`). Other first statements (`x = 5;`,
    /// `launch;`) are the body's.
    pub(crate) fn split(input: TokenStream) -> syn::Result<Self> {
        let tokens: Vec<TokenTree> = input.clone().into_iter().collect();
        let semi = tokens
            .iter()
            .position(|tt| matches!(tt, TokenTree::Punct(p) if p.as_char() == ';'));
        let Some(semi) = semi else {
            return Self::without_semicolon(input);
        };
        let head: TokenStream = tokens[..semi].iter().cloned().collect();
        let options = match scope_option_list.parse2(head) {
            Ok(options) if is_option_list(&options) => options,
            _ => {
                return Ok(Self {
                    options: Vec::new(),
                    body: input,
                });
            }
        };
        Ok(Self {
            options: options.into_iter().collect(),
            body: tokens[semi + 1..].iter().cloned().collect(),
        })
    }

    /// `coroutine_scope!(limit = 4)`: options and no body is an error; any
    /// other input without a `;` is a body.
    fn without_semicolon(input: TokenStream) -> syn::Result<Self> {
        match scope_option_list.parse2(input.clone()) {
            Ok(options) if is_option_list(&options) && options_start_known(&options) => {
                Err(diag::error_spanned(
                    input,
                    "expected `;` and the scope's body after the options: \
                     `coroutine_scope!(limit = 4; ..)`",
                ))
            }
            _ => Ok(Self {
                options: Vec::new(),
                body: input,
            }),
        }
    }
}

/// An option list whose keys are names, not keywords (`return;` is a
/// statement).
fn scope_option_list(input: ParseStream) -> syn::Result<Punctuated<RawOption, Token![,]>> {
    Punctuated::parse_terminated_with(input, |input| {
        let key: Ident = input.parse()?;
        let value = if input.peek(Token![=]) && !input.peek(Token![==]) {
            Some((input.parse()?, input.parse()?))
        } else {
            None
        };
        Ok(RawOption { key, value })
    })
}

fn is_option_list(options: &Punctuated<RawOption, Token![,]>) -> bool {
    options.len() > 1 || options.trailing_punct() || options_start_known(options)
}

fn options_start_known(options: &Punctuated<RawOption, Token![,]>) -> bool {
    options
        .first()
        .is_some_and(|first| SCOPE_OPTIONS.iter().any(|known| first.key == known))
}

/// Kotlin's block builders that take a block: `withTimeout(d) { }`,
/// `withTimeoutOrNull(d) { }`, `withContext(NonCancellable) { }`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BlockKind {
    /// `with_timeout(d) { .. }`: `scopes::Result<T>`, a timeout is an `Err`.
    Timeout,
    /// `with_timeout_or_none(d) { .. }`: `scopes::Result<Option<T>>`.
    TimeoutOrNone,
    /// `non_cancellable { .. }`: `scopes::Result<T>`, run to the end.
    NonCancellable,
}

impl BlockKind {
    pub(crate) fn of_name(name: &str) -> Option<Self> {
        match name {
            "with_timeout" => Some(Self::Timeout),
            "with_timeout_or_none" => Some(Self::TimeoutOrNone),
            "non_cancellable" => Some(Self::NonCancellable),
            _ => None,
        }
    }

    /// The name of the form, of its bang macro and of the runtime fn.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Timeout => "with_timeout",
            Self::TimeoutOrNone => "with_timeout_or_none",
            Self::NonCancellable => "non_cancellable",
        }
    }

    /// `with_timeout(d) { }` takes a duration; `non_cancellable { }` none.
    pub(crate) fn takes_duration(self) -> bool {
        self != Self::NonCancellable
    }
}

/// A block form, from either spelling:
///
/// ```text
/// with_timeout(d) { body }       with_timeout!(d; body)
/// non_cancellable { body }       non_cancellable! { body }
/// ```
///
/// The Kotlin look is rewritten by `kotlin.rs` into the bang form, so this
/// is always parsed from a bang macro's input.
pub(crate) struct BlockForm {
    pub(crate) kind: BlockKind,
    /// The macro's span: errors about the call land there.
    pub(crate) keyword: Span,
    pub(crate) duration: Option<Expr>,
    pub(crate) body: Vec<Stmt>,
}

impl BlockForm {
    // Input:  `d; body` (with_timeout!, with_timeout_or_none!) or `body` (non_cancellable!)
    // Output: BlockForm { duration: Some(d), body }
    /// `keyword`: the macro's span (`Span::call_site()` when it expands
    /// itself, its name when a local scope expands it in place).
    pub(crate) fn parse(kind: BlockKind, keyword: Span, input: TokenStream) -> syn::Result<Self> {
        let parser = |input: ParseStream| {
            let duration = if kind.takes_duration() {
                let duration: Expr = input.parse().map_err(|e| {
                    diag::error(
                        e.span(),
                        format!(
                            "expected a duration: `{}(Duration::from_secs(1)) {{ .. }}`",
                            kind.name()
                        ),
                    )
                })?;
                if !input.peek(Token![;]) {
                    let name = kind.name();
                    return Err(input.error(format!(
                        "expected `;` after the duration: write `{name}!(d; ..)`"
                    )));
                }
                input.parse::<Token![;]>()?;
                Some(duration)
            } else {
                None
            };
            let body = input.call(Block::parse_within)?;
            Ok(BlockForm {
                kind,
                keyword,
                duration,
                body,
            })
        };
        if kind.takes_duration() && input.is_empty() {
            let name = kind.name();
            return Err(diag::error(
                keyword,
                format!("expected a duration and a body: `{name}!(d; ..)`"),
            ));
        }
        parser.parse2(input)
    }
}

/// An `async fn` under `#[supervised]` / `#[coroutine_scope]`, with the
/// attribute's own arguments: the scope's options (`limit = 4, local`).
pub(crate) struct ScopedFn {
    pub(crate) options: Vec<RawOption>,
    pub(crate) item: ItemFn,
}

impl ScopedFn {
    /// The item, or `None` if it is not a fn; the options, or none and
    /// their error (the fn still expands, as a scope without options).
    pub(crate) fn parse(
        args: TokenStream,
        item: TokenStream,
    ) -> Option<(Self, Option<syn::Error>)> {
        let item: ItemFn = syn::parse2(item).ok()?;
        let (options, error) = match parse_scope_options.parse2(args) {
            Ok(options) => (options, None),
            Err(error) => (Vec::new(), Some(error)),
        };
        Some((Self { options, item }, error))
    }
}

/// A fn whose body is not valid Rust (rustc has reported where already):
/// the fn with an empty body, for a stand-in, and the body's tokens;
/// `None` if the item is not a fn, or its body parses (its error is
/// elsewhere).
pub(crate) fn fn_with_broken_body(item: TokenStream) -> Option<(ItemFn, TokenStream)> {
    let mut tokens: Vec<TokenTree> = item.into_iter().collect();
    let body = match tokens.pop()? {
        TokenTree::Group(body) if body.delimiter() == proc_macro2::Delimiter::Brace => body,
        _ => return None,
    };
    Block::parse_within.parse2(body.stream()).err()?;
    let head: TokenStream = tokens.into_iter().collect();
    let item = syn::parse2(quote::quote!(#head {})).ok()?;
    Some((item, body.stream()))
}

/// `launch! { }`, `r#async!(..)` or the Kotlin look's marker: a child form
/// (`body.rs` rewrites them, `expand.rs` sees one as a body's tail).
pub(crate) fn is_child_macro(mac: &Macro) -> bool {
    matches!(
        MacroRole::of(mac),
        MacroRole::Marker | MacroRole::LaunchBang | MacroRole::AsyncBang
    )
}
