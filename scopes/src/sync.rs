//! Cancellation-aware forms of tokio's common waits: extension traits on
//! [`Semaphore`], [`Mutex`], [`Notify`] and the `mpsc` channels.
//!
//! A tokio wait is not cancellation-aware: a cancelled child suspended in
//! `mutex.lock().await` is dropped there (R7) and its cleanup never runs.
//! These forms return `Err(e)`, `e.is_cancellation()`, when the caller's
//! job is cancelled (at once if it already is), and fold tokio's own error
//! into the same [`Result`], so one `?` does (no `??`):
//!
//! | tokio | cancellation-aware | output |
//! |---|---|---|
//! | `semaphore.acquire()` | [`semaphore.acquire_cancellable()`](SemaphoreExt::acquire_cancellable) | `Result<SemaphorePermit>` |
//! | `semaphore.acquire_many(n)` | [`semaphore.acquire_many_cancellable(n)`](SemaphoreExt::acquire_many_cancellable) | `Result<SemaphorePermit>` |
//! | `mutex.lock()` | [`mutex.lock_cancellable()`](MutexExt::lock_cancellable) | `Result<MutexGuard<T>>` |
//! | `notify.notified()` | [`notify.notified_cancellable()`](NotifyExt::notified_cancellable) | `Result<()>` |
//! | `rx.recv()` (`mpsc`, bounded or not) | [`rx.recv_cancellable()`](MpscReceiverExt::recv_cancellable) | `Result<Option<T>>` |
//! | `tx.send(v)` (`mpsc`) | [`tx.send_cancellable(v)`](MpscSenderExt::send_cancellable) | `Result<()>` |
//!
//! Any other future: [`.cancellable()`](crate::CancellableExt::cancellable).
//! The traits are in the prelude. Each form tries the uncontended path
//! first (`try_lock`, `try_acquire`, `try_send`). To wait, the lock and
//! send forms hold tokio's own future in place (their futures carry its
//! type as a parameter), so they are `Send` exactly when tokio's are and
//! work with values that are not `Send` in a local scope (SPEC §2d); the
//! semaphore forms box tokio's `acquire` future when they must wait.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> scopes::Result<()> {
//! use scopes::prelude::*;
//! use tokio::sync::Mutex;
//!
//! let jobs = Mutex::new(vec![1, 2, 3]);
//! let jobs = &jobs;
//! coroutine_scope! {
//!     launch {
//!         let mut jobs = jobs.lock_cancellable().await?; // one `?`
//!         jobs.push(4);
//!     }
//!     Ok(())
//! }?;
//! assert_eq!(jobs.lock().await.len(), 4);
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::sync::{AcquireError, Mutex, MutexGuard, Notify, Semaphore, SemaphorePermit, mpsc};

use crate::cancel::{Cancellable, cancellable};
use crate::channel::ChannelClosed;
use crate::engine::child::BoxFuture;
use crate::engine::context;
use crate::error::{Error, Result};

/// Cancellation-aware [`Semaphore`] acquisition.
pub trait SemaphoreExt {
    /// `acquire()` that a cancellation interrupts: `Err` with a
    /// cancellation when the caller's job is cancelled, `Err` with tokio's
    /// [`AcquireError`] when the semaphore is closed.
    ///
    /// # Cancel safety
    ///
    /// As tokio's `acquire`: dropped while waiting, it loses its place in
    /// the queue and holds no permit.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> scopes::Result<()> {
    /// use scopes::sync::SemaphoreExt;
    /// let slots = tokio::sync::Semaphore::new(1);
    /// let permit = slots.acquire_cancellable().await?;
    /// assert_eq!(slots.available_permits(), 0);
    /// drop(permit);
    /// # Ok(())
    /// # }
    /// ```
    fn acquire_cancellable(&self) -> Acquire<'_>;

    /// `acquire_many(n)` that a cancellation interrupts; see
    /// [`acquire_cancellable`](SemaphoreExt::acquire_cancellable).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> scopes::Result<()> {
    /// use scopes::sync::SemaphoreExt;
    /// let slots = tokio::sync::Semaphore::new(3);
    /// let _two = slots.acquire_many_cancellable(2).await?;
    /// assert_eq!(slots.available_permits(), 1);
    /// # Ok(())
    /// # }
    /// ```
    fn acquire_many_cancellable(&self, permits: u32) -> Acquire<'_>;
}

impl SemaphoreExt for Semaphore {
    fn acquire_cancellable(&self) -> Acquire<'_> {
        self.acquire_many_cancellable(1)
    }

    fn acquire_many_cancellable(&self, permits: u32) -> Acquire<'_> {
        Acquire {
            semaphore: self,
            permits,
            wait: None,
        }
    }
}

type Acquiring<'a> = BoxFuture<'a, std::result::Result<SemaphorePermit<'a>, AcquireError>>;

/// Future returned by [`SemaphoreExt::acquire_cancellable`] and
/// [`SemaphoreExt::acquire_many_cancellable`].
///
/// # Cancel safety
///
/// As tokio's `acquire`: dropped while it waits, it loses its place in the
/// queue and holds no permit.
#[must_use = "futures do nothing unless polled"]
pub struct Acquire<'a> {
    semaphore: &'a Semaphore,
    permits: u32,
    wait: Option<Acquiring<'a>>,
}

impl<'a> Future for Acquire<'a> {
    type Output = Result<SemaphorePermit<'a>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Some(cancelled) = context::cancellation() {
            self.wait = None;
            return Poll::Ready(Err(cancelled));
        }
        let Acquire {
            semaphore,
            permits,
            wait,
        } = &mut *self;
        if wait.is_none() {
            // Uncontended: no allocation. A closed semaphore goes through
            // `acquire_many` so that its error is always `AcquireError`.
            if let Ok(permit) = semaphore.try_acquire_many(*permits) {
                return Poll::Ready(Ok(permit));
            }
        }
        let wait = wait.get_or_insert_with(|| Box::pin(semaphore.acquire_many(*permits)));
        context::aware(wait.as_mut().poll(cx).map_err(Error::new))
    }
}

impl fmt::Debug for Acquire<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Acquire")
            .field("permits", &self.permits)
            .field("waiting", &self.wait.is_some())
            .finish()
    }
}

/// Cancellation-aware [`Mutex`] locking.
pub trait MutexExt<T: ?Sized> {
    /// `lock()` that a cancellation interrupts: `Err` with a cancellation
    /// when the caller's job is cancelled (R7).
    ///
    /// # Cancel safety
    ///
    /// As tokio's `lock`: dropped while waiting, it loses its place in the
    /// queue and holds no lock.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> scopes::Result<()> {
    /// use scopes::sync::MutexExt;
    /// let count = tokio::sync::Mutex::new(0);
    /// *count.lock_cancellable().await? += 1;
    /// assert_eq!(*count.lock().await, 1);
    /// # Ok(())
    /// # }
    /// ```
    fn lock_cancellable(&self) -> Lock<'_, T, impl Future<Output = MutexGuard<'_, T>>>;
}

impl<T: ?Sized> MutexExt<T> for Mutex<T> {
    fn lock_cancellable(&self) -> Lock<'_, T, impl Future<Output = MutexGuard<'_, T>>> {
        Lock {
            mutex: self,
            // Made now (for its type) and boxed and polled only if the lock
            // is taken: an unpolled `lock()` holds no place in the queue.
            // Its own type, not a `Send` box: the future is `Send` exactly
            // when the guard is (a local scope's `Rc` data, SPEC §2d).
            wait: Wait::new(self.lock()),
        }
    }
}

/// Future returned by [`MutexExt::lock_cancellable`]; `W` is tokio's
/// `lock()` future, which it waits in when the lock is taken.
///
/// # Cancel safety
///
/// As tokio's `lock`: dropped while it waits, it loses its place in the
/// queue and holds no lock. Cancelled while it waits, it leaves the queue
/// at once.
#[must_use = "futures do nothing unless polled"]
pub struct Lock<'a, T: ?Sized, W> {
    mutex: &'a Mutex<T>,
    wait: Wait<W>,
}

impl<'a, T: ?Sized, W: Future<Output = MutexGuard<'a, T>>> Future for Lock<'a, T, W> {
    type Output = Result<MutexGuard<'a, T>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if let Some(cancelled) = context::cancellation() {
            this.wait.leave();
            return Poll::Ready(Err(cancelled));
        }
        if !this.wait.is_waiting()
            && let Ok(guard) = this.mutex.try_lock()
        {
            return Poll::Ready(Ok(guard)); // uncontended
        }
        context::aware(this.wait.poll(cx).map(Ok))
    }
}

impl<T: ?Sized, W> fmt::Debug for Lock<'_, T, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lock")
            .field("waiting", &self.wait.is_waiting())
            .finish()
    }
}

/// Cancellation-aware [`Notify`] waiting.
pub trait NotifyExt {
    /// `notified()` that a cancellation interrupts: `Err` with a
    /// cancellation when the caller's job is cancelled (R7).
    ///
    /// # Cancel safety
    ///
    /// As tokio's `Notified`: a permit from `notify_one` received by a
    /// future that is then dropped goes to the next waiter.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> scopes::Result<()> {
    /// use scopes::sync::NotifyExt;
    /// let ready = tokio::sync::Notify::new();
    /// ready.notify_one(); // stores a permit
    /// ready.notified_cancellable().await?;
    /// # Ok(())
    /// # }
    /// ```
    fn notified_cancellable(&self) -> Cancellable<tokio::sync::futures::Notified<'_>>;
}

impl NotifyExt for Notify {
    fn notified_cancellable(&self) -> Cancellable<tokio::sync::futures::Notified<'_>> {
        cancellable(self.notified())
    }
}

/// Cancellation-aware receiving from tokio's `mpsc` channels
/// ([`mpsc::Receiver`], [`mpsc::UnboundedReceiver`]).
pub trait MpscReceiverExt: Sized {
    /// What the channel carries.
    type Item;

    /// `recv()` that a cancellation interrupts: `Err` with a cancellation
    /// when the caller's job is cancelled (R7), else `Ok` with what `recv`
    /// gives (`None` once the channel is closed and drained).
    ///
    /// # Cancel safety
    ///
    /// As tokio's `recv`: dropping it loses no message.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> scopes::Result<()> {
    /// use scopes::sync::MpscReceiverExt;
    /// let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    /// tx.send(5).unwrap();
    /// drop(tx);
    /// assert_eq!(rx.recv_cancellable().await?, Some(5));
    /// assert_eq!(rx.recv_cancellable().await?, None);
    /// # Ok(())
    /// # }
    /// ```
    fn recv_cancellable(&mut self) -> MpscRecv<'_, Self>;
}

impl<T> MpscReceiverExt for mpsc::Receiver<T> {
    type Item = T;

    fn recv_cancellable(&mut self) -> MpscRecv<'_, Self> {
        MpscRecv { rx: self }
    }
}

impl<T> MpscReceiverExt for mpsc::UnboundedReceiver<T> {
    type Item = T;

    fn recv_cancellable(&mut self) -> MpscRecv<'_, Self> {
        MpscRecv { rx: self }
    }
}

/// Future returned by [`MpscReceiverExt::recv_cancellable`].
///
/// # Cancel safety
///
/// As tokio's `recv`: dropped while it waits, it loses no message.
#[must_use = "futures do nothing unless polled"]
pub struct MpscRecv<'a, R> {
    rx: &'a mut R,
}

impl<T> Future for MpscRecv<'_, mpsc::Receiver<T>> {
    type Output = Result<Option<T>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Some(cancelled) = context::cancellation() {
            return Poll::Ready(Err(cancelled));
        }
        context::aware(self.rx.poll_recv(cx).map(Ok))
    }
}

impl<T> Future for MpscRecv<'_, mpsc::UnboundedReceiver<T>> {
    type Output = Result<Option<T>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Some(cancelled) = context::cancellation() {
            return Poll::Ready(Err(cancelled));
        }
        context::aware(self.rx.poll_recv(cx).map(Ok))
    }
}

impl<R> fmt::Debug for MpscRecv<'_, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MpscRecv").finish_non_exhaustive()
    }
}

/// Cancellation-aware sending on a bounded tokio [`mpsc::Sender`].
pub trait MpscSenderExt<T> {
    /// `send(value)` that a cancellation interrupts: `Err` with a
    /// cancellation when the caller's job is cancelled (R7), `Err` with
    /// [`ChannelClosed`] when the receiver is gone.
    ///
    /// # Cancel safety
    ///
    /// As tokio's `send`: dropped while waiting for room, the value is not
    /// sent (it is dropped).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> scopes::Result<()> {
    /// use scopes::sync::MpscSenderExt;
    /// let (tx, mut rx) = tokio::sync::mpsc::channel(1);
    /// tx.send_cancellable("job").await?;
    /// assert_eq!(rx.recv().await, Some("job"));
    /// drop(rx);
    /// let err = tx.send_cancellable("late").await.unwrap_err();
    /// assert!(err.downcast_ref::<scopes::channel::ChannelClosed>().is_some());
    /// # Ok(())
    /// # }
    /// ```
    fn send_cancellable(&self, value: T) -> MpscSend<'_, T, impl Future<Output = Reserved<'_, T>>>;
}

/// What tokio's `reserve()` gives: room for one value, or the receiver gone.
type Reserved<'a, T> = std::result::Result<mpsc::Permit<'a, T>, mpsc::error::SendError<()>>;

impl<T> MpscSenderExt<T> for mpsc::Sender<T> {
    fn send_cancellable(&self, value: T) -> MpscSend<'_, T, impl Future<Output = Reserved<'_, T>>> {
        MpscSend {
            tx: self,
            value: Some(value),
            // Made now (for its type), boxed and polled only when the
            // channel is full: an unpolled `reserve()` holds no place. Its
            // own type, so the future is `Send` exactly when `T` is
            // (SPEC §2d).
            room: Wait::new(self.reserve()),
        }
    }
}

/// Future returned by [`MpscSenderExt::send_cancellable`]; `R` is tokio's
/// `reserve()` future, which it waits in when the channel is full (tokio's
/// `send` is `reserve` then a send into the room).
///
/// # Cancel safety
///
/// As tokio's `send`: dropped while it waits, the message is dropped unsent
/// (and its place in the queue is lost). Cancelled while it waits, it
/// leaves the queue at once.
#[must_use = "futures do nothing unless polled"]
pub struct MpscSend<'a, T, R> {
    tx: &'a mpsc::Sender<T>,
    value: Option<T>,
    room: Wait<R>,
}

// The value is moved, never pinned; the wait pins its future in a box.
impl<T, R> Unpin for MpscSend<'_, T, R> {}

impl<'a, T, R: Future<Output = Reserved<'a, T>>> Future for MpscSend<'a, T, R> {
    type Output = Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if let Some(cancelled) = context::cancellation() {
            this.room.leave();
            this.value = None;
            return Poll::Ready(Err(cancelled));
        }
        let closed = || Poll::Ready(Err(Error::new(ChannelClosed)));
        if !this.room.is_waiting() {
            let value = this
                .value
                .take()
                .expect("`MpscSend` polled after completion");
            // Room in the channel: sent at once.
            match this.tx.try_send(value) {
                Ok(()) => return Poll::Ready(Ok(())),
                Err(mpsc::error::TrySendError::Closed(_)) => return closed(),
                Err(mpsc::error::TrySendError::Full(value)) => this.value = Some(value),
            }
        }
        match context::aware(this.room.poll(cx)) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(_closed)) => closed(),
            Poll::Ready(Ok(permit)) => {
                let value = this
                    .value
                    .take()
                    .expect("`MpscSend` polled after completion");
                permit.send(value);
                Poll::Ready(Ok(()))
            }
        }
    }
}

/// A tokio wait held by its own type (`Send` exactly when it is): made
/// unpolled with the future that holds it, boxed at its first poll (only a
/// contended wait is polled, and a box pins it, so the holder stays
/// `Unpin`), dropped when a cancellation ends it (leaving tokio's queue at
/// once, not when the holder is dropped).
enum Wait<W> {
    Unpolled(Option<W>),
    Polled(Pin<Box<W>>),
    Left,
}

impl<W> Wait<W> {
    fn new(wait: W) -> Self {
        Wait::Unpolled(Some(wait))
    }

    fn is_waiting(&self) -> bool {
        matches!(self, Wait::Polled(_))
    }

    fn leave(&mut self) {
        *self = Wait::Left;
    }
}

impl<W: Future> Wait<W> {
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<W::Output> {
        if let Wait::Unpolled(wait) = self {
            let wait = wait.take().expect("an unpolled wait");
            *self = Wait::Polled(Box::pin(wait));
        }
        match self {
            Wait::Polled(wait) => wait.as_mut().poll(cx),
            _ => panic!("a wait polled after it ended"),
        }
    }
}

// The unpolled future is moved into a box before it is first polled.
impl<W> Unpin for Wait<W> {}

impl<T, R> fmt::Debug for MpscSend<'_, T, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MpscSend").finish_non_exhaustive()
    }
}
