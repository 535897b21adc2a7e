//! Procedural macros of the `scopes` crate (placeholder until the DSL lands).
#![forbid(unsafe_code)]
use proc_macro::TokenStream;

/// `coroutine_scope! { .. }`
#[proc_macro]
pub fn coroutine_scope(input: TokenStream) -> TokenStream { input }
/// `supervisor_scope! { .. }`
#[proc_macro]
pub fn supervisor_scope(input: TokenStream) -> TokenStream { input }
/// `#[supervised]`
#[proc_macro_attribute]
pub fn supervised(_a: TokenStream, input: TokenStream) -> TokenStream { input }
