//! kotlinx channels/ChannelPropertiesTest (ChannelPropertiesAfterClosingTest)
//! and ChannelIteratorTest over the channel kinds: `is_closed` on the
//! receiving side is Kotlin's isClosedForReceive ("closed and drained").

use super::common::*;
use scopes::channel::UNLIMITED;
use scopes::prelude::*;

const KINDS: [usize; 5] = [0, 1, 2, 10, UNLIMITED];

// ChannelPropertiesAfterClosingTest.testClosedIsClosedForReceive
#[tokio::test(start_paused = true)]
async fn closed_is_closed_for_receive() {
    for kind in KINDS {
        for with_failure in [false, true] {
            let (tx, rx) = channel::<u32>(kind);
            assert!(!rx.is_closed());
            if with_failure {
                tx.close_with(fail("TestException"));
            } else {
                tx.close();
            }
            assert!(rx.is_closed(), "kind {kind}, failure {with_failure}");
        }
    }
}

// ChannelPropertiesAfterClosingTest.testSendClosedReceiveIsEmptyFalse
#[tokio::test(start_paused = true)]
async fn send_closed_receive_is_closed_after_the_item() {
    for with_failure in [false, true] {
        let (tx, rx) = channel::<u32>(1);
        assert!(rx.is_empty() && !rx.is_closed());
        tx.send(1).await.unwrap();
        assert!(!rx.is_empty() && !rx.is_closed());
        if with_failure {
            tx.close_with(fail("TestException"));
        } else {
            tx.close();
        }
        assert!(!rx.is_closed(), "failure {with_failure}");
        assert_eq!(rx.recv().await.unwrap(), Some(1));
        assert!(rx.is_closed(), "failure {with_failure}");
    }
}

// A rendezvous sender still waiting when the channel closes: its item is
// still to be received, so the channel is not closed for receive yet.
#[tokio::test(start_paused = true)]
async fn waiting_sender_keeps_the_channel_open_for_receive() {
    let (tx, rx) = channel::<u32>(0);
    let (tx, rx) = (&tx, &rx);
    let r: scopes::Result<()> = coroutine_scope! {
        let sender = launch { tx.send(42).await?; };
        yield_now().await?;
        tx.close();
        assert!(!rx.is_closed());
        assert_eq!(rx.recv().await?, Some(42));
        sender.join().await?;
        assert!(rx.is_closed());
        assert_eq!(rx.recv().await?, None);
        Ok(())
    };
    r.unwrap();
}

// ChannelIteratorTest.testIteratorClosedHasNextFalse / WithExceptionHasNextThrows
#[tokio::test(start_paused = true)]
async fn iterator_closed_has_next() {
    for kind in KINDS {
        let (tx, rx) = channel::<u32>(kind);
        tx.close();
        assert_eq!(rx.recv().await.unwrap(), None, "kind {kind}");
        let (tx, rx) = channel::<u32>(kind);
        tx.close_with(fail("TestException"));
        assert_eq!(
            name_of(&rx.recv().await.unwrap_err()),
            Some("TestException"),
            "kind {kind}"
        );
        // and it stays so
        assert_eq!(
            name_of(&rx.recv().await.unwrap_err()),
            Some("TestException"),
            "kind {kind}"
        );
    }
}
