//! The cases on plain scopes (`coroutine_scope`, `supervisor_scope`).

pub(crate) use scopes::{
    BoxFuture, Scope, coroutine_scope, coroutine_scope_with, supervisor_scope,
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
