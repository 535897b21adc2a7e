//! The report of the tree benches (`tree`: W6 and W8, `tree_alloc`: W7):
//! each workload leaves its numbers in a JSON file under the target
//! directory, and whichever bench runs last composes
//! `<target>/bench-tree-report.md` from all of them, noting the age of each.
//! (The `workloads` bench rewrites `bench-report.md` from its own run, so the
//! tree workloads have their own report next to it.)

#![allow(dead_code)] // `tree` and `tree_alloc` each use a part of this module

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::SystemTime;

use crate::support::target_dir;

/// W6's implementations, in report order.
pub const W6_IMPLS: [&str; 5] = [
    "scopes",
    "scopes_local",
    "JoinSet",
    "FuturesUnordered",
    "moro",
];

/// W8's implementations, in report order.
pub const W8_IMPLS: [&str; 3] = ["scopes", "FuturesUnordered", "boxed_recursion"];

/// W6 tree sizes, as powers of the fanout (4).
pub const W6_EXPONENTS: [u32; 2] = [5, 8];

pub fn w6_path() -> PathBuf {
    target_dir().join("bench-tree-w6.json")
}

pub fn w7_path() -> PathBuf {
    target_dir().join("bench-tree-w7.json")
}

/// W8 depends on the build profile: one file per profile.
pub fn w8_path(profile: &str) -> PathBuf {
    target_dir().join(format!("bench-tree-w8-{profile}.json"))
}

pub fn report_path() -> PathBuf {
    target_dir().join("bench-tree-report.md")
}

/// The build profile this executable was compiled in, as far as W8 cares.
pub fn profile() -> &'static str {
    if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    }
}

pub fn save(path: &PathBuf, value: &serde_json::Value) {
    match std::fs::write(path, value.to_string()) {
        Ok(()) => println!("results written to {}", path.display()),
        Err(e) => eprintln!("cannot write {}: {e}", path.display()),
    }
}

/// A results file and how old it is, in seconds.
fn load(path: &PathBuf) -> Option<(serde_json::Value, u64)> {
    let bytes = std::fs::read(path).ok()?;
    let value = serde_json::from_slice(&bytes).ok()?;
    let age = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|modified| SystemTime::now().duration_since(modified).ok())
        .map_or(0, |age| age.as_secs());
    Some((value, age))
}

fn number(value: f64) -> String {
    if value >= 100.0 {
        format!("{value:.0}")
    } else if value >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "missed" }
}

fn age(seconds: u64) -> String {
    if seconds < 120 {
        format!("{seconds} s ago")
    } else if seconds < 7200 {
        format!("{} min ago", seconds / 60)
    } else {
        format!("{} h ago", seconds / 3600)
    }
}

fn w6(out: &mut String) {
    let Some((w6, seconds)) = load(&w6_path()) else {
        out.push_str("\n### W6\n\nmissing: run `cargo bench -p scopes-benches --bench tree`.\n");
        return;
    };
    let _ = writeln!(
        out,
        "\n### W6: a scope per node, fanout 4, every leaf waits 1 ms (paused clock)\n\n\
         Measured {} (`{}` build, {}). Time per leaf, ns; growth = per leaf at 4^8 ÷ at 4^5. \
         `current_thread` runtime, the root a spawned task (`scopes_local`: a `spawn_local` task \
         of a `LocalSet`).\n",
        age(seconds),
        w6["profile"].as_str().unwrap_or("?"),
        w6["machine"].as_str().unwrap_or("?"),
    );
    let per_leaf = |name: &str, exp: u32| -> Option<f64> {
        w6["impls"][name][exp.to_string()]["ns_per_leaf"].as_f64()
    };
    let how = |name: &str, exp: u32| -> String {
        w6["impls"][name][exp.to_string()]["how"]
            .as_str()
            .unwrap_or("")
            .to_string()
    };
    let _ = writeln!(
        out,
        "| implementation | 4^5 = 1024 leaves | 4^8 = 65,536 leaves | growth | ÷ JoinSet at 4^5 | ÷ JoinSet at 4^8 |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|");
    let show = |v: Option<f64>| v.map_or("—".to_string(), number);
    for name in W6_IMPLS {
        let cell = |exp: u32| -> String {
            match per_leaf(name, exp) {
                Some(v) => format!("{} ({})", number(v), how(name, exp)),
                None => "—".to_string(),
            }
        };
        let growth = (|| Some(per_leaf(name, 8)? / per_leaf(name, 5)?))();
        let js = |exp: u32| Some(per_leaf(name, exp)? / per_leaf("JoinSet", exp)?);
        let _ = writeln!(
            out,
            "| {name} | {} | {} | {} | {} | {} |",
            cell(5),
            cell(8),
            show(growth),
            show(js(5)),
            show(js(8)),
        );
    }
    let growth = per_leaf("scopes", 8)
        .zip(per_leaf("scopes", 5))
        .map(|(a, b)| a / b);
    let vs_js = per_leaf("scopes", 8)
        .zip(per_leaf("JoinSet", 8))
        .map(|(a, b)| a / b);
    let _ = writeln!(
        out,
        "\nTargets for `scopes` (SPEC §6): growth ≤ 1.3: {}; per leaf ≤ 1.0× nested `JoinSet` (at 4^8): {}.",
        growth.map_or("not measured".to_string(), |g| format!(
            "{} ({g:.2})",
            verdict(g <= 1.3)
        )),
        vs_js.map_or("not measured".to_string(), |r| format!(
            "{} ({r:.2}×)",
            verdict(r <= 1.0)
        )),
    );
}

fn w7(out: &mut String) {
    let Some((w7, seconds)) = load(&w7_path()) else {
        out.push_str(
            "\n### W7\n\nmissing: run `cargo bench -p scopes-benches --bench tree_alloc`.\n",
        );
        return;
    };
    let n = w7["n"].as_u64().unwrap_or(0);
    let _ = writeln!(
        out,
        "\n### W7: heap bytes per live nested scope\n\n\
         Measured {} (`{}` build): {n} children of one outer scope, all waiting on a gate; \
         live heap while they wait, minus before, ÷ {n}. The outer scope's cost per child \
         is included.\n",
        age(seconds),
        w7["profile"].as_str().unwrap_or("?"),
    );
    let _ = writeln!(
        out,
        "| child of the outer scope | bytes per child | target |"
    );
    let _ = writeln!(out, "|---|---|---|");
    let rows = [
        ("empty", "a nested scope whose body waits", Some(300.0)),
        (
            "one_waiting_child",
            "a nested scope with one child that waits (child included)",
            Some(600.0),
        ),
        (
            "plain_child",
            "(reference) a plain child that waits, no nested scope",
            None,
        ),
    ];
    for (key, label, target) in rows {
        let Some(bytes) = w7[key].as_f64() else {
            continue;
        };
        let target = target.map_or("—".to_string(), |t: f64| {
            format!("≤ {t}: {}", verdict(bytes <= t))
        });
        let _ = writeln!(out, "| {label} | {} | {target} |", number(bytes));
    }
}

fn w8(out: &mut String) {
    let _ = writeln!(
        out,
        "\n### W8: nesting depth reachable on a 2 MiB thread\n\n\
         Levels that complete on a `current_thread` runtime driven (`block_on`) on a thread \
         with a 2 MiB stack; the innermost level yields once. Found by binary search over \
         child processes (a stack overflow aborts the process).\n"
    );
    let mut any = false;
    for (profile, target) in [("debug", 2_000), ("release", 5_000)] {
        let Some((w8, seconds)) = load(&w8_path(profile)) else {
            let _ = writeln!(
                out,
                "`{profile}`: not measured (`{}`).\n",
                if profile == "debug" {
                    "SCOPES_TREE_ONLY=W8 cargo bench -p scopes-benches --profile dev --bench tree"
                } else {
                    "SCOPES_TREE_ONLY=W8 cargo bench -p scopes-benches --bench tree"
                }
            );
            continue;
        };
        any = true;
        let _ = writeln!(out, "`{profile}` build, measured {}:\n", age(seconds));
        let _ = writeln!(out, "| implementation | levels | target for scopes |");
        let _ = writeln!(out, "|---|---|---|");
        for name in W8_IMPLS {
            let Some(levels) = w8[name]["max_levels"].as_u64() else {
                continue;
            };
            let capped = w8[name]["capped"].as_bool().unwrap_or(false);
            let shown = if capped {
                format!("≥ {levels} (search cap)")
            } else {
                levels.to_string()
            };
            let target = if name == "scopes" {
                format!("≥ {target}: {}", verdict(levels >= target))
            } else {
                "—".to_string()
            };
            let _ = writeln!(out, "| {name} | {shown} | {target} |");
        }
        out.push('\n');
    }
    if !any {
        out.push_str("(no W8 results yet)\n");
    }
}

/// Composes the report from every results file present, prints it and
/// writes it to `<target>/bench-tree-report.md`.
pub fn write() {
    let mut out = String::from(
        "## Tree workloads (SPEC §6 W6–W8)\n\n\
         Written by `cargo bench -p scopes-benches --bench tree` (W6, W8) and `cargo bench -p scopes-benches --bench tree_alloc` \
         (W7); each section says when it was measured.\n",
    );
    w6(&mut out);
    w7(&mut out);
    w8(&mut out);
    let path = report_path();
    if let Err(e) = std::fs::write(&path, &out) {
        eprintln!("cannot write {}: {e}", path.display());
    }
    println!("\n{out}\nReport written to {}", path.display());
}

/// CPUs and model, for the record.
pub fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name"))
        .and_then(|rest| rest.split_once(':'))
        .map_or("unknown CPU", |(_, model)| model.trim())
        .to_string();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load: Vec<&str> = load.split_whitespace().take(3).collect();
    format!("{cpus} CPUs, {model}, load average {}", load.join(" "))
}
