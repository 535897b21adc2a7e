//! What a scope is asked for when it is made: [`ScopeOptions`].

/// Options of a scope: the DSL's `coroutine_scope!(limit = n; ..)`, or
/// [`coroutine_scope_with`](crate::coroutine_scope_with) /
/// [`supervisor_scope_with`](crate::supervisor_scope_with) by hand.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> scopes::Result<()> {
/// use std::time::Duration;
/// use scopes::{coroutine_scope_with, delay, ScopeOptions};
///
/// let start = tokio::time::Instant::now();
/// coroutine_scope_with(ScopeOptions::new().limit(2), |s| Box::pin(async move {
///     for _ in 0..6 {
///         s.launch(async { delay(Duration::from_millis(10)).await });
///     }
///     Ok(())
/// }))
/// .await?;
/// // Two at a time: three rounds of 10 ms.
/// assert_eq!(start.elapsed(), Duration::from_millis(30));
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScopeOptions {
    pub(crate) limit: Option<usize>,
}

impl ScopeOptions {
    /// No options: what `coroutine_scope` and `supervisor_scope` use.
    pub const fn new() -> Self {
        Self { limit: None }
    }

    /// At most `n` children of the scope run at once; the others wait, in
    /// start order, for one to complete. A waiting child has not run: it
    /// cannot fail, and cancelling it (`Job::cancel`, `cancel_children`)
    /// completes it at once. A child counts as waiting from its launch
    /// until its first run: its place is decided when the scope gets to
    /// it, in start order, so one cancelled before then completes at once
    /// even if a place was free. `n` of 0 is taken as 1 (a scope always
    /// lets one child run).
    #[must_use]
    pub const fn limit(mut self, n: usize) -> Self {
        self.limit = Some(if n == 0 { 1 } else { n });
        self
    }
}
