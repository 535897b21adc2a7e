//! Composing the handles of a scope's children: Kotlin's `awaitAll` and
//! `joinAll`, and the races a structured program needs ([`race`],
//! [`first_success`], [`as_completed`]).
//!
//! Each takes any `IntoIterator` of handles of the current scope. They
//! wait through the handles' own cancellation-aware waits (R7): a cancel of
//! the caller ends the wait with `Err`, except that [`race`] and
//! [`first_success`] first cancel their children and wait for them, so that
//! nothing they started outlives the call. A wake looks only at the
//! handles whose child completed (`waits.rs`).

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::stream::Stream;

use crate::deferred::Deferred;
use crate::engine::context::{self, Wait};
use crate::error::{Error, Result};
use crate::job::{Job, JoinEach};

mod waits;

use waits::Waits;

/// Waits for every `Deferred` and gives their values in input order:
/// Kotlin's `awaitAll`. It fails as soon as one fails, with the first
/// failure in completion order (in a `supervisor_scope` too); it cancels
/// nobody itself (in a `coroutine_scope` the failure already cancels the
/// scope).
///
/// "Completion order" holds for children that had ended before the call
/// too: every combinator here takes outcomes that were already there in
/// the order the children completed, not in input order (Kotlin's
/// `select` and `awaitAll` look at such handles in input order; SPEC §2b
/// decides for completion order).
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> scopes::Result<()> {
/// use std::time::Duration;
/// use scopes::{await_all, delay, supervisor_scope, Error};
///
/// let failed = supervisor_scope(|s| Box::pin(async move {
///     let slow = s.r#async(async { delay(Duration::from_millis(300)).await?; Ok(1) });
///     let bad = s.r#async(async { delay(Duration::from_millis(10)).await?; Err(Error::msg("bad")) });
///     let start = tokio::time::Instant::now();
///     let result = await_all([slow, bad]).await;
///     assert_eq!(start.elapsed(), Duration::from_millis(10)); // not 300
///     result
/// }))
/// .await;
/// assert_eq!(failed.unwrap_err().to_string(), "bad");
/// # Ok(())
/// # }
/// ```
pub fn await_all<'s, T, I>(ds: I) -> AwaitAll<'s, T>
where
    I: IntoIterator<Item = Deferred<'s, T>>,
{
    let waits = Waits::new(ds);
    let values = (0..waits.jobs.len()).map(|_| None).collect();
    AwaitAll {
        waits,
        values,
        wait: Wait::default(),
    }
}

/// Future returned by [`await_all`].
///
/// # Cancel safety
///
/// Not cancel safe: the handles were moved into it, so dropping it (in a
/// `select!` branch that lost) loses the values already received and the
/// way to await the others. It does nothing to the children, which run on
/// and are waited for by their scope; keep clones of the `Deferred`s to
/// await them again.
#[must_use = "futures do nothing unless polled"]
pub struct AwaitAll<'s, T> {
    waits: Waits<'s, T>,
    values: Vec<Option<T>>,
    wait: Wait,
}

impl<T> Unpin for AwaitAll<'_, T> {}

impl<T> Future for AwaitAll<'_, T> {
    type Output = Result<Vec<T>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<Vec<T>>> {
        let this = &mut *self;
        if let Some(cancelled) = this.wait.cancelled_while_suspended() {
            return Poll::Ready(Err(cancelled));
        }
        loop {
            match this.waits.poll_next(cx) {
                Poll::Ready(Some((index, Ok(value)))) => this.values[index] = Some(value),
                Poll::Ready(Some((_, Err(e)))) => return Poll::Ready(Err(e)),
                Poll::Ready(None) => {
                    let values = this.values.iter_mut().filter_map(Option::take);
                    return Poll::Ready(Ok(values.collect()));
                }
                Poll::Pending => break,
            }
        }
        match context::cancellation() {
            Some(cancelled) => Poll::Ready(Err(cancelled)),
            None => this.wait.suspend(),
        }
    }
}

/// Waits until every job has completed, whatever its outcome: Kotlin's
/// `joinAll`. `Err` only when the caller itself is cancelled. It is a
/// `join` of each job, as in Kotlin: with no jobs there is nothing to
/// join, and it returns `Ok(())` even in a cancelled job.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> scopes::Result<()> {
/// use std::time::Duration;
/// use scopes::{coroutine_scope, delay, join_all};
///
/// coroutine_scope(|s| Box::pin(async move {
///     let jobs: Vec<_> = (1..=3)
///         .map(|i| s.launch(async move { delay(Duration::from_millis(i * 10)).await }))
///         .collect();
///     join_all(&jobs).await?;
///     assert!(jobs.iter().all(|j| j.is_completed()));
///     Ok(())
/// }))
/// .await
/// # }
/// ```
pub fn join_all<'s, I, J>(jobs: I) -> JoinAll<'s>
where
    I: IntoIterator<Item = J>,
    J: AsRef<Job<'s>>,
{
    JoinAll {
        jobs: jobs.into_iter().map(|j| j.as_ref().clone()).collect(),
        each: JoinEach::default(),
    }
}

/// Future returned by [`join_all`].
///
/// # Cancel safety
///
/// Cancel safe: dropping it stops waiting and loses nothing (it holds
/// clones of the jobs); the children run on, and `join_all` can be called
/// again.
#[must_use = "futures do nothing unless polled"]
pub struct JoinAll<'s> {
    jobs: Vec<Job<'s>>,
    each: JoinEach,
}

impl Future for JoinAll<'_> {
    type Output = Result<()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        if self.jobs.is_empty() {
            return Poll::Ready(Ok(())); // no `join`, so no check (Kotlin)
        }
        if let Some(cancelled) = context::cancellation() {
            return Poll::Ready(Err(cancelled));
        }
        let this = &mut *self;
        if !this.each.poll(&this.jobs, cx) {
            return context::aware(Poll::Pending);
        }
        Poll::Ready(Ok(()))
    }
}

impl Drop for JoinAll<'_> {
    fn drop(&mut self) {
        self.each.stop(&self.jobs);
    }
}

/// The first child to complete decides, with its value or its failure; the
/// others are cancelled, and have completed (their cleanup has run) when
/// `race` returns. If the caller is cancelled first, every child is
/// cancelled and waited for, and `race` returns the cancellation. With no
/// children there is no winner: it fails at once, saying so.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> scopes::Result<()> {
/// use std::time::Duration;
/// use scopes::{coroutine_scope, delay, race};
///
/// let fastest = coroutine_scope(|s| Box::pin(async move {
///     let mirrors = [50, 10, 30].map(|ms| {
///         s.r#async(async move { delay(Duration::from_millis(ms)).await?; Ok(ms) })
///     });
///     race(mirrors).await
/// }))
/// .await?;
/// assert_eq!(fastest, 10);
/// # Ok(())
/// # }
/// ```
pub fn race<'s, T, I>(ds: I) -> Race<'s, T>
where
    I: IntoIterator<Item = Deferred<'s, T>>,
{
    Race {
        contest: Contest::new("race", ds),
    }
}

/// Future returned by [`race`].
///
/// # Cancel safety
///
/// Not cancel safe: dropping it stops waiting and loses the winner's value
/// if one was already decided (the handles were moved in); children it
/// cancelled stay cancelled, the others run on, and their scope still waits
/// for them all.
#[must_use = "futures do nothing unless polled"]
pub struct Race<'s, T> {
    contest: Contest<'s, T>,
}

impl<T> Unpin for Race<'_, T> {}

impl<T> Future for Race<'_, T> {
    type Output = Result<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T>> {
        self.contest.poll(cx, |_, outcome| Some(outcome))
    }
}

/// The first child to succeed wins; the others are cancelled and have
/// completed when it returns. If every child fails, the first failure (in
/// completion order) is returned with the others in
/// [`suppressed`](Error::suppressed); a child that ended cancelled is not
/// a failure, so it is neither returned while another really failed nor
/// suppressed (if every child was cancelled, the first cancellation is
/// returned); with no children, it fails at once, saying so. Meant for a `supervisor_scope` (in a `coroutine_scope`, the
/// first failure already fails the scope).
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> scopes::Result<()> {
/// use std::time::Duration;
/// use scopes::{delay, first_success, supervisor_scope, Error};
///
/// let answer = supervisor_scope(|s| Box::pin(async move {
///     let down = s.r#async(async { Err::<u32, _>(Error::msg("replica down")) });
///     let slow = s.r#async(async { delay(Duration::from_millis(20)).await?; Ok(2) });
///     first_success([down, slow]).await
/// }))
/// .await?;
/// assert_eq!(answer, 2);
/// # Ok(())
/// # }
/// ```
pub fn first_success<'s, T, I>(ds: I) -> FirstSuccess<'s, T>
where
    I: IntoIterator<Item = Deferred<'s, T>>,
{
    FirstSuccess {
        contest: Contest::new("first_success", ds),
        failures: Vec::new(),
    }
}

/// Future returned by [`first_success`].
///
/// # Cancel safety
///
/// As [`Race`]'s.
#[must_use = "futures do nothing unless polled"]
pub struct FirstSuccess<'s, T> {
    contest: Contest<'s, T>,
    failures: Vec<Error>,
}

impl<T> Unpin for FirstSuccess<'_, T> {}

impl<T> Future for FirstSuccess<'_, T> {
    type Output = Result<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T>> {
        let this = &mut *self;
        let failures = &mut this.failures;
        this.contest.poll(cx, |last, outcome| match outcome {
            Ok(value) => Some(Ok(value)),
            Err(e) => {
                failures.push(e);
                last.then(|| Err(all_failed(std::mem::take(failures))))
            }
        })
    }
}

/// No child succeeded: the first real failure, with the other failures
/// suppressed; a cancellation is not a failure (docs/rules.md, Outcomes),
/// so it is neither the result while a real failure came nor suppressed.
/// All cancelled: the first cancellation.
fn all_failed(mut failures: Vec<Error>) -> Error {
    let Some(first) = failures.iter().position(|e| !e.is_cancellation()) else {
        return failures.swap_remove(0);
    };
    let first = failures.remove(first);
    failures.retain(|e| !e.is_cancellation());
    first.with_suppressed(failures)
}

/// What [`race`] and [`first_success`] share: wait for outcomes until one
/// decides, then cancel the rest and wait until they have completed.
struct Contest<'s, T> {
    /// The combinator's name, for the error of a contest without children.
    name: &'static str,
    waits: Waits<'s, T>,
    decided: Option<Result<T>>,
    /// The wait for the children to complete, after the decision.
    each: JoinEach,
    /// The children not decided by were cancelled (after the decision).
    cancelled_the_rest: bool,
    /// The caller's wait for a decision (R7: prompt cancellation).
    wait: Wait,
}

impl<'s, T> Contest<'s, T> {
    fn new(name: &'static str, ds: impl IntoIterator<Item = Deferred<'s, T>>) -> Self {
        Self {
            name,
            waits: Waits::new(ds),
            decided: None,
            each: JoinEach::default(),
            cancelled_the_rest: false,
            wait: Wait::default(),
        }
    }

    /// `decide(last, outcome)`: whether this outcome (`last`: of the last
    /// child) ends the contest, and with what.
    fn poll(
        &mut self,
        cx: &mut Context<'_>,
        mut decide: impl FnMut(bool, Result<T>) -> Option<Result<T>>,
    ) -> Poll<Result<T>> {
        if self.waits.jobs.is_empty() {
            let message = format!("`{}` needs at least one child: it got none", self.name);
            return Poll::Ready(Err(Error::msg(message)));
        }
        if self.decided.is_none()
            && let Some(cancelled) = self.wait.cancelled_while_suspended()
        {
            self.decided = Some(Err(cancelled));
        }
        while self.decided.is_none() {
            match self.waits.poll_next(cx) {
                Poll::Ready(Some((_, outcome))) => {
                    let last = self.waits.len() == 0;
                    self.decided = decide(last, outcome);
                }
                Poll::Ready(None) => unreachable!("the last outcome decides"),
                Poll::Pending => match context::cancellation() {
                    Some(cancelled) => self.decided = Some(Err(cancelled)),
                    None => return self.wait.suspend(),
                },
            }
        }
        // Decided: the others are cancelled, and waited for so that their
        // cleanup has run when the call returns. That wait must not be cut
        // short by the caller's own cancellation (R7, like a nested scope).
        // Once: the wait wakes the caller as each loser completes, and a
        // pass over all of them per wake made a contest of N children whose
        // cleanups end one by one O(N²) (73 s at 100,000).
        if !self.cancelled_the_rest {
            self.cancelled_the_rest = true;
            self.waits.clear();
            for job in &self.waits.jobs[self.each.joined()..] {
                job.cancel();
            }
        }
        if !self.each.poll(&self.waits.jobs, cx) {
            context::mark_shielded();
            return Poll::Pending;
        }
        Poll::Ready(self.decided.take().expect("decided"))
    }
}

impl<T> Drop for Contest<'_, T> {
    fn drop(&mut self) {
        self.each.stop(&self.waits.jobs);
    }
}

/// The children's outcomes as they complete: a `Stream` of
/// `(index in the input, outcome)`. In a cancelled job, the children not
/// yet seen are given at once, each with its outcome if it has one, else
/// the cancellation; then the stream ends.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> scopes::Result<()> {
/// use std::time::Duration;
/// use futures_util::StreamExt as _; // `futures::StreamExt` in most apps
/// use scopes::{as_completed, coroutine_scope, delay};
///
/// let order = coroutine_scope(|s| Box::pin(async move {
///     let ds = [30u64, 10, 20].map(|ms| {
///         s.r#async(async move { delay(Duration::from_millis(ms)).await?; Ok(ms) })
///     });
///     let mut done = as_completed(ds);
///     let mut order = Vec::new();
///     while let Some((index, value)) = done.next().await {
///         order.push((index, value?));
///     }
///     Ok(order)
/// }))
/// .await?;
/// assert_eq!(order, [(1, 10), (2, 20), (0, 30)]);
/// # Ok(())
/// # }
/// ```
pub fn as_completed<'s, T, I>(ds: I) -> AsCompleted<'s, T>
where
    I: IntoIterator<Item = Deferred<'s, T>>,
{
    AsCompleted {
        waits: Waits::new(ds),
        drained: VecDeque::new(),
    }
}

/// Stream returned by [`as_completed`].
///
/// # Cancel safety
///
/// `next().await` on it is cancel safe: an outcome is taken from the
/// stream only when it is returned, so dropping a pending `next()` (in a
/// `select!` loop) loses none. Dropping the stream itself loses the
/// outcomes not yet taken; the children run on and their scope waits for
/// them.
#[must_use = "streams do nothing unless polled"]
pub struct AsCompleted<'s, T> {
    waits: Waits<'s, T>,
    /// What a cancelled job still has to be given.
    drained: VecDeque<(usize, Result<T>)>,
}

impl<T> Unpin for AsCompleted<'_, T> {}

impl<T> Stream for AsCompleted<'_, T> {
    type Item = (usize, Result<T>);

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if let Some(item) = this.drained.pop_front() {
            return Poll::Ready(Some(item));
        }
        match this.waits.poll_next(cx) {
            Poll::Ready(item) => Poll::Ready(item),
            Poll::Pending if context::cancellation().is_some() => {
                // In a cancelled job each wait ends at once (R7).
                this.drained.extend(this.waits.drain());
                Poll::Ready(this.drained.pop_front())
            }
            Poll::Pending => context::aware(Poll::Pending),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.drained.len() + self.waits.len();
        (left, Some(left))
    }
}

impl<T> fmt::Debug for AwaitAll<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwaitAll")
            .field("children", &self.waits.jobs.len())
            .field(
                "received",
                &self.values.iter().filter(|v| v.is_some()).count(),
            )
            .finish()
    }
}

impl fmt::Debug for JoinAll<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinAll")
            .field("children", &self.jobs.len())
            .field("joined", &self.each.joined())
            .finish()
    }
}

impl<T> fmt::Debug for Race<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Race")
            .field("children", &self.contest.waits.jobs.len())
            .field("decided", &self.contest.decided.is_some())
            .finish()
    }
}

impl<T> fmt::Debug for FirstSuccess<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FirstSuccess")
            .field("children", &self.contest.waits.jobs.len())
            .field("decided", &self.contest.decided.is_some())
            .field("failures", &self.failures.len())
            .finish()
    }
}

impl<T> fmt::Debug for AsCompleted<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsCompleted")
            .field("children", &self.waits.jobs.len())
            .field("pending", &self.waits.len())
            .finish()
    }
}
