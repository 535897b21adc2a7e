//! Errors from other crates (SPEC §2e), with the `anyhow` feature (on for
//! this package): `?` from `scopes::Error` into `anyhow::Error` in the app's
//! fns, `#[supervised]`/`#[scoped]` on fns returning `anyhow::Result`,
//! `?` from `anyhow::Error` into `scopes::Error` in scope and child bodies
//! (and `Error::from_anyhow` where the DSL does not rewrite), and `?` into
//! `Box<dyn Error + Send + Sync>` (no feature needed).

use std::fmt;
use std::time::Duration;

use scopes::prelude::*;
use scopes_workspace::Log;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// An app's own error type, as anyhow users have them.
#[derive(Debug, PartialEq)]
struct NotFound(&'static str);

impl fmt::Display for NotFound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} not found", self.0)
    }
}

impl std::error::Error for NotFound {}

#[derive(Debug)]
struct ReadConfig(std::io::Error);

impl fmt::Display for ReadConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("read config")
    }
}

impl std::error::Error for ReadConfig {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

async fn lookup(key: &'static str) -> anyhow::Result<u32> {
    delay(ms(10)).await?; // `?`: scopes::Error into anyhow::Error
    match key {
        "answer" => Ok(42),
        _ => Err(NotFound(key).into()),
    }
}

// ---- `?` in the app's fns: scopes::Error -> anyhow::Error ----

async fn app_fn() -> anyhow::Result<u32> {
    let n: u32 = coroutine_scope! {
        let a = async { Ok(1) };
        a.await
    }?;
    let failed: Result<u32> = coroutine_scope! {
        let d = async { Err::<u32, _>(Error::from(ReadConfig(std::io::Error::other("gone")))) };
        d.await
    };
    Ok(n + failed?)
}

#[tokio::test(start_paused = true)]
async fn question_mark_converts_a_scopes_error_into_anyhow_with_its_chain() {
    let error = app_fn().await.unwrap_err();
    assert_eq!(error.to_string(), "read config");
    assert_eq!(format!("{error:#}"), "read config: gone");
    let chain: Vec<String> = error.chain().map(ToString::to_string).collect();
    assert_eq!(chain, ["read config", "gone"]);
}

// ---- annotated fns returning anyhow::Result ----

#[supervised]
async fn refresh_all(log: &Log, keys: &[&'static str]) -> anyhow::Result<usize> {
    for key in keys {
        launch! {
            let n = lookup(key).await.map_err(Error::from_anyhow)?;
            log.push(format!("{key} = {n}"));
        }
    }
    Ok(keys.len())
}

#[scoped]
async fn both(a: &'static str, b: &'static str) -> anyhow::Result<u32> {
    let a = async { lookup(a).await.map_err(Error::from_anyhow) };
    let b = async { lookup(b).await.map_err(Error::from_anyhow) };
    Ok(a.await? + b.await?)
}

#[tokio::test(start_paused = true)]
async fn supervised_fn_returning_anyhow_result_supervises_its_children() {
    let log = Log::default();
    let handled = Log::default();
    let h = handled.clone();
    let n = with_exception_handler(
        move |e: &Error| h.push(e.to_string()),
        refresh_all(&log, &["answer", "question"]),
    )
    .await
    .unwrap();
    assert_eq!(n, 2);
    assert_eq!(log.take(), ["answer = 42"]);
    assert_eq!(handled.take(), ["question not found"]);
}

#[tokio::test(start_paused = true)]
async fn scoped_fn_returning_anyhow_result_gives_back_the_apps_own_error() {
    assert_eq!(both("answer", "answer").await.unwrap(), 84);
    let error = both("answer", "question").await.unwrap_err();
    assert_eq!(error.to_string(), "question not found");
    // The anyhow::Error came out of the scope as it went in.
    assert_eq!(
        error.downcast_ref::<NotFound>(),
        Some(&NotFound("question"))
    );
}

// ---- anyhow::Error -> scopes::Error in child bodies ----

#[tokio::test(start_paused = true)]
async fn from_anyhow_takes_an_anyhow_error_into_a_child_body() {
    let result: Result<u32> = coroutine_scope! {
        let d = async { lookup("question").await.map_err(Error::from_anyhow) };
        d.await
    };
    let error = result.unwrap_err();
    assert_eq!(error.to_string(), "question not found");
    assert_eq!(
        error.downcast_ref::<NotFound>(),
        Some(&NotFound("question"))
    );
}

#[tokio::test(start_paused = true)]
async fn a_cancellation_through_an_anyhow_fn_stays_a_cancellation() {
    let log = Log::default();
    let log = &log;
    let result: Result<()> = coroutine_scope! {
        let job = launch {
            // `lookup`'s `delay` is cancelled; the cancellation goes through
            // anyhow and comes back as one.
            if let Err(e) = lookup("answer").await.map_err(Error::from_anyhow) {
                log.push(format!("cancelled: {}", e.is_cancellation()));
                return Err(e);
            }
        };
        yield_now().await?; // the child runs into `delay`
        job.cancel();
        job.join().await?;
        assert!(job.is_cancelled());
        Ok(())
    };
    // A cancelled child is not a failure: the scope succeeds.
    result.unwrap();
    assert_eq!(log.take(), ["cancelled: true"]);
}

// ---- `?` in DSL bodies: anyhow::Error -> scopes::Error ----

#[tokio::test(start_paused = true)]
async fn question_mark_converts_anyhow_into_scopes_error_in_a_child_body() {
    let start = tokio::time::Instant::now();
    let result: Result<u32> = coroutine_scope! {
        let found = async { let v = lookup("answer").await?; Ok(v) };
        let missing = async { let v = lookup("question").await?; Ok(v) };
        Ok(found.await? + missing.await?)
    };
    let error = result.unwrap_err();
    assert_eq!(error.to_string(), "question not found");
    assert_eq!(
        error.downcast_ref::<NotFound>(),
        Some(&NotFound("question"))
    );
    assert_eq!(start.elapsed(), ms(10));
}

#[tokio::test(start_paused = true)]
async fn question_mark_converts_anyhow_in_scope_bodies_launch_bodies_and_block_forms() {
    let log = Log::default();
    let log = &log;
    let result: Result<u32> = supervisor_scope! {
        launch {
            lookup("question").await?; // a launch child's failure goes to the handler
            log.push("unreachable");
        };
        let timed = with_timeout(ms(50)) { Ok(lookup("answer").await? + 1) }?;
        let body = lookup("answer").await?; // in the scope body itself
        Ok(body + timed)
    };
    assert_eq!(result.unwrap(), 85);
    assert!(log.take().is_empty());
}

#[scoped]
async fn scoped_body_with_anyhow(key: &'static str) -> anyhow::Result<u32> {
    // `?` on an anyhow error in an annotated fn's body, and in a child of it.
    let first = lookup("answer").await?;
    let second = async { Ok(lookup(key).await? * 2) };
    Ok(first + second.await?)
}

#[tokio::test(start_paused = true)]
async fn question_mark_converts_anyhow_in_an_annotated_fn_and_gives_the_original_back() {
    assert_eq!(scoped_body_with_anyhow("answer").await.unwrap(), 126);
    let error = scoped_body_with_anyhow("question").await.unwrap_err();
    // The anyhow error that went in comes out as it was.
    assert_eq!(
        error.downcast_ref::<NotFound>(),
        Some(&NotFound("question"))
    );
}

#[tokio::test(start_paused = true)]
async fn question_mark_keeps_a_cancellation_through_anyhow_a_cancellation() {
    let result: Result<()> = coroutine_scope! {
        let job = launch {
            // `lookup`'s `delay` is cancelled: the cancellation goes through
            // anyhow and, through `?`, ends the child cancelled, not failed.
            lookup("answer").await?;
        };
        yield_now().await?;
        job.cancel();
        job.join().await?;
        assert!(job.is_cancelled());
        Ok(())
    };
    result.unwrap();
}

#[supervised]
async fn check(n: u32) -> anyhow::Result<u32> {
    if n == 0 {
        // `anyhow::bail!` returns an anyhow::Error from the scope body; this
        // is the spelling that converts.
        Err(anyhow::anyhow!("n must not be 0"))?;
    }
    Ok(n)
}

#[tokio::test(start_paused = true)]
async fn an_anyhow_error_raised_in_a_body_converts_through_question_mark() {
    assert_eq!(check(3).await.unwrap(), 3);
    assert_eq!(check(0).await.unwrap_err().to_string(), "n must not be 0");
}

#[tokio::test(start_paused = true)]
async fn question_mark_in_a_closure_or_plain_async_block_keeps_its_own_error_type() {
    let result: Result<u32> = coroutine_scope! {
        // Closures and `async move` blocks return their own errors: their
        // `?` is Rust's.
        let parse = |s: &str| -> std::result::Result<u32, std::num::ParseIntError> {
            let n = s.parse::<u32>()?;
            Ok(n)
        };
        let plain = async move {
            let n: u32 = "7".parse()?;
            Ok::<_, std::num::ParseIntError>(n)
        };
        Ok(parse("5")? + plain.await?)
    };
    assert_eq!(result.unwrap(), 12);
}

// ---- Box<dyn std::error::Error (+ Send + Sync)> ----

async fn boxed_send_sync() -> std::result::Result<u32, Box<dyn std::error::Error + Send + Sync>> {
    let n = coroutine_scope! {
        let d = async { Err::<u32, _>(Error::from(ReadConfig(std::io::Error::other("gone")))) };
        d.await
    }?;
    Ok(n)
}

fn boxed_main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let failed: Result<()> = Err(Error::msg("boom"));
    failed?;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn question_mark_converts_a_scopes_error_into_a_boxed_error_with_its_chain() {
    let error = boxed_send_sync().await.unwrap_err();
    assert_eq!(error.to_string(), "read config");
    assert_eq!(
        error.source().map(ToString::to_string).as_deref(),
        Some("gone")
    );
    // The box is `Send + Sync + 'static`: it crosses threads.
    std::thread::spawn(move || assert_eq!(error.to_string(), "read config"))
        .join()
        .unwrap();

    let error = boxed_main().unwrap_err();
    assert_eq!(error.to_string(), "boom");
    assert_eq!(format!("{error:?}"), "boom");
}

/// `Error::downcast_ref` reaches the app's own error type through the
/// context an app added with anyhow (`.context(..)`), as anyhow's own
/// `downcast_ref` does; also after the error left a child.
#[tokio::test(start_paused = true)]
async fn downcast_ref_sees_through_anyhow_context() {
    use anyhow::Context;
    let wrapped = Err::<(), _>(anyhow::Error::new(NotFound("config"))).context("loading");
    let direct = Error::from_anyhow(wrapped.unwrap_err());
    assert_eq!(direct.to_string(), "loading");
    assert_eq!(direct.downcast_ref::<NotFound>(), Some(&NotFound("config")));
    let failed: Result<()> = coroutine_scope! {
        launch {
            delay(ms(1)).await?;
            Err(anyhow::Error::new(NotFound("user")).context("loading"))?;
        };
        Ok(())
    };
    let failed = failed.unwrap_err();
    assert_eq!(failed.downcast_ref::<NotFound>(), Some(&NotFound("user")));
}

#[scoped]
async fn fetch_status() -> anyhow::Result<u32> {
    let status = async { Err::<u32, _>(Error::msg("http 500")) };
    status.await
}

#[scoped]
async fn load_config() -> anyhow::Result<u32> {
    use anyhow::Context;
    let config = fetch_status().await.context("loading config")?;
    Ok(config)
}

/// SPEC §2e: an app's context on an error that came out of a scope is
/// kept when the error goes back into one (`anyhow`'s own downcast looks
/// through context layers and dropped it), with the child it came from.
#[tokio::test(start_paused = true)]
async fn context_added_to_a_scopes_error_is_kept_when_it_goes_back_into_a_scope() {
    let failed = Error::from_anyhow(load_config().await.unwrap_err());
    assert_eq!(format!("{failed:#}"), "loading config: http 500");
    assert!(failed.child_name().is_some(), "{failed:?}");
    let plain = Error::from_anyhow(fetch_status().await.unwrap_err());
    assert_eq!(format!("{plain:#}"), "http 500");
}

/// A cancellation an app added context to is still a cancellation: a
/// cancelled child must not end failed.
#[tokio::test(start_paused = true)]
async fn a_cancellation_with_context_stays_a_cancellation() {
    let cancelled = anyhow::Error::from(Error::cancelled()).context("fetching");
    assert!(Error::from_anyhow(cancelled).is_cancellation());
}

/// A scope whose `n` children each fail after ignoring the cancellation
/// the first failure brings them: its error suppresses the other `n - 1`.
async fn all_children_fail(n: usize) -> Error {
    scopes::coroutine_scope(|s| {
        Box::pin(async move {
            for i in 0..n {
                s.launch(async move {
                    let _ = scopes::yield_now().await;
                    Err(Error::msg(format!("child {i} failed")))
                });
            }
            Ok(())
        })
    })
    .await
    .unwrap_err()
}

/// A failure passed up through many anyhow fns, each adding context and
/// taking it back, keeps one list of what it suppressed: each layer used
/// to copy it (O(layers × suppressed) time and memory: 0.8 MB and 1 ms
/// per layer at 100,000 suppressed).
#[tokio::test(start_paused = true)]
async fn context_layers_share_the_suppressed_failures_rather_than_copy_them() {
    let mut error = all_children_fail(1_000).await;
    assert_eq!(error.suppressed().len(), 999);
    let list = error.suppressed().as_ptr();
    for layer in 0..100 {
        let with_context = anyhow::Error::from(error).context(format!("layer {layer}"));
        error = Error::from_anyhow(with_context);
        assert_eq!(error.suppressed().len(), 999, "layer {layer}");
        assert_eq!(
            error.suppressed().as_ptr(),
            list,
            "layer {layer} copied the suppressed failures"
        );
    }
    assert!(
        format!("{error:#}").starts_with("layer 99: layer 98: "),
        "{error:#}"
    );
    assert_eq!(error.to_string(), "layer 99");
}

// ---- `?` inside another macro's input that is a list of expressions ----

fn load(key: &'static str) -> anyhow::Result<u32> {
    match key {
        "answer" => Ok(42),
        _ => Err(NotFound(key).into()),
    }
}

/// SPEC §2e: `?` converts `anyhow::Error` in child bodies, also inside a
/// `format!`'s arguments (found by a helper's DSL hunt), in the body and in
/// a child; the failure keeps its type for `downcast_ref`.
#[tokio::test(start_paused = true)]
async fn question_mark_in_a_macros_arguments_converts_anyhow() {
    let page: Result<String> = coroutine_scope! {
        let title = format!("title {}", load("answer")?);
        let page = async { Ok(format!("page {}", load("answer")?)) };
        Ok(format!("{title}, {}", page.await?))
    };
    assert_eq!(page.unwrap(), "title 42, page 42");
    let failed: Result<String> = coroutine_scope! {
        let page = async { Ok(format!("page {}", load("missing")?)) };
        page.await
    };
    let error = failed.unwrap_err();
    assert_eq!(
        error.downcast_ref::<NotFound>().map(|e| e.0),
        Some("missing")
    );
}

/// A macro of the user's may move an expression into a `Result` of its own:
/// a `?` in its input is left as written (found by a review).
#[tokio::test(start_paused = true)]
async fn question_mark_in_a_users_macro_is_left_as_written() {
    macro_rules! io_try {
        ($e:expr) => {
            (|| -> std::io::Result<u8> { Ok($e) })()
        };
    }
    fn read_io() -> std::io::Result<u8> {
        Ok(3)
    }
    let got: Result<u8> = coroutine_scope! {
        let read = io_try!(read_io()?);
        read.map_err(Error::from)
    };
    assert_eq!(got.unwrap(), 3);
}

/// A scope's result, as anyhow users write it: `.context(..)` on the
/// `scopes::Result` itself (the prelude's `scopes::Context`), beside
/// anyhow's own `Context` on the app's other results.
async fn fetch_pages(fail: bool) -> anyhow::Result<u32> {
    use anyhow::Context as _;
    let pages: scopes::Result<u32> = coroutine_scope! {
        let page = async {
            if fail {
                return Err(Error::msg("http 500"));
            }
            Ok(2)
        };
        page.await
    };
    let pages = pages.context("fetching every page")?;
    let per_page = "10".parse::<u32>().context("reading the page size")?;
    Ok(pages * per_page)
}

#[tokio::test(start_paused = true)]
async fn context_on_a_scopes_result_wraps_its_error_and_keeps_where_it_came_from() {
    assert_eq!(fetch_pages(false).await.unwrap(), 20);
    let failed = fetch_pages(true).await.unwrap_err();
    assert_eq!(format!("{failed:#}"), "fetching every page: http 500");
    assert_eq!(failed.to_string(), "fetching every page");
    let back = Error::from_anyhow(failed);
    assert_eq!(format!("{back:#}"), "fetching every page: http 500");
    assert!(back.child_name().is_some(), "{back:?}");
}

#[tokio::test(start_paused = true)]
async fn with_context_runs_only_on_an_error_and_a_cancellation_stays_one() {
    let made = std::cell::Cell::new(0);
    let fine: scopes::Result<u8> = Ok(1);
    let fine = fine.with_context(|| {
        made.set(made.get() + 1);
        "never"
    });
    assert_eq!((fine.unwrap(), made.get()), (1, 0));
    let cancelled: scopes::Result<u8> = Err(Error::cancelled());
    let cancelled = cancelled.with_context(|| {
        made.set(made.get() + 1);
        "stopping"
    });
    assert_eq!(made.get(), 1);
    let back = Error::from_anyhow(cancelled.unwrap_err());
    assert!(back.is_cancellation());
    let failed = all_children_fail(3).await;
    let with_context = Err::<(), _>(failed).context("all of them");
    let back = Error::from_anyhow(with_context.unwrap_err());
    assert_eq!(back.suppressed().len(), 2, "{back:?}");
    assert!(
        format!("{back:#}").starts_with("all of them: child "),
        "{back:#}"
    );
}

/// anyhow's `bail!` and `ensure!` in a body return an `anyhow::Error`; the
/// macros run them where they stand and convert what they return, as
/// `Err(anyhow!(..))?` (found by a new user: two type errors about two
/// `Error`s). In a closure of the body they stay anyhow's.
#[scoped]
async fn checked_total(limit: u32) -> anyhow::Result<u32> {
    let first = async {
        anyhow::ensure!(limit > 0, "no limit");
        Ok(limit)
    };
    let second = async {
        let doubled = 2 * limit;
        if doubled > 100 {
            anyhow::bail!("too big: {doubled}");
        }
        Ok(doubled)
    };
    let third: u32 = match limit {
        7 => anyhow::bail!("seven"),
        n => n,
    };
    let plain = |n: u32| -> anyhow::Result<u32> {
        anyhow::ensure!(n != 3, "three");
        Ok(n)
    };
    Ok(first.await? + second.await? + third + plain(limit).unwrap_or(0))
}

#[tokio::test(start_paused = true)]
async fn bail_and_ensure_in_bodies_convert_like_question_mark() {
    assert_eq!(checked_total(10).await.unwrap(), 10 + 20 + 10 + 10);
    assert_eq!(checked_total(3).await.unwrap(), 3 + 6 + 3);
    let too_big = checked_total(60).await.unwrap_err();
    assert_eq!(format!("{too_big:#}"), "too big: 120");
    assert_eq!(checked_total(0).await.unwrap_err().to_string(), "no limit");
    assert_eq!(checked_total(7).await.unwrap_err().to_string(), "seven");
    let launched: scopes::Result<()> = coroutine_scope! {
        launch {
            use anyhow::bail;
            bail!("from a launch");
        };
        Ok(())
    };
    assert_eq!(launched.unwrap_err().to_string(), "from a launch");
}

/// The arguments of `ensure!` and `bail!` in a body may `.await`, as any
/// expression of an async body (found by a review: they ran in a closure).
#[tokio::test(start_paused = true)]
async fn bail_and_ensure_arguments_may_await() {
    let ensured: scopes::Result<u32> = coroutine_scope! {
        let five = async { Ok(5u32) };
        anyhow::ensure!(five.await? < 3, "too big");
        Ok(1)
    };
    assert_eq!(ensured.unwrap_err().to_string(), "too big");
    let bailed: scopes::Result<u32> = coroutine_scope! {
        let five = async { Ok(5u32) };
        use anyhow::bail;
        if five.is_active() || !five.is_active() {
            bail!("got {}", five.await?);
        }
        Ok(1)
    };
    assert_eq!(bailed.unwrap_err().to_string(), "got 5");
}

/// An `ensure!` of the user's own, of snafu's shape (`return
/// Err(e.into())`), still works in a body: the block it runs in has
/// anyhow's error type, into which the user's error converts (found by a
/// review: its error type was left to inference, E0282).
#[tokio::test(start_paused = true)]
async fn a_users_own_ensure_macro_works_in_a_body() {
    #[derive(Debug)]
    struct TooBig;
    impl std::fmt::Display for TooBig {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("too big")
        }
    }
    impl std::error::Error for TooBig {}
    macro_rules! ensure {
        ($cond:expr, $err:expr) => {
            if !$cond {
                return Err($err.into());
            }
        };
    }
    let n = 200;
    let r: scopes::Result<u32> = coroutine_scope! {
        let d = async {
            ensure!(n < 100, TooBig);
            Ok(n)
        };
        d.await
    };
    let e = r.unwrap_err();
    assert_eq!(e.to_string(), "too big");
    assert!(e.downcast_ref::<TooBig>().is_some(), "{e:?}");
}

/// A body that holds a `MutexGuard` or an `Rc` across `ensure!`/`bail!`
/// stays `Send` (R13): without an `.await` in their arguments they run in
/// a closure, not an awaited block (found by a review).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bail_and_ensure_keep_a_body_send() {
    async fn check(m: &std::sync::Mutex<u32>) -> scopes::Result<u32> {
        coroutine_scope! {
            let g = m.lock().unwrap();
            anyhow::ensure!(*g < 10, "too big: {}", *g);
            Ok(*g)
        }
    }
    async fn child(m: &std::sync::Mutex<u32>) -> scopes::Result<()> {
        coroutine_scope! {
            launch! {
                let g = m.lock().unwrap();
                if *g > 100 {
                    anyhow::bail!("huge {}", *g);
                }
            }
            Ok(())
        }
    }
    async fn rc() -> scopes::Result<u32> {
        coroutine_scope! {
            let r = std::rc::Rc::new(5u32);
            anyhow::ensure!(*r > 0);
            Ok(*r)
        }
    }
    static M: std::sync::Mutex<u32> = std::sync::Mutex::new(3);
    assert_eq!(tokio::spawn(check(&M)).await.unwrap().unwrap(), 3);
    tokio::spawn(child(&M)).await.unwrap().unwrap();
    assert_eq!(tokio::spawn(rc()).await.unwrap().unwrap(), 5);
}

#[path = "../examples/anyhow_app.rs"]
#[allow(
    dead_code,
    reason = "the example's `main` is not called here; `run` is"
)]
mod anyhow_app;

/// examples/anyhow_app.rs, the app a user on anyhow writes: its asserts
/// (context chains through a scope's failure, `bail!`/`ensure!` in a
/// `#[scoped]` fn and its children) hold.
#[tokio::test(start_paused = true)]
async fn the_anyhow_app_example_runs() {
    anyhow_app::run().await.unwrap();
}
