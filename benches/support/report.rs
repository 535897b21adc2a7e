//! The side-by-side report: criterion's medians of this run (W1–W3, W5) and
//! the `alloc` bench's numbers (W4), as markdown tables with ratios to
//! `FuturesUnordered` and `JoinSet` and SPEC §6's targets for `scopes`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::SystemTime;

use crate::IMPLS;
use crate::support::{Rt, median_ns, quick, report_path, w4_results_path};

/// One row of a table: a number per implementation.
type Row = BTreeMap<&'static str, f64>;

struct Rows {
    w1_10k: Row,
    w1_1m: Row,
    w2: Row,
    w3: Row,
    w4: Row,
    w5: Row,
    /// W2 of `try_join_all` with the failing child first in input order.
    w2_try_join_all_first: Option<f64>,
}

fn collect(rt: Rt, since: SystemTime, w4: &serde_json::Value) -> Rows {
    let rt_name = rt.name();
    let row = |group: String, scale: f64| -> Row {
        IMPLS
            .iter()
            .filter_map(|&name| Some((name, median_ns(&group, name, since)? / scale)))
            .collect()
    };
    let w1_10k = row(format!("W1_10k_{rt_name}"), 10_000.0);
    let w1_1m = row(format!("W1_1M_{rt_name}"), 1_000_000.0);
    let w5 = IMPLS
        .iter()
        .filter_map(|&name| Some((name, w1_1m.get(name)? / w1_10k.get(name)?)))
        .collect();
    let w4 = if rt == Rt::CurrentThread {
        IMPLS
            .iter()
            .filter_map(|&name| Some((name, w4[name]["bytes_per_child"].as_f64()?)))
            .collect()
    } else {
        Row::new()
    };
    Rows {
        w2: row(format!("W2_{rt_name}"), 1_000.0),
        w3: row(format!("W3_{rt_name}"), 1_000.0),
        w2_try_join_all_first: median_ns(
            &format!("W2_{rt_name}"),
            "try_join_all_failing_first",
            since,
        )
        .map(|ns| ns / 1_000.0),
        w1_10k,
        w1_1m,
        w4,
        w5,
    }
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

fn ratio(row: &Row, name: &str, base: &str) -> Option<f64> {
    Some(row.get(name)? / row.get(base)?)
}

/// SPEC §6's target for `scopes` on a row: (limit, compared to FU?).
fn target(workload: &str) -> Option<(f64, bool)> {
    match workload {
        "W1 10k" | "W1 1M" | "W3" => Some((1.5, true)),
        "W2" => Some((2.0, true)),
        "W4" => Some((144.0, false)),
        "W5" => Some((1.3, false)),
        _ => None,
    }
}

fn table(out: &mut String, rt: Rt, rows: &Rows) {
    let names: Vec<&str> = IMPLS
        .iter()
        .copied()
        .filter(|&name| name != "scopes_parallel" || rt == Rt::MultiThread)
        .collect();
    let lines: [(&str, &str, &Row); 6] = [
        ("W1 10k", "ns/child", &rows.w1_10k),
        ("W1 1M", "ns/child", &rows.w1_1m),
        ("W2", "µs fail→return", &rows.w2),
        ("W3", "µs", &rows.w3),
        ("W4", "bytes/child", &rows.w4),
        ("W5", "1M÷10k", &rows.w5),
    ];

    let _ = writeln!(out, "\n#### {} runtime: medians\n", rt.name());
    let _ = writeln!(
        out,
        "| workload | {} | scopes÷FU | scopes÷JoinSet | target for scopes |",
        names.join(" | ")
    );
    let _ = writeln!(out, "|---|{}---|---|---|", "---|".repeat(names.len()));
    for (workload, unit, row) in lines {
        if row.is_empty() {
            continue;
        }
        let mut line = format!("| {workload}, {unit} |");
        for &name in &names {
            let cell = match (row.get(name), workload, name) {
                (Some(&v), _, _) => number(v),
                (None, "W2", "join_all") => match rows.w2_try_join_all_first {
                    Some(first) => format!("never¹ ({} failing first)", number(first)),
                    None => "never¹".to_string(),
                },
                (None, "W3", "scopes_parallel") => "n/a".to_string(),
                (None, "W2" | "W3" | "W4", "scopes_local") => "n/a".to_string(),
                _ => "—".to_string(),
            };
            let _ = write!(line, " {cell} |");
        }
        let fu = ratio(row, "scopes", "FuturesUnordered");
        let js = ratio(row, "scopes", "JoinSet");
        let show = |r: Option<f64>| r.map_or("—".to_string(), |r| format!("{r:.2}×"));
        let verdict = match (target(workload), fu, row.get("scopes")) {
            (Some((limit, true)), Some(r), _) => {
                format!(
                    "≤ {limit}× FU: {}",
                    if r <= limit { "met" } else { "missed" }
                )
            }
            (Some((limit, false)), _, Some(&v)) => {
                format!("≤ {limit}: {}", if v <= limit { "met" } else { "missed" })
            }
            _ => "—".to_string(),
        };
        let (fu, js) = if workload == "W5" {
            ("—".to_string(), "—".to_string())
        } else {
            (show(fu), show(js))
        };
        let _ = writeln!(line, " {fu} | {js} | {verdict} |");
        out.push_str(&line);
    }

    for (base, label) in [
        ("FuturesUnordered", "FuturesUnordered"),
        ("JoinSet", "JoinSet"),
    ] {
        let _ = writeln!(
            out,
            "\n{} runtime, ratio to {label} (lower is better):\n",
            rt.name()
        );
        let _ = writeln!(out, "| workload | {} |", names.join(" | "));
        let _ = writeln!(out, "|---|{}", "---|".repeat(names.len()));
        for (workload, _, row) in lines.iter().take(5) {
            if row.is_empty() {
                continue;
            }
            let mut line = format!("| {workload} |");
            for &name in &names {
                let cell = ratio(row, name, base).map_or("—".to_string(), |r| format!("{r:.2}"));
                let _ = write!(line, " {cell} |");
            }
            let _ = writeln!(out, "{line}");
        }
    }
}

/// The 1, 5 and 15 minute load averages.
pub fn load_average() -> String {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    load.split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

fn machine(load_at_start: &str) -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name"))
        .and_then(|rest| rest.split_once(':'))
        .map_or("unknown CPU", |(_, model)| model.trim())
        .to_string();
    format!(
        "{cpus} CPUs (nproc), {model}; load average {load_at_start} at the start, {} at the end",
        load_average()
    )
}

/// Writes the report of the results measured since `since`.
pub fn write(since: SystemTime, load_at_start: &str) {
    let w4: serde_json::Value = std::fs::read(w4_results_path())
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or(serde_json::Value::Null);
    let mut out = String::new();
    let mode = if quick() {
        "quick (SCOPES_BENCH_QUICK=1)"
    } else {
        "full"
    };
    let _ = writeln!(out, "Machine: {}. Mode: {mode}.", machine(load_at_start));
    out.push_str(
        "\nMedians. W1: start and join N children that yield once and add to a sum, \
         time per child. W2: from the failure of one child to the return of its scope \
         with its 1000 sleeping siblings dropped. W3: a 20×20×20 tree of nested scopes. \
         W4: heap bytes per pending child (100k, `alloc` bench). W5: W1 per-child time \
         at 1M ÷ at 10k. `scopes_parallel`: children started with `launch_parallel` \
         (tokio tasks). `scopes_local`: W1 in a local scope (`coroutine_scope_local`), \
         the parent a `spawn_local` task of a `LocalSet`. Targets are SPEC §6's.\n",
    );
    if w4.is_null() {
        let _ = writeln!(
            out,
            "\nW4 missing: run `cargo bench -p scopes-benches --bench alloc` first."
        );
    } else if let Some(age) = std::fs::metadata(w4_results_path())
        .and_then(|m| m.modified())
        .ok()
        .and_then(|modified| since.duration_since(modified).ok())
    {
        let _ = writeln!(
            out,
            "\nW4 comes from an `alloc` run {} s before this run started.",
            age.as_secs()
        );
    }
    let mut any = false;
    for rt in Rt::ALL {
        let rows = collect(rt, since, &w4);
        if rows.w1_10k.is_empty() && rows.w2.is_empty() && rows.w3.is_empty() {
            continue;
        }
        any = true;
        table(&mut out, rt, &rows);
    }
    if !any {
        return; // a filtered run that measured none of the workloads
    }
    out.push_str(
        "\n¹ `join_all` waits for every child, and `try_join_all` reports in input \
         order: with the failing child after the 1000 sleepers (as for every other \
         peer) it returns only when they wake, an hour later (the bench checks it \
         is still pending 100 ms after the failure). The number in parentheses is \
         `try_join_all` with the failing child first.\n",
    );
    let path = report_path();
    write_file(&path, &out);
    println!("\n{out}\nReport written to {}", path.display());
}

fn write_file(path: &Path, text: &str) {
    if let Err(e) = std::fs::write(path, text) {
        eprintln!("cannot write {}: {e}", path.display());
    }
}
