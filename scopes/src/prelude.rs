//! `use scopes::prelude::*;` brings the macros, the primitives, `Error`,
//! `Result`, `Job` and `Deferred`.
//!
//! ```
//! use scopes::prelude::*;
//! # fn main() { let _: Result<()> = Ok(()); }
//! ```

pub use crate::{
    Deferred, Error, Job, Result, Scope, Start, as_completed, await_all, cancel_children,
    cancel_on, cancellable, delay, ensure_active, first_success, is_active, join_all,
    non_cancellable, race, with_exception_handler, with_timeout, with_timeout_or_none, yield_now,
};
pub use scopes_macros::{r#async, coroutine_scope, launch, scoped, supervised, supervisor_scope};

// Channels (SPEC §2c).
pub use crate::channel::{Receiver, Sender, channel, unbounded_channel};
pub use scopes_macros::produce;

// Cancellation-aware foreign waits (SPEC §2c). The tokio extension traits
// come in for their methods only (`lock_cancellable`, ...).
pub use crate::CancellableExt;
#[cfg(feature = "anyhow")]
pub use crate::Context as _;
pub use crate::sync::{
    MpscReceiverExt as _, MpscSenderExt as _, MutexExt as _, NotifyExt as _, SemaphoreExt as _,
};
