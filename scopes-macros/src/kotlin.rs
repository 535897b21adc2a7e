//! The Kotlin look of the scope macros, rewritten into tokens syn can parse.
//!
//! `launch { }`, `launch(opts) { }` and `async(opts) { }` are not Rust
//! syntax, so they cannot reach `syn::Block::parse_within` as they are.
//! Before parsing a scope macro's input, each of them becomes one internal
//! marker macro, `__scopes_dsl! { launch (opts) { body } }`, which keeps the
//! user's tokens (and their spans) inside; `body.rs` then finds the markers
//! in the parsed statements, next to the bang forms.
//!
//! `launch` is the DSL only where an expression starts (after `;`, `{ }`,
//! `,`, `=`, `=>`, `|`, `:`, an opening delimiter or `return`), so
//! `s.launch(..)`, `fn launch()`, `x == launch(y)` or `if launch(x) { }` are
//! left alone; `r#launch(..)` always calls a function named `launch`.
//! Nested `coroutine_scope!`/`supervisor_scope!` inputs are left for their
//! own expansion.

use proc_macro2::{Delimiter, Group, Ident, Punct, Spacing, TokenStream, TokenTree};

use crate::diag::{self, Errors};
use crate::parse::{BlockKind, MARKER, MacroRole};

const OPTION_NAMES: [&str; 3] = ["name", "start", "parallel"];

// Input:  launch(name = "x") { a().await?; }  let d = async(start = lazy) { b() };
// Output: __scopes_dsl! { launch (name = "x") { a().await?; } }
//         let d = __scopes_dsl! { async (start = lazy) { b() } };
/// The rewritten tokens, and the errors of malformed forms: each of those
/// is rewritten as a child with an empty body, so that the rest of the
/// body still expands and raises no second error.
pub(crate) fn rewrite(input: TokenStream) -> (TokenStream, Option<syn::Error>) {
    let mut errors = Errors::default();
    let output = rewrite_stream(input, &mut errors).unwrap_or_else(|unchanged| unchanged);
    (output, errors.0)
}

/// The first Kotlin-look child form in `body` (outside nested scope
/// macros), as an error saying what to write instead: in an annotated fn's
/// body it is not Rust, which rustc has already reported where it stands,
/// without saying what to do.
pub(crate) fn kotlin_look_in_fn(body: TokenStream) -> Option<syn::Error> {
    let (rewritten, _) = rewrite(body);
    let keyword = first_rewritten_keyword(rewritten)?;
    let form = keyword.to_string();
    let message = match BlockKind::of_name(&form) {
        Some(kind) if kind.takes_duration() => format!(
            "the Kotlin look `{form}(d) {{ .. }}` is not Rust, so an annotated fn's body \
             cannot hold it: write `{form}!(d; ..)`"
        ),
        Some(_) => format!(
            "the Kotlin look `{form} {{ .. }}` is not Rust, so an annotated fn's body cannot \
             hold it: write `{form}! {{ .. }}`"
        ),
        None => format!(
            "the Kotlin look `{form} {{ .. }}` / `{form}(..) {{ .. }}` is not Rust, so an \
             annotated fn's body cannot hold it: write `{bang}! {{ .. }}`, with options \
             `{bang}!(name = \"x\"; ..)`",
            bang = if form == "async" { "r#async" } else { "launch" },
        ),
    };
    Some(diag::error(keyword.span(), message))
}

/// The keyword of the first Kotlin-look form `rewrite` turned into Rust:
/// a child's marker (`__scopes_dsl! { launch .. }`), or a block form's
/// bang path (`::scopes::with_timeout!(..)`), told from one the user wrote
/// by its `scopes`, which `block_form` locates at the keyword.
fn first_rewritten_keyword(tokens: TokenStream) -> Option<Ident> {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    for (i, token) in tokens.iter().enumerate() {
        match (token, tokens.get(i + 2)) {
            (TokenTree::Ident(name), Some(TokenTree::Group(group))) if name == MARKER => {
                if let Some(TokenTree::Ident(keyword)) = group.stream().into_iter().next() {
                    return Some(keyword);
                }
            }
            (TokenTree::Ident(name), _) if name == "scopes" => {
                if let (Some(TokenTree::Ident(keyword)), Some(TokenTree::Punct(bang))) =
                    (tokens.get(i + 3), tokens.get(i + 4))
                    && bang.as_char() == '!'
                    && BlockKind::of_name(&keyword.to_string()).is_some()
                    && name.span().source_text() == keyword.span().source_text()
                {
                    return Some(keyword.clone());
                }
            }
            (TokenTree::Group(group), _) => {
                if let Some(keyword) = first_rewritten_keyword(group.stream()) {
                    return Some(keyword);
                }
            }
            _ => {}
        }
    }
    None
}

/// The stand-in body of a malformed form, beside its error (so it never
/// runs): `{}` for a `launch` (`Ok(())`), a panic for an `async` (any type).
fn stand_in_body(keyword: &Ident, span: proc_macro2::Span) -> Group {
    let stream = match keyword == "async" {
        true => quote::quote_spanned!(span=> ::core::panic!("stand-in for a malformed child")),
        false => TokenStream::new(),
    };
    let mut body = Group::new(Delimiter::Brace, stream);
    body.set_span(span);
    body
}

/// `Ok(rewritten)` if anything changed, else `Err(original)`, so that
/// untouched groups keep their exact delimiter spans.
fn rewrite_stream(input: TokenStream, errors: &mut Errors) -> Result<TokenStream, TokenStream> {
    let tokens: Vec<TokenTree> = input.into_iter().collect();
    let mut out = Vec::with_capacity(tokens.len());
    let mut changed = false;
    let mut i = 0;
    while i < tokens.len() {
        if is_scope_macro_call(&tokens, i) {
            block_after_bang(&tokens, i, errors);
            out.extend_from_slice(&tokens[i..i + 3]);
            i += 3;
            continue;
        }
        let form = match &tokens[i] {
            TokenTree::Ident(ident) if ident == "launch" && at_expression_start(&tokens, i) => {
                launch_form(&tokens, i, errors)
            }
            TokenTree::Ident(ident) if ident == "async" => async_form(&tokens, i, errors),
            TokenTree::Ident(ident)
                if at_expression_start(&tokens, i)
                    || ((after_operator(&tokens, i) || after_head_keyword(&tokens, i))
                        && continues_as_form(&tokens, i)) =>
            {
                BlockKind::of_name(&ident.to_string())
                    .and_then(|kind| block_form(kind, &tokens, i, errors))
            }
            _ => None,
        };
        if let Some((marker, len)) = form {
            out.extend(marker);
            changed = true;
            i += len;
            continue;
        }
        match &tokens[i] {
            TokenTree::Group(group) => match rewrite_group(group, errors) {
                Some(new) => {
                    out.push(TokenTree::Group(new));
                    changed = true;
                }
                None => out.push(tokens[i].clone()),
            },
            other => out.push(other.clone()),
        }
        i += 1;
    }
    if changed {
        Ok(out.into_iter().collect())
    } else {
        Err(tokens.into_iter().collect())
    }
}

fn rewrite_group(group: &Group, errors: &mut Errors) -> Option<Group> {
    let stream = rewrite_stream(group.stream(), errors).ok()?;
    let mut new = Group::new(group.delimiter(), stream);
    new.set_span(group.span());
    Some(new)
}

/// `launch { }` / `launch(opts) { }` at `tokens[i]`: the marker and how many
/// tokens it replaces; `None` (and maybe an error) otherwise.
fn launch_form(
    tokens: &[TokenTree],
    i: usize,
    errors: &mut Errors,
) -> Option<(Vec<TokenTree>, usize)> {
    let TokenTree::Ident(keyword) = &tokens[i] else {
        return None;
    };
    match (tokens.get(i + 1), tokens.get(i + 2), tokens.get(i + 3)) {
        (Some(TokenTree::Group(body)), _, _) if body.delimiter() == Delimiter::Brace => {
            Some((marker(keyword, None, body, errors), 2))
        }
        (Some(TokenTree::Group(options)), Some(TokenTree::Group(body)), _)
            if options.delimiter() == Delimiter::Parenthesis
                && body.delimiter() == Delimiter::Brace =>
        {
            Some((marker(keyword, Some(options), body, errors), 3))
        }
        (Some(TokenTree::Group(options)), _, _)
            if options.delimiter() == Delimiter::Parenthesis && looks_like_options(options) =>
        {
            errors.push(diag::error(
                options.span(),
                "expected a block after `launch(..)`: write the child's body in braces, \
                     `launch(..) { .. }`",
            ));
            let body = stand_in_body(keyword, options.span());
            Some((marker(keyword, Some(options), &body, errors), 2))
        }
        (
            Some(TokenTree::Punct(bang)),
            Some(TokenTree::Group(options)),
            Some(TokenTree::Group(body)),
        ) if bang.as_char() == '!'
            && options.delimiter() != Delimiter::Brace
            && body.delimiter() == Delimiter::Brace =>
        {
            errors.push(diag::error(
                body.span(),
                "unexpected block after `launch!(..)`: write `launch(..) { .. }`, \
                     or put the body after the options, `launch!(name = \"x\"; ..)`",
            ));
            None
        }
        // `launch;` as a statement is a child missing its body; after `=`
        // or `,` it is a value named `launch` (plain Rust stays plain).
        (Some(TokenTree::Punct(semi)), _, _)
            if semi.as_char() == ';' && starts_statement(tokens, i) =>
        {
            errors.push(diag::error(
                keyword.span(),
                "expected a block after `launch`: write the child's body in braces, \
                     `launch { .. }`",
            ));
            let body = stand_in_body(keyword, keyword.span());
            Some((marker(keyword, None, &body, errors), 1))
        }
        _ => None,
    }
}

/// `async(opts) { }` at `tokens[i]` (a plain `async { }` is Rust syntax and
/// is left to `body.rs`).
fn async_form(
    tokens: &[TokenTree],
    i: usize,
    errors: &mut Errors,
) -> Option<(Vec<TokenTree>, usize)> {
    let TokenTree::Ident(keyword) = &tokens[i] else {
        return None;
    };
    let Some(TokenTree::Group(options)) = tokens.get(i + 1) else {
        return None;
    };
    if options.delimiter() != Delimiter::Parenthesis {
        return None;
    }
    match tokens.get(i + 2) {
        Some(TokenTree::Group(body)) if body.delimiter() == Delimiter::Brace => {
            Some((marker(keyword, Some(options), body, errors), 3))
        }
        _ => {
            errors.push(diag::error(
                options.span(),
                "expected a block after `async(..)`: write the child's body in braces, \
                     `async(..) { .. }`",
            ));
            let body = stand_in_body(keyword, options.span());
            Some((marker(keyword, Some(options), &body, errors), 2))
        }
    }
}

// Input:  with_timeout(d) { body }?      non_cancellable { body }
// Output: ::scopes::with_timeout!(d; body)?   ::scopes::non_cancellable!(body)
/// A block form at `tokens[i]`: the bang form and how many tokens it
/// replaces. The body is left as written: the bang macro rewrites its own
/// Kotlin look. `with_timeout(d, fut)` (no block after it) is the runtime
/// fn and stays.
fn block_form(
    kind: BlockKind,
    tokens: &[TokenTree],
    i: usize,
    errors: &mut Errors,
) -> Option<(Vec<TokenTree>, usize)> {
    let TokenTree::Ident(keyword) = &tokens[i] else {
        return None;
    };
    let group = |at: usize, delimiter| match tokens.get(at) {
        Some(TokenTree::Group(group)) if group.delimiter() == delimiter => Some(group),
        _ => None,
    };
    let (duration, body, len) = if kind.takes_duration() {
        let duration = group(i + 1, Delimiter::Parenthesis)?;
        (Some(duration), group(i + 2, Delimiter::Brace)?, 3)
    } else if let (Some(args), Some(body)) = (
        group(i + 1, Delimiter::Parenthesis),
        group(i + 2, Delimiter::Brace),
    ) {
        // `non_cancellable(x) { .. }`: the block form takes no argument.
        errors.push(diag::error(
            args.span(),
            format!(
                "`{0} {{ .. }}` takes no argument: write `{0} {{ .. }}`",
                kind.name()
            ),
        ));
        (None, body, 3)
    } else {
        (None, group(i + 1, Delimiter::Brace)?, 2)
    };
    // In the head of an `if`, `while`, `match` or `for`, the block after
    // the form is that construct's, not a next statement.
    let dropped =
        !in_construct_head(tokens, i) && tokens.get(i + len).is_some_and(starts_another_statement);
    if dropped {
        let form = match kind.takes_duration() {
            true => format!("`{}(..) {{ .. }}`", kind.name()),
            false => format!("`{} {{ .. }}`", kind.name()),
        };
        let written: TokenStream = tokens[i..i + len].iter().cloned().collect();
        errors.push(diag::error_spanned(
            written,
            format!("{form} gives a `scopes::Result`: end it with `?;` to pass a failure on"),
        ));
    }
    let mut input: Vec<TokenTree> = Vec::new();
    if let Some(duration) = duration {
        input.extend(duration.stream());
        let mut semi = Punct::new(';', Spacing::Alone);
        semi.set_span(duration.span_close());
        input.push(TokenTree::Punct(semi));
    }
    input.extend(body.stream());
    let mut args = Group::new(Delimiter::Parenthesis, input.into_iter().collect());
    args.set_span(body.span());
    let span = keyword.span();
    let colons = || {
        let mut first = Punct::new(':', Spacing::Joint);
        first.set_span(span);
        let mut second = Punct::new(':', Spacing::Alone);
        second.set_span(span);
        [TokenTree::Punct(first), TokenTree::Punct(second)]
    };
    let mut bang = Punct::new('!', Spacing::Alone);
    bang.set_span(span);
    let mut out = Vec::with_capacity(7);
    out.extend(colons());
    out.push(TokenTree::Ident(Ident::new("scopes", span)));
    out.extend(colons());
    out.push(TokenTree::Ident(keyword.clone()));
    out.push(TokenTree::Punct(bang));
    out.push(TokenTree::Group(args));
    if dropped {
        // Beside the error, the next statement stays one (`*r += 1` would
        // read as a product with the block's `Result`, more errors).
        let mut question = Punct::new('?', Spacing::Alone);
        question.set_span(span);
        let mut semi = Punct::new(';', Spacing::Alone);
        semi.set_span(span);
        out.extend([TokenTree::Punct(question), TokenTree::Punct(semi)]);
    }
    Some((out, len))
}

/// `with_timeout!(d) { .. }`: a bang form's options or duration, then a
/// block that would be a separate statement.
fn block_after_bang(tokens: &[TokenTree], i: usize, errors: &mut Errors) {
    let (TokenTree::Ident(name), Some(TokenTree::Group(args)), Some(TokenTree::Group(body))) =
        (&tokens[i], tokens.get(i + 2), tokens.get(i + 3))
    else {
        return;
    };
    let Some(kind) = BlockKind::of_name(&name.to_string()) else {
        return;
    };
    if args.delimiter() == Delimiter::Parenthesis && body.delimiter() == Delimiter::Brace {
        let name = kind.name();
        let fix = match kind.takes_duration() {
            true => format!("`{name}(d) {{ .. }}`"),
            false => format!("`{name} {{ .. }}`"),
        };
        errors.push(diag::error(
            body.span(),
            format!("unexpected block after `{name}!(..)`: write {fix}, without `!`"),
        ));
    }
}

/// Whether a token after a block form starts the next statement: the form
/// was written as a statement without `;`, which would drop its `Result`.
/// A word, a block, and what cannot continue an expression giving a
/// `Result` but starts one: `*r += 1`, `(a, b) = ..`, `[x] = ..`, `&x`,
/// `-x`, `!x`, `#[attr]`, `|x| ..` (a `Result` is neither called, indexed
/// nor an operand of those operators).
fn starts_another_statement(next: &TokenTree) -> bool {
    match next {
        TokenTree::Ident(ident) => ident != "as",
        TokenTree::Group(_) => true,
        TokenTree::Punct(punct) => matches!(punct.as_char(), '*' | '&' | '-' | '!' | '#' | '|'),
        TokenTree::Literal(_) => false,
    }
}

/// `__scopes_dsl! { keyword (options) { body } }`, the body rewritten too
/// (a child body is a scope of its own).
fn marker(
    keyword: &Ident,
    options: Option<&Group>,
    body: &Group,
    errors: &mut Errors,
) -> Vec<TokenTree> {
    let body = rewrite_group(body, errors).unwrap_or_else(|| body.clone());
    let mut inner = vec![TokenTree::Ident(keyword.clone())];
    inner.extend(options.cloned().map(TokenTree::Group));
    inner.push(TokenTree::Group(body.clone()));
    let mut group = Group::new(Delimiter::Brace, inner.into_iter().collect());
    group.set_span(body.span());
    let mut bang = Punct::new('!', Spacing::Alone);
    bang.set_span(keyword.span());
    vec![
        TokenTree::Ident(Ident::new(MARKER, keyword.span())),
        TokenTree::Punct(bang),
        TokenTree::Group(group),
    ]
}

/// Whether `tokens[i]` starts an expression, judging by the token before it.
/// Whether `tokens[i]` starts a statement: first, or after `;` or a block.
fn starts_statement(tokens: &[TokenTree], i: usize) -> bool {
    match i.checked_sub(1).map(|p| &tokens[p]) {
        None => true,
        Some(TokenTree::Punct(punct)) => punct.as_char() == ';',
        Some(TokenTree::Group(group)) => group.delimiter() == Delimiter::Brace,
        Some(_) => false,
    }
}

fn at_expression_start(tokens: &[TokenTree], i: usize) -> bool {
    let Some(prev) = i.checked_sub(1).map(|p| &tokens[p]) else {
        return true;
    };
    let joint_before = |p: usize| {
        p.checked_sub(1)
            .and_then(|q| tokens.get(q))
            .is_some_and(|tt| matches!(tt, TokenTree::Punct(p) if p.spacing() == Spacing::Joint))
    };
    match prev {
        TokenTree::Group(group) => group.delimiter() == Delimiter::Brace,
        TokenTree::Ident(ident) => ident == "return",
        TokenTree::Literal(_) => false,
        TokenTree::Punct(punct) => match punct.as_char() {
            ';' | ',' | '|' => true,
            // `=` but not `==`, `<=`, `+=`, ...
            '=' | ':' => !joint_before(i - 1),
            // `=>`
            '>' => i
                .checked_sub(2)
                .and_then(|p| tokens.get(p))
                .is_some_and(|tt| matches!(tt, TokenTree::Punct(p) if p.as_char() == '=' && p.spacing() == Spacing::Joint)),
            _ => false,
        },
    }
}

/// Whether `tokens[i]` is an operand of an operator (`base + with_timeout(d)
/// { .. }?`, `!non_cancellable { .. }?`): a block form is an expression
/// (SPEC §2a), so it is one there too. Only for the block forms: a value
/// named `launch` in `if !launch { .. }` stays plain Rust.
fn after_operator(tokens: &[TokenTree], i: usize) -> bool {
    let Some(TokenTree::Punct(punct)) = i.checked_sub(1).map(|p| &tokens[p]) else {
        return false;
    };
    let before = i.checked_sub(2).map(|p| &tokens[p]);
    let arrow = matches!(before, Some(TokenTree::Punct(p)) if p.as_char() == '-' && p.spacing() == Spacing::Joint);
    match punct.as_char() {
        '+' | '-' | '*' | '/' | '%' | '!' | '&' | '^' | '<' => true,
        '>' => !arrow,
        _ => false,
    }
}

/// After an operator or a head keyword, a block form is one only if what
/// follows its block continues an expression (`?`, `.`) or is the
/// construct's own block (`match with_timeout(d) { .. } { arms }`): a
/// value named `non_cancellable` (`if non_cancellable { .. }`,
/// `if !non_cancellable { .. }`) or a fn named `with_timeout` stays plain.
fn continues_as_form(tokens: &[TokenTree], i: usize) -> bool {
    let brace = |at: usize| matches!(tokens.get(at), Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Brace);
    let paren = |at: usize| matches!(tokens.get(at), Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Parenthesis);
    let end = if paren(i + 1) && brace(i + 2) {
        i + 3
    } else if brace(i + 1) {
        i + 2
    } else {
        return false;
    };
    match tokens.get(end) {
        Some(TokenTree::Punct(p)) => p.as_char() == '?' || p.as_char() == '.',
        Some(TokenTree::Group(g)) => g.delimiter() == Delimiter::Brace,
        _ => false,
    }
}

/// Whether `tokens[i]` follows `match`, `if`, `while` or `in` (a `for`'s):
/// a block form is the head's expression there too
/// (`match with_timeout(d) { .. } { arms }`).
fn after_head_keyword(tokens: &[TokenTree], i: usize) -> bool {
    matches!(i.checked_sub(1).map(|p| &tokens[p]),
        Some(TokenTree::Ident(word)) if ["match", "if", "while", "in"].iter().any(|k| word == k))
}

/// Whether `tokens[i]` is in the head of an `if`, `while`, `match` or
/// `for` (`if let Ok(v) = with_timeout(d) { .. } { .. }`): the nearest of
/// those words before it, back to the start of the statement.
fn in_construct_head(tokens: &[TokenTree], i: usize) -> bool {
    for token in tokens[..i].iter().rev() {
        match token {
            TokenTree::Punct(punct) if punct.as_char() == ';' => return false,
            TokenTree::Group(group) if group.delimiter() == Delimiter::Brace => return false,
            TokenTree::Ident(word) if ["if", "while", "match", "for"].iter().any(|k| word == k) => {
                return true;
            }
            _ => {}
        }
    }
    false
}

/// `coroutine_scope! (..)` / `supervisor_scope! { .. }` or a block form's
/// bang macro at `tokens[i]` (also after `scopes::`): it rewrites its own
/// input.
pub(crate) fn is_scope_macro_call(tokens: &[TokenTree], i: usize) -> bool {
    match (&tokens[i], tokens.get(i + 1), tokens.get(i + 2)) {
        (TokenTree::Ident(name), Some(TokenTree::Punct(bang)), Some(TokenTree::Group(_))) => {
            bang.as_char() == '!'
                && matches!(
                    MacroRole::of_path(false, std::iter::once(name)),
                    MacroRole::Scope | MacroRole::Block(_)
                )
        }
        _ => false,
    }
}

/// `(name ..)`, `(start ..)`, `(parallel ..)`: options without a block.
fn looks_like_options(group: &Group) -> bool {
    let mut tokens = group.stream().into_iter();
    let first = tokens.next();
    let second = tokens.next();
    matches!(&first, Some(TokenTree::Ident(ident)) if OPTION_NAMES.iter().any(|name| ident == name))
        && match second {
            None => true,
            Some(TokenTree::Punct(p)) => p.as_char() == '=' || p.as_char() == ',',
            Some(_) => false,
        }
}
