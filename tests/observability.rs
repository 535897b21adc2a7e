//! SPEC §3b: names, errors that remember their child, and `debug::dump`
//! (`tracing` spans are in `tracing_spans.rs`).

use std::time::Duration;

use scopes::{Error, Result, Start, coroutine_scope, delay, non_cancellable, yield_now};

#[tokio::test(start_paused = true)]
async fn errors_remember_the_child_they_came_from() {
    let named: Result<()> = coroutine_scope(|s| {
        Box::pin(async move {
            s.child()
                .name("fetch-user")
                .launch(async { Err(Error::msg("404")) });
            Ok(())
        })
    })
    .await;
    let err = named.unwrap_err();
    assert_eq!(err.child_name().as_deref(), Some("fetch-user"));
    assert_eq!(
        format!("{err:?}"),
        "404\n  in child `fetch-user` (tests/observability.rs:12:15)"
    );

    let line = line!() + 3;
    let unnamed: Result<()> = coroutine_scope(|s| {
        Box::pin(async move {
            s.launch(async { Err(Error::msg("boom")) });
            Ok(())
        })
    })
    .await;
    let name = unnamed.unwrap_err().child_name().unwrap();
    assert_eq!(name, format!("tests/observability.rs:{line}:15"));
}

/// The index of the first of a dump's `lines` that contains `needle`.
fn line_with(lines: &[&str], needle: &str, dump: &str) -> usize {
    lines
        .iter()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle} not in dump:\n{dump}"))
}

#[tokio::test(start_paused = true)]
async fn dump_shows_the_tree_of_live_scopes_and_jobs() {
    let dump = coroutine_scope(|s| {
        Box::pin(async move {
            s.child().name("dump-worker").launch(async {
                coroutine_scope(|inner| {
                    Box::pin(async move {
                        inner
                            .child()
                            .name("dump-grandchild")
                            .launch(async { delay(Duration::from_secs(1)).await });
                        Ok(())
                    })
                })
                .await
            });
            s.child()
                .name("dump-lazy")
                .start(Start::Lazy)
                .launch(async { Ok(()) });
            let cleaning = s.child().name("dump-cleaning").launch(async {
                let _ = delay(Duration::from_secs(60)).await;
                non_cancellable(delay(Duration::from_secs(5))).await
            });
            yield_now().await?;
            cleaning.cancel();
            yield_now().await?;
            Ok(scopes::debug::dump())
        })
    })
    .await
    .unwrap();
    let lines: Vec<&str> = dump.lines().collect();
    let at = |needle: &str| line_with(&lines, needle, &dump);
    let worker = at("dump-worker #");
    let grandchild = at("dump-grandchild #");
    assert!(lines[worker].starts_with("  dump-worker #") && lines[worker].ends_with("[active]"));
    // The nested scope sits under the worker, its child under it; the nested
    // scope's body has returned, so it is completing.
    assert!(
        lines[worker + 1]
            .trim_start()
            .starts_with("coroutine_scope at tests/observability.rs:")
    );
    assert!(lines[worker + 1].ends_with("[completing]"), "{dump}");
    assert!(
        lines[grandchild].starts_with("      dump-grandchild #"),
        "{dump}"
    );
    assert!(lines[at("dump-lazy #")].ends_with("[lazy]"));
    assert!(lines[at("dump-cleaning #")].ends_with("[cancelling]"));
}

#[tokio::test(start_paused = true)]
async fn dump_forgets_finished_scopes() {
    coroutine_scope(|s| {
        Box::pin(async move {
            s.child()
                .name("dump-finished-child")
                .launch(async { Ok(()) });
            Ok(())
        })
    })
    .await
    .unwrap();
    assert!(!scopes::debug::dump().contains("dump-finished-child"));
}

/// SPEC §3b: every live job, from its `launch` on, as Kotlin's
/// `DebugProbes` shows a coroutine just launched: a child started in the
/// step running now is there before its scope has taken it, in start
/// order, and in a scope nested in the body too.
#[tokio::test(start_paused = true)]
async fn dump_shows_a_child_started_in_the_step_running_now() {
    let dump = scopes::coroutine_scope!(
        launch(name = "dump-now-first") { delay(Duration::from_secs(1)).await?; };
        let lazy = launch(name = "dump-now-lazy", start = lazy) { Ok::<(), Error>(()) };
        let first = scopes::debug::dump();
        yield_now().await?;
        launch(name = "dump-now-later") { Ok::<(), Error>(()) };
        let inner = coroutine_scope!(
            launch(name = "dump-now-nested") { Ok::<(), Error>(()) };
            Ok(scopes::debug::dump())
        )?;
        lazy.cancel();
        Ok((first, inner))
    )
    .unwrap();
    let (first, inner) = dump;
    let at = |dump: &str, name: &str| {
        let line = dump.lines().position(|line| line.contains(name));
        line.unwrap_or_else(|| panic!("{name} not in {dump}"))
    };
    assert!(
        at(&first, "dump-now-first") < at(&first, "dump-now-lazy"),
        "{first}"
    );
    assert!(
        first
            .lines()
            .any(|l| l.contains("dump-now-first #") && l.ends_with("[active]")),
        "{first}"
    );
    assert!(
        first
            .lines()
            .any(|l| l.contains("dump-now-lazy") && l.ends_with("[lazy]")),
        "{first}"
    );
    let indent = |dump: &str, name: &str| {
        let line = dump.lines().nth(at(dump, name)).unwrap();
        line.len() - line.trim_start().len()
    };
    assert!(
        indent(&inner, "dump-now-nested") > indent(&inner, "dump-now-later"),
        "{inner}"
    );
}

/// A child started under a `limit` that has no place yet says so: a pool
/// whose feeder waits for a place the workers hold looks stuck otherwise.
#[tokio::test(start_paused = true)]
async fn dump_marks_a_child_waiting_for_a_place_under_the_limit() {
    let dump = scopes::coroutine_scope!(limit = 1;
        launch(name = "dump-limit-worker") { delay(Duration::from_secs(1)).await?; };
        launch(name = "dump-limit-feeder") { Ok::<(), Error>(()) };
        yield_now().await?;
        Ok(scopes::debug::dump())
    )
    .unwrap();
    let line = |name: &str| {
        let line = dump.lines().find(|line| line.contains(name));
        line.unwrap_or_else(|| panic!("{name} not in {dump}"))
            .trim()
            .to_owned()
    };
    assert!(line("dump-limit-worker").ends_with("[active]"), "{dump}");
    assert!(
        line("dump-limit-feeder").ends_with("[active, waiting for a place]"),
        "{dump}"
    );
}

/// Completed children linger in a scope's published list until its poll
/// ends; a dump taken before then, from a sibling, must still skip them,
/// and the end of the poll must not clear a slot a new child took meanwhile.
#[tokio::test(start_paused = true)]
async fn dump_from_a_child_skips_completed_siblings_and_keeps_one_in_a_reused_slot() {
    let (early, late) = coroutine_scope(|s| {
        Box::pin(async move {
            s.child().name("dump-quick").launch(async { Ok(()) });
            s.child().name("dump-done").launch(async { Ok(()) });
            let scope = s.clone();
            let observer = s.child().name("dump-observer").r#async(async move {
                // Both siblings have completed; "dump-reuser" takes the slot
                // "dump-done" left, "dump-quick"'s stays empty.
                scope
                    .child()
                    .name("dump-reuser")
                    .launch(async { scopes::delay(Duration::from_secs(1)).await });
                yield_now().await?; // "dump-reuser" is adopted
                let early = scopes::debug::dump();
                delay(Duration::from_millis(1)).await?; // a later poll
                Ok((early, scopes::debug::dump()))
            });
            observer.await
        })
    })
    .await
    .unwrap();
    for dump in [&early, &late] {
        assert!(!dump.contains("dump-quick"), "{dump}");
        assert!(!dump.contains("dump-done"), "{dump}");
        assert!(dump.contains("\n  dump-reuser #"), "{dump}");
        assert!(dump.contains("\n  dump-observer #"), "{dump}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dump_from_another_thread_sees_the_children_of_a_running_scope() {
    coroutine_scope(|s| {
        Box::pin(async move {
            for i in 0..3 {
                s.child()
                    .name(format!("dump-remote-{i}"))
                    .launch(async { scopes::delay(std::time::Duration::from_secs(60)).await });
            }
            scopes::yield_now().await?; // the children are adopted
            let dump = std::thread::spawn(scopes::debug::dump).join().unwrap();
            for i in 0..3 {
                assert!(dump.contains(&format!("\n  dump-remote-{i} #")), "{dump}");
            }
            Err::<(), _>(scopes::Error::msg("done: cancel the sleepers"))
        })
    })
    .await
    .unwrap_err();
}

/// Job ids come from per-thread blocks; jobs started on different worker
/// threads at the same time must still get distinct ids.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_ids_are_unique_across_threads() {
    async fn ids() -> Vec<String> {
        coroutine_scope(|s| {
            Box::pin(async move {
                let jobs: Vec<_> = (0..2000).map(|_| s.launch(async { Ok(()) })).collect();
                Ok(jobs
                    .iter()
                    .map(|job| {
                        let debug = format!("{job:?}");
                        let id = debug.split("id: ").nth(1).unwrap();
                        id.split(',').next().unwrap().to_string()
                    })
                    .collect())
            })
        })
        .await
        .unwrap()
    }
    let tasks: Vec<_> = (0..4).map(|_| tokio::spawn(ids())).collect();
    let mut all = std::collections::BTreeSet::new();
    for task in tasks {
        for id in task.await.unwrap() {
            assert!(all.insert(id.clone()), "id {id} given twice");
        }
    }
    assert_eq!(all.len(), 8000);
}

/// A level of a recursion of nested scopes, each entered in a child of the
/// one above; the deepest child dumps the tree from a thread with a small
/// stack (a monitoring thread) and gives the dump back up.
fn dump_at_depth(depth: u32) -> scopes::BoxFuture<'static, Result<String>> {
    Box::pin(coroutine_scope(move |s| {
        Box::pin(async move {
            let below = s.r#async(async move {
                if depth == 0 {
                    let dump = std::thread::Builder::new()
                        .stack_size(256 << 10)
                        .spawn(scopes::debug::dump)
                        .expect("thread")
                        .join()
                        .expect("the dump's thread");
                    return Ok(dump);
                }
                dump_at_depth(depth - 1).await
            });
            below.await
        })
    }))
}

/// A tree 2,000 scopes deep (4,000 levels of the dump: each scope and the
/// child it is entered in) dumps from a thread with a 256 KiB stack, and
/// its lines stop indenting past 100 levels, saying their level instead:
/// the dump grows with the number of jobs, not with the square of the
/// depth (a 10,000-deep tree's dump was 401 MB).
#[test]
fn dump_of_a_deep_tree_walks_it_without_recursion_and_bounds_its_indent() {
    const DEPTH: u32 = 2_000;
    let dump = std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(|| {
            tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("runtime")
                .block_on(dump_at_depth(DEPTH))
        })
        .expect("thread")
        .join()
        .expect("the tree's thread")
        .expect("the tree");
    let lines: Vec<&str> = dump.lines().collect();
    // Every scope and every child it runs in: two lines per level.
    let levels = 2 * (DEPTH as usize + 1);
    assert!(lines.len() >= levels, "{} lines", lines.len());
    let indent = |line: &str| line.len() - line.trim_start().len();
    assert!(lines.iter().all(|line| indent(line) <= 200));
    let deepest = lines.iter().filter(|line| line.contains("(level ")).count();
    assert!(deepest >= levels - 101, "{deepest} lines say their level");
    // The deepest job's line (the dump lists every live scope of the
    // process: other tests' may follow it).
    let deepest_level = format!("(level {}) ", levels - 1);
    assert!(
        lines
            .iter()
            .any(|line| line.trim_start().starts_with(&deepest_level)),
        "no line at level {}",
        levels - 1
    );
    // Linear in the jobs: bounded bytes per line (other tests' jobs, alive
    // meanwhile, are listed too: up to 8,000 of them).
    let per_line = dump.len() / lines.len();
    assert!(per_line <= 300, "{per_line} bytes per line");
}

/// SPEC §3b: a scope entered in a `with_timeout` block's work is dumped
/// under the child the block runs in, like one entered without a timeout
/// (it was dumped as a root of its own: the timeout's job is nobody's
/// child; found by a helper's random trees).
#[tokio::test(start_paused = true)]
async fn dump_shows_a_scope_entered_under_a_timeout_under_its_child() {
    assert_scope_under_the_worker(&dump_from_the_worker(Around::Timeout).await);
}

/// A scope whose child `leaf-name` waits: the dump taken inside it.
async fn dump_in_a_scope_with_a_waiting_child() -> Result<String> {
    coroutine_scope(|inner| {
        Box::pin(async move {
            inner
                .child()
                .name("leaf-name")
                .launch(async { delay(Duration::from_millis(5)).await });
            delay(Duration::from_millis(1)).await?;
            Ok(scopes::debug::dump())
        })
    })
    .await
}

/// What the worker's scope is entered in.
enum Around {
    Timeout,
    NonCancellable,
    /// A timeout in a `parallel` child (a tokio task of its own).
    TimeoutInParallel,
}

/// The dump taken in a scope with a waiting child, entered `around` in
/// the child `worker-name`.
async fn dump_from_the_worker(around: Around) -> String {
    coroutine_scope(|s| {
        Box::pin(async move {
            let dump = dump_in_a_scope_with_a_waiting_child();
            let worker = s.child().name("worker-name");
            let worker = match around {
                Around::Timeout => {
                    worker.r#async(scopes::with_timeout(Duration::from_secs(1), dump))
                }
                Around::NonCancellable => worker.r#async(non_cancellable(dump)),
                Around::TimeoutInParallel => {
                    worker.async_parallel(scopes::with_timeout(Duration::from_secs(1), dump))
                }
            };
            worker.await
        })
    })
    .await
    .unwrap()
}

/// Asserts that the dump shows a scope right below `worker-name`, and the
/// scope's child `leaf-name` below the scope.
fn assert_scope_under_the_worker(dump: &str) {
    let lines: Vec<&str> = dump.lines().collect();
    let at = |needle: &str| line_with(&lines, needle, dump);
    let indent = |line: &str| line.len() - line.trim_start().len();
    let worker = at("worker-name #");
    let scope = lines[worker + 1];
    assert!(
        scope.trim_start().starts_with("coroutine_scope at "),
        "{dump}"
    );
    assert_eq!(indent(scope), indent(lines[worker]) + 2, "{dump}");
    assert_eq!(
        indent(lines[at("leaf-name #")]),
        indent(scope) + 2,
        "{dump}"
    );
}

/// SPEC §3b: a scope entered inside `non_cancellable` is dumped under the
/// child it runs in (it was dumped as a root of its own: inside
/// `non_cancellable` the child's job is not the scope's cancellable
/// parent; found by a review).
#[tokio::test(start_paused = true)]
async fn dump_shows_a_scope_entered_in_non_cancellable_under_its_child() {
    assert_scope_under_the_worker(&dump_from_the_worker(Around::NonCancellable).await);
}

/// SPEC §3b: a scope entered under a `with_timeout` in a `parallel` child
/// (a tokio task of its own) is dumped under that child (it was dumped as
/// a root: the timeout found no unit of work to show it under; found by a
/// review).
#[tokio::test(start_paused = true)]
async fn dump_shows_a_scope_under_a_timeout_in_a_parallel_child_under_that_child() {
    assert_scope_under_the_worker(&dump_from_the_worker(Around::TimeoutInParallel).await);
}
