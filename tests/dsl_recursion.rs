//! A scope per node of a tree: recursion and `Send`.
//!
//! Children are `Send` (also on a current-thread runtime), so a recursive
//! `async fn` whose child calls the fn cannot compile as such: rustc cannot
//! prove the fn's own future `Send` while inferring it. `#[scoped]` /
//! `#[supervised]` on a fn that calls itself write the cure (a plain fn
//! returning `scopes::BoxFuture`); by hand, the same wrapper is written out.

use std::time::Duration;

use scopes::prelude::*;
use scopes::{BoxFuture, coroutine_scope};
use scopes_workspace::Log;
use tokio::time::Instant;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

struct Node {
    value: u64,
    children: Vec<Node>,
}

/// A complete tree: `fanout` children per node, `depth` levels below the
/// root; every value is 1.
fn tree(fanout: usize, depth: u32) -> Node {
    Node {
        value: 1,
        children: (0..if depth == 0 { 0 } else { fanout })
            .map(|_| tree(fanout, depth - 1))
            .collect(),
    }
}

/// As written: `#[scoped]` sees the call to `sum` and boxes the future.
#[scoped]
async fn sum(node: &Node) -> Result<u64> {
    let mut parts = Vec::new();
    for child in &node.children {
        parts.push(async { sum(child).await });
    }
    delay(ms(10)).await?; // every node waits once
    let mut total = node.value;
    for part in parts {
        total += part.await?;
    }
    Ok(total)
}

#[tokio::test(start_paused = true)]
async fn a_recursive_scoped_fn_works_as_written_and_runs_nodes_concurrently() {
    let start = Instant::now();
    assert_eq!(sum(&tree(3, 4)).await.unwrap(), 1 + 3 + 9 + 27 + 81);
    // 121 nodes, each waiting 10 ms, all at once.
    assert_eq!(start.elapsed(), ms(10));
}

/// By hand: a non-async fn returning `scopes::BoxFuture` states that the
/// future is `Send`, which breaks the cycle.
fn sum_by_hand<'a>(node: &'a Node) -> BoxFuture<'a, Result<u64>> {
    Box::pin(async move {
        coroutine_scope(|s| {
            Box::pin(async move {
                let parts: Vec<_> = node
                    .children
                    .iter()
                    .map(|child| s.r#async(sum_by_hand(child)))
                    .collect();
                delay(ms(10)).await?;
                let mut total = node.value;
                for part in parts {
                    total += part.await?;
                }
                Ok(total)
            })
        })
        .await
    })
}

#[tokio::test(start_paused = true)]
async fn the_box_future_wrapper_is_the_recursive_scope_by_hand() {
    let start = Instant::now();
    assert_eq!(sum_by_hand(&tree(2, 5)).await.unwrap(), 63);
    assert_eq!(start.elapsed(), ms(10));
}

/// A leaf that fails; its path names where.
fn fail_at(node: &Node, path: &str) -> Result<()> {
    if node.children.is_empty() && path == "/0/1" {
        return Err(Error::msg(format!("{path} failed")));
    }
    Ok(())
}

struct Walker {
    visited: Log,
}

impl Walker {
    /// A recursive method: `&self` and another reference, both elided.
    #[scoped]
    async fn visit(&self, node: &Node, path: &str) -> Result<()> {
        for (i, child) in node.children.iter().enumerate() {
            let path = format!("{path}/{i}");
            launch! { self.visit(child, &path).await? }
        }
        if node.children.is_empty() {
            delay(ms(10)).await?;
            fail_at(node, path)?;
            delay(ms(90)).await?;
            self.visited.push(path.to_owned());
        }
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn a_failure_deep_in_a_recursive_tree_cancels_the_whole_tree() {
    let walker = Walker {
        visited: Log::default(),
    };
    let start = Instant::now();
    let error = walker.visit(&tree(2, 2), "").await.unwrap_err();
    assert_eq!(error.to_string(), "/0/1 failed");
    // Every other leaf was cancelled in its 90 ms wait: none finished.
    assert_eq!(start.elapsed(), ms(10));
    assert!(walker.visited.take().is_empty());
}

/// `#[supervised]` too; and `Self::name(..)` is a call to itself.
struct Counter;

impl Counter {
    #[supervised]
    async fn leaves(node: &Node, log: &Log) -> Result<u64> {
        let mut parts = Vec::new();
        for child in &node.children {
            parts.push(async { Self::leaves(child, log).await });
        }
        if node.children.is_empty() {
            log.push("leaf");
            return Ok(1);
        }
        let mut total = 0;
        for part in parts {
            total += part.await?;
        }
        Ok(total)
    }
}

#[tokio::test(start_paused = true)]
async fn a_recursive_supervised_associated_fn_works_as_written() {
    let log = Log::default();
    assert_eq!(Counter::leaves(&tree(3, 2), &log).await.unwrap(), 9);
    assert_eq!(log.take().len(), 9);
}

#[test]
fn a_recursive_scoped_fn_is_send_and_runs_in_a_spawned_task() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let total = runtime.block_on(async {
        tokio::spawn(async {
            let tree = tree(2, 3);
            sum(&tree).await
        })
        .await
        .unwrap()
    });
    assert_eq!(total.unwrap(), 15);
}
