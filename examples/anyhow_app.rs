//! An app on `anyhow` (SPEC §2e, feature `anyhow`): its fns return
//! `anyhow::Result`, its scopes' children use anyhow's `?`, `bail!` and
//! `ensure!`, and a scope's failure gets anyhow's `.context(..)` on its way
//! out, with the child it came from still in it.
//!
//! `cargo run --example anyhow_app`

use std::time::Duration;

use anyhow::{Context as _, bail, ensure};
use scopes::prelude::*;

/// A config value, parsed with anyhow's context.
fn port(text: &str) -> anyhow::Result<u16> {
    text.parse::<u16>()
        .with_context(|| format!("reading the port from {text:?}"))
}

/// A fetch that fails for some ids, as an HTTP client would.
async fn fetch(id: u32) -> anyhow::Result<String> {
    delay(Duration::from_millis(10 * u64::from(id))).await?;
    if id == 3 {
        bail!("http 500 for item {id}");
    }
    Ok(format!("item {id}"))
}

/// The whole body is a `coroutine_scope`; anyhow's `?`, `ensure!` and
/// `bail!` work in it and in its children as in any anyhow fn.
#[scoped]
async fn fetch_all(ids: &[u32]) -> anyhow::Result<Vec<String>> {
    ensure!(!ids.is_empty(), "nothing to fetch");
    let pages: Vec<_> = ids
        .iter()
        // A child body is a `scopes::Result`: anyhow's errors go in by `?`.
        .map(|&id| async { Ok(fetch(id).await.with_context(|| format!("fetching {id}"))?) })
        .collect();
    let mut all = Vec::new();
    for page in pages {
        all.push(page.await?);
    }
    Ok(all)
}

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() -> anyhow::Result<()> {
    run().await
}

/// The app (tests/anyhow_interop.rs runs it, so CI checks its asserts).
pub async fn run() -> anyhow::Result<()> {
    println!("port: {}", port("8080")?);
    println!("{:#}", port("80a").unwrap_err());

    let two = fetch_all(&[1, 2]).await?;
    println!("fetched: {two:?}");

    // The failure of item 3 fails the scope (its siblings are cancelled):
    // anyhow's context chain comes back whole.
    let failed = fetch_all(&[1, 2, 3, 4]).await.unwrap_err();
    println!("{failed:#}");
    assert_eq!(format!("{failed:#}"), "fetching 3: http 500 for item 3");

    // A scope's own `scopes::Result` takes anyhow's `.context(..)` too
    // (`scopes::Context`, in the prelude).
    let total: scopes::Result<u32> = coroutine_scope! {
        let a = async { Ok(1u32) };
        let b = async { Err::<u32, _>(Error::msg("disk full")) };
        Ok(a.await? + b.await?)
    };
    let failed = total.context("summing the parts").unwrap_err();
    println!("{failed:#}");
    assert_eq!(format!("{failed:#}"), "summing the parts: disk full");

    let nothing = fetch_all(&[]).await.unwrap_err();
    println!("{nothing}");
    Ok(())
}
