//! A fan-out client (issue 11): Kotlin's composition idioms in the DSL.
//!
//! 1. Fetch ten users at once, at most four requests in flight
//!    (`#[scoped(limit = 4)]`, Kotlin's `limitedParallelism(4)`): the ids
//!    mapped to `async { }` blocks start one child each, and `await_all`
//!    gives the users in id order (Kotlin's `ids.map { async { } }.awaitAll()`).
//! 2. Download a file from two mirrors with `race` under a timeout
//!    (`with_timeout!(d; ..)`, Kotlin's `withTimeout`): the first answer wins,
//!    the slower mirror is cancelled and has closed its connection by the
//!    time `race` returns (with `tokio::select!` on the two, it would be
//!    left running, or dropped without its cleanup).
//! 3. Crawl pages in waves until a shutdown signal (a Ctrl-C, say) arrives:
//!    `cancel_on(signal, crawl)` cancels the requests in flight, lets each
//!    close its connection, and then returns `Ok(None)`.
//!
//! Every request goes to a simulated server that counts the requests in
//! flight, so the run checks the limit as well as the values and the
//! virtual times.
//!
//! `cargo run --example fan_out` (also run by tests/examples_fan_out.rs)

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

use scopes::prelude::*;
use scopes_workspace::Log;
use tokio::time::Instant;

/// A simulated server: answers after a latency, counts what is in flight.
#[derive(Default)]
pub struct Server {
    in_flight: AtomicUsize,
    most_in_flight: AtomicUsize,
    served: AtomicUsize,
}

impl Server {
    /// One request. Cancelled while waiting, it closes its connection
    /// (10 ms, which a cancellation must not cut short) and logs it.
    async fn get(&self, what: String, latency: Duration, log: &Log) -> Result<String> {
        let now = self.in_flight.fetch_add(1, SeqCst) + 1;
        self.most_in_flight.fetch_max(now, SeqCst);
        let answered = delay(latency).await;
        self.in_flight.fetch_sub(1, SeqCst);
        if let Err(cancelled) = answered {
            non_cancellable(delay(Duration::from_millis(10))).await?;
            log.push(format!("closed {what}: cancelled"));
            return Err(cancelled);
        }
        self.served.fetch_add(1, SeqCst);
        Ok(what)
    }
}

/// 1. Every user, at most four requests at once, each child named after
/// its user (errors and `debug::dump` show it): a braced closure whose last
/// child form is its value fans out as `async { }` does.
#[scoped(limit = 4)]
async fn fetch_users(server: &Server, ids: &[u32], log: &Log) -> Result<Vec<String>> {
    let users = ids.iter().map(|&id| {
        let latency = Duration::from_millis(100);
        r#async!(name = format!("user {id}"); server.get(format!("user {id}"), latency, log).await)
    });
    await_all(users).await
}

/// 2. The same file from two mirrors; the first answer wins, and the
/// download as a whole gives up after a second (Kotlin's `withTimeout`
/// around a `select`).
#[scoped]
async fn download(server: &Server, log: &Log) -> Result<String> {
    with_timeout!(Duration::from_secs(1);
        race([
            async {
                server
                    .get("file from eu".to_owned(), Duration::from_millis(80), log)
                    .await
            },
            async {
                server
                    .get("file from us".to_owned(), Duration::from_millis(200), log)
                    .await
            },
        ])
        .await
    )
}

/// 3. Pages in waves of eight, four at a time, for a minute.
#[scoped(limit = 4)]
async fn crawl(server: &Server, log: &Log) -> Result<usize> {
    let mut crawled = 0;
    for _wave in 0..100 {
        let pages = (crawled..crawled + 8).map(|page| async {
            let latency = Duration::from_millis(300);
            server.get(format!("page {page}"), latency, log).await
        });
        crawled += await_all(pages).await?.len();
    }
    Ok(crawled)
}

/// What a run did.
#[derive(Debug)]
pub struct Report {
    /// The users, in the order of their ids.
    pub users: Vec<String>,
    /// The most user requests in flight at once.
    pub users_in_flight: usize,
    /// Virtual time to fetch the users.
    pub users_time: Duration,
    /// The file, from the mirror that answered first.
    pub file: String,
    /// Virtual time until `race` returned.
    pub download_time: Duration,
    /// `None`: the shutdown signal stopped the crawl.
    pub crawled: Option<usize>,
    /// Pages the server answered before the shutdown.
    pub pages_served: usize,
    /// The most page requests in flight at once, and those left at the end.
    pub pages_in_flight: (usize, usize),
    /// Virtual time from the crawl's start until `cancel_on` returned.
    pub crawl_time: Duration,
}

/// The three steps, on the current runtime (paused clock for exact times).
pub async fn run(log: &Log) -> Result<Report> {
    let ids: Vec<u32> = (1..=10).collect();
    let server = Server::default();
    let start = Instant::now();
    let users = fetch_users(&server, &ids, log).await?;
    let users_in_flight = server.most_in_flight.load(SeqCst);
    let users_time = start.elapsed();

    let start = Instant::now();
    let file = download(&Server::default(), log).await?;
    let download_time = start.elapsed();

    let (shutdown, signal) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(1)).await; // Ctrl-C
        let _ = shutdown.send(());
    });
    let server = Server::default();
    let start = Instant::now();
    let crawled = cancel_on(signal, crawl(&server, log)).await?;
    let crawl_time = start.elapsed();
    Ok(Report {
        users,
        users_in_flight,
        users_time,
        file,
        download_time,
        crawled,
        pages_served: server.served.load(SeqCst),
        pages_in_flight: (
            server.most_in_flight.load(SeqCst),
            server.in_flight.load(SeqCst),
        ),
        crawl_time,
    })
}

/// What the run must show.
pub fn check(report: &Report, log: &[String]) {
    let users: Vec<String> = (1..=10).map(|id| format!("user {id}")).collect();
    assert_eq!(report.users, users, "await_all keeps the ids' order");
    assert_eq!(report.users_in_flight, 4, "limit = 4");
    // Ten requests of 100 ms, four at a time: three rounds.
    assert_eq!(report.users_time, Duration::from_millis(300));

    assert_eq!(report.file, "file from eu");
    // The winner at 80 ms, the loser's connection closed 10 ms later,
    // before `race` returned.
    assert_eq!(report.download_time, Duration::from_millis(90));

    assert_eq!(
        report.crawled, None,
        "the shutdown signal stopped the crawl"
    );
    // One wave of eight (600 ms), then four pages of the second (900 ms);
    // the four in flight at 1 s were cancelled and closed (10 ms).
    assert_eq!(report.pages_served, 12);
    assert_eq!(report.pages_in_flight, (4, 0));
    assert_eq!(report.crawl_time, Duration::from_millis(1010));

    let mut closed: Vec<&str> = log.iter().map(String::as_str).collect();
    closed.sort_unstable();
    assert_eq!(
        closed,
        [
            "closed file from us: cancelled",
            "closed page 12: cancelled",
            "closed page 13: cancelled",
            "closed page 14: cancelled",
            "closed page 15: cancelled",
        ],
        "every cancelled request cleaned up"
    );
}

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    let log = Log::default();
    let report = run(&log).await.expect("the client runs normally");
    let log = log.take();
    println!(
        "[{:?}] {} users, at most {} requests at once",
        report.users_time,
        report.users.len(),
        report.users_in_flight
    );
    println!("[{:?}] {}", report.download_time, report.file);
    println!(
        "[{:?}] crawl stopped by the signal after {} pages",
        report.crawl_time, report.pages_served
    );
    for line in &log {
        println!("{line}");
    }
    check(&report, &log);
}
