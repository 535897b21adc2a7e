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
/// (R7), as in `worker #12 [cancelling, foreign wait]`. A child started
/// under its scope's `limit` that has no place yet is marked `waiting for
/// a place`, as in `feeder #6 [active, waiting for a place]`: children
/// that wait on each other's progress need a limit above their number.
///
/// Each level indents two spaces (a nested scope is two levels: the child
/// it runs in, then the scope) up to 100 levels; deeper lines keep that
/// indent and say their level, as in `(level 250) worker #12 [active]`,
/// so that a dump of a deep recursion grows with its jobs, not with the
/// square of its depth. The tree is walked without recursion, so the
/// thread that takes the dump needs no deeper stack than any other (a
/// monitoring thread's 256 KiB dumps a tree 2,000 scopes deep).
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
///     let dump = scopes::debug::dump(); // there from its launch on
///     yield_now().await?;
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
    write_tree(&mut out, &by_parent);
    out
}

/// What is left to write of the tree, last first.
enum Step<'a> {
    /// The scopes entered in the job `parent` (`None`: the roots).
    ScopesIn { parent: Option<u64>, depth: usize },
    /// One job's line.
    Job(&'a JobCore, usize),
}

/// Writes every scope entered in `parent`, each followed by the scopes
/// entered in its body, then its children, each followed by the scopes
/// entered in it: depth first, with a list of steps instead of recursion
/// (a thread's stack does not bound the depth it can dump).
fn write_tree(out: &mut String, by_parent: &BTreeMap<Option<u64>, Vec<&ScopeView>>) {
    let mut steps = vec![Step::ScopesIn {
        parent: None,
        depth: 0,
    }];
    while let Some(step) = steps.pop() {
        let (parent, depth) = match step {
            Step::Job(job, depth) => {
                write_job(out, job, depth);
                continue;
            }
            Step::ScopesIn { parent, depth } => (parent, depth),
        };
        let scopes = by_parent.get(&parent).into_iter().flatten();
        // Pushed last to first, so that they are written first to last.
        for scope in scopes.rev() {
            for child in scope.children.iter().rev() {
                let parent = Some(child.id);
                steps.push(Step::ScopesIn {
                    parent,
                    depth: depth + 2,
                });
                steps.push(Step::Job(child, depth + 1));
            }
            let parent = Some(scope.job.id);
            steps.push(Step::ScopesIn {
                parent,
                depth: depth + 1,
            });
            steps.push(Step::Job(&scope.job, depth));
        }
    }
}

/// Levels indented in full; deeper lines say their level instead.
const INDENTED: usize = 100;

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
    } else if job.waits_for_a_place() {
        ", waiting for a place"
    } else {
        ""
    };
    out.extend(std::iter::repeat_n(' ', depth.min(INDENTED) * 2));
    if depth > INDENTED {
        let _ = write!(out, "(level {depth}) ");
    }
    let _ = writeln!(out, "{} #{} [{state}{wait}]", job.name, job.id);
}
