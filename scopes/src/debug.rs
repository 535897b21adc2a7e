//! A live view of every scope and job in the process, like Kotlin's
//! `DebugProbes.dumpCoroutines()`.
//!
//! Each scope registers itself once in a process-wide table and keeps a
//! list of its live children. A child's start and end are first noted in a
//! thread-local buffer (a push, no lock) and published under the scope's own
//! lock once per poll of the scope; `dump` reads the published lists plus
//! its own thread's buffer, so it is exact from inside a child too. That is
//! the whole cost when nobody dumps.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use crate::job::JobCore;

struct ScopeEntry {
    job: Arc<JobCore>,
    parent: Option<u64>,
    /// Live children by slab index.
    children: Mutex<Vec<Option<Arc<JobCore>>>>,
}

static REGISTRY: Mutex<BTreeMap<u64, Weak<ScopeEntry>>> = Mutex::new(BTreeMap::new());

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// A scope's entry in the registry; removed when dropped.
pub(crate) struct Registration {
    entry: Arc<ScopeEntry>,
}

type Change = (u64, usize, Option<Arc<JobCore>>);

thread_local! {
    /// Child starts and ends not yet published, by scope id.
    static PENDING: RefCell<Vec<Change>> = const { RefCell::new(Vec::new()) };
}

pub(crate) fn register(job: &Arc<JobCore>, parent: Option<&Arc<JobCore>>) -> Registration {
    let entry = Arc::new(ScopeEntry {
        job: job.clone(),
        parent: parent.map(|p| p.id),
        children: Mutex::new(Vec::new()),
    });
    lock(&REGISTRY).insert(job.id, Arc::downgrade(&entry));
    Registration { entry }
}

impl Registration {
    /// Notes a child placed at `idx`; published at the next flush.
    pub(crate) fn insert(&self, idx: usize, job: &Arc<JobCore>) {
        let change = (self.entry.job.id, idx, Some(job.clone()));
        PENDING.with(|pending| pending.borrow_mut().push(change));
    }

    /// Notes that the child at `idx` completed.
    pub(crate) fn remove(&self, idx: usize) {
        let change = (self.entry.job.id, idx, None);
        PENDING.with(|pending| pending.borrow_mut().push(change));
    }

    /// Where this thread's notes stand as a poll of the scope begins.
    pub(crate) fn mark(&self) -> usize {
        PENDING.with(|pending| pending.borrow().len())
    }

    /// Publishes the notes taken since `mark`, as the poll ends. Notes of
    /// enclosing scopes come before `mark`; nested scopes have published
    /// theirs at the end of their own polls (any left by a nested scope that
    /// panicked mid-poll are dropped here).
    pub(crate) fn flush(&self, mark: usize) {
        PENDING.with(|pending| {
            let mut pending = pending.borrow_mut();
            if pending.len() <= mark {
                return;
            }
            let id = self.entry.job.id;
            let mut children = lock(&self.entry.children);
            let own = pending.drain(mark..).filter(|c| c.0 == id);
            apply(&mut children, own.map(|(_, idx, job)| (idx, job)));
            if pending.is_empty() && pending.capacity() > 1024 {
                *pending = Vec::new(); // give back a burst's memory
            }
        });
    }
}

fn apply(
    children: &mut Vec<Option<Arc<JobCore>>>,
    changes: impl Iterator<Item = (usize, Option<Arc<JobCore>>)>,
) {
    for (idx, job) in changes {
        if children.len() <= idx {
            children.resize(idx + 1, None);
        }
        children[idx] = job;
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
    let pending: Vec<Change> = PENDING.with(|pending| pending.borrow().clone());
    let views: Vec<ScopeView> = scopes
        .iter()
        .map(|scope| {
            let mut children = lock(&scope.children).clone();
            let own = pending.iter().filter(|c| c.0 == scope.job.id);
            apply(&mut children, own.map(|(_, idx, job)| (*idx, job.clone())));
            ScopeView {
                job: scope.job.clone(),
                parent: scope.parent,
                children: children.into_iter().flatten().collect(),
            }
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
