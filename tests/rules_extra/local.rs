//! The cases on local scopes (`coroutine_scope_local`,
//! `supervisor_scope_local`, SPEC §2d).

pub(crate) use scopes::{
    LocalBoxFuture as BoxFuture, LocalScope as Scope, coroutine_scope_local as coroutine_scope,
    coroutine_scope_local_with as coroutine_scope_with, supervisor_scope_local as supervisor_scope,
};

// The same file is a module of each kind: the cases run once per kind of
// scope, as in tests/rules.rs.
#[allow(clippy::duplicate_mod)]
#[path = "cases.rs"]
mod cases;

// Dispatch order around deadlines, on the same terms.
#[allow(clippy::duplicate_mod)]
#[path = "deadline_order.rs"]
mod deadline_order;
