//! `parallel` children: spawned on tokio's thread pool, still children.
//!
//! The scope polls a proxy in place; the proxy spawns the real work as a
//! tokio task that runs as a job of its own, passes the proxy's
//! cancellation on to it, and aborts it when dropped (R10).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::task::JoinHandle;

use crate::engine::child::BoxFuture;
use crate::engine::context;
use crate::engine::handler::{Handler, HandlerGuard};
use crate::engine::job::{Host, JobCore};
use crate::engine::name::Name;
use crate::engine::ready::ReadyQueue;
use crate::engine::trace::Span;
use crate::error::{Error, Result};

/// The in-place side of a `parallel` child.
pub(crate) fn child<T, F>(name: Name, fut: F) -> Proxy<T>
where
    F: Future<Output = Result<T>> + Send + 'static,
    T: Send + 'static,
{
    Proxy {
        remote: JobCore::new(name, Host::Task(ReadyQueue::new()), false),
        work: Some(Box::pin(fut)),
        handle: None,
    }
}

pub(crate) struct Proxy<T: Send + 'static> {
    remote: Arc<JobCore>,
    work: Option<BoxFuture<'static, Result<T>>>,
    handle: Option<AbortOnDrop<T>>,
}

struct AbortOnDrop<T>(JoinHandle<Result<T>>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl<T: Send + 'static> Future for Proxy<T> {
    type Output = Result<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T>> {
        let this = &mut *self;
        if let Some(cancelled) = context::cancellation() {
            this.remote.cancel(Some(&cancelled));
        }
        if let Some(work) = this.work.take() {
            let task = Remote {
                span: Span::child(&this.remote.name, this.remote.id),
                job: this.remote.clone(),
                work: Some(work),
                handler: crate::engine::handler::current_handler(),
            };
            this.handle = Some(AbortOnDrop(tokio::spawn(task)));
        }
        let Some(AbortOnDrop(handle)) = &mut this.handle else {
            return Poll::Pending;
        };
        match Pin::new(handle).poll(cx) {
            Poll::Ready(Ok(result)) => Poll::Ready(result),
            Poll::Ready(Err(join)) if join.is_panic() => {
                Poll::Ready(Err(Error::panic(join.into_panic())))
            }
            Poll::Ready(Err(_aborted)) => Poll::Ready(Err(Error::cancelled())),
            Poll::Pending => {
                // The task meets R7 on its own; the proxy must wait for it.
                context::mark_shielded();
                Poll::Pending
            }
        }
    }
}

/// The tokio task of a `parallel` child.
struct Remote<T> {
    span: Span,
    job: Arc<JobCore>,
    work: Option<BoxFuture<'static, Result<T>>>,
    handler: Option<Handler>,
}

impl<T> Future for Remote<T> {
    type Output = Result<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T>> {
        let this = &mut *self;
        this.job.register_task(cx.waker());
        let _span = this.span.enter();
        let _handler = HandlerGuard::enter(this.handler.clone());
        let Some(work) = &mut this.work else {
            return Poll::Pending;
        };
        let was_cancelled = this.job.is_cancelled();
        let Poll::Ready(ended) =
            context::resume(&this.job, work.as_mut(), cx, was_cancelled, false)
        else {
            return Poll::Pending;
        };
        this.work = None;
        Poll::Ready(this.job.ended(ended.and_then(|result| result)))
    }
}
