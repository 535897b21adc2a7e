//! An annotated fn that calls itself: a scope per node of a tree, the first
//! thing people write.
//!
//! As an `async fn`, it cannot compile: its child (`async { walk(child).await }`)
//! must be `Send`, so rustc must know whether the fn's own future is `Send`
//! while it is still working out what that future is ("cannot satisfy
//! `impl Future<Output = ..>: Send`"). The cure is a fn whose return type
//! *says* it is `Send`: a plain fn returning `scopes::BoxFuture`. The
//! attribute writes that fn when the body calls the fn by name, so the
//! recursive fn works as written; callers still write `walk(node).await`.
//! Recursion through another fn (`f` calls `g` calls `f`) is not seen: one
//! of them is then written as such a fn by hand.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote};
use syn::visit::{self, Visit};
use syn::visit_mut::{self, VisitMut};
use syn::{
    Block, Expr, FnArg, GenericParam, ItemFn, Lifetime, ReceiverKind, ReturnType, Signature, Stmt,
};

/// Whether the body calls the fn itself: `name(..)`, `Self::name(..)` or
/// `self.name(..)`, outside nested items.
pub(crate) fn calls_itself(sig: &Signature, stmts: &[Stmt]) -> bool {
    let mut finder = SelfCall {
        name: &sig.ident,
        found: false,
    };
    for stmt in stmts {
        finder.visit_stmt(stmt);
    }
    finder.found
}

struct SelfCall<'a> {
    name: &'a syn::Ident,
    found: bool,
}

impl<'ast> Visit<'ast> for SelfCall<'_> {
    fn visit_expr_call(&mut self, call: &'ast syn::ExprCall) {
        if let Expr::Path(path) = &*call.func {
            let segments: Vec<String> = path
                .path
                .segments
                .iter()
                .map(|s| s.ident.to_string())
                .collect();
            let name = self.name.to_string();
            self.found |= match segments.as_slice() {
                [only] => path.path.leading_colon.is_none() && *only == name,
                [this, only] => this == "Self" && *only == name,
                _ => false,
            };
        }
        visit::visit_expr_call(self, call);
    }

    fn visit_expr_method_call(&mut self, call: &'ast syn::ExprMethodCall) {
        let on_self = matches!(&*call.receiver, Expr::Path(p) if p.path.is_ident("self"));
        self.found |= on_self && call.method == *self.name;
        visit::visit_expr_method_call(self, call);
    }

    // A nested fn of the same name is another fn.
    fn visit_item(&mut self, _: &'ast syn::Item) {}

    // A child form's input is tokens: look into the bang forms' bodies.
    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        if let Ok(stmts) = mac.parse_body_with(Block::parse_within) {
            for stmt in &stmts {
                self.visit_stmt(stmt);
            }
        }
    }
}

// Input:  async fn walk<'a, T: Tree>(&self, node: &'a T, path: &str) -> Result<u64> { body }
// Output: fn walk<'a, 'scoped, T: Tree>(&'scoped self, node: &'a T, path: &'scoped str)
//             -> ::scopes::BoxFuture<'scoped, Result<u64>>
//         where 'a: 'scoped, T: 'scoped
//         { ::scopes::__private::Box::pin(async move { body }) }
/// Every elided lifetime of the signature becomes one lifetime `'scoped`,
/// which every named lifetime and type parameter outlives: the future
/// holds all the arguments, as an `async fn`'s does. A local scope's fn
/// (`#[scoped(local)]`) returns a `scopes::LocalBoxFuture`, not `Send`.
pub(crate) fn boxed(mut item: ItemFn, body: TokenStream, local: bool) -> TokenStream {
    let scoped = Lifetime::new("'scoped", Span::call_site());
    let sig = &mut item.sig;
    sig.asyncness = None;
    let mut elided = Elided(&scoped);
    let mut by_value_self = false;
    for input in sig.inputs.iter_mut() {
        match input {
            FnArg::Receiver(receiver) => match &mut receiver.kind {
                ReceiverKind::Reference(_, lifetime, _) => {
                    if lifetime.as_ref().is_none_or(|l| l.ident == "_") {
                        *lifetime = Some(scoped.clone());
                    }
                }
                ReceiverKind::Typed(_, ty) => {
                    elided.visit_type_mut(ty);
                    by_value_self = true;
                }
                _ => by_value_self = true,
            },
            FnArg::Typed(arg) => elided.visit_type_mut(&mut arg.ty),
        }
    }
    let output = match &mut sig.output {
        ReturnType::Type(_, ty) => {
            elided.visit_type_mut(ty);
            ty.to_token_stream()
        }
        ReturnType::Default => quote!(()),
    };
    let outlives: Vec<TokenStream> = sig
        .generics
        .params
        .iter()
        .filter_map(|param| match param {
            GenericParam::Lifetime(param) => {
                let lifetime = &param.lifetime;
                Some(quote!(#lifetime: #scoped))
            }
            GenericParam::Type(param) => {
                let ident = &param.ident;
                Some(quote!(#ident: #scoped))
            }
            GenericParam::Const(_) => None,
        })
        .chain(by_value_self.then(|| quote!(Self: #scoped)))
        .collect();
    let first_type = sig
        .generics
        .params
        .iter()
        .position(|param| !matches!(param, GenericParam::Lifetime(_)))
        .unwrap_or(sig.generics.params.len());
    sig.generics
        .params
        .insert(first_type, syn::parse_quote!(#scoped));
    let where_clause = sig.generics.make_where_clause();
    for predicate in outlives {
        where_clause.predicates.push(syn::parse_quote!(#predicate));
    }
    sig.output = if local {
        syn::parse_quote!(-> ::scopes::LocalBoxFuture<#scoped, #output>)
    } else {
        syn::parse_quote!(-> ::scopes::BoxFuture<#scoped, #output>)
    };
    let body = quote!(::scopes::__private::Box::pin(async move { #body }));
    item.block = Box::new(Block {
        brace_token: item.block.brace_token,
        stmts: vec![Stmt::Expr(Expr::Verbatim(body), None)],
    });
    item.into_token_stream()
}

/// Names the elided lifetimes of a type (`&T`, `'_`) and bounds its
/// `impl Trait`s by the future's lifetime.
struct Elided<'a>(&'a Lifetime);

impl VisitMut for Elided<'_> {
    fn visit_type_reference_mut(&mut self, reference: &mut syn::TypeReference) {
        if reference.lifetime.is_none() {
            reference.lifetime = Some(self.0.clone());
        }
        visit_mut::visit_type_reference_mut(self, reference);
    }

    fn visit_lifetime_mut(&mut self, lifetime: &mut Lifetime) {
        if lifetime.ident == "_" {
            *lifetime = self.0.clone();
        }
    }

    fn visit_type_impl_trait_mut(&mut self, impl_trait: &mut syn::TypeImplTrait) {
        impl_trait
            .bounds
            .push(syn::TypeParamBound::Lifetime(self.0.clone()));
        visit_mut::visit_type_impl_trait_mut(self, impl_trait);
    }

    // `fn(&T)` and `dyn Fn(&T)` have elided lifetimes of their own.
    fn visit_type_fn_ptr_mut(&mut self, _: &mut syn::TypeFnPtr) {}
    fn visit_parenthesized_generic_arguments_mut(
        &mut self,
        _: &mut syn::ParenthesizedGenericArguments,
    ) {
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand(item: TokenStream) -> String {
        let item: ItemFn = syn::parse2(item).unwrap();
        boxed(item, quote!(body), false).to_string()
    }

    #[test]
    fn elided_lifetimes_become_the_futures_lifetime() {
        let output = expand(quote! {
            async fn walk<'a, T: Tree>(&self, node: &'a T, path: &str, x: impl Debug) -> Result<u64> {}
        });
        assert_eq!(
            output,
            "fn walk < 'a , 'scoped , T : Tree > (& 'scoped self , node : & 'a T , \
             path : & 'scoped str , x : impl Debug + 'scoped) -> :: scopes :: BoxFuture < \
             'scoped , Result < u64 > > where 'a : 'scoped , T : 'scoped \
             { :: scopes :: __private :: Box :: pin (async move { body }) }"
        );
    }

    #[test]
    fn calls_by_name_self_path_and_method_are_recursion() {
        let sig: Signature = syn::parse_quote!(async fn walk(&self));
        let stmts =
            |body: TokenStream| syn::parse::Parser::parse2(Block::parse_within, body).unwrap();
        assert!(calls_itself(
            &sig,
            &stmts(quote!(let d = async { walk(x).await };))
        ));
        assert!(calls_itself(
            &sig,
            &stmts(quote!(launch! { Self::walk(x).await? }))
        ));
        assert!(calls_itself(&sig, &stmts(quote!(self.walk().await))));
        assert!(!calls_itself(
            &sig,
            &stmts(quote!(other::walk(x); x.walk(); walker(1)))
        ));
        assert!(!calls_itself(
            &sig,
            &stmts(quote!(
                fn walk() {}
            ))
        ));
    }
}
