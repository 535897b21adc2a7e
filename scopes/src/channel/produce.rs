//! `produce`: Kotlin's `produce { }`, a child owning the sending side of a
//! channel.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::state::Chan;
use super::{Receiver, Sender, channel};
use crate::child::ChildBuilder;
use crate::engine::child::ChildTask;
use crate::engine::handler::FailureSink;
use crate::error::{Error, Result};
use crate::job::Job;
use crate::local::Local;
use crate::scope::Scope;

impl<'s> Scope<'s, '_> {
    /// Starts a producer child and returns the receiving side of its
    /// channel: Kotlin's `produce(capacity = ..) { }`. `body` gets the
    /// [`Sender`]; `capacity` is the channel's (0: rendezvous, Kotlin's
    /// default; [`UNLIMITED`](super::UNLIMITED)).
    ///
    /// - When the body ends, the channel is closed: receivers take what was
    ///   sent, then get `Ok(None)`; if the body failed, `Err` with its
    ///   failure; if it was cancelled, a cancellation. (The producer's
    ///   failure also fails a `coroutine_scope`, as any child's. In a
    ///   `supervisor_scope` it is the receivers', as in Kotlin: the
    ///   exception handler gets it only if no receiver does — the channel
    ///   was cancelled first, or went away before a receiver took it.)
    /// - When the receiver is cancelled or its last clone dropped, the
    ///   producer is cancelled at once (R7), wherever it is suspended —
    ///   in a `send`, a `delay`, anything cancellation-aware — so it ends as
    ///   a cancellation and the scope completes normally.
    ///
    /// The child is named like a `launch` (its location, or
    /// [`ChildBuilder::name`] through [`ChildBuilder::produce`]).
    ///
    /// # Examples
    ///
    /// Take 5 items from an endless producer:
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> scopes::Result<()> {
    /// let firsts = scopes::coroutine_scope(|s| Box::pin(async move {
    ///     let squares = s.produce(0, |tx| async move {
    ///         for i in 1u64.. {
    ///             tx.send(i * i).await?;
    ///         }
    ///         Ok(())
    ///     });
    ///     let mut firsts = Vec::new();
    ///     while firsts.len() < 5 {
    ///         firsts.extend(squares.recv().await?);
    ///     }
    ///     Ok(firsts) // `squares` dropped: the producer is cancelled
    /// }))
    /// .await?;
    /// assert_eq!(firsts, [1, 4, 9, 16, 25]);
    /// # Ok(())
    /// # }
    /// ```
    #[track_caller]
    pub fn produce<T, F, Fut>(&self, capacity: usize, body: F) -> Receiver<T>
    where
        F: FnOnce(Sender<T>) -> Fut,
        Fut: Future<Output = Result<()>> + Send + 's,
        T: Send + 's,
    {
        self.child().produce(capacity, body)
    }
}

impl<'s> ChildBuilder<'_, 's, '_> {
    /// Starts the child as a producer; see [`Scope::produce`].
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> scopes::Result<()> {
    /// scopes::coroutine_scope(|s| Box::pin(async move {
    ///     let rx = s.child().name("numbers").produce(4, |tx| async move {
    ///         tx.send(1).await?;
    ///         Err(scopes::Error::msg("sensor lost"))
    ///     });
    ///     assert_eq!(rx.recv().await?, Some(1));
    ///     let err = rx.recv().await.unwrap_err();
    ///     assert_eq!(err.to_string(), "sensor lost");
    ///     Ok(())
    /// }))
    /// .await
    /// .unwrap_err(); // the producer's failure fails the scope too
    /// # Ok(())
    /// # }
    /// ```
    pub fn produce<T, F, Fut>(self, capacity: usize, body: F) -> Receiver<T>
    where
        F: FnOnce(Sender<T>) -> Fut,
        Fut: Future<Output = Result<()>> + Send + 's,
        T: Send + 's,
    {
        start_producer(capacity, body, |producing| self.launch_child(producing))
    }
}

impl<'s> Scope<'s, '_, Local> {
    /// Starts a producer child in a local scope: as [`Scope::produce`] in
    /// a plain one, but neither its body nor the items need be `Send`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> scopes::Result<()> {
    /// use std::rc::Rc;
    ///
    /// let total = scopes::coroutine_scope_local(|s| Box::pin(async move {
    ///     let rx = s.produce(1, |tx| async move {
    ///         for i in 1..=3 {
    ///             tx.send(Rc::new(i)).await?; // `Rc` is not `Send`
    ///         }
    ///         Ok(())
    ///     });
    ///     let mut total = 0;
    ///     while let Some(item) = rx.recv().await? {
    ///         total += *item;
    ///     }
    ///     Ok(total)
    /// }))
    /// .await?;
    /// assert_eq!(total, 6);
    /// # Ok(())
    /// # }
    /// ```
    #[track_caller]
    pub fn produce<T, F, Fut>(&self, capacity: usize, body: F) -> Receiver<T>
    where
        F: FnOnce(Sender<T>) -> Fut,
        Fut: Future<Output = Result<()>> + 's,
        T: 's,
    {
        self.child().produce(capacity, body)
    }
}

impl<'s> ChildBuilder<'_, 's, '_, Local> {
    /// Starts the child as a producer in a local scope; see
    /// [`Scope::produce`].
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> scopes::Result<()> {
    /// scopes::coroutine_scope_local(|s| Box::pin(async move {
    ///     let rx = s.child().name("letters").produce(0, |tx| async move {
    ///         tx.send(std::rc::Rc::from("a")).await
    ///     });
    ///     assert_eq!(rx.recv().await?.as_deref(), Some("a"));
    ///     assert_eq!(rx.recv().await?, None); // closed when the body ended
    ///     Ok(())
    /// }))
    /// .await
    /// # }
    /// ```
    pub fn produce<T, F, Fut>(self, capacity: usize, body: F) -> Receiver<T>
    where
        F: FnOnce(Sender<T>) -> Fut,
        Fut: Future<Output = Result<()>> + 's,
        T: 's,
    {
        start_producer(capacity, body, |producing| self.launch_child(producing))
    }
}

/// A producer: its channel, its body given the sending side, started as a
/// child by `launch` (of either kind of scope).
fn start_producer<'s, T, F, Fut>(
    capacity: usize,
    body: F,
    launch: impl FnOnce(Producing<Fut, T>) -> Job<'s>,
) -> Receiver<T>
where
    F: FnOnce(Sender<T>) -> Fut,
    Fut: Future<Output = Result<()>>,
{
    let (tx, rx) = channel(capacity);
    let closer = Closer(Some(tx.clone()));
    let job = launch(Producing {
        fut: body(tx),
        closer,
        chan: rx.chan.clone(),
    });
    // What `Job::cancel` does, kept past `'s`: the receiver may outlive the
    // scope (it still holds the items), the job record does too.
    rx.chan.set_producer(job.core.clone());
    rx
}

pin_project_lite::pin_project! {
    /// A producer's future: its body, then the channel closed with the
    /// body's outcome.
    struct Producing<F, T> {
        #[pin]
        fut: F,
        closer: Closer<T>,
        // Where its failure goes in a `supervisor_scope` (`ChildTask`).
        chan: Arc<Chan<T>>,
    }
}

/// A producer's failure in a `supervisor_scope` goes to its receivers
/// through the channel (`Chan`'s `FailureSink`), not to the handler as a
/// `launch` child's does (R4), unless no receiver can take it.
impl<'s, T: 's, F: Future<Output = Result<()>>> ChildTask<'s> for Producing<F, T> {
    fn failure_sink(&self) -> Option<Arc<dyn FailureSink + 's>> {
        Some(self.chan.clone())
    }
}

impl<T, F: Future<Output = Result<()>>> Future for Producing<F, T> {
    type Output = Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        let this = self.project();
        // A panic is the producer's failure: the receivers get it too.
        let result = match catch_unwind(AssertUnwindSafe(|| this.fut.poll(cx))) {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(result)) => result,
            Err(payload) => Err(Error::panic(payload)),
        };
        this.closer.close(result.as_ref().err().cloned());
        Poll::Ready(result)
    }
}

/// Closes the channel when the producer ends; with a cancellation if it is
/// dropped first (a cancelled producer dropped while suspended, R7).
struct Closer<T>(Option<Sender<T>>);

impl<T> Closer<T> {
    fn close(&mut self, failure: Option<Error>) {
        if let Some(tx) = self.0.take() {
            match failure {
                Some(failure) => tx.close_with(failure),
                None => tx.close(),
            };
        }
    }
}

impl<T> Drop for Closer<T> {
    fn drop(&mut self) {
        self.close(Some(Error::cancelled()));
    }
}
