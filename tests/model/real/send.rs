//! The procs on plain scopes: `coroutine_scope`, `supervisor_scope`.

pub(super) use runner::root;
use scopes::{BoxFuture, Scope, coroutine_scope, supervisor_scope};
use std::sync::Arc as Shared;

// The same file is a module of each kind: the procs are compiled once per kind of scope: see runner.rs.
#[allow(clippy::duplicate_mod)]
#[path = "runner.rs"]
mod runner;

/// A handle held by a plain scope's children must be `Send + Sync`.
trait Bound: Send + Sync {}

impl<T: Send + Sync + ?Sized> Bound for T {}
