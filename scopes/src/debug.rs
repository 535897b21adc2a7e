//! A live view of every scope and job in the process, like Kotlin's
//! `DebugProbes.dumpCoroutines()`.
//!
//! Each scope registers itself once in a process-wide table and keeps a
//! list of its live children; that is the whole cost when nobody dumps (one
//! insert and one remove per child, on a lock only its own scope takes).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use crate::job::JobCore;
use crate::ready::ReadyQueue;

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

pub(crate) fn register(
    job: &Arc<JobCore>,
    parent: Option<&Arc<JobCore>>,
    _queue: &Arc<ReadyQueue>,
) -> Registration {
    let entry = Arc::new(ScopeEntry {
        job: job.clone(),
        parent: parent.map(|p| p.id),
        children: Mutex::new(Vec::new()),
    });
    lock(&REGISTRY).insert(job.id, Arc::downgrade(&entry));
    Registration { entry }
}

impl Registration {
    pub(crate) fn insert(&self, idx: usize, job: &Arc<JobCore>) {
        let mut children = lock(&self.entry.children);
        if children.len() <= idx {
            children.resize(idx + 1, None);
        }
        children[idx] = Some(job.clone());
    }

    pub(crate) fn remove(&self, idx: usize) {
        if let Some(slot) = lock(&self.entry.children).get_mut(idx) {
            *slot = None;
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
    let mut by_parent: BTreeMap<Option<u64>, Vec<&Arc<ScopeEntry>>> = BTreeMap::new();
    let known: std::collections::BTreeSet<u64> = scopes
        .iter()
        .flat_map(|s| {
            let children: Vec<u64> = lock(&s.children).iter().flatten().map(|j| j.id).collect();
            std::iter::once(s.job.id).chain(children)
        })
        .collect();
    for scope in &scopes {
        let parent = scope.parent.filter(|p| known.contains(p));
        by_parent.entry(parent).or_default().push(scope);
    }
    let mut out = String::new();
    write_scopes(&mut out, &by_parent, None, 0);
    out
}

fn write_scopes(
    out: &mut String,
    by_parent: &BTreeMap<Option<u64>, Vec<&Arc<ScopeEntry>>>,
    parent: Option<u64>,
    depth: usize,
) {
    for scope in by_parent.get(&parent).into_iter().flatten() {
        write_job(out, &scope.job, depth);
        write_scopes(out, by_parent, Some(scope.job.id), depth + 1);
        let children: Vec<Arc<JobCore>> = lock(&scope.children).iter().flatten().cloned().collect();
        for child in children {
            write_job(out, &child, depth + 1);
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
