//! Kotlin's structured concurrency for async Rust on tokio.
//!
//! A *scope* runs a body and the children it starts, and returns only when
//! all of them have completed: nothing started in a scope outlives it, no
//! failure is lost, and cancelling a job cancels its whole subtree.
//!
#![doc = include_str!("dsl_docs.md")]
//!
//! # The runtime API
//!
//! The macros write calls to this API; it can be used by hand as well:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! use std::time::Duration;
//! use scopes::{coroutine_scope, delay, Error};
//!
//! let result = coroutine_scope(|s| Box::pin(async move {
//!     let color = s.r#async(async { delay(Duration::from_secs(60)).await?; Ok("purple") });
//!     let height = s.r#async(async {
//!         delay(Duration::from_millis(100)).await?;
//!         Err::<f64, _>(Error::msg("http"))
//!     });
//!     Ok(format!("A {} box {:.1} inches tall", color.await?, height.await?))
//! }))
//! .await;
//! // height failed after 100 ms: color was cancelled, the scope fails.
//! assert_eq!(result.unwrap_err().to_string(), "http");
//! # }
//! ```
//!
//! # The model
//!
//! | Kotlin | scopes |
//! |---|---|
//! | `coroutineScope { }` | [`coroutine_scope`](fn@coroutine_scope)`(\|s\| Box::pin(async move { }))` |
//! | `supervisorScope { }` | [`supervisor_scope`](fn@supervisor_scope) |
//! | `launch { }` | [`Scope::launch`] → [`Job`] |
//! | `async { }` / `await()` | [`Scope::async`](Scope) → [`Deferred`], `.await` |
//! | `launch(start = LAZY)` | `s.child().start(Start::Lazy).launch(..)` |
//! | `launch(Dispatchers.Default)` | `s.child().launch_parallel(..)` |
//! | `coroutineScope { }` on a single-threaded dispatcher, with non-thread-safe state | [`coroutine_scope_local`] → [`LocalScope`] |
//! | `delay`, `yield`, `ensureActive`, `isActive` | [`delay`], [`yield_now`], [`ensure_active`], [`is_active`] |
//! | `withContext(NonCancellable)` | [`non_cancellable`](fn@non_cancellable) |
//! | `withTimeout`, `withTimeoutOrNull` | [`with_timeout`](fn@with_timeout), [`with_timeout_or_none`](fn@with_timeout_or_none) |
//! | `CoroutineExceptionHandler` | [`with_exception_handler`] |
//! | `DebugProbes.dumpCoroutines()` | [`debug::dump`] |
//!
//! Every child body and scope evaluates to [`Result`]`<T>`: `Err` with a
//! non-cancellation [`Error`], or a panic, is a *failure*; an error with
//! [`Error::is_cancellation`] is how a cancelled job ends and is not a
//! failure.
//!
//! # How children run
//!
//! Children are not tasks. A child is a boxed future plus a small job
//! record (an `Arc` holding its flags, name and id, which is also its
//! waker), kept in a slab owned by the scope's future and polled in place
//! there, like `FuturesUnordered`. So a child needs no `'static` bound — it
//! may borrow anything that outlives the scope — and costs two allocations.
//!
//! - On one thread, a whole tree of scopes runs from one FIFO, as Kotlin's
//!   dispatcher runs a tree of coroutines (R14): the outermost scope (the
//!   *root*) drains it; a scope entered inside a child (a `#[scoped]` fn, a
//!   scope per node of a recursive walk) is *nested*: its body runs at once
//!   when entered, and its children's runs are entries of the root's FIFO.
//!   To run one, the root polls the chain of jobs that host it, each of
//!   which polls just the next one: a waiting child is polled once per
//!   wake, at any depth and width of the tree.
//! - Waking a job queues its entry once (a flag); a wake from the thread
//!   that is draining the tree right now takes no lock. Children started
//!   during a run are queued right after what that run did before, so
//!   children first run when their parent suspends, in start order.
//! - The root runs at most 256 entries per poll of its tokio task, and
//!   stops as soon as tokio's cooperative budget is spent, then yields: an
//!   always-ready child cannot starve the other tasks of its worker, and
//!   the FIFO keeps it from starving the rest of the tree.
//! - Cancelling a job reaches its whole subtree at once: a scope or a
//!   timeout entered in the job is attached to it (R7). What it resumes
//!   runs in Kotlin's order: a job's children, each with its subtree,
//!   before the job's own code, so the deepest cleanup runs first.
//!
//! The rules, in the repository's own words and with the tests that check
//! each: `docs/rules.md`.
//! - What only a cancelled, failed or awaited job needs (its errors, its
//!   waiters) is allocated when first needed; a child that just runs and
//!   ends touches nothing but its flags.
//! - Only `parallel` children are `tokio::spawn`ed (they must be
//!   `Send + 'static`); they are still children: waited for, cancelled with
//!   their scope and aborted if the scope's future is dropped. The scope
//!   tracks the task itself (one job record and one task per child, as
//!   `JoinSet` has one task), and spawns it at the child's first run, as
//!   R14 places it: when its parent next suspends, in start order (a lazy
//!   one at its start, one under a `limit` when it gets a place). So a
//!   `parallel` child cancelled right after its launch never runs (R7), as
//!   an in-place one; once spawned, it runs on the workers at once, beside
//!   its parent, and the scope only sees it again when it is cancelled or
//!   ends.
//!
//! The current job is found through thread-local state set for the length
//! of each poll, which is how `delay`, `yield_now` and the other
//! cancellation-aware calls know whom they serve. A poll lends the child's
//! job record by reference, both as that current job and as the child's
//! waker, so polling touches no reference count.
//!
//! # Local scopes: children that are not `Send`
//!
//! [`coroutine_scope_local`], [`supervisor_scope_local`] (and their `_with`
//! forms, for `limit`) take children holding `Rc`, `RefCell` or `!Send`
//! clients across their awaits (SPEC §2d). The decisions:
//!
//! - **One engine.** A local scope is the same driver as a plain one,
//!   generic over how it boxes its body and children; each kind is
//!   compiled on its own (no dynamic dispatch is added), and every rule
//!   holds for both (`tests/rules.rs` runs each rule on both kinds, and the
//!   model's scripts run on both).
//! - **One handle type.** The handle is [`Scope`] with a kind parameter:
//!   `Scope<'s, 'env>` is a plain scope's ([`Sendable`], the default),
//!   [`LocalScope`]`<'s, 'env>` = `Scope<'s, 'env, `[`Local`]`>` a local
//!   one's. Both have `launch`, `r#async` and `child()` (whose builder has
//!   the same methods), without the `Send` bounds in a local scope; both
//!   give the same [`Job`] and [`Deferred`].
//! - **Where it runs.** A local scope's future is not `Send` (even when its
//!   children happen to be): it runs where it is polled — `block_on` of a
//!   `current_thread` runtime (or of a multi-thread one), a `LocalSet`
//!   (`spawn_local`, `run_until`), or inside any child of a tree — and
//!   `tokio::spawn` rejects it at compile time. A plain scope nests inside
//!   a local scope's child (it joins that tree's FIFO, R14); a local scope
//!   cannot be nested in a plain scope's child, which would then not be
//!   `Send`.
//! - **`parallel` children keep their bound.** In a local scope,
//!   `launch_parallel` / `async_parallel` take `Send + 'static` work and
//!   `tokio::spawn` it, as in a plain scope: it runs on the runtime's
//!   workers (outside any `LocalSet`), needs no `LocalSet`, and is still a
//!   child (waited for, cancelled, aborted when the scope is dropped).
//!   `spawn_local` was not chosen: it would panic outside a `LocalSet` and
//!   would run the work on the scope's own thread, which a local child
//!   already does without a task.
//!
//! # Limits
//!
//! - **Nesting depth.** A scope nested in a child is polled inside its
//!   parent's poll, as any nested Rust future is, so depth costs stack:
//!   about 340 B per level in a release build (1.7 KiB in debug, where
//!   `catch_unwind` and the scoped thread-local that installs the running
//!   job cost 0.5 KiB of it), counting the body's own future. On a 2 MiB
//!   thread (tokio's default for workers, and the test harness's) that is
//!   about 5,900 levels in release, 1,220 in debug (`tests/tree_shapes.rs`;
//!   nested `FuturesUnordered` reaches 6,900–7,250 and 1,650); deeper trees
//!   need a bigger stack (`tokio::runtime::Builder::thread_stack_size`).
//!   `tests/reliability_stress.rs` runs 10,000 levels on a 41 MiB thread.
//! - **Heap per scope.** A nested scope whose body waits holds about
//!   780 B, its host child included (a plain waiting child: 230 B); with
//!   one waiting child, about 1.05 KiB (`tests/tree_memory.rs`). The parts:
//!   the scope's job, its queue, its driver, its shared part and registry
//!   entry, and the host job's list of what is attached to it, each an
//!   allocation; what only a scope with children needs (child storage,
//!   start buffer, pending registry changes) is one more, made at its
//!   first child; what only a root or a cancelled scope needs, made when
//!   it is needed.
//! - **Buffers a thread keeps.** When a scope ends, the large buffers of
//!   its lists (its start list, its child storage, its registry lists:
//!   those of a scope that had more than about 40 children at once) stay
//!   with the thread, emptied, and the next scope on it that outgrows a
//!   small list takes them rather than growing its own: one burst of
//!   children after another allocates little but its children. A thread
//!   keeps at most 16,384 items of room of each kind, about 1 MiB in all
//!   (what a burst of 10,000 children leaves), and the run queue of the
//!   last tree it ran (up to 1.5 MiB, for a tree whose levels hold that
//!   many entries at once); it gives back the rest, and all of it goes
//!   when the thread ends. (Freeing a large buffer also made glibc's
//!   allocator merge every small block freed since, so the next children
//!   took theirs the slow way: W1 spent about 300 instructions per child
//!   on that.)
//! - **The registry's tables.** `debug::dump`'s registry of live scopes
//!   is a table in each of 8 shards; once a shard has held a scope, it
//!   keeps a table of up to 64 slots (about 1 KiB) even when
//!   empty, so that a scope entered and left one after another (a
//!   `#[scoped]` fn per request) does not allocate it each time: at most
//!   9 KiB for the process. Larger tables shrink and go as scopes leave.
//! - **Time per level of a deep chain.** A child's wake reaches it
//!   through its ancestors' polls (each host child polls the scope nested
//!   in it), so one wake from outside at depth D (a timer, a message)
//!   costs D small steps. A recursion that waits on something outside at
//!   every level on its way down pays that at every level: O(D²) in all
//!   (each level `delay`s, then opens the next: 0.7 ms at depth 100,
//!   75 ms at 1,000, 1.3 s at 4,000), where tasks (`JoinSet`, or
//!   `parallel` children) wake on their own. Trees that are wide rather
//!   than deep (depth ~ log N) do not see it: a W6 tree of 65,536 leaves
//!   is 8 deep. What follows from one step to the next runs as one descent
//!   instead: building a recursion, its return or a failure climbing it
//!   (through `coroutine_scope`s or `supervisor_scope`s), a cancel going
//!   down it, and items going up and down a pipeline of nested scopes cost
//!   2–8 polls per level at any depth (`tests/tree_shapes.rs`): 10,000
//!   levels return in about 50–80 ms (10 s before the thirteenth session,
//!   when each level's step was routed from the top again), and so do
//!   recursions whose every level starts children and then enters the
//!   next level in its body (each level's starts become entries where
//!   they were noted: 4.8 µs per level at 16,000 levels, 122 µs before
//!   the fourteenth session, when each level moved the notes of all the
//!   levels below), and timers firing together at every level (a
//!   [`Delay`] that has waited spends none of tokio's cooperative budget
//!   as it ends). One kind of
//!   shape still grows: when every level's step spends that budget on a
//!   tokio resource of the program's own (`tokio::time::sleep`, a tokio
//!   channel), the tree yields to its worker every 128 of them, as tokio
//!   asks, and routes back down each time: about D/220 polls per level
//!   (9 at 1,000 levels, 45 at 10,000).
//! - **Children per scope.** Up to 4 billion at once (slot indices are
//!   32-bit); memory runs out long before.
//! - **Costs that stay flat as a program grows.** Awaiting one `Deferred`
//!   (or joining one job) from N children, entering N scopes in one job
//!   (a `join_all` of scopes), N senders or receivers waiting on one
//!   channel and giving up in any order, and N children in one nested
//!   scope each cost the same per item at N = 1,000 and 100,000
//!   (`benches/shapes.rs`). So does
//!   [`cancel_children`](fn@cancel_children) once a burst of children has
//!   ended: the scope's slots start over. One case does not: while a
//!   child stays alive through a burst, the scope keeps the burst's slots,
//!   and each `cancel_children` walks them (a few instructions each).
//!   Memory stays flat too when children wait for a long-lived child and
//!   give up (a timeout around `.await`, `join` or `join_all`): a waiter
//!   that gives up gives its place back (`tests/waiters_memory.rs`; until
//!   the thirteenth session each left about 230 bytes until the awaited
//!   child completed). A failure climbing a deep tree that gathers a
//!   suppressed failure at every level (every level's cleanup failing
//!   too) costs the same per level at 100 and 10,000 levels: it adds to
//!   its list in place (until the fourteenth session every level copied
//!   and indexed the whole list: 190 µs per level at 10,000 levels).
//!
//! # Decisions where Kotlin and Rust differ
//!
//! - Cancellation is cooperative *and* bounded: a cancelled child is
//!   resumed once, with `Err` from the cancellation-aware call it is
//!   suspended in, so it can clean up; if it is still suspended after that
//!   outside [`non_cancellable`](fn@non_cancellable) (say, on a foreign future), it is dropped.
//!   A child can never hold its scope open by ignoring cancellation.
//! - A timeout is a failure, not a cancellation (Kotlin silently treats an
//!   escaping `TimeoutCancellationException` as cancellation).
//! - A lazy child never started by the time the body returns is cancelled,
//!   instead of hanging the scope.
//! - A failed `Deferred` that is dropped without being awaited in a
//!   `supervisor_scope` is reported to the exception handler.
//! - `delay(Duration::ZERO)` returns at once, but checks cancellation first
//!   (Kotlin's `delay(0)` does not check).
//! - The scope driver, `with_timeout` and `parallel` children catch panics
//!   and turn them into failures ([`Error::is_panic`]); the body of
//!   [`non_cancellable`](fn@non_cancellable) does not catch them (they reach the child).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod cancel;
pub mod channel;
mod child;
mod compose;
pub mod debug;
mod deferred;
mod engine;
mod error;
#[cfg(feature = "anyhow")]
mod error_context;
mod handler;
mod job;
mod local;
pub mod prelude;
mod scope;
pub mod sync;
mod time;

#[doc(hidden)]
pub mod __private;

pub use cancel::{
    CancelOn, Cancellable, CancellableExt, NonCancellable, Signal, YieldNow, cancel_children,
    cancel_on, cancellable, ensure_active, is_active, non_cancellable, yield_now,
};
pub use channel::{Receiver, Sender, channel, unbounded_channel};
pub use child::{ChildBuilder, Start};
pub use compose::{
    AsCompleted, AwaitAll, FirstSuccess, JoinAll, Race, as_completed, await_all, first_success,
    join_all, race,
};
pub use deferred::Deferred;
pub use engine::child::{BoxFuture, LocalBoxFuture};
pub use engine::options::ScopeOptions;
pub use error::{Error, Result};
#[cfg(feature = "anyhow")]
pub use error_context::Context;
pub use handler::{WithExceptionHandler, with_exception_handler};
pub use job::{Job, Join};
pub use local::{
    Local, LocalScope, Locality, Sendable, coroutine_scope_local, coroutine_scope_local_with,
    supervisor_scope_local, supervisor_scope_local_with,
};
pub use scope::{
    Scope, coroutine_scope, coroutine_scope_with, supervisor_scope, supervisor_scope_with,
};
pub use scopes_macros::{r#async, coroutine_scope, launch, scoped, supervised, supervisor_scope};
// The block forms: macros next to the runtime fns of the same names (a
// macro and a fn live in different namespaces, so one `use` brings both).
pub use scopes_macros::{non_cancellable, with_timeout, with_timeout_or_none};

// `produce!`, the DSL form of `Scope::produce` (SPEC §2c).
pub use scopes_macros::produce;

/// The scopes as fn attributes: `#[attr::coroutine_scope]`, `#[attr::supervised]`.
///
/// A module has one macro namespace, shared by function-like macros and
/// attributes, so the crate root and the prelude cannot hold both
/// `coroutine_scope!` and `#[coroutine_scope]`: the attribute lives here
/// (and in the prelude as `#[scoped]`).
pub mod attr {
    pub use scopes_macros::{coroutine_scope_attr as coroutine_scope, supervised};
}
pub use time::{Delay, WithTimeout, WithTimeoutOrNone, delay, with_timeout, with_timeout_or_none};
