//! kotlinx RendezvousChannelTest, UnlimitedChannelTest,
//! ChannelReceiveCatchingTest leftovers (SPEC §2c). `receiveCatching` is
//! `recv() -> Result<Option<T>>`.

use super::common::*;
use scopes::prelude::*;

// RendezvousChannelTest.testIteratorClosed
#[tokio::test(start_paused = true)]
async fn rendezvous_iterator_closed() {
    let log = Log::default();
    let log = &log;
    let (q, rx) = channel::<u32>(0);
    let (q, rx) = (&q, &rx);
    let r: scopes::Result<()> = coroutine_scope! {
        log.push(1);
        launch { log.push(3); q.close(); log.push(4); };
        log.push(2);
        assert_eq!(rx.recv().await?, None, "closed with nothing sent");
        log.push(5);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), nums(5));
}

// RendezvousChannelTest.testIteratorOne
#[tokio::test(start_paused = true)]
async fn rendezvous_iterator_one() {
    let log = Log::default();
    let log = &log;
    let (q, rx) = channel::<u32>(0);
    let (q, rx) = (&q, &rx);
    let r: scopes::Result<()> = coroutine_scope! {
        log.push(1);
        launch { log.push(3); q.send(1).await?; log.push(4); q.close(); log.push(5); };
        log.push(2);
        while let Some(x) = rx.recv().await? { log.push(6); assert_eq!(x, 1); }
        log.push(7);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), nums(7));
}

// RendezvousChannelTest.testIteratorOneWithYield
#[tokio::test(start_paused = true)]
async fn rendezvous_iterator_one_with_yield() {
    let log = Log::default();
    let log = &log;
    let (q, rx) = channel::<u32>(0);
    let (q, rx) = (&q, &rx);
    let r: scopes::Result<()> = coroutine_scope! {
        log.push(1);
        launch { log.push(3); q.send(1).await?; log.push(6); q.close(); log.push(7); };
        log.push(2);
        yield_now().await?;
        log.push(4);
        while let Some(x) = rx.recv().await? { log.push(5); assert_eq!(x, 1); }
        log.push(8);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), nums(8));
}

// RendezvousChannelTest.testIteratorTwoWithYield
#[tokio::test(start_paused = true)]
async fn rendezvous_iterator_two_with_yield() {
    let log = Log::default();
    let log = &log;
    let (q, rx) = channel::<u32>(0);
    let (q, rx) = (&q, &rx);
    let r: scopes::Result<()> = coroutine_scope! {
        log.push(1);
        launch {
            log.push(3);
            q.send(1).await?;
            log.push(6);
            q.send(2).await?;
            log.push(7);
            q.close();
            log.push(8);
        };
        log.push(2);
        yield_now().await?;
        log.push(4);
        while let Some(x) = rx.recv().await? {
            match x { 1 => log.push(5), 2 => log.push(9), _ => unreachable!() }
        }
        log.push(10);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), nums(10));
}

// RendezvousChannelTest.testSuspendSendOnClosedChannel (with the exact order)
#[tokio::test(start_paused = true)]
async fn rendezvous_suspend_send_on_closed_channel() {
    let log = Log::default();
    let log = &log;
    let (q, rx) = channel::<u32>(0);
    let (q, rx) = (&q, &rx);
    let r: scopes::Result<()> = coroutine_scope! {
        log.push(1);
        launch { log.push(4); q.send(42).await?; log.push(11); };
        log.push(2);
        launch { log.push(5); q.close(); log.push(6); };
        log.push(3);
        yield_now().await?;
        log.push(7);
        yield_now().await?;
        log.push(8);
        assert_eq!(rx.recv().await?, Some(42));
        log.push(9);
        assert_eq!(rx.recv().await?, None);
        log.push(10);
        yield_now().await?;
        log.push(12);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), nums(12));
}

// RendezvousChannelTest.testProduceBadClass
#[tokio::test(start_paused = true)]
async fn rendezvous_produce_bad_class() {
    #[derive(Debug, PartialEq)]
    struct BadClass(u32);
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        let c = produce!(|tx: Sender<BadClass>| {
            log.push(1);
            tx.send(BadClass(7)).await?;
        });
        assert_eq!(c.recv().await?, Some(BadClass(7)));
        log.push(2);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), nums(2));
}

// UnlimitedChannelTest.testBasic
#[tokio::test(start_paused = true)]
async fn unlimited_basic() {
    let (c, rx) = unbounded_channel::<u32>();
    c.send(1).await.unwrap();
    c.send(2).await.unwrap();
    c.send(3).await.unwrap();
    assert!(c.close());
    assert!(!c.close());
    assert_eq!(rx.recv().await.unwrap(), Some(1));
    assert_eq!(rx.recv().await.unwrap(), Some(2));
    assert_eq!(rx.recv().await.unwrap(), Some(3));
    assert_eq!(rx.recv().await.unwrap(), None);
    assert_eq!(rx.recv().await.unwrap(), None);
}

// UnlimitedChannelTest.testConsumeAll
#[tokio::test(start_paused = true)]
async fn unlimited_consume_all() {
    let (q, rx) = unbounded_channel::<u32>();
    for i in 1..=10 {
        q.send(i).await.unwrap();
    }
    assert_eq!(rx.len(), 10);
    rx.cancel();
    assert!(q.is_closed());
    assert!(rx.is_closed());
    assert!(rx.recv().await.unwrap_err().is_cancellation());
    assert!(q.send(11).await.unwrap_err().is_cancellation());
}

// ChannelReceiveCatchingTest.testChannelOfThrowables
#[tokio::test(start_paused = true)]
async fn receive_catching_channel_of_throwables() {
    let (tx, rx) = channel::<scopes::Error>(0);
    let rx = &rx;
    let r: scopes::Result<()> = coroutine_scope! {
        launch {
            tx.send(fail("TestException1")).await?;
            tx.close_with(fail("TestException2"));
        };
        let element = rx.recv().await?.expect("an element");
        assert_eq!(name_of(&element), Some("TestException1"));
        let closed = rx.recv().await.unwrap_err();
        assert_eq!(name_of(&closed), Some("TestException2"));
        assert!(!closed.is_cancellation());
        Ok(())
    };
    r.unwrap();
}

// ChannelReceiveCatchingTest.testNullableIntChanel
#[tokio::test(start_paused = true)]
async fn receive_catching_nullable_int_channel() {
    let log = Log::default();
    let log = &log;
    let (tx, rx) = channel::<Option<u32>>(0);
    let rx = &rx;
    let r: scopes::Result<()> = coroutine_scope! {
        launch {
            log.push(2);
            tx.send(Some(1)).await?;
            log.push(3);
            tx.send(None).await?;
            log.push(6);
            tx.close();
        };
        log.push(1);
        assert_eq!(rx.recv().await?, Some(Some(1)));
        log.push(4);
        assert_eq!(rx.recv().await?, Some(None));
        log.push(5);
        assert_eq!(rx.recv().await?, None);
        assert_eq!(rx.recv().await?, None);
        log.push(7);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), nums(7));
}

// ChannelReceiveCatchingTest.testUIntChannel
#[tokio::test(start_paused = true)]
async fn receive_catching_uint_channel() {
    let log = Log::default();
    let log = &log;
    let (tx, rx) = channel::<u64>(0);
    let rx = &rx;
    let r: scopes::Result<()> = coroutine_scope! {
        launch {
            log.push(2);
            tx.send(1).await?;
            yield_now().await?;
            log.push(4);
            tx.send(u64::MAX - 1).await?;
            log.push(5);
        };
        log.push(1);
        assert_eq!(rx.recv().await?, Some(1));
        log.push(3);
        assert_eq!(rx.recv().await?, Some(u64::MAX - 1));
        log.push(6);
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), nums(6));
}

// ChannelReceiveCatchingTest.testCancelChannel
#[tokio::test(start_paused = true)]
async fn receive_catching_cancel_channel() {
    let log = Log::default();
    let log = &log;
    let (tx, rx) = channel::<bool>(0);
    let rx = &rx;
    let r: scopes::Result<()> = coroutine_scope! {
        launch { log.push(2); rx.cancel(); };
        log.push(1);
        let closed = rx.recv().await.unwrap_err();
        assert!(closed.is_cancellation());
        assert!(rx.is_closed());
        log.push(3);
        Ok(())
    };
    r.unwrap();
    drop(tx);
    assert_eq!(log.take(), nums(3));
}

// ChannelReceiveCatchingTest.testReceiveResultChannel
#[tokio::test(start_paused = true)]
async fn receive_catching_receive_result_channel() {
    let (tx, rx) = channel::<scopes::Result<u32>>(0);
    let rx = &rx;
    let r: scopes::Result<()> = coroutine_scope! {
        launch {
            tx.send(Ok(1)).await?;
            tx.send(Err(fail("TestException1"))).await?;
            tx.close_with(fail("TestException2"));
        };
        assert_eq!(rx.recv().await?.unwrap().unwrap(), 1);
        let inner = rx.recv().await?.unwrap().unwrap_err();
        assert_eq!(name_of(&inner), Some("TestException1"));
        let cause = rx.recv().await.unwrap_err();
        assert_eq!(name_of(&cause), Some("TestException2"));
        Ok(())
    };
    r.unwrap();
}

// ChannelReceiveCatchingTest.testToString
#[tokio::test(start_paused = true)]
async fn receive_catching_to_string() {
    let (tx, rx) = channel::<String>(1);
    tx.send("message".into()).await.unwrap();
    tx.close_with(scopes::Error::new(TestException("OK")));
    assert_eq!(rx.recv().await.unwrap().as_deref(), Some("message"));
    let e = rx.recv().await.unwrap_err();
    assert_eq!(e.to_string(), "OK");
}
