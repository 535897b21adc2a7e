//! proptest strategies for random scripts: depth ≤ 4, at most 6 steps per
//! proc, times drawn from a small set so that ties happen often.
//!
//! Handle arguments are drawn as raw numbers and resolved afterwards
//! against the handles the proc holds (see [`normalize`]), so that shrinking
//! keeps scripts valid.

use proptest::prelude::*;

use super::{Cleanup, End, Kind, Proc, Step, Tree};

/// Times (ms) for delays and timeouts: small and few, so that events tie.
const TIMES: [u64; 6] = [0, 1, 2, 3, 5, 10];

fn time() -> impl Strategy<Value = u64> {
    prop::sample::select(&TIMES[..])
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![Just(Kind::Coroutine), Just(Kind::Supervisor)]
}

fn end() -> impl Strategy<Value = End> {
    prop_oneof![
        12 => (0u64..10).prop_map(End::Value),
        2 => Just(End::Fail),
        1 => Just(End::Panic),
    ]
}

fn cleanup() -> impl Strategy<Value = Option<Cleanup>> {
    prop::option::weighted(
        0.5,
        (
            prop::sample::select(&[0u64, 1, 2, 5][..]),
            any::<bool>(),
            prop::bool::weighted(0.3),
        )
            .prop_map(|(delay, non_cancellable, fail)| Cleanup {
                delay,
                non_cancellable,
                fail,
            }),
    )
}

/// Steps that contain no proc. Handle arguments are raw (see `normalize`).
fn leaf_step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => time().prop_map(Step::Delay),
        1 => prop::sample::select(&[1u64, 2, 5, 10][..]).prop_map(Step::Sleep),
        2 => Just(Step::Yield),
        2 => any::<u8>().prop_map(|h| Step::Await(h as usize)),
        1 => any::<u8>().prop_map(|h| Step::Join(h as usize)),
        1 => any::<u8>().prop_map(|h| Step::Cancel(h as usize)),
        1 => any::<u8>().prop_map(|h| Step::Start(h as usize)),
    ]
}

fn proc_of(steps: impl Strategy<Value = Vec<Step>>) -> impl Strategy<Value = Proc> {
    (steps, end(), cleanup()).prop_map(|(steps, end, on_cancel)| Proc {
        id: 0,
        steps,
        end,
        on_cancel,
    })
}

/// One step; `proc` gives the procs of the steps that contain one.
fn step(proc: impl Strategy<Value = Proc> + Clone) -> impl Strategy<Value = Step> {
    let lazy = || prop::bool::weighted(0.25);
    prop_oneof![
        5 => leaf_step(),
        4 => (lazy(), proc.clone()).prop_map(|(lazy, proc)| Step::Launch { lazy, proc }),
        3 => (lazy(), proc.clone()).prop_map(|(lazy, proc)| Step::Async { lazy, proc }),
        2 => (kind(), proc.clone()).prop_map(|(kind, proc)| Step::Scope(kind, proc)),
        2 => (time(), any::<bool>(), proc)
            .prop_map(|(after, or_none, proc)| Step::Timeout { after, or_none, proc }),
    ]
}

/// A random proc, up to 3 levels deep, up to 6 steps each.
pub fn proc() -> impl Strategy<Value = Proc> + Clone {
    let leaf = proc_of(prop::collection::vec(leaf_step(), 0..4));
    leaf.prop_recursive(2, 48, 6, |inner| {
        proc_of(prop::collection::vec(step(inner), 0..=6))
    })
}

/// A random tree, normalized: a body of 1 to 6 steps over procs up to 3
/// levels deep (4 with the body).
pub fn tree() -> impl Strategy<Value = Tree> {
    let body = proc_of(prop::collection::vec(step(proc()), 1..=6));
    (kind(), body).prop_map(|(kind, body)| normalize(Tree { kind, body }))
}

/// Numbers procs in pre-order and resolves handle arguments against the
/// table each proc holds: `Await` picks among `async` handles, the others
/// among all handles; with nothing to pick from the step becomes `Yield`.
pub fn normalize(mut tree: Tree) -> Tree {
    let mut next = 0;
    fix(&mut tree.body, &mut Vec::new(), &mut next);
    tree
}

/// `table`: for each handle the proc holds, whether it is `async`.
fn fix(proc: &mut Proc, table: &mut Vec<bool>, next: &mut usize) {
    proc.id = *next;
    *next += 1;
    for step in &mut proc.steps {
        let pick = |raw: usize, table: &[bool], asyncs_only: bool| {
            let candidates: Vec<usize> = (0..table.len())
                .filter(|&i| !asyncs_only || table[i])
                .collect();
            (!candidates.is_empty()).then(|| candidates[raw % candidates.len()])
        };
        match step {
            Step::Await(h) => match pick(*h, table, true) {
                Some(i) => *h = i,
                None => *step = Step::Yield,
            },
            Step::Join(h) | Step::Cancel(h) | Step::Start(h) => match pick(*h, table, false) {
                Some(i) => *h = i,
                None => *step = Step::Yield,
            },
            Step::Launch { proc: child, .. } => {
                fix(child, &mut table.clone(), next);
                table.push(false);
            }
            Step::Async { proc: child, .. } => {
                fix(child, &mut table.clone(), next);
                table.push(true);
            }
            // A nested scope's body holds the handles of the proc that
            // enters it: a job inside can cancel, join or await a job of an
            // enclosing scope (a cancel issued from inside the subtree).
            Step::Scope(_, child) => fix(child, &mut table.clone(), next),
            Step::Timeout { proc: child, .. } => fix(child, &mut table.clone(), next),
            Step::Delay(_) | Step::Sleep(_) | Step::Yield => {}
        }
    }
}
