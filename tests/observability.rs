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
    assert_eq!(format!("{err:?}"), "404\n  in child `fetch-user`");

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
    let at = |needle: &str| {
        lines
            .iter()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("{needle} not in dump:\n{dump}"))
    };
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
