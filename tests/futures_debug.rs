//! Public futures (issue 13 item 7): every one is `Debug` (without needing
//! its output or wrapped future to be), and what their `# Cancel safety`
//! docs promise in a `select!` holds for the cancel-safe ones.

use std::fmt::Debug;
use std::time::Duration;

use scopes::{
    Result, as_completed, await_all, cancel_on, cancellable, channel, coroutine_scope, delay,
    first_success, join_all, non_cancellable, race, with_exception_handler, with_timeout,
    with_timeout_or_none, yield_now,
};

/// A wrapped future that is not `Debug`.
struct Opaque;

impl Future for Opaque {
    type Output = Result<u8>;
    fn poll(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        std::task::Poll::Ready(Ok(1))
    }
}

fn debug(value: &impl Debug) -> String {
    format!("{value:?}")
}

#[tokio::test(start_paused = true)]
async fn every_public_future_is_debug() {
    assert!(debug(&delay(Duration::from_secs(1))).starts_with("Delay { deadline: Some("));
    assert_eq!(debug(&delay(Duration::ZERO)), "Delay { deadline: None }");
    assert_eq!(debug(&yield_now()), "YieldNow { yielded: false }");
    assert_eq!(
        debug(&with_timeout(Duration::from_millis(5), Opaque)),
        "WithTimeout { after: 5ms, .. }"
    );
    assert_eq!(
        debug(&with_timeout_or_none(Duration::from_millis(5), Opaque)),
        "WithTimeoutOrNone { after: 5ms, .. }"
    );
    assert_eq!(debug(&non_cancellable(Opaque)), "NonCancellable { .. }");
    assert_eq!(debug(&cancellable(Opaque)), "Cancellable { .. }");
    assert_eq!(debug(&cancel_on(Opaque, Opaque)), "CancelOn { .. }");
    assert_eq!(
        debug(&with_exception_handler(|_| {}, Opaque)),
        "WithExceptionHandler { .. }"
    );
    let (tx, rx) = channel::<u8>(1);
    assert!(debug(&tx.send(1)).starts_with("Sending"));
    assert!(debug(&rx.recv()).starts_with("Recv"));

    coroutine_scope(|s| {
        Box::pin(async move {
            let a = s.r#async(async { Ok(1) });
            let b = s.r#async(async { Ok(2) });
            let job = s.child().name("j").launch(async { Ok(()) });
            assert!(debug(&job.join()).starts_with("Join { name: j, "));
            assert_eq!(
                debug(&join_all([&job])),
                "JoinAll { children: 1, joined: 0 }"
            );
            assert_eq!(
                debug(&await_all([a.clone(), b.clone()])),
                "AwaitAll { children: 2, received: 0 }"
            );
            assert_eq!(
                debug(&race([a.clone(), b.clone()])),
                "Race { children: 2, decided: false }"
            );
            assert_eq!(
                debug(&first_success([a.clone(), b.clone()])),
                "FirstSuccess { children: 2, decided: false, failures: 0 }"
            );
            assert_eq!(
                debug(&as_completed([a.clone(), b.clone()])),
                "AsCompleted { children: 2, pending: 2 }"
            );
            Ok(a.await? + b.await?)
        })
    })
    .await
    .unwrap();
}

/// `&mut deferred` in a `select!` branch that loses keeps the value.
#[tokio::test(start_paused = true)]
async fn a_deferred_polled_by_reference_in_select_keeps_its_value() {
    let value = coroutine_scope(|s| {
        Box::pin(async move {
            let mut d = s.r#async(async {
                delay(Duration::from_millis(10)).await?;
                Ok(7)
            });
            tokio::select! {
                _ = &mut d => unreachable!("the delay is shorter"),
                _ = tokio::time::sleep(Duration::from_millis(1)) => {}
            }
            d.await
        })
    })
    .await
    .unwrap();
    assert_eq!(value, 7);
}

/// A `recv` dropped in a `select!` branch that loses loses no item.
#[tokio::test(start_paused = true)]
async fn a_recv_dropped_in_select_loses_no_item() {
    let (tx, rx) = channel::<u8>(1);
    tokio::select! {
        _ = rx.recv() => unreachable!("nothing was sent"),
        _ = tokio::time::sleep(Duration::from_millis(1)) => {}
    }
    tx.send(3).await.unwrap();
    assert_eq!(rx.recv().await.unwrap(), Some(3));
}
