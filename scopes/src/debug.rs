//! A live view of every scope and job in the process, like Kotlin's
//! `DebugProbes.dumpCoroutines()`.
//!
//! Each scope registers itself once in a process-wide table and keeps a
//! list of its live children, indexed like its child slots. A burst of
//! children adopted together is published under the scope's lock once, and
//! before any of them runs, so `dump` sees them from anywhere, a child of
//! the same scope included. A completed child is left in the list until the
//! scope's poll ends (one lock for the lot): `dump` skips completed jobs, so
//! the view stays exact. That is the whole cost when nobody dumps.
//!
//! The same list is how a cancel reaches a nested scope's children at once
//! (R7): the scope's entry is attached to the job it was entered in, and
//! cancelling that job cancels the scope and every child listed here.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use crate::error::Error;
use crate::job::{Attached, JobCore};
use crate::ready::ReadyQueue;

struct ScopeEntry {
    job: Arc<JobCore>,
    queue: Arc<ReadyQueue>,
    parent: Option<u64>,
    /// Children by slot index; completed ones may linger until a flush.
    children: Mutex<Vec<Option<Arc<JobCore>>>>,
}

static REGISTRY: Mutex<BTreeMap<u64, Weak<ScopeEntry>>> = Mutex::new(BTreeMap::new());

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// A scope's entry in the registry; removed when dropped.
pub(crate) struct Registration {
    entry: Arc<ScopeEntry>,
    /// Slots whose child completed since the last flush.
    completed: Vec<usize>,
}

/// Registers a scope (its job and queue), attached to the job it was
/// entered in (`parent`), so that cancelling that job cancels the scope.
pub(crate) fn register(
    job: &Arc<JobCore>,
    queue: &Arc<ReadyQueue>,
    parent: Option<&Arc<JobCore>>,
) -> Registration {
    let entry = Arc::new(ScopeEntry {
        job: job.clone(),
        queue: queue.clone(),
        parent: parent.map(|p| p.id),
        children: Mutex::new(Vec::with_capacity(crate::driver::SMALL)),
    });
    lock(&REGISTRY).insert(job.id, Arc::downgrade(&entry));
    if let Some(parent) = parent {
        let attached: Arc<dyn Attached> = entry.clone();
        parent.attach(Arc::downgrade(&attached));
    }
    Registration {
        entry,
        completed: Vec::with_capacity(crate::driver::SMALL),
    }
}

/// R7: cancels the scope's job (its body) and every child, in slot order;
/// each is resumed once. A no-op for a scope already cancelled.
impl Attached for ScopeEntry {
    fn cancel_with(&self, cause: &Error) {
        if !self.job.cancel(Some(cause)) {
            return;
        }
        self.queue.set_cancellation(cause);
        for child in lock(&self.children).iter().flatten() {
            child.cancel_by_scope();
        }
    }
}

impl Registration {
    /// Publishes children just placed in the given slots, under one lock.
    /// Children placed while the scope was being cancelled from elsewhere
    /// (another thread) are cancelled here, now that a cancel sees them.
    pub(crate) fn publish<'a>(&self, placed: impl Iterator<Item = (usize, &'a Arc<JobCore>)>) {
        let mut children = lock(&self.entry.children);
        let cancelled = self.entry.job.is_cancelled();
        for (idx, job) in placed {
            if children.len() <= idx {
                children.resize(idx + 1, None);
            }
            if cancelled {
                job.cancel_by_scope();
            }
            children[idx] = Some(job.clone());
        }
    }

    /// Cancels the scope: its body and every child (R7).
    pub(crate) fn cancel(&self, cause: &Error) {
        self.entry.cancel_with(cause);
    }

    /// Notes that the child at `idx` completed; cleared at the next flush.
    pub(crate) fn remove(&mut self, idx: usize) {
        self.completed.push(idx);
    }

    /// Clears the completed children's entries, as a poll of the scope
    /// ends. A slot reused meanwhile holds its new child, which stays.
    pub(crate) fn flush(&mut self) {
        if self.completed.is_empty() {
            return;
        }
        let mut children = lock(&self.entry.children);
        for idx in self.completed.drain(..) {
            if let Some(entry) = children.get_mut(idx)
                && entry.as_ref().is_some_and(|job| job.is_completed())
            {
                *entry = None;
            }
        }
        drop(children);
        if self.completed.capacity() > 1024 {
            self.completed = Vec::new(); // give back a burst's memory
        }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        lock(&REGISTRY).remove(&self.entry.job.id);
    }
}

/// The tree of every live scope and job in the process, one per line,
/// children indented under their parent: name, `#id` and state (`active`,
/// `cancelling`, `completing` — a scope whose body has returned and that
/// waits for its children — or `lazy` for a child not started yet).
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> scopes::Result<()> {
/// use scopes::{coroutine_scope, yield_now};
///
/// coroutine_scope(|s| Box::pin(async move {
///     s.child().name("worker").launch(async { yield_now().await });
///     yield_now().await?; // let the worker start
///     let dump = scopes::debug::dump();
///     assert!(dump.contains("coroutine_scope at "));
///     assert!(dump.contains("\n  worker #"));
///     Ok(())
/// }))
/// .await
/// # }
/// ```
pub fn dump() -> String {
    let scopes: Vec<Arc<ScopeEntry>> = lock(&REGISTRY).values().filter_map(Weak::upgrade).collect();
    let views: Vec<ScopeView> = scopes
        .iter()
        .map(|scope| ScopeView {
            job: scope.job.clone(),
            parent: scope.parent,
            children: lock(&scope.children)
                .iter()
                .flatten()
                .filter(|job| !job.is_completed())
                .cloned()
                .collect(),
        })
        .collect();
    let known: BTreeSet<u64> = views
        .iter()
        .flat_map(|v| std::iter::once(v.job.id).chain(v.children.iter().map(|j| j.id)))
        .collect();
    let mut by_parent: BTreeMap<Option<u64>, Vec<&ScopeView>> = BTreeMap::new();
    for view in &views {
        let parent = view.parent.filter(|p| known.contains(p));
        by_parent.entry(parent).or_default().push(view);
    }
    let mut out = String::new();
    write_scopes(&mut out, &by_parent, None, 0);
    out
}

struct ScopeView {
    job: Arc<JobCore>,
    parent: Option<u64>,
    children: Vec<Arc<JobCore>>,
}

fn write_scopes(
    out: &mut String,
    by_parent: &BTreeMap<Option<u64>, Vec<&ScopeView>>,
    parent: Option<u64>,
    depth: usize,
) {
    for scope in by_parent.get(&parent).into_iter().flatten() {
        write_job(out, &scope.job, depth);
        write_scopes(out, by_parent, Some(scope.job.id), depth + 1);
        for child in &scope.children {
            write_job(out, child, depth + 1);
            write_scopes(out, by_parent, Some(child.id), depth + 2);
        }
    }
}

fn write_job(out: &mut String, job: &JobCore, depth: usize) {
    let state = if job.is_cancelled() {
        "cancelling"
    } else if job.is_completing() {
        "completing"
    } else if !job.is_started() {
        "lazy"
    } else {
        "active"
    };
    let _ = writeln!(
        out,
        "{:indent$}{} #{} [{state}]",
        "",
        job.name,
        job.id,
        indent = depth * 2
    );
}
