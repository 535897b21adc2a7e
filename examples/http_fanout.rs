//! A real HTTP fan-out (issue 13, item 8): a client fetches 100 items from
//! a server over HTTP/1.1, at most 10 requests in flight, each with a
//! timeout, and fails fast on the first 5xx.
//!
//! The server is hyper's, started by the example on `127.0.0.1:0` (loopback
//! only). It answers `GET /item/{id}` after 50 ms, except item 37, which
//! gets a `500` after 10 ms. It counts its handlers: started, completed,
//! and *aborted* — dropped before they finished because the client closed
//! the connection (hyper drops a handler when its connection reaches EOF
//! mid-request). The client is a plain `TcpStream` request, no HTTP client
//! crate.
//!
//! The client is written twice, with the same behaviour:
//!
//! - [`fetch_all`] with scopes: `coroutine_scope!(limit = 10; ..)`, a child
//!   per id (`(0..n).map(|id| async { .. })`), `with_timeout(d) { .. }` per
//!   request, `await_all` for the pages in id order. The 500 fails the
//!   scope, which cancels the requests in flight (each returns from its
//!   socket read and closes its connection) and those still waiting for a
//!   slot, and returns once all of them have completed.
//! - [`fetch_all_join_set`] with tokio: a `JoinSet`, a `Semaphore` for the
//!   limit, `tokio::time::timeout`, the pages put back in id order by hand,
//!   and `shutdown()` to abort the rest on the first failure. The tasks are
//!   `'static`, so the shared state is cloned into each.
//!
//! Line counts (checked by the test): `fetch_all`: 8 lines;
//! `fetch_all_join_set`: 30 lines.
//!
//! A third run fetches 30 items that all succeed, and checks the limit
//! with the server's most handlers in flight at once.
//!
//! `cargo run --example http_fanout` (also run by tests/examples_http.rs)

use std::error::Error as StdError;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::{Duration, Instant};

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use scopes::prelude::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::{JoinHandle, JoinSet};

/// Requests in flight at most.
pub const LIMIT: usize = 10;
/// Requests in a run.
pub const REQUESTS: u32 = 100;
/// The item the server fails.
pub const FAILING_ID: u32 = 37;
/// How long the server takes for an item, and for the failing one.
pub const LATENCY: Duration = Duration::from_millis(50);
/// How long the server takes to fail [`FAILING_ID`].
pub const FAIL_AFTER: Duration = Duration::from_millis(10);
/// The client's timeout per request (none is reached).
pub const TIMEOUT: Duration = Duration::from_secs(2);

// ---------------------------------------------------------------------------
// The server.

/// The server's counters.
#[derive(Default, Debug)]
pub struct Stats {
    started: AtomicUsize,
    completed: AtomicUsize,
    aborted: AtomicUsize,
    in_flight: AtomicUsize,
    most_in_flight: AtomicUsize,
}

/// A snapshot of [`Stats`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Counts {
    /// Handlers started.
    pub started: usize,
    /// Handlers that answered.
    pub completed: usize,
    /// Handlers dropped before answering: their connection was closed.
    pub aborted: usize,
    /// The most handlers running at once.
    pub most_in_flight: usize,
}

impl Stats {
    fn counts(&self) -> Counts {
        Counts {
            started: self.started.load(SeqCst),
            completed: self.completed.load(SeqCst),
            aborted: self.aborted.load(SeqCst),
            most_in_flight: self.most_in_flight.load(SeqCst),
        }
    }
}

/// A running handler; dropped before [`finish`](Handler::finish), it
/// counts as aborted.
struct Handler<'a> {
    stats: &'a Stats,
    finished: bool,
}

impl<'a> Handler<'a> {
    fn start(stats: &'a Stats) -> Self {
        stats.started.fetch_add(1, SeqCst);
        let now = stats.in_flight.fetch_add(1, SeqCst) + 1;
        stats.most_in_flight.fetch_max(now, SeqCst);
        Handler {
            stats,
            finished: false,
        }
    }

    fn finish(mut self) {
        self.finished = true;
        self.stats.completed.fetch_add(1, SeqCst);
    }
}

impl Drop for Handler<'_> {
    fn drop(&mut self) {
        self.stats.in_flight.fetch_sub(1, SeqCst);
        if !self.finished {
            self.stats.aborted.fetch_add(1, SeqCst);
        }
    }
}

/// `GET /item/{id}`: the item after [`LATENCY`], or a 500 for
/// [`FAILING_ID`] after [`FAIL_AFTER`].
async fn handle(
    request: Request<Incoming>,
    stats: Arc<Stats>,
) -> Result<Response<String>, std::convert::Infallible> {
    let id = request.uri().path().strip_prefix("/item/");
    let id: Option<u32> = id.and_then(|id| id.parse().ok());
    let handler = Handler::start(&stats);
    let (status, latency) = match id {
        Some(FAILING_ID) => (StatusCode::INTERNAL_SERVER_ERROR, FAIL_AFTER),
        Some(_) => (StatusCode::OK, LATENCY),
        None => (StatusCode::NOT_FOUND, Duration::ZERO),
    };
    tokio::time::sleep(latency).await;
    handler.finish();
    let mut response = Response::new(format!("item {}", id.unwrap_or(0)));
    *response.status_mut() = status;
    Ok(response)
}

/// A server on `127.0.0.1:0`; dropping it stops it and its connections.
pub struct Server {
    /// Where it listens.
    pub addr: SocketAddr,
    stats: Arc<Stats>,
    task: JoinHandle<()>,
}

impl Server {
    /// Binds a loopback port and serves on a task of the current runtime.
    pub async fn start() -> std::io::Result<Server> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let stats = Arc::new(Stats::default());
        let task = tokio::spawn(accept(listener, stats.clone()));
        Ok(Server { addr, stats, task })
    }

    /// The counters once the server is quiet: no handler running and the
    /// same counts twice 20 ms apart (the client has closed its sockets,
    /// but the server may not have seen every EOF yet). Gives up after 2 s.
    pub async fn settled(&self) -> Counts {
        let mut last = self.stats.counts();
        for _ in 0..100 {
            tokio::time::sleep(Duration::from_millis(20)).await;
            let now = self.stats.counts();
            if now == last && now.started == now.completed + now.aborted {
                return now;
            }
            last = now;
        }
        last
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort(); // drops the connections' JoinSet too
    }
}

async fn accept(listener: TcpListener, stats: Arc<Stats>) {
    let mut connections = JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let stats = stats.clone();
        let service = service_fn(move |request| handle(request, stats.clone()));
        connections.spawn(async move {
            // Ends with an error when the client closes mid-request; hyper
            // then drops the handler (counted as aborted).
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
        while connections.try_join_next().is_some() {}
    }
}

// ---------------------------------------------------------------------------
// The client.

/// One HTTP/1.1 request on a fresh connection: the status and the body.
/// Dropping the future closes the connection.
pub async fn request(addr: SocketAddr, id: u32) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(addr).await?;
    let head = format!("GET /item/{id} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(head.as_bytes()).await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;
    let status = response.split(' ').nth(1).and_then(|s| s.parse().ok());
    let status = status.ok_or_else(|| std::io::Error::other("not an HTTP response"))?;
    let body = response.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    Ok((status, body.to_owned()))
}

/// [`request`] for scopes: a socket is not cancellation-aware, so it is
/// made one (`.cancellable()`): a cancelled request returns at once and
/// closes its connection. A 5xx is a failure.
async fn get(addr: SocketAddr, id: u32) -> Result<String> {
    let (status, body) = request(addr, id).cancellable().await??;
    if status >= 500 {
        return Err(Error::msg(format!("item {id}: HTTP {status}")));
    }
    Ok(body)
}

/// The client with scopes: the pages in id order, or the first failure.
pub async fn fetch_all(addr: SocketAddr, n: u32) -> Result<Vec<String>> {
    coroutine_scope!(limit = LIMIT;
        let pages = (0..n).map(|id| async {
            with_timeout(TIMEOUT) { get(addr, id).await }
        });
        await_all(pages).await
    )
}

type BoxError = Box<dyn StdError + Send + Sync>;

/// The same client with tokio's `JoinSet`.
pub async fn fetch_all_join_set(addr: SocketAddr, n: u32) -> Result<Vec<String>, BoxError> {
    let permits = Arc::new(Semaphore::new(LIMIT));
    let mut set = JoinSet::new();
    for id in 0..n {
        let permits = permits.clone();
        set.spawn(async move {
            let _permit = permits.acquire_owned().await?;
            let (status, body) = tokio::time::timeout(TIMEOUT, request(addr, id)).await??;
            if status >= 500 {
                return Err(format!("item {id}: HTTP {status}").into());
            }
            Ok::<_, BoxError>((id, body))
        });
    }
    let mut pages = vec![String::new(); n as usize];
    while let Some(done) = set.join_next().await {
        match done {
            Ok(Ok((id, body))) => pages[id as usize] = body,
            Ok(Err(e)) => {
                set.shutdown().await;
                return Err(e);
            }
            Err(e) => {
                set.shutdown().await;
                return Err(e.into());
            }
        }
    }
    Ok(pages)
}

// ---------------------------------------------------------------------------
// The runs.

/// One client against a fresh server.
#[derive(Debug)]
pub struct Outcome {
    /// The pages, or the failure's message.
    pub result: std::result::Result<Vec<String>, String>,
    /// From the start until the client returned.
    pub elapsed: Duration,
    /// The server's counts once it is quiet.
    pub counts: Counts,
}

/// What [`run`] did.
#[derive(Debug)]
pub struct Report {
    /// scopes, 100 requests, item 37 fails.
    pub scopes: Outcome,
    /// `JoinSet`, the same.
    pub join_set: Outcome,
    /// scopes, 30 requests, all succeed.
    pub scopes_ok: Outcome,
}

async fn outcome<F, E>(client: impl FnOnce(SocketAddr) -> F) -> std::io::Result<Outcome>
where
    F: Future<Output = std::result::Result<Vec<String>, E>>,
    E: std::fmt::Display,
{
    let server = Server::start().await?;
    let start = Instant::now();
    let result = client(server.addr).await.map_err(|e| e.to_string());
    let elapsed = start.elapsed();
    let counts = server.settled().await;
    Ok(Outcome {
        result,
        elapsed,
        counts,
    })
}

/// The three runs, one after another, in real time (about a second).
pub async fn run() -> std::io::Result<Report> {
    Ok(Report {
        scopes: outcome(|addr| fetch_all(addr, REQUESTS)).await?,
        join_set: outcome(|addr| fetch_all_join_set(addr, REQUESTS)).await?,
        scopes_ok: outcome(|addr| fetch_all(addr, 30)).await?,
    })
}

/// The lines of `fn name` in `source`, from its `pub async fn` line to its
/// closing brace.
fn fn_lines(source: &str, name: &str) -> usize {
    let head = format!("pub async fn {name}(");
    let lines: Vec<&str> = source.lines().collect();
    let first = lines.iter().position(|l| l.starts_with(&head));
    let first = first.unwrap_or_else(|| panic!("no fn {name}"));
    let last = (first..lines.len())
        .find(|&i| lines[i] == "}")
        .expect("closing brace");
    last - first + 1
}

/// What the runs must show (timing is real, so counts have slack).
pub fn check(report: &Report) {
    let failed = format!("item {FAILING_ID}: HTTP 500");
    for (client, outcome) in [("scopes", &report.scopes), ("JoinSet", &report.join_set)] {
        let Counts {
            started,
            completed,
            aborted,
            most_in_flight,
        } = outcome.counts;
        let err = outcome.result.as_ref().expect_err("item 37 fails the run");
        assert!(err.contains(&failed), "{client}: {err}");
        // Failed fast: not every request reached the server, not every
        // handler answered.
        assert!(started < REQUESTS as usize, "{client}: {outcome:?}");
        assert!(completed < started, "{client}: {outcome:?}");
        // The requests in flight at the 500 were cancelled and closed their
        // connections: the server dropped their handlers unfinished.
        assert!(aborted >= 1, "{client}: {outcome:?}");
        assert_eq!(started, completed + aborted, "{client}: {outcome:?}");
        assert!(most_in_flight <= LIMIT, "{client}: {outcome:?}");
    }
    let ok = &report.scopes_ok;
    let pages = ok.result.as_ref().expect("30 items, none failing");
    let expected: Vec<String> = (0..30).map(|id| format!("item {id}")).collect();
    assert_eq!(pages, &expected);
    assert_eq!(ok.counts.started, 30);
    assert_eq!(ok.counts.completed, 30);
    assert_eq!(ok.counts.aborted, 0);
    assert!(ok.counts.most_in_flight <= LIMIT, "{ok:?}");
    assert!(ok.counts.most_in_flight >= 2, "{ok:?}");

    // The line counts in the docs above are the real ones.
    let source = include_str!("http_fanout.rs");
    let scopes_lines = fn_lines(source, "fetch_all");
    let join_set_lines = fn_lines(source, "fetch_all_join_set");
    let claim = format!(
        "`fetch_all`: {scopes_lines} lines;\n//! `fetch_all_join_set`: {join_set_lines} lines."
    );
    assert!(source.contains(&claim), "update the docs: {claim}");
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let report = run().await?;
    for (client, outcome) in [
        ("scopes, 100 requests", &report.scopes),
        ("JoinSet, 100 requests", &report.join_set),
        ("scopes, 30 requests", &report.scopes_ok),
    ] {
        let result = match &outcome.result {
            Ok(pages) => format!("{} pages", pages.len()),
            Err(e) => format!("failed: {e}"),
        };
        let Counts {
            started,
            completed,
            aborted,
            most_in_flight,
        } = outcome.counts;
        println!(
            "{client}: {result} after {:?}; server: {started} handlers started, \
             {completed} completed, {aborted} aborted (connection closed), \
             at most {most_in_flight} at once",
            outcome.elapsed
        );
    }
    check(&report);
    println!("ok");
    Ok(())
}
