//! Parallel children: Kotlin's `launch(Dispatchers.Default)`.
//!
//! Children normally run in place, polled by their scope's task. A child
//! started with the `parallel` option is spawned on tokio's thread pool; it
//! must be `Send + 'static` (checked at compile time), and it is still a
//! child: waited for, cancelled with its scope, its failure the scope's.
//!
//! `cargo run --example parallel`

use std::sync::Arc;

use scopes::prelude::*;

/// CPU-bound work: the primes below `limit`, counted the slow way.
fn count_primes(from: u64, to: u64) -> u64 {
    (from.max(2)..to)
        .filter(|&n| (2..).take_while(|d| d * d <= n).all(|d| n % d != 0))
        .count() as u64
}

async fn primes_below(limit: u64, chunks: u64) -> Result<u64> {
    coroutine_scope! {
        let mut parts = Vec::new();
        for i in 0..chunks {
            let (from, to) = (limit * i / chunks, limit * (i + 1) / chunks);
            parts.push(async(parallel, name = format!("chunk {i}")) { Ok(count_primes(from, to)) });
        }
        let mut total = 0;
        for part in parts {
            total += part.await?;
        }
        Ok(total)
    }
}

async fn checksum(words: Arc<Vec<String>>) -> Result<usize> {
    coroutine_scope! {
        // Owned data (an `Arc` clone) moves into the parallel child.
        let shared = words.clone();
        let lengths = async(parallel) { Ok(shared.iter().map(String::len).sum::<usize>()) };
        // An in-place child may borrow; a parallel one may not (`'static`).
        let count = async { Ok(words.len()) };
        Ok(lengths.await? * 1000 + count.await?)
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let primes = primes_below(200_000, 4).await?;
    println!("{primes} primes below 200000, counted in 4 parallel children");
    assert_eq!(primes, 17_984);

    let words = Arc::new(vec!["structured".to_owned(), "concurrency".to_owned()]);
    let sum = checksum(words).await?;
    println!("checksum {sum}");
    assert_eq!(sum, 21_002);

    // A failing parallel child fails its coroutine_scope like any other.
    let failed: Result<()> = coroutine_scope! {
        launch(parallel) { Err(Error::msg("worker crashed")) }
        Ok(())
    };
    println!("failure: {}", failed.unwrap_err());
    Ok(())
}
