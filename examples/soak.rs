//! Soak test: random trees of scopes run on the runtime and in the
//! reference model (tests/model) in a loop, for a given time; every run must
//! agree on outcome, virtual time, side-effect log, handler calls and drops.
//!
//! ```sh
//! cargo run --release --example soak -- --seconds 60
//! cargo run --release --example soak -- --seconds 600 --seed 7 --children 1000000
//! ```
//!
//! On a disagreement it shrinks the tree (proptest's shrinking), prints the
//! smallest failing tree with both observations, and exits with status 1.

#[path = "../tests/model/mod.rs"]
mod model;

use std::time::{Duration, Instant};

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

struct Args {
    seconds: u64,
    seed: u64,
    children: u64,
}

fn parse_args() -> Args {
    let mut args = Args {
        seconds: 60,
        seed: 1,
        children: 0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| usage(&flag))
        };
        match flag.as_str() {
            "--seconds" => args.seconds = value(),
            "--seed" => args.seed = value(),
            "--children" => args.children = value(),
            _ => usage(&flag),
        }
    }
    args
}

fn usage(flag: &str) -> ! {
    eprintln!("soak: bad argument {flag:?}");
    eprintln!("usage: soak [--seconds N] [--seed N] [--children N]");
    std::process::exit(2)
}

fn agrees(tree: &model::Tree) -> bool {
    model::real::run(tree) == model::sim::run(tree)
}

/// Shrinks a failing case with proptest's value tree and reports it.
fn report_failure(mut case: impl ValueTree<Value = model::Tree>) -> ! {
    let mut steps = 0;
    while steps < 10_000 && case.simplify() {
        steps += 1;
        if agrees(&case.current()) && !case.complicate() {
            break;
        }
    }
    let tree = case.current();
    eprintln!("soak: the runtime disagrees with the model\n{tree}");
    eprintln!("real:  {:#?}", model::real::run(&tree));
    eprintln!("model: {:#?}", model::sim::run(&tree));
    std::process::exit(1)
}

/// `n` children in one scope, each yields once and adds its index.
fn many_children(n: u64) -> Duration {
    use std::sync::atomic::{AtomicU64, Ordering};
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let sum = AtomicU64::new(0);
    let sum_ref = &sum;
    let start = Instant::now();
    runtime
        .block_on(scopes::coroutine_scope(|s| {
            Box::pin(async move {
                for i in 0..n {
                    s.launch(async move {
                        scopes::yield_now().await?;
                        sum_ref.fetch_add(i, Ordering::Relaxed);
                        Ok(())
                    });
                }
                Ok(())
            })
        }))
        .expect("many children");
    assert_eq!(sum.load(Ordering::Relaxed), n * n.saturating_sub(1) / 2);
    start.elapsed()
}

fn main() {
    let args = parse_args();
    model::real::quiet_scripted_panics();
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &args.seed.to_le_bytes().repeat(4)),
    );
    let strategy = model::generate::tree();
    let start = Instant::now();
    let deadline = start + Duration::from_secs(args.seconds);
    let (mut trees, mut procs, mut largest, mut virtual_ms) = (0u64, 0u64, 0, 0u64);
    let mut failures = 0u64;
    while Instant::now() < deadline {
        let case = strategy.new_tree(&mut runner).expect("a tree");
        let tree = case.current();
        let real = model::real::run(&tree);
        if real != model::sim::run(&tree) {
            report_failure(case);
        }
        if matches!(real.outcome, model::Outcome::Error { .. }) {
            failures += 1;
        }
        trees += 1;
        procs += tree.procs() as u64;
        largest = largest.max(tree.procs());
        virtual_ms += real.elapsed_ms;
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "soak: {trees} trees agreed with the model in {secs:.1} s ({:.0} trees/s, seed {})",
        trees as f64 / secs,
        args.seed
    );
    println!(
        "soak: {procs} procs in all (largest tree {largest}), {failures} trees ended in an error, \
         {virtual_ms} ms of virtual time"
    );
    if args.children > 0 {
        let took = many_children(args.children);
        println!(
            "soak: {} children in one scope in {took:?} ({:.0} ns/child)",
            args.children,
            took.as_nanos() as f64 / args.children as f64
        );
    }
}
