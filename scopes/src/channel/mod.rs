//! Kotlin's channels: [`channel`]`(capacity)` and [`unbounded_channel`],
//! whose `send` and `recv` are cancellation-aware (R7), and
//! [`Scope::produce`](crate::Scope::produce), a producer child owning the
//! sending side.
//!
//! A child waiting in [`Sender::send`] or [`Receiver::recv`] is resumed
//! with `Err(e)`, `e.is_cancellation()`, when its job is cancelled, so it
//! can clean up; called in an already cancelled job, they fail at once.
//! (A tokio `recv().await` is not cancellation-aware: a cancelled child
//! waiting in one is dropped and its cleanup never runs.)
//!
//! Both ends clone: any number of senders and receivers (fan-in, fan-out),
//! each item received once, in order. How a channel ends:
//!
//! | what happens | `send` returns | `recv` returns |
//! |---|---|---|
//! | [`Sender::close`] | a failure, [`ChannelClosed`] | the buffered items, then `Ok(None)` |
//! | [`Sender::close_with`]`(e)` | `Err(e)` | the buffered items, then `Err(e)` |
//! | every `Sender` dropped | — | the buffered items, then `Ok(None)` |
//! | [`Receiver::cancel`], or every `Receiver` dropped | a cancellation | a cancellation (the buffered items are dropped) |
//!
//! A producer stopped by the consumer's `cancel` (or by dropping the
//! receiver) thus ends *cancelled*, not failed, and its scope completes
//! normally, as in Kotlin.
//!
//! Channels are fair, as Kotlin's are (the first to call `receive` gets
//! the element; senders likewise): receivers waiting in `recv` are served
//! in the order they came, and a `send` to a waiting receiver keeps the
//! item for it. The item stays in the channel until that receiver runs,
//! so one cancelled before it runs loses nothing (the item goes to the
//! next waiting receiver, or to the next `recv`); meanwhile a `recv`
//! that was not waiting takes the next item, not that one. Once the
//! channel is closed, the remaining items go to whichever receiver runs
//! first.
//!
//! # Examples
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> scopes::Result<()> {
//! use scopes::{channel, coroutine_scope};
//!
//! let sum = coroutine_scope(|s| Box::pin(async move {
//!     let (tx, rx) = channel::<u32>(0); // rendezvous
//!     s.launch(async move {
//!         for i in 1..=3 {
//!             tx.send(i).await?;
//!         }
//!         Ok(()) // tx dropped: the receiver gets `None` after the items
//!     });
//!     let mut sum = 0;
//!     while let Some(i) = rx.recv().await? {
//!         sum += i;
//!     }
//!     Ok(sum)
//! }))
//! .await?;
//! assert_eq!(sum, 6);
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::engine::context;
use crate::error::{Error, Result};

mod produce;
mod state;

use state::{Chan, Offered};

/// The capacity of an unbounded channel (Kotlin's `Channel.UNLIMITED`):
/// `channel(UNLIMITED)` is [`unbounded_channel`]`()`.
pub const UNLIMITED: usize = usize::MAX;

/// A channel holding up to `capacity` items: Kotlin's `Channel(capacity)`.
/// Capacity 0 is a rendezvous channel: a `send` waits until a receiver
/// takes the item; [`UNLIMITED`] never makes a `send` wait.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> scopes::Result<()> {
/// let (tx, rx) = scopes::channel::<&str>(2);
/// tx.send("a").await?; // room in the buffer: no wait
/// tx.send("b").await?;
/// tx.close();
/// assert_eq!(rx.recv().await?, Some("a"));
/// assert_eq!(rx.recv().await?, Some("b"));
/// assert_eq!(rx.recv().await?, None);
/// # Ok(())
/// # }
/// ```
pub fn channel<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    let chan = Arc::new(Chan::new(capacity));
    (Sender { chan: chan.clone() }, Receiver { chan })
}

/// A channel whose `send` never waits: Kotlin's `Channel(UNLIMITED)`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> scopes::Result<()> {
/// let (tx, rx) = scopes::unbounded_channel::<u32>();
/// for i in 0..1000 {
///     tx.send(i).await?;
/// }
/// assert_eq!(rx.len(), 1000);
/// assert_eq!(rx.recv().await?, Some(0));
/// # Ok(())
/// # }
/// ```
pub fn unbounded_channel<T>() -> (Sender<T>, Receiver<T>) {
    channel(UNLIMITED)
}

/// The sending side of a [`channel`]: Kotlin's `SendChannel`.
///
/// Clones send into the same channel. When the last clone is dropped, the
/// receivers get `Ok(None)` once they have taken every item (as after
/// [`close`](Sender::close)).
pub struct Sender<T> {
    chan: Arc<Chan<T>>,
}

/// The receiving side of a [`channel`]: Kotlin's `ReceiveChannel`.
///
/// Clones receive from the same channel, each item going to one of them.
/// Dropping the last clone cancels the channel, like
/// [`cancel`](Receiver::cancel): a sender's `send` then returns a
/// cancellation, and the producer of [`Scope::produce`](crate::Scope::produce) is cancelled.
pub struct Receiver<T> {
    chan: Arc<Chan<T>>,
}

impl<T> Sender<T> {
    /// Sends `value`: Kotlin's `send`. Waits while the buffer is full (at
    /// capacity 0, until a receiver takes it); completes at once when a
    /// receiver is waiting or there is room.
    ///
    /// `Err` with a cancellation when the channel was cancelled (its
    /// receivers cancelled it or are gone), or when the caller's job is
    /// cancelled (R7: at once if it already is); `Err` with a failure,
    /// [`ChannelClosed`] or the error of [`close_with`](Sender::close_with),
    /// when the channel was closed.
    ///
    /// # Cancel safety
    ///
    /// If the future is dropped (or the job cancelled) while it waits, the
    /// value is not sent and is dropped, unless a receiver took it already.
    /// An `Err` from a wait interrupted by a cancellation may thus come
    /// after the value was delivered (Kotlin's prompt cancellation).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> scopes::Result<()> {
    /// let (tx, rx) = scopes::channel(1);
    /// tx.send(7).await?;
    /// drop(rx); // the last receiver: the channel is cancelled
    /// assert!(tx.send(8).await.unwrap_err().is_cancellation());
    /// # Ok(())
    /// # }
    /// ```
    pub fn send(&self, value: T) -> Sending<'_, T> {
        Sending {
            chan: &self.chan,
            stage: Stage::Start(value),
        }
    }

    /// Closes the channel for sending: Kotlin's `close()`. Receivers take
    /// what was sent before (also from senders already waiting), then get
    /// `Ok(None)`; a later `send` fails with [`ChannelClosed`]. `false` if
    /// the channel was closed or cancelled already.
    ///
    /// ```
    /// let (tx, rx) = scopes::channel::<u8>(1);
    /// assert!(tx.close());
    /// assert!(!tx.close());
    /// assert!(tx.is_closed());
    /// # drop(rx);
    /// ```
    pub fn close(&self) -> bool {
        self.chan.close(None)
    }

    /// Closes the channel with a failure: Kotlin's `close(cause)`.
    /// Receivers take the buffered items, then get `Err(failure)` from
    /// every `recv`; a later `send` returns it too. `false` if the channel
    /// was closed or cancelled already.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> scopes::Result<()> {
    /// let (tx, rx) = scopes::channel(4);
    /// tx.send(1).await?;
    /// tx.close_with(scopes::Error::msg("disk full"));
    /// assert_eq!(rx.recv().await?, Some(1));
    /// assert_eq!(rx.recv().await.unwrap_err().to_string(), "disk full");
    /// # Ok(())
    /// # }
    /// ```
    pub fn close_with(&self, failure: Error) -> bool {
        self.chan.close(Some(failure))
    }

    /// Closed for sending: closed, or cancelled (Kotlin's
    /// `isClosedForSend`).
    pub fn is_closed(&self) -> bool {
        self.chan.is_closed_for_send()
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.chan.add_sender();
        Self {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.chan.drop_sender();
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        debug_chan(&self.chan, "Sender", f)
    }
}

impl<T> Receiver<T> {
    /// Receives the next item: Kotlin's `receiveCatching()`. `Ok(None)`
    /// once the channel is closed (or every sender is gone) and drained;
    /// `Err(e)` after the items if it was closed with a failure.
    ///
    /// `Err` with a cancellation when the channel was cancelled, or when
    /// the caller's job is cancelled (R7: at once if it already is).
    ///
    /// # Cancel safety
    ///
    /// Dropping the future loses no item: an item is taken from the channel
    /// only when `recv` returns it. (A receiver woken for an item and then
    /// cancelled hands the item on to the next waiting receiver.)
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> scopes::Result<()> {
    /// let (tx, rx) = scopes::channel(1);
    /// tx.send("hi").await?;
    /// drop(tx);
    /// assert_eq!(rx.recv().await?, Some("hi"));
    /// assert_eq!(rx.recv().await?, None);
    /// # Ok(())
    /// # }
    /// ```
    pub fn recv(&self) -> Recv<'_, T> {
        Recv {
            chan: &self.chan,
            waiting: None,
        }
    }

    /// Cancels the channel: Kotlin's `ReceiveChannel.cancel()`. The
    /// buffered items are dropped; every `send` (also one waiting now)
    /// returns a cancellation, and so does every `recv`. The producer of
    /// [`Scope::produce`](crate::Scope::produce) is cancelled at once, wherever it is suspended.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> scopes::Result<()> {
    /// let (tx, rx) = scopes::channel(1);
    /// tx.send(1).await?;
    /// rx.cancel();
    /// assert!(rx.recv().await.unwrap_err().is_cancellation());
    /// assert!(tx.send(2).await.unwrap_err().is_cancellation());
    /// # Ok(())
    /// # }
    /// ```
    pub fn cancel(&self) {
        self.chan.cancel();
    }

    /// Nothing more will be received: the channel was cancelled, or it was
    /// closed (or every sender is gone) and is drained (Kotlin's
    /// `isClosedForReceive`).
    pub fn is_closed(&self) -> bool {
        self.chan.is_closed_for_receive()
    }

    /// The number of items in the buffer (items of senders still waiting
    /// are not counted).
    pub fn len(&self) -> usize {
        self.chan.len()
    }

    /// No item in the buffer.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The capacity the channel was made with ([`UNLIMITED`] if unbounded).
    pub fn capacity(&self) -> usize {
        self.chan.capacity()
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        self.chan.add_receiver();
        Self {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.chan.drop_receiver();
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        debug_chan(&self.chan, "Receiver", f)
    }
}

fn debug_chan<T>(chan: &Chan<T>, ty: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    f.debug_struct(ty)
        .field("capacity", &chan.capacity())
        .field("len", &chan.len())
        .field("closed_for_send", &chan.is_closed_for_send())
        .finish()
}

/// The failure of a `send` on a channel closed with [`Sender::close`]
/// (Kotlin's `ClosedSendChannelException`); find it with
/// `err.downcast_ref::<ChannelClosed>()`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use scopes::channel::ChannelClosed;
/// let (tx, _rx) = scopes::channel(1);
/// tx.close();
/// let err = tx.send(1).await.unwrap_err();
/// assert!(err.downcast_ref::<ChannelClosed>().is_some());
/// assert_eq!(err.to_string(), "channel closed");
/// # }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChannelClosed;

impl fmt::Display for ChannelClosed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("channel closed")
    }
}

impl std::error::Error for ChannelClosed {}

/// Future returned by [`Sender::send`].
///
/// # Cancel safety
///
/// Not cancel safe: dropped while it waits, the value is dropped unsent
/// (unless a receiver took it already); see [`Sender::send`].
#[must_use = "futures do nothing unless polled"]
pub struct Sending<'a, T> {
    chan: &'a Chan<T>,
    stage: Stage<T>,
}

enum Stage<T> {
    Start(T),
    Waiting(u64),
    Done,
}

// The value is moved, never pinned.
impl<T> Unpin for Sending<'_, T> {}

impl<T> Future for Sending<'_, T> {
    type Output = Result<()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        let this = &mut *self;
        if let Some(cancelled) = context::cancellation() {
            if let Stage::Waiting(id) = std::mem::replace(&mut this.stage, Stage::Done) {
                this.chan.abandon_send(id);
            }
            return Poll::Ready(Err(cancelled));
        }
        match std::mem::replace(&mut this.stage, Stage::Done) {
            Stage::Start(value) => match this.chan.offer(value, cx.waker()) {
                Offered::Sent => Poll::Ready(Ok(())),
                Offered::Refused(error) => Poll::Ready(Err(error)),
                Offered::Waiting(id) => {
                    this.stage = Stage::Waiting(id);
                    context::aware(Poll::Pending)
                }
            },
            Stage::Waiting(id) => {
                let sent = this.chan.poll_sent(id, cx.waker());
                if sent.is_pending() {
                    this.stage = Stage::Waiting(id);
                }
                context::aware(sent)
            }
            Stage::Done => panic!("`Send` polled after completion"),
        }
    }
}

impl<T> Drop for Sending<'_, T> {
    fn drop(&mut self) {
        if let Stage::Waiting(id) = self.stage {
            self.chan.abandon_send(id);
        }
    }
}

impl<T> fmt::Debug for Sending<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let stage = match self.stage {
            Stage::Start(_) => "start",
            Stage::Waiting(_) => "waiting",
            Stage::Done => "done",
        };
        f.debug_struct("Sending").field("stage", &stage).finish()
    }
}

/// Future returned by [`Receiver::recv`].
///
/// # Cancel safety
///
/// Cancel safe: dropped while it waits, it loses no item (an item is taken
/// only when `recv` returns it); see [`Receiver::recv`].
#[must_use = "futures do nothing unless polled"]
pub struct Recv<'a, T> {
    chan: &'a Chan<T>,
    /// The id it waits under, once it waits.
    waiting: Option<u64>,
}

impl<T> Future for Recv<'_, T> {
    type Output = Result<Option<T>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<Option<T>>> {
        let this = &mut *self;
        if let Some(cancelled) = context::cancellation() {
            if let Some(id) = this.waiting.take() {
                this.chan.abandon_recv(id);
            }
            return Poll::Ready(Err(cancelled));
        }
        context::aware(this.chan.poll_recv(&mut this.waiting, cx.waker()))
    }
}

impl<T> Drop for Recv<'_, T> {
    fn drop(&mut self) {
        if let Some(id) = self.waiting.take() {
            self.chan.abandon_recv(id);
        }
    }
}

impl<T> fmt::Debug for Recv<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recv")
            .field("waiting", &self.waiting.is_some())
            .finish()
    }
}
