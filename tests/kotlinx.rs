//! Cases ported from kotlinx.coroutines' own tests
//! (`kotlinx-coroutines-core/common/test`: ParentCancellationTest,
//! CancelledParentAttachTest, JobTest, SupervisorTest, CoroutineScopeTest,
//! AsyncTest, AsyncLazyTest, AwaitTest, WithTimeout(OrNull)Test,
//! NonCancellableTest, ProduceTest, RendezvousChannelTest, ...; `jvm/test/
//! exceptions`), mapped onto the SPEC: where the SPEC decides otherwise
//! than Kotlin (a timeout is a failure, R9; a lazy child never started by
//! the body's end is cancelled, R11; a panic is a failure), the case
//! asserts the SPEC. Kotlin's `ATOMIC` and `UNDISPATCHED` starts are
//! mapped onto R7 and R14 (usually a yield so that the child runs before
//! it is cancelled). The same scenarios run again through `parallel`
//! children, `limit` and the attributes (every rule on local scopes is
//! `rules.rs`'s).
//!
//! One module per group of Kotlin tests; each case names the test it
//! comes from. These are the session-16 ports; earlier ports live beside
//! the rules they check (`rules.rs`, `channel.rs`, ...).

#[path = "kotlinx/annotated_port.rs"]
mod annotated_port;
#[path = "kotlinx/async_states_port.rs"]
mod async_states_port;
#[path = "kotlinx/atomic_cancellation_port.rs"]
mod atomic_cancellation_port;
#[path = "kotlinx/await_timeout_port.rs"]
mod await_timeout_port;
#[path = "kotlinx/channel_port.rs"]
mod channel_port;
#[path = "kotlinx/common.rs"]
mod common;
#[path = "kotlinx/compose_edges.rs"]
mod compose_edges;
#[path = "kotlinx/coroutine_scope_port.rs"]
mod coroutine_scope_port;
#[path = "kotlinx/coroutines_order_port.rs"]
mod coroutines_order_port;
#[path = "kotlinx/decomposition_port.rs"]
mod decomposition_port;
#[path = "kotlinx/edges.rs"]
mod edges;
#[path = "kotlinx/late_children.rs"]
mod late_children;
#[path = "kotlinx/lazy_compose.rs"]
mod lazy_compose;
#[path = "kotlinx/limit_port.rs"]
mod limit_port;
#[path = "kotlinx/nested_handlers.rs"]
mod nested_handlers;
#[path = "kotlinx/noncancellable_edges.rs"]
mod noncancellable_edges;
#[path = "kotlinx/panics.rs"]
mod panics;
#[path = "kotlinx/parallel_port.rs"]
mod parallel_port;
#[path = "kotlinx/parallel_time.rs"]
mod parallel_time;
#[path = "kotlinx/parent_cancellation.rs"]
mod parent_cancellation;
#[path = "kotlinx/produce_port.rs"]
mod produce_port;
#[path = "kotlinx/prompt_cancellation.rs"]
mod prompt_cancellation;
#[path = "kotlinx/resume_order_port.rs"]
mod resume_order_port;
#[path = "kotlinx/send_fanout.rs"]
mod send_fanout;
#[path = "kotlinx/supervisor.rs"]
mod supervisor;
#[path = "kotlinx/suppression_order.rs"]
mod suppression_order;
#[path = "kotlinx/timeout_nesting.rs"]
mod timeout_nesting;
#[path = "kotlinx/with_context_port.rs"]
mod with_context_port;
