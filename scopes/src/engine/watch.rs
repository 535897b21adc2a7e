//! A piece of work run as a job of its own, a child of the caller's job,
//! which a *trigger* cancels: the machinery of `with_timeout` (the trigger
//! is a deadline, Kotlin's `TimeoutCoroutine`) and `cancel_on` (any
//! future).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::context::{self, Within};
use super::job::{Attached, Host, JobCore};
use super::name::Name;
use super::ready::ReadyQueue;
use crate::error::{Error, Result};

/// What cancels the work when it completes first.
pub(crate) trait Trigger: Future<Output = ()> {
    /// The cancellation the work sees as the trigger fires (the trigger
    /// may keep what its caller reports: a timeout's error).
    fn fire(self: Pin<&mut Self>) -> Error;
}

/// How watched work ended.
pub(crate) enum Ended<T> {
    /// The work's own outcome (or the caller's cancellation).
    Done(Result<T>),
    /// The trigger fired first; the work, cancelled, has completed.
    Fired,
}

pin_project_lite::pin_project! {
    pub(crate) struct Watched<F, S> {
        #[pin]
        fut: Option<F>,
        #[pin]
        trigger: S,
        job: Option<Arc<JobCore>>,
        // The work's job's name: `with_timeout` or `cancel_on`.
        name: Name,
        parent: Option<Arc<JobCore>>,
        // What the caller's code runs in, which the work runs within
        // (`context::resume_within`).
        within: Option<Within>,
        fired: bool,
    }
}

impl<F, S> Watched<F, S> {
    pub(crate) fn new(fut: F, trigger: S, name: Name) -> Self {
        Self {
            fut: Some(fut),
            trigger,
            job: None,
            name,
            parent: None,
            within: None,
            fired: false,
        }
    }

    pub(crate) fn trigger(&self) -> &S {
        &self.trigger
    }

    pub(crate) fn trigger_mut(self: Pin<&mut Self>) -> Pin<&mut S> {
        self.project().trigger
    }
}

impl<T, F: Future<Output = Result<T>>, S: Trigger> Watched<F, S> {
    pub(crate) fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Ended<T>> {
        let mut this = self.project();
        if this.fut.is_none() {
            return Poll::Pending; // polled after completion
        }
        let job = match this.job {
            Some(job) => job.clone(),
            None => {
                // A cancelled caller fails at once; a trigger that has
                // fired already (a zero timeout) fires at once; neither
                // runs the work.
                if let Some(cancelled) = context::cancellation() {
                    this.fut.set(None);
                    return Poll::Ready(Ended::Done(Err(cancelled)));
                }
                if this.trigger.as_mut().poll(cx).is_ready() {
                    this.fut.set(None);
                    return Poll::Ready(Ended::Fired);
                }
                let job = start_job(this.name, this.within, this.parent);
                *this.job = Some(job.clone());
                job
            }
        };
        // The caller's cancellation first: an enclosing deadline that fires
        // at the same instant was registered first and wins, as in Kotlin.
        if let Some(parent) = this.parent
            && parent.is_cancelled()
        {
            job.cancel(Some(&parent.cancellation_error()));
        }
        if !*this.fired && !job.is_cancelled() && this.trigger.as_mut().poll(cx).is_ready() {
            *this.fired = true;
            job.cancel(Some(&this.trigger.as_mut().fire()));
            if !ReadyQueue::on_route() {
                return requeue(cx);
            }
            // On a route into the work (an entry of a scope inside it):
            // the route goes on, or that scope would be cut off from the
            // tree's FIFO; the caller's own resumption is queued all the
            // same.
            cx.waker().wake_by_ref();
        }
        let was_cancelled = job.is_cancelled();
        let Some(fut) = this.fut.as_mut().as_pin_mut() else {
            return Poll::Pending;
        };
        let within = this.within;
        let Poll::Ready(ended) = context::resume_within(within, &job, fut, cx, was_cancelled)
        else {
            // The caller's cancellation reaches the work through this job:
            // the caller is not in a foreign wait here.
            return context::aware(Poll::Pending);
        };
        this.fut.set(None);
        let result = ended.and_then(std::convert::identity);
        // A real failure wins over the trigger; the trigger wins over a
        // value returned after its cancellation (R9).
        Poll::Ready(match job.ended(result) {
            Err(e) if !e.is_cancellation() => Ended::Done(Err(e)),
            _ if *this.fired => Ended::Fired,
            result => Ended::Done(result),
        })
    }
}

/// The trigger has just fired and cancelled the work: the work resumes
/// with the cancellation in a step of its own, queued behind what is ready
/// already (R14), not in the step that saw the trigger. Kotlin's order: the
/// timeout's event only cancels the block, whose suspended code is then
/// dispatched like any resumed job; what the cancel queued first (the
/// block's children) runs before it. The caller is not in a foreign wait.
fn requeue<T>(cx: &mut Context<'_>) -> Poll<T> {
    cx.waker().wake_by_ref();
    context::aware(Poll::Pending)
}

/// The work's job, made at its first poll: attached to the caller's job
/// (`parent`), so that cancelling that cancels the work, and running
/// `within` what the caller's code runs in. Out of line: a tower of
/// timeouts polls through `Watched::poll` once per level, and what this
/// step holds would be on the stack at every level.
#[inline(never)]
fn start_job(
    name: &Name,
    within: &mut Option<Within>,
    parent: &mut Option<Arc<JobCore>>,
) -> Arc<JobCore> {
    let job = JobCore::new(name.clone(), Host::Inline, false);
    *within = Some(Within::here());
    *parent = context::cancellable_parent();
    if let Some(parent) = parent.as_ref() {
        let attached: Arc<dyn Attached> = job.clone();
        parent.attach(Arc::downgrade(&attached));
    }
    job
}
