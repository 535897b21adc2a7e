//! Cases ported from kotlinx.coroutines' and Trio's own tests in the
//! eighteenth session (RendezvousChannelTest, UnlimitedChannelTest,
//! ChannelReceiveCatchingTest, WithTimeout(OrNull)DurationTest, JobTest,
//! CancellableContinuationTest, ProduceTest, SemaphoreTest, MutexTest,
//! the coroutines guide's examples against their printed outputs, ...),
//! mapped onto the SPEC: see each module's header. The cases that failed
//! when ported are tests/kotlinx/resume_order_port.rs.
#[path = "ports/basic_ops.rs"]
mod basic_ops;
#[path = "ports/chained.rs"]
mod chained;
#[path = "ports/channels.rs"]
mod channels;
#[path = "kotlinx/common.rs"]
mod common;
#[path = "ports/completing.rs"]
mod completing;
#[path = "ports/fanout.rs"]
mod fanout;
#[path = "ports/guide.rs"]
mod guide;
#[path = "ports/handled.rs"]
mod handled;
#[path = "ports/jobs.rs"]
mod jobs;
#[path = "ports/misc.rs"]
mod misc;
#[path = "ports/no_suspend.rs"]
mod no_suspend;
#[path = "ports/produce.rs"]
mod produce;
#[path = "ports/properties.rs"]
mod properties;
#[path = "ports/rethrow.rs"]
mod rethrow;
#[path = "ports/same_instant.rs"]
mod same_instant;
#[path = "ports/stress.rs"]
mod stress;
#[path = "ports/sync.rs"]
mod sync;
#[path = "ports/timeouts.rs"]
mod timeouts;
