//! Child options — `name = ".."`, `start = lazy`/`default`, `parallel` —
//! in the Kotlin look (`launch(..) { }`, `async(..) { }`) and the bang forms
//! (`launch!(..; ..)`, `r#async!(..; ..)`), and children's default names.

use std::sync::Arc;
use std::time::Duration;

use scopes::prelude::*;
use scopes_workspace::Log;
use tokio::time::Instant;

#[tokio::test(start_paused = true)]
async fn a_child_is_named_after_its_keyword_by_default() {
    coroutine_scope! {
        let job = launch { };
        let line = line!();
        let d = async { Ok(()) };
        let bang = launch! { };
        assert_eq!(job.name(), format!("{}:{}:19", file!(), line - 1));
        assert_eq!(d.name(), format!("{}:{}:17", file!(), line + 1));
        assert_eq!(bang.name(), format!("{}:{}:20", file!(), line + 2));
        Ok(())
    }
    .unwrap();
}

#[tokio::test(start_paused = true)]
async fn name_option_names_the_child_and_its_errors() {
    let result: Result<()> = coroutine_scope! {
        let job = launch(name = "fetch") { };
        assert_eq!(job.name(), "fetch");
        for id in 0..2 {
            let d = async(name = format!("item {id}")) { Ok(id) };
            assert_eq!(d.name(), format!("item {id}"));
        }
        async(name = "failing") { Err::<(), _>(Error::msg("boom")) };
        Ok(())
    };
    let error = result.unwrap_err();
    assert_eq!(error.to_string(), "boom");
    assert_eq!(error.child_name().as_deref(), Some("failing"));
}

#[tokio::test(start_paused = true)]
async fn start_lazy_runs_only_when_started_awaited_or_joined() {
    let log = Log::default();
    let log = &log;
    coroutine_scope! {
        let d = async(start = lazy) { log.push("lazy async"); Ok(1) };
        let job = launch(start = lazy) { log.push("lazy launch"); };
        let eager = launch(start = default) { log.push("default start"); };
        yield_now().await?;
        assert_eq!(log.take(), ["default start"]);
        assert!(!d.is_active() && !job.is_active() && eager.is_completed());
        assert_eq!(d.await?, 1);
        job.start();
        job.join().await?;
        assert_eq!(log.take(), ["lazy async", "lazy launch"]);
        Ok(())
    }
    .unwrap();
}

/// The runtime's `Start` (in the prelude) names the same starts:
/// `start = Start::Lazy` is `start = lazy`.
#[tokio::test(start_paused = true)]
async fn start_takes_the_runtimes_start_values_too() {
    let log = Log::default();
    let log = &log;
    coroutine_scope! {
        let job = launch(start = Start::Lazy) { log.push("lazy"); };
        let eager = launch(start = scopes::Start::Default) { log.push("default"); };
        yield_now().await?;
        assert_eq!(log.take(), ["default"]);
        assert!(!job.is_active() && eager.is_completed());
        job.join().await?;
        assert_eq!(log.take(), ["lazy"]);
        Ok(())
    }
    .unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_lazy_child_never_started_is_cancelled_at_the_end_of_the_body() {
    let log = Log::default();
    let log = &log;
    let start = Instant::now();
    coroutine_scope! {
        launch(start = lazy) { log.push("never"); }
        Ok(())
    }
    .unwrap();
    assert!(log.take().is_empty());
    assert_eq!(start.elapsed(), Duration::ZERO);
}

fn on_worker() -> bool {
    // The test's own thread is not one of the runtime's workers.
    std::thread::current()
        .name()
        .is_some_and(|name| name.starts_with("tokio-r"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_children_run_on_the_thread_pool() {
    let data = Arc::new(vec![1u64, 2, 3]);
    let total = coroutine_scope! {
        let in_place = async { Ok(on_worker()) };
        let shared = data.clone();
        let sum = async(parallel) {
            assert!(on_worker());
            Ok(shared.iter().sum::<u64>())
        };
        let job = launch(parallel, name = "crunch") {
            assert!(on_worker());
            // A parallel child with children of its own: a nested scope.
            let inner = async { Ok(on_worker()) };
            assert!(inner.await?);
        };
        assert_eq!(job.name(), "crunch");
        assert!(!in_place.await?);
        sum.await
    }
    .unwrap();
    assert_eq!(total, 6);
}

#[tokio::test(start_paused = true)]
async fn options_combine_in_any_order() {
    coroutine_scope! {
        let a = async(start = lazy, name = "a") { Ok(1) };
        let b = launch(name = "b", start = lazy,) { };
        assert_eq!((a.name(), b.name()), ("a".to_owned(), "b".to_owned()));
        assert!(!a.is_active() && !b.is_active());
        assert_eq!(a.await?, 1);
        Ok(())
    }
    .unwrap();
}

#[tokio::test(start_paused = true)]
async fn bang_forms_take_options_before_a_semicolon() {
    let log = Log::default();
    let log = &log;
    coroutine_scope! {
        let job = launch!(name = "bang", start = lazy; log.push("bang ran"););
        let d = r#async!(name = "value"; delay(Duration::from_millis(5)).await?; Ok(5));
        let plain = r#async! { Ok(6) };
        let path = scopes::launch! { log.push("path form"); };
        assert_eq!((job.name(), d.name()), ("bang".to_owned(), "value".to_owned()));
        assert!(!job.is_active());
        job.join().await?;
        assert_eq!(d.await? + plain.await?, 11);
        path.join().await?;
        Ok(())
    }
    .unwrap();
    let mut ran = log.take();
    ran.sort();
    assert_eq!(ran, ["bang ran", "path form"]);
}

#[tokio::test(start_paused = true)]
async fn a_bang_form_without_options_takes_braces() {
    let start = Instant::now();
    coroutine_scope! {
        launch! { delay(Duration::from_millis(30)).await }
        launch! { delay(Duration::from_millis(20)).await? }
        Ok(())
    }
    .unwrap();
    assert_eq!(start.elapsed(), Duration::from_millis(30));
}
