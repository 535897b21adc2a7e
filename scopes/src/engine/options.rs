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
    pub(crate) body_of_child: bool,
}

impl ScopeOptions {
    /// No options: what `coroutine_scope` and `supervisor_scope` use.
    pub const fn new() -> Self {
        Self {
            limit: None,
            body_of_child: false,
        }
    }

    /// The scope is the whole body of the child it runs in, which has no
    /// code of its own after it: what the DSL opens for a `launch`/`async`
    /// body that starts children (SPEC §2: "every launch/async body is a
    /// scope of its own, as in Kotlin"). Its children are then the child's
    /// own, as in Kotlin: its first failure fails the child at once, so a
    /// `coroutine_scope` the child is in fails then (R2) and cancels the
    /// child's siblings, while the child's children still clean up —
    /// not once they have. A scope opened by hand inside a child's code,
    /// whose error the code may handle, is Kotlin's `coroutineScope`: its
    /// failure reaches the child's scope only when it returns, so this is
    /// not the default. The two also differ in order (R14): this scope
    /// returns in its last child's step, so the child completes then, as
    /// a Kotlin job does; a scope opened by hand whose body ended while
    /// children still ran returns to the code after it in a step of its
    /// own, queued behind what is ready then, as Kotlin dispatches it.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// use std::time::Duration;
    /// use scopes::{coroutine_scope, coroutine_scope_with, delay, non_cancellable, Error, ScopeOptions};
    ///
    /// let start = tokio::time::Instant::now();
    /// let failed = coroutine_scope(|s| Box::pin(async move {
    ///     // A child with children of its own, as `launch { launch { .. }; .. }` writes it.
    ///     s.launch(coroutine_scope_with(ScopeOptions::new().body_of_child(), |own| {
    ///         Box::pin(async move {
    ///             own.launch(async {
    ///                 delay(Duration::from_millis(1)).await?;
    ///                 Err(Error::msg("boom"))
    ///             });
    ///             own.launch(async {
    ///                 let waited = delay(Duration::from_secs(60)).await;
    ///                 non_cancellable(delay(Duration::from_millis(100))).await?; // slow cleanup
    ///                 waited
    ///             });
    ///             Ok(())
    ///         })
    ///     }));
    ///     // The sibling is cancelled at 1 ms, not after the cleanup above.
    ///     let waited = delay(Duration::from_secs(60)).await;
    ///     assert_eq!(start.elapsed(), Duration::from_millis(1));
    ///     waited
    /// }))
    /// .await
    /// .unwrap_err();
    /// assert_eq!(failed.to_string(), "boom");
    /// # }
    /// ```
    #[must_use]
    pub const fn body_of_child(mut self) -> Self {
        self.body_of_child = true;
        self
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
