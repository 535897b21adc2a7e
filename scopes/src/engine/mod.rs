//! The engine: how scopes run their children. Private; the public handles
//! (`Scope`, `Job`, `Deferred`, `ChildBuilder`) are thin types over it, in
//! files of their own.
//!
//! From the bottom up (each file uses only those above it):
//!
//! - `name`: a job's name; `trace`: its `tracing` span.
//! - `ready`: the tree's FIFO (R14) — which job runs next, routes to
//!   nested scopes.
//! - `line`: waiters in arrival order, each found by its id; `waiters`:
//!   who waits for a job to complete, in such a line.
//! - `job`: the job record (flags, cancellation, completion, waiters),
//!   which is also the job's waker, and what is attached to it.
//! - `handler`, `context`: the exception handler and the job a piece of
//!   code runs in (thread-local), and `resume`, the one place R7's
//!   resume-once step is applied to a poll.
//! - `pool`: a `parallel` child's tokio task, which its scope tracks.
//! - `registry`: live scopes and their children (`debug::dump`, and a
//!   cancel reaching a scope at once).
//! - `spare`: buffers a thread keeps for its next scopes.
//! - `child`, `slab`: a child as a scope keeps it; `options`: a scope's.
//! - `driver`: the scope's future, which applies SPEC §3's rules.

pub(crate) mod child;
pub(crate) mod context;
pub(crate) mod driver;
pub(crate) mod handler;
pub(crate) mod job;
pub(crate) mod line;
pub(crate) mod name;
pub(crate) mod options;
pub(crate) mod pool;
pub(crate) mod ready;
pub(crate) mod registry;
pub(crate) mod slab;
pub(crate) mod spare;
pub(crate) mod trace;
pub(crate) mod waiters;
pub(crate) mod watch;
