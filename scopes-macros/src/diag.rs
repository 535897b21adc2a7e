//! The macros' errors: how they read, and the one place they become tokens.
//!
//! A message says what is wrong in rustc's style (lowercase, no final
//! period, the syntax quoted). One longer than [`MAX_MESSAGE`] characters is
//! split at its first `: ` outside backticks into the message and a `help:`
//! line with the fix, which rustc prints under the message:
//!
//! ```text
//! error: `launch!` is only allowed in a scope body
//!        help: use it inside `coroutine_scope! { .. }`, ..
//! ```

use std::fmt::Display;

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;

/// The longest message printed on one line.
pub(crate) const MAX_MESSAGE: usize = 100;

/// An error on `span`.
pub(crate) fn error(span: Span, text: impl Display) -> syn::Error {
    syn::Error::new(span, shape(text.to_string()))
}

/// An error on the span of `tokens` (from their first to their last).
pub(crate) fn error_spanned(tokens: impl ToTokens, text: impl Display) -> syn::Error {
    syn::Error::new_spanned(tokens, shape(text.to_string()))
}

/// `problem: fix` over [`MAX_MESSAGE`] characters becomes `problem` and a
/// `help: fix` line.
fn shape(text: String) -> String {
    if text.chars().count() <= MAX_MESSAGE {
        return text;
    }
    let mut in_code = false;
    for (at, c) in text.char_indices() {
        match c {
            '`' => in_code = !in_code,
            ':' if !in_code && text[at + 1..].starts_with(' ') => {
                return format!("{}\nhelp: {}", &text[..at], &text[at + 2..]);
            }
            _ => {}
        }
    }
    text
}

/// Every error of a pass, reported together (`syn::Error::combine`).
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

/// Both errors, or either.
pub(crate) fn combine(first: Option<syn::Error>, second: Option<syn::Error>) -> Option<syn::Error> {
    let mut errors = Errors(first);
    if let Some(second) = second {
        errors.push(second);
    }
    errors.0
}

/// The one place an error becomes tokens: `::core::compile_error!` calls,
/// which stand where an expression, a statement or an item does and have
/// any type, so the code around them raises no second error.
pub(crate) fn to_tokens(error: syn::Error) -> TokenStream {
    error.into_compile_error()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_messages_get_a_help_line() {
        let short = "duplicate option `name`: remove one of them";
        assert_eq!(shape(short.to_owned()), short);
        let long = "`launch!` is only allowed in a scope body: use it inside \
                    `coroutine_scope! { .. }`, `supervisor_scope! { .. }` or `#[scoped]`";
        assert_eq!(
            shape(long.to_owned()),
            "`launch!` is only allowed in a scope body\nhelp: use it inside \
             `coroutine_scope! { .. }`, `supervisor_scope! { .. }` or `#[scoped]`"
        );
        let colon_in_code = format!("`a: b` {}: fix", "x".repeat(100));
        assert!(shape(colon_in_code).starts_with("`a: b` x"));
    }
}
