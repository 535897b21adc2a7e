//! kotlinx channels/BasicOperationsTest, parametrized over the channel
//! kinds (TestChannelKind: rendezvous, buffered 1/2/10, unlimited; the
//! conflated and broadcast kinds have no counterpart).

use super::common::*;
use scopes::channel::UNLIMITED;
use scopes::prelude::*;

const KINDS: [usize; 5] = [0, 1, 2, 10, UNLIMITED];

// BasicOperationsTest.testSimpleSendReceive
#[tokio::test(start_paused = true)]
async fn basic_simple_send_receive() {
    for kind in KINDS {
        let (tx, rx) = channel::<u32>(kind);
        let rx = &rx;
        let r: scopes::Result<u32> = coroutine_scope! {
            launch {
                for i in 0..20 { tx.send(i).await?; }
                tx.close();
            };
            let mut expected = 0;
            while let Some(x) = rx.recv().await? {
                assert_eq!(x, expected, "kind {kind}");
                expected += 1;
            }
            Ok(expected)
        };
        assert_eq!(r.unwrap(), 20, "kind {kind}");
    }
}

// BasicOperationsTest.testReceiveCatching (exact order, every kind)
#[tokio::test(start_paused = true)]
async fn basic_receive_catching() {
    for kind in KINDS {
        let log = Log::default();
        let log = &log;
        let (tx, rx) = channel::<u32>(kind);
        let (tx, rx) = (&tx, &rx);
        let r: scopes::Result<()> = coroutine_scope! {
            launch { log.push(2); tx.send(1).await?; };
            log.push(1);
            assert_eq!(rx.recv().await?, Some(1));
            log.push(3);
            launch { log.push(4); tx.close(); };
            assert_eq!(rx.recv().await?, None);
            log.push(5);
            Ok(())
        };
        r.unwrap();
        assert_eq!(log.take(), ["1", "2", "3", "4", "5"], "kind {kind}");
    }
}

// BasicOperationsTest.testSendAfterClose, every kind: ClosedSendChannelException
// is not eaten (a failure, not a cancellation)
#[tokio::test(start_paused = true)]
async fn basic_send_after_close() {
    for kind in KINDS {
        let (tx, rx) = channel::<u32>(kind);
        let r: scopes::Result<()> = coroutine_scope! {
            tx.close();
            launch { tx.send(1).await?; };
            Ok(())
        };
        let e = r.unwrap_err();
        assert!(!e.is_cancellation(), "kind {kind}: {e:?}");
        assert!(
            e.downcast_ref::<scopes::channel::ChannelClosed>().is_some(),
            "kind {kind}: {e:?}"
        );
        drop(rx);
    }
}

// BasicOperationsTest.testTrySendAfterClose: a send started before close
// delivers its item (a waiting rendezvous sender included); one after
// close fails.
#[tokio::test(start_paused = true)]
async fn basic_try_send_after_close() {
    for kind in KINDS {
        let (tx, rx) = channel::<u32>(kind);
        let (tx, rx) = (&tx, &rx);
        let r: scopes::Result<()> = coroutine_scope! {
            let d = async { tx.send(42).await };
            yield_now().await?;
            tx.close();
            assert!(tx.is_closed());
            let e = tx.send(2).await.unwrap_err();
            assert!(e.downcast_ref::<scopes::channel::ChannelClosed>().is_some(), "kind {kind}: {e:?}");
            assert_eq!(rx.recv().await?, Some(42), "kind {kind}");
            d.await?;
            assert_eq!(rx.recv().await?, None, "kind {kind}");
            Ok(())
        };
        r.unwrap();
    }
}

// BasicOperationsTest.testThrowingInvokeOnClose analogue: close from a
// child; both sides see the channel closed; a second close is false.
#[tokio::test(start_paused = true)]
async fn basic_close_from_a_child() {
    let log = Log::default();
    let log = &log;
    let (tx, rx) = channel::<u32>(0);
    let (tx, rx) = (&tx, &rx);
    let r: scopes::Result<()> = coroutine_scope! {
        launch { log.push(2); assert!(tx.close()); };
        log.push(1);
        yield_now().await?;
        assert!(rx.is_closed());
        assert!(tx.is_closed());
        assert!(!tx.close());
        log.push(3);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), ["1", "2", "3"]);
}
