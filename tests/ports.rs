//! Cases ported from kotlinx.coroutines' and Trio's own tests in the
//! eighteenth session (RendezvousChannelTest, UnlimitedChannelTest,
//! ChannelReceiveCatchingTest, WithTimeout(OrNull)DurationTest, JobTest,
//! CancellableContinuationTest, ProduceTest, SemaphoreTest, MutexTest,
//! the coroutines guide's examples against their printed outputs, ...),
//! mapped onto the SPEC: see each module's header. The cases that failed
//! when ported are tests/kotlinx/resume_order_port.rs.
//!
//! Nineteenth session: ScopedBuildersCancelledStartTest, WithContextTest and
//! WithContextExceptionHandlingTest (cancelled_start.rs); CoroutinesTest,
//! AwaitTest, AsyncLazyTest, JobBasicCancellationTest, JobNestedExceptionsTest,
//! CoroutineExceptionHandlerTest (leftovers.rs); BufferedChannelTest,
//! ChannelsTest, ConsumeTest, ProduceConsumeTest, ProduceExceptionsTest,
//! SuppressionTests (buffered.rs, closed_channels.rs); DelayTest,
//! LaunchLazyTest (edges.rs); the block forms as scopes (block_scopes.rs);
//! WithTimeoutTest, WithTimeoutOrNullJvmTest leftovers (timeout_names.rs);
//! JobExceptionsStressTest, ConcurrentExceptionsStressTest, JoinStressTest,
//! AwaitStressTest, JobActivationStressTest, WithTimeoutChildDispatchStressTest
//! (exceptions_stress.rs, race_stress.rs).
//!
//! Twentieth session: SelectDeferredTest, SelectJobTest (onto `race` and
//! `join_all`), AtomicCancellationTest, SupervisorTest.testSupervisorJob,
//! JobExceptionHandlingTest, ProduceTest, CancellableResumeTest
//! (selects_and_leftovers.rs); the dispatch order around deadlines is in
//! tests/rules_extra/deadline_order.rs.
#[path = "ports/basic_ops.rs"]
mod basic_ops;
#[path = "ports/block_scopes.rs"]
mod block_scopes;
#[path = "ports/buffered.rs"]
mod buffered;
#[path = "ports/cancelled_start.rs"]
mod cancelled_start;
#[path = "ports/chained.rs"]
mod chained;
#[path = "ports/channels.rs"]
mod channels;
#[path = "ports/closed_channels.rs"]
mod closed_channels;
#[path = "kotlinx/common.rs"]
mod common;
#[path = "ports/completing.rs"]
mod completing;
#[path = "ports/edges.rs"]
mod edges;
#[path = "ports/exceptions_stress.rs"]
mod exceptions_stress;
#[path = "ports/fanout.rs"]
mod fanout;
#[path = "ports/guide.rs"]
mod guide;
#[path = "ports/handled.rs"]
mod handled;
#[path = "ports/jobs.rs"]
mod jobs;
#[path = "ports/leftovers.rs"]
mod leftovers;
#[path = "ports/misc.rs"]
mod misc;
#[path = "ports/no_suspend.rs"]
mod no_suspend;
#[path = "ports/produce.rs"]
mod produce;
#[path = "ports/properties.rs"]
mod properties;
#[path = "ports/race_stress.rs"]
mod race_stress;
#[path = "ports/rethrow.rs"]
mod rethrow;
#[path = "ports/same_instant.rs"]
mod same_instant;
#[path = "ports/selects_and_leftovers.rs"]
mod selects_and_leftovers;
#[path = "ports/stress.rs"]
mod stress;
#[path = "ports/sync.rs"]
mod sync;
#[path = "ports/timeout_names.rs"]
mod timeout_names;
#[path = "ports/timeouts.rs"]
mod timeouts;
