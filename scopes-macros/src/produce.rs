//! `produce!`: Kotlin's `produce { }`, a producer child owning the sending
//! side of a channel; it evaluates to the receiver. Parse, check and expand
//! in one place, on top of the child machinery (`body::rewrite`, passed in, for the
//! producer's own children, `expand::needs_implicit_ok` for its `Ok(())`).
//!
//! ```text
//! produce!(|tx| body)                               capacity 0 (rendezvous), as Kotlin's default
//! produce!(capacity = 16; |tx| body)                options, `;`, then a one-parameter closure
//! produce!(capacity = UNLIMITED, name = "ticks"; move |tx: Sender<u64>| body)
//! ```
//!
//! The body is a `launch` body: statements, `Ok(())` when it ends without
//! a value, children of its own in a nested scope. The form is a bang
//! macro so that it parses in annotated fns too (an annotated body must be
//! valid Rust before the attribute sees it).

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::{quote, quote_spanned};
use syn::parse::{ParseStream, Parser as _};
use syn::{Block, Expr, Ident, Macro, Pat, Token, Type};

use crate::diag::{self, Errors};
use crate::expand;
use crate::parse::{Child, ChildKind, RawOption, parse_options};

/// `produce!`, `scopes::produce!` or `::scopes::produce!`.
pub(crate) fn is_produce(mac: &Macro) -> bool {
    let segments: Vec<String> = mac
        .path
        .segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect();
    match segments.as_slice() {
        [name] => mac.path.leading_colon.is_none() && name == "produce",
        [krate, name] => krate == "scopes" && name == "produce",
        _ => false,
    }
}

/// A parsed `produce!`.
struct Produce {
    keyword: Span,
    options: Vec<RawOption>,
    param: Pat,
    ty: Option<Type>,
    brace: Span,
    body: Vec<syn::Stmt>,
}

// Input:  produce!(capacity = 4, name = "numbers"; |tx| for i in 0.. { tx.send(i).await?; })
// Output: scope.child().name("numbers").produce(4, move |tx| async move {
//             for i in 0.. { tx.send(i).await?; } ::scopes::__private::Ok(())
//         })
/// The expansion, or the errors in place of the form (an error has any
/// type, so the code around it raises no second one). `rewrite_body` is
/// `body::rewrite`, passed in so that this module stays below `body.rs`
/// (which dispatches `produce!` here): the producer's children.
pub(crate) fn expand(mac: &Macro, rewrite_body: fn(&mut [syn::Stmt], bool) -> bool) -> Expr {
    let mut produce = match parse(mac) {
        Ok(produce) => produce,
        Err(error) => return expand::error_expr(error),
    };
    let (capacity, name, error) = options(&produce.options);
    let keyword = produce.keyword;
    // The body is a `launch` body: `Ok(())` when it ends without a value,
    // a nested scope when it starts children of its own.
    let async_body: syn::ExprAsync = syn::parse_quote!(async {});
    let mut child = Child::from_async_block(async_body);
    child.kind = ChildKind::Launch;
    child.body = std::mem::take(&mut produce.body);
    // `Scope::produce` is a plain scope's: its producer is `Send`.
    let nested = rewrite_body(&mut child.body, false);
    let implicit_ok = expand::needs_implicit_ok(&mut child);
    let stmts = &child.body;
    let ok = implicit_ok.then(|| quote!(::scopes::__private::Ok(())));
    let s = Ident::new("scope", Span::mixed_site().located_at(keyword));
    let body = quote_spanned!(produce.brace=> { #(#stmts)* #ok });
    let body = if nested {
        quote_spanned! {produce.brace=> {
            ::scopes::coroutine_scope(move |#s| ::scopes::__private::Box::pin(async move #body)).await
        }}
    } else {
        body
    };
    let param = &produce.param;
    let param = match &produce.ty {
        Some(ty) => quote!(#param: #ty),
        None => quote!(#param),
    };
    let closure = quote_spanned!(produce.brace=> move |#param| async move #body);
    let capacity = capacity.unwrap_or_else(|| quote!(0));
    let method = Ident::new("produce", keyword);
    // `child()` and `produce` are `#[track_caller]`: the child is named
    // after the user's `produce` token.
    let call = match name {
        Some(name) => {
            let builder = Ident::new("child", keyword);
            quote_spanned!(keyword=> #s.#builder().name(#name).#method(#capacity, #closure))
        }
        None => quote_spanned!(keyword=> #s.#method(#capacity, #closure)),
    };
    let expr = Expr::Verbatim(call);
    match error {
        Some(error) => expand::with_error(error, expr),
        None => expr,
    }
}

// Input:  the tokens of `produce!(capacity = 4; move |tx: Sender<u32>| stmts)`
// Output: Produce { options: [capacity = 4], param: tx, ty: Sender<u32>, body: stmts }
fn parse(mac: &Macro) -> syn::Result<Produce> {
    let keyword = mac
        .path
        .segments
        .last()
        .map_or_else(Span::call_site, |s| s.ident.span());
    let brace = match &mac.delimiter {
        syn::MacroDelimiter::Paren(d) => d.span.join(),
        syn::MacroDelimiter::Brace(d) => d.span.join(),
        syn::MacroDelimiter::Bracket(d) => d.span.join(),
    };
    let tokens: Vec<TokenTree> = mac.tokens.clone().into_iter().collect();
    let starts_with_closure = match tokens.first() {
        Some(TokenTree::Punct(p)) => p.as_char() == '|',
        Some(TokenTree::Ident(i)) => i == "move",
        _ => false,
    };
    let (options, rest) = if starts_with_closure {
        (Vec::new(), mac.tokens.clone())
    } else {
        let semi = tokens
            .iter()
            .position(|tt| matches!(tt, TokenTree::Punct(p) if p.as_char() == ';'))
            .ok_or_else(|| diag::error(brace, EXPECTED_FORM))?;
        let options: TokenStream = tokens[..semi].iter().cloned().collect();
        let rest: TokenStream = tokens[semi + 1..].iter().cloned().collect();
        (parse_options.parse2(options)?, rest)
    };
    let (param, ty, body) = (|input: ParseStream| {
        let _: Option<Token![move]> = input.parse()?;
        let _: Token![|] = input
            .parse()
            .map_err(|e| diag::error(e.span(), EXPECTED_FORM))?;
        let param = Pat::parse_single(input)?;
        let ty = if input.peek(Token![:]) {
            let _: Token![:] = input.parse()?;
            Some(input.parse::<Type>()?)
        } else {
            None
        };
        let _: Token![|] = input.parse().map_err(|e| {
            diag::error(
                e.span(),
                "expected `|` after the sender: `produce!(|tx| ..)` takes one parameter",
            )
        })?;
        let mut body = Block::parse_within(input)?;
        // `|tx| { .. }`: the braces are the closure's, not a block inside
        // the body (which rustc's `unused_braces` would flag on the user's
        // code).
        if let [syn::Stmt::Expr(syn::Expr::Block(block), None)] = body.as_mut_slice()
            && block.attrs.is_empty()
            && block.label.is_none()
        {
            body = std::mem::take(&mut block.block.stmts);
        }
        Ok((param, ty, body))
    })
    .parse2(rest)?;
    Ok(Produce {
        keyword,
        options,
        param,
        ty,
        brace,
        body,
    })
}

const EXPECTED_FORM: &str = "expected `produce!(|tx| ..)` or `produce!(capacity = n, name = \"..\"; |tx| ..)`: \
     options, then `;`, then the producer as a one-parameter closure";

// Input:  capacity = 4, name = "x", capacity = 8, color = red
// Output: (Some(4), Some("x"), errors "duplicate option `capacity`", "unknown option `color`")
/// Every valid option is kept, so that the form still expands and only
/// the bad option's error is reported.
fn options(raw: &[RawOption]) -> (Option<TokenStream>, Option<TokenStream>, Option<syn::Error>) {
    let (mut capacity, mut name) = (None, None);
    let mut errors = Errors::default();
    let mut seen: Vec<String> = Vec::new();
    for option in raw {
        let key = option.key.to_string();
        if seen.contains(&key) {
            let message = format!("duplicate option `{key}`: remove one of them");
            errors.push(diag::error(option.key.span(), message));
            continue;
        }
        seen.push(key.clone());
        match (key.as_str(), option.value.as_ref().map(|(_, value)| value)) {
            ("capacity", Some(value)) => capacity = Some(quote!(#value)),
            ("name", Some(value)) => name = Some(quote!(#value)),
            ("capacity" | "name", None) => errors.push(diag::error(
                option.key.span(),
                format!("option `{key}` needs a value: `capacity = 16`, `name = \"numbers\"`"),
            )),
            _ => errors.push(diag::error(
                option.key.span(),
                format!(
                    "unknown option `{key}` for `produce!`: expected `capacity = n` or `name = \"..\"`"
                ),
            )),
        }
    }
    (capacity, name, errors.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand_str(tokens: TokenStream) -> String {
        let mac: Macro = syn::parse2(tokens).unwrap();
        let expr = expand(&mac, crate::body::rewrite);
        quote!(#expr).to_string()
    }

    #[test]
    fn without_options_it_is_a_rendezvous_producer_with_an_implicit_ok() {
        let output = expand_str(quote!(produce!(|tx| tx.send(1).await?;)));
        assert_eq!(
            output,
            "scope . produce (0 , move | tx | async move { :: scopes :: __private :: q (tx . send (1) . await) ? ; \
             :: scopes :: __private :: Ok (()) })"
        );
    }

    #[test]
    fn options_use_the_builder() {
        let output = expand_str(quote!(
            produce!(capacity = 4, name = "n"; move |tx: Sender<u8>| Ok(()))
        ));
        assert_eq!(
            output,
            "scope . child () . name (\"n\") . produce (4 , move | tx : Sender < u8 > | \
             async move { Ok (()) })"
        );
    }

    #[test]
    fn a_producer_with_children_is_a_scope() {
        let output = expand_str(quote!(
            produce!(|tx| launch! { f().await } tx.send(1).await?;)
        ));
        assert!(
            output.contains(
                "move | tx | async move { :: scopes :: coroutine_scope (move | scope | \
                 :: scopes :: __private :: Box :: pin (async move { scope . launch"
            ),
            "{output}"
        );
    }

    #[test]
    fn bad_options_and_forms_are_errors() {
        for (input, message) in [
            (
                quote!(produce!(color = 1; |tx| ())),
                "unknown option `color`",
            ),
            (
                quote!(produce!(capacity = 1, capacity = 2; |tx| ())),
                "duplicate option `capacity`",
            ),
            (
                quote!(produce!(capacity; |tx| ())),
                "option `capacity` needs a value",
            ),
            (
                quote!(produce!(capacity = 1)),
                "expected `produce!(|tx| ..)`",
            ),
            (
                quote!(produce!(|tx, rx| ())),
                "expected `|` after the sender",
            ),
        ] {
            let output = expand_str(input);
            assert!(output.contains("compile_error"), "{output}");
            assert!(output.contains(message), "{message}: {output}");
        }
    }
}
