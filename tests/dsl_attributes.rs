//! `#[supervised]`, `#[attr::coroutine_scope]` and `#[scoped]` on async
//! fns: free fns, methods, references, generics, where clauses, custom
//! error types; children in the body through the bang forms and
//! non-`move` `async { }`.

use std::fmt;
use std::time::Duration;

use scopes::attr;
use scopes::prelude::*;
use scopes_workspace::Log;
use tokio::time::Instant;

async fn refresh(log: &Log, id: u32) -> Result<()> {
    delay(Duration::from_millis(10 * u64::from(id))).await?;
    if id == 2 {
        return Err(Error::msg(format!("refresh {id} failed")));
    }
    log.push(format!("refreshed {id}"));
    Ok(())
}

#[supervised]
async fn refresh_all(log: &Log, ids: &[u32]) -> Result<()> {
    for id in ids {
        launch! { refresh(log, *id).await }
    }
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn supervised_body_is_a_supervisor_scope() {
    let log = Log::default();
    let handled = Log::default();
    let h = handled.clone();
    let start = Instant::now();
    with_exception_handler(
        move |e: &Error| h.push(e.to_string()),
        refresh_all(&log, &[1, 2, 3]),
    )
    .await
    .unwrap();
    // The failing child cancelled nobody; its error went to the handler.
    assert_eq!(log.take(), ["refreshed 1", "refreshed 3"]);
    assert_eq!(handled.take(), ["refresh 2 failed"]);
    assert_eq!(start.elapsed(), Duration::from_millis(30));
}

#[attr::coroutine_scope]
async fn refresh_all_or_fail(log: &Log, ids: &[u32]) -> Result<()> {
    for id in ids {
        launch! { refresh(log, *id).await }
    }
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn coroutine_scope_attribute_fails_fast() {
    let log = Log::default();
    let start = Instant::now();
    let error = refresh_all_or_fail(&log, &[1, 2, 3]).await.unwrap_err();
    assert_eq!(error.to_string(), "refresh 2 failed");
    assert_eq!(log.take(), ["refreshed 1"]);
    assert_eq!(start.elapsed(), Duration::from_millis(20));
}

#[scoped]
async fn sum_of_squares(xs: Vec<u64>) -> Result<u64> {
    let mut parts = Vec::new();
    for x in xs {
        parts.push(async {
            yield_now().await?;
            Ok(x * x)
        });
    }
    let mut total = 0;
    for part in parts {
        total += part.await?;
    }
    Ok(total)
}

#[tokio::test(start_paused = true)]
async fn scoped_is_the_prelude_name_of_the_coroutine_scope_attribute() {
    assert_eq!(sum_of_squares(vec![1, 2, 3]).await.unwrap(), 14);
}

#[derive(Debug)]
enum AppError {
    Scope(Error),
}

impl From<Error> for AppError {
    fn from(e: Error) -> Self {
        AppError::Scope(e)
    }
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AppError::Scope(e) => write!(f, "app: {e}"),
        }
    }
}

struct Service {
    name: String,
    log: Log,
}

impl Service {
    #[scopes::attr::supervised]
    async fn handle<'a>(&'a self, inputs: &'a [&'a str]) -> std::result::Result<usize, AppError> {
        let lengths = async { Ok(inputs.iter().map(|s| s.len()).sum::<usize>()) };
        launch!(name = "audit"; self.log.push(format!("{} audited", self.name)););
        Ok(lengths.await? + self.name.len())
    }

    #[attr::coroutine_scope]
    async fn fail(&self) -> std::result::Result<(), AppError> {
        let d = r#async!(name = "doomed"; Err::<(), _>(Error::msg("nope")));
        d.await?;
        Ok(())
    }

    #[scoped]
    async fn with_generics<T, F>(&self, items: Vec<T>, f: F) -> Result<Vec<String>>
    where
        T: fmt::Debug + Send + Sync + 'static,
        F: Fn(&T) -> String + Send + Sync,
    {
        let f = &f;
        let mut deferreds = Vec::new();
        for item in items {
            deferreds.push(r#async!(start = lazy; Ok(f(&item))));
        }
        let mut out = Vec::new();
        for d in deferreds {
            out.push(d.await?);
        }
        Ok(out)
    }
}

#[tokio::test(start_paused = true)]
async fn methods_references_generics_and_custom_errors() {
    let service = Service {
        name: "svc".to_owned(),
        log: Log::default(),
    };
    assert_eq!(service.handle(&["ab", "cde"]).await.unwrap(), 8);
    assert_eq!(service.log.take(), ["svc audited"]);

    let AppError::Scope(e) = service.fail().await.unwrap_err();
    assert_eq!(e.to_string(), "nope");
    assert_eq!(e.child_name().as_deref(), Some("doomed"));

    let shown = service
        .with_generics(vec![1, 2], |n| format!("<{n:?}>"))
        .await
        .unwrap();
    assert_eq!(shown, ["<1>", "<2>"]);
}

#[supervised]
async fn early_return(flag: bool) -> Result<&'static str> {
    if flag {
        return Ok("early");
    }
    let value = async move { "plain" }.await;
    Ok(value)
}

#[tokio::test(start_paused = true)]
async fn return_and_plain_async_move_in_annotated_bodies() {
    assert_eq!(early_return(true).await.unwrap(), "early");
    assert_eq!(early_return(false).await.unwrap(), "plain");
}

#[scoped]
async fn nested_children(log: &Log) -> Result<Vec<String>> {
    let outer = launch! {
        launch! { delay(Duration::from_millis(10)).await?; log.push("grandchild"); }
        log.push("child");
    };
    outer.join().await?;
    log.push("joined");
    Ok(log.take())
}

#[tokio::test(start_paused = true)]
async fn child_bodies_in_annotated_fns_are_scopes_too() {
    assert_eq!(
        nested_children(&Log::default()).await.unwrap(),
        ["child", "grandchild", "joined"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn annotated_futures_are_send() {
    let handle = tokio::spawn(sum_of_squares(vec![4, 5]));
    assert_eq!(handle.await.unwrap().unwrap(), 41);
}

/// SPEC §2's example, verbatim: a supervised fn launching one child per id
/// with the bang form, borrowing the ids slice.
#[tokio::test(start_paused = true)]
async fn spec_refresh_all_example_runs_every_child() {
    use std::sync::atomic::{AtomicU32, Ordering};
    static REFRESHED: AtomicU32 = AtomicU32::new(0);

    async fn refresh(id: u32) -> scopes::Result<()> {
        scopes::delay(std::time::Duration::from_millis(u64::from(id))).await?;
        REFRESHED.fetch_add(id, Ordering::SeqCst);
        Ok(())
    }

    #[supervised] // the whole body is a supervisor_scope
    async fn refresh_all(ids: &[u32]) -> scopes::Result<()> {
        for id in ids {
            launch! { refresh(*id).await };
        }
        Ok(())
    }

    let start = tokio::time::Instant::now();
    refresh_all(&[1, 2, 3]).await.unwrap();
    assert_eq!(REFRESHED.load(Ordering::SeqCst), 6);
    assert_eq!(start.elapsed(), std::time::Duration::from_millis(3));
}

/// SPEC §2: an annotated fn returns `Result<_, E>`; an alias of it whose name
/// ends in `Result` is recognized too (found by a helper's DSL hunt).
type AppResult<T> = std::result::Result<T, scopes::Error>;

#[scoped]
async fn total_through_an_alias() -> AppResult<u32> {
    let a = async { Ok(1) };
    let b = async { Ok(2) };
    Ok(a.await? + b.await?)
}

#[tokio::test(start_paused = true)]
async fn an_annotated_fn_may_return_a_result_alias() {
    assert_eq!(total_through_an_alias().await.unwrap(), 3);
}
