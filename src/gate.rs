//! A gate that futures wait on without allocating: for measuring what a
//! waiting child or scope costs (the W4 and W7 memory workloads), where
//! the waiting itself must add nothing.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

/// Keeps the wakers of its waiters in a vector reserved in advance; opening
/// it wakes them all.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let gate = scopes_workspace::Gate::new(1);
/// let waiter = tokio::spawn(gate.wait());
/// while gate.waiting() < 1 {
///     tokio::task::yield_now().await;
/// }
/// gate.open();
/// waiter.await.unwrap().unwrap();
/// assert_eq!(gate.passed(), 1);
/// # }
/// ```
pub struct Gate {
    open: AtomicBool,
    waiters: Mutex<Vec<Waker>>,
    passed: AtomicU64,
}

impl Gate {
    /// A closed gate with room for `capacity` waiters.
    pub fn new(capacity: usize) -> Arc<Self> {
        Arc::new(Self {
            open: AtomicBool::new(false),
            waiters: Mutex::new(Vec::with_capacity(capacity)),
            passed: AtomicU64::new(0),
        })
    }

    /// Waiters registered so far.
    pub fn waiting(&self) -> usize {
        self.waiters.lock().unwrap().len()
    }

    /// How many waits have ended.
    pub fn passed(&self) -> u64 {
        self.passed.load(Ordering::Relaxed)
    }

    /// Opens the gate and wakes every waiter.
    pub fn open(&self) {
        self.open.store(true, Ordering::SeqCst);
        let waiters = std::mem::take(&mut *self.waiters.lock().unwrap());
        for waker in waiters {
            waker.wake();
        }
    }

    /// A future pending until the gate opens (a child body: `Ok(())`).
    pub fn wait(self: &Arc<Self>) -> Wait {
        Wait {
            gate: self.clone(),
            registered: false,
        }
    }
}

/// Future returned by [`Gate::wait`].
#[must_use = "futures do nothing unless polled"]
pub struct Wait {
    gate: Arc<Gate>,
    registered: bool,
}

impl Future for Wait {
    type Output = scopes::Result<()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<scopes::Result<()>> {
        let this = &mut *self;
        if this.gate.open.load(Ordering::SeqCst) {
            this.gate.passed.fetch_add(1, Ordering::Relaxed);
            return Poll::Ready(Ok(()));
        }
        if !this.registered {
            this.registered = true;
            this.gate.waiters.lock().unwrap().push(cx.waker().clone());
        }
        Poll::Pending
    }
}
