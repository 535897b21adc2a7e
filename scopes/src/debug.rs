//! A live view of every scope and job in the process, like Kotlin's
//! `DebugProbes.dumpCoroutines()`.

use crate::engine::job::JobCore;
use crate::engine::registry::{self, ScopeView};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

/// The tree of every live scope and job in the process, one per line,
/// children indented under their parent: name, `#id` and state (`active`,
/// `cancelling`, `completing` — a scope whose body has returned and that
/// waits for its children — or `lazy` for a child not started yet).
/// A job suspended outside any cancellation-aware call (a tokio lock, a
/// foreign channel, a sleep not wrapped in `cancellable`) is marked
/// `foreign wait`: cancelling it drops it there, without its async cleanup
/// (R7), as in `worker #12 [cancelling, foreign wait]`.
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
    let views = registry::views();
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
    let state = if job.is_cancelling() {
        "cancelling"
    } else if job.is_completing() {
        "completing"
    } else if !job.is_started() {
        "lazy"
    } else {
        "active"
    };
    let wait = if job.is_in_foreign_wait() {
        ", foreign wait"
    } else {
        ""
    };
    let _ = writeln!(
        out,
        "{:indent$}{} #{} [{state}{wait}]",
        "",
        job.name,
        job.id,
        indent = depth * 2
    );
}
