//! `produce!` in the DSL (SPEC §2c): in the scope macros and in annotated
//! fns, with and without options, with children of its own; it lowers to
//! `Scope::produce`, so the semantics are those of tests/channel_produce.rs.

use std::time::Duration;

use scopes::channel::UNLIMITED;
use scopes::prelude::*;
use scopes_workspace::Log;
use tokio::time::Instant;

#[tokio::test]
async fn produce_in_coroutine_scope_reads_like_kotlin() {
    let squares: Result<Vec<u64>> = coroutine_scope! {
        let squares = produce!(|tx| for x in 1..=5u64 { tx.send(x * x).await?; });
        let mut all = Vec::new();
        while let Some(sq) = squares.recv().await? {
            all.push(sq);
        }
        Ok(all)
    };
    assert_eq!(squares.unwrap(), [1, 4, 9, 16, 25]);
}

/// The take-5 pipeline in an annotated fn: the consumer takes 5 items from
/// an endless producer and returns; the scope completes normally.
#[scoped]
async fn take_five(log: &Log) -> Result<Vec<u64>> {
    let numbers = produce!(capacity = 2, name = "numbers"; |tx| {
        let mut i = 0u64;
        loop {
            if let Err(cancelled) = tx.send(i).await {
                log.push("numbers cancelled");
                return Err(cancelled);
            }
            i += 1;
        }
    });
    let mut taken = Vec::new();
    while taken.len() < 5 {
        taken.extend(numbers.recv().await?);
    }
    Ok(taken)
}

#[tokio::test]
async fn produce_in_an_annotated_fn_with_options() {
    let log = Log::default();
    assert_eq!(take_five(&log).await.unwrap(), [0, 1, 2, 3, 4]);
    assert_eq!(log.take(), ["numbers cancelled"]);
}

#[tokio::test]
async fn the_name_option_names_the_producer() {
    let err = coroutine_scope! {
        let rx = produce!(name = "source"; |tx| {
            tx.send(1u8).await?;
            Err::<(), _>(Error::msg("source failed"))
        });
        while rx.recv().await?.is_some() {}
        Ok(())
    }
    .unwrap_err();
    assert_eq!(err.to_string(), "source failed");
    assert_eq!(err.child_name().as_deref(), Some("source"));
}

#[tokio::test]
async fn without_a_name_the_producer_is_named_after_its_location() {
    let err = coroutine_scope! {
        let rx = produce!(|_tx: Sender<u8>| Err::<(), _>(Error::msg("x")));
        rx.recv().await?;
        Ok(())
    }
    .unwrap_err();
    let name = err.child_name().expect("a child's failure");
    assert!(name.starts_with("tests/channel_dsl.rs:"), "{name}");
}

/// A producer body may start children of its own (a scope of its own, as
/// a `launch` body), and may be a braced block or a `move` closure.
#[tokio::test]
async fn a_producer_with_children_of_its_own() {
    let total: Result<u64> = supervisor_scope! {
        let parts = produce!(capacity = UNLIMITED; move |tx| {
            let a = async { Ok(20u64) };
            let b = async { Ok(22u64) };
            tx.send(a.await?).await?;
            tx.send(b.await?).await?;
        });
        let mut total = 0;
        while let Some(part) = parts.recv().await? {
            total += part;
        }
        Ok(total)
    };
    assert_eq!(total.unwrap(), 42);
}

/// Producers and launches together: a fan-out of workers over one
/// produced channel, results fanned in through another.
#[tokio::test(start_paused = true)]
async fn fan_out_and_fan_in_in_the_dsl() {
    let start = Instant::now();
    let total: Result<u64> = coroutine_scope! {
        let jobs = produce!(|tx| for i in 1..=9u64 { tx.send(i).await?; });
        let (results_tx, results) = channel::<u64>(UNLIMITED);
        for _ in 0..3 {
            let (jobs, results_tx) = (jobs.clone(), results_tx.clone());
            launch {
                while let Some(i) = jobs.recv().await? {
                    delay(Duration::from_secs(1)).await?;
                    results_tx.send(i * 10).await?;
                }
            }
        }
        drop((jobs, results_tx));
        let mut total = 0;
        while let Some(r) = results.recv().await? {
            total += r;
        }
        Ok(total)
    };
    assert_eq!(total.unwrap(), 450);
    assert_eq!(
        start.elapsed(),
        Duration::from_secs(3),
        "three workers, nine 1 s jobs"
    );
}

/// `produce!(|tx| { .. })`: the braces are the closure's, and rustc's
/// `unused_braces` does not flag them on the user's code (it did when the
/// block was kept inside the generated body; a helper's finding).
#[deny(unused_braces)]
#[tokio::test(start_paused = true)]
async fn a_producer_body_in_braces_raises_no_lint() {
    let first = coroutine_scope! {
        let rx = produce!(|tx| { loop { tx.send(1u32).await?; } });
        let first = rx.recv().await?;
        rx.cancel();
        Ok(first)
    };
    assert_eq!(first.unwrap(), Some(1));
}
