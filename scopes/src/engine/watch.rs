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
    pub(crate) struct Watched<F: Future, S> {
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
        // The trigger fired and queued the caller's own step, which has
        // not run yet (`requeue`).
        caller_queued: bool,
        // The work's outcome, kept for that step when the work ended on a
        // route through the caller (`hold_for_caller`).
        held: Option<F::Output>,
    }
}

impl<F: Future, S> Watched<F, S> {
    pub(crate) fn new(fut: F, trigger: S, name: Name) -> Self {
        Self {
            fut: Some(fut),
            trigger,
            job: None,
            name,
            parent: None,
            within: None,
            fired: false,
            caller_queued: false,
            held: None,
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
        // Polled for a route through the caller's code (to a scope inside
        // the work), not for the caller's own entry.
        let on_hop = context::polled_on_hop();
        if !on_hop {
            // The caller's own step: the one `requeue` queued, if any.
            *this.caller_queued = false;
            if let Some(result) = this.held.take() {
                return Poll::Ready(ended(result, *this.fired));
            }
        }
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
            *this.caller_queued = true;
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
        let Poll::Ready(outcome) = context::resume_within(within, &job, fut, cx, was_cancelled)
        else {
            // The caller's cancellation reaches the work through this job:
            // the caller is not in a foreign wait here.
            return context::aware(Poll::Pending);
        };
        this.fut.set(None);
        let result = job.ended(outcome.and_then(std::convert::identity));
        if *this.caller_queued && on_hop {
            return hold_for_caller(this.held, result);
        }
        Poll::Ready(ended(result, *this.fired))
    }
}

/// How the work's outcome ends the wait: a real failure wins over the
/// trigger; the trigger wins over a value returned after its cancellation
/// (R9).
fn ended<T>(result: Result<T>, fired: bool) -> Ended<T> {
    match result {
        Err(e) if !e.is_cancellation() => Ended::Done(Err(e)),
        _ if fired => Ended::Fired,
        result => Ended::Done(result),
    }
}

/// R14: the work ended on a route through the caller (a scope inside it
/// completed there) after the trigger had queued the caller's own step:
/// its outcome waits for that step. Returned now, the caller would run on
/// in the route's step and leave its own step queued ahead of what it
/// does next: a `yield_now` there would be absorbed by that stale step,
/// and a child started before it would run after it.
fn hold_for_caller<T>(held: &mut Option<Result<T>>, result: Result<T>) -> Poll<Ended<T>> {
    *held = Some(result);
    context::aware(Poll::Pending)
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
