//! The procs on local scopes: `coroutine_scope_local`,
//! `supervisor_scope_local`. The children hold `Rc` handles: not `Send`.

pub(super) use runner::root;
use scopes::{
    LocalBoxFuture as BoxFuture, LocalScope as Scope, coroutine_scope_local as coroutine_scope,
    supervisor_scope_local as supervisor_scope,
};
use std::rc::Rc as Shared;

// The same file is a module of each kind: the procs are compiled once per kind of scope: see runner.rs.
#[allow(clippy::duplicate_mod)]
#[path = "runner.rs"]
mod runner;

/// A handle held by a local scope's children may be anything.
trait Bound {}

impl<T: ?Sized> Bound for T {}
