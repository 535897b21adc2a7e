//! kotlinx.coroutines guide examples (jvm/test/guide/example-*.kt) with the
//! exact output their knit tests check (CancellationGuideTest,
//! ComposingGuideTest, ExceptionsGuideTest, ChannelsGuideTest). `GlobalScope`
//! and root jobs become `launch` children of a `supervisor_scope` whose
//! handler prints; `println` is a log line; times are virtual (R12).

use super::common::*;
use scopes::prelude::*;
use std::time::Duration;
use tokio::time::Instant;

fn printing_handler(log: &Log) -> impl Fn(&scopes::Error) + Send + Sync + 'static {
    let log = log.clone();
    move |e: &scopes::Error| {
        let sup: Vec<_> = e.suppressed().iter().map(|s| s.to_string()).collect();
        if sup.is_empty() {
            log.push(format!("CoroutineExceptionHandler got {e}"));
        } else {
            log.push(format!(
                "CoroutineExceptionHandler got {e} with suppressed {sup:?}"
            ));
        }
    }
}

// example-cancel-01
#[tokio::test(start_paused = true)]
async fn example_cancel_01() {
    let log = Log::default();
    let log = &log;
    let start = Instant::now();
    let r: scopes::Result<()> = coroutine_scope! {
        let job = launch {
            for i in 0..1000 {
                log.push(format!("job: I'm sleeping {i} ..."));
                delay(ms(500)).await?;
            }
        };
        delay(ms(1300)).await?;
        log.push("main: I'm tired of waiting!");
        job.cancel();
        job.join().await?;
        log.push("main: Now I can quit.");
        Ok(())
    };
    r.unwrap();
    assert_eq!(start.elapsed(), ms(1300));
    assert_eq!(
        log.take(),
        [
            "job: I'm sleeping 0 ...",
            "job: I'm sleeping 1 ...",
            "job: I'm sleeping 2 ...",
            "main: I'm tired of waiting!",
            "main: Now I can quit."
        ]
    );
}

// example-cancel-03: the job catches every cancellation and goes on; each
// later delay fails at once (R7), so the loop ends without waiting.
#[tokio::test(start_paused = true)]
async fn example_cancel_03() {
    let log = Log::default();
    let log = &log;
    let start = Instant::now();
    let r: scopes::Result<()> = coroutine_scope! {
        let job = launch {
            for i in 0..5 {
                log.push(format!("job: I'm sleeping {i} ..."));
                if let Err(e) = delay(ms(500)).await {
                    log.push(format!("caught cancellation={}", e.is_cancellation()));
                }
            }
        };
        delay(ms(1300)).await?;
        log.push("main: I'm tired of waiting!");
        job.cancel_and_join().await?;
        log.push("main: Now I can quit.");
        Ok(())
    };
    r.unwrap();
    assert_eq!(start.elapsed(), ms(1300));
    assert_eq!(
        log.take(),
        [
            "job: I'm sleeping 0 ...",
            "job: I'm sleeping 1 ...",
            "job: I'm sleeping 2 ...",
            "main: I'm tired of waiting!",
            "caught cancellation=true",
            "job: I'm sleeping 3 ...",
            "caught cancellation=true",
            "job: I'm sleeping 4 ...",
            "caught cancellation=true",
            "main: Now I can quit."
        ]
    );
}

// example-cancel-03 on the pool (Dispatchers.Default: a `parallel` child,
// here a tokio task on the paused current_thread runtime)
#[tokio::test(start_paused = true)]
async fn example_cancel_03_parallel() {
    let log = Log::default();
    let log2 = log.clone();
    let start = Instant::now();
    let r: scopes::Result<()> = coroutine_scope! {
        let job = launch(parallel) {
            for i in 0..5 {
                log2.push(format!("job: I'm sleeping {i} ..."));
                if let Err(e) = delay(ms(500)).await {
                    log2.push(format!("caught cancellation={}", e.is_cancellation()));
                }
            }
        };
        delay(ms(1300)).await?;
        log.push("main: I'm tired of waiting!");
        job.cancel_and_join().await?;
        log.push("main: Now I can quit.");
        Ok(())
    };
    r.unwrap();
    assert_eq!(start.elapsed(), ms(1300));
    assert_eq!(
        log.take(),
        [
            "job: I'm sleeping 0 ...",
            "job: I'm sleeping 1 ...",
            "job: I'm sleeping 2 ...",
            "main: I'm tired of waiting!",
            "caught cancellation=true",
            "job: I'm sleeping 3 ...",
            "caught cancellation=true",
            "job: I'm sleeping 4 ...",
            "caught cancellation=true",
            "main: Now I can quit."
        ]
    );
}

// example-cancel-05
#[tokio::test(start_paused = true)]
async fn example_cancel_05() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        let job = launch {
            let r: scopes::Result<()> = async {
                for i in 0..1000 {
                    log.push(format!("job: I'm sleeping {i} ..."));
                    delay(ms(500)).await?;
                }
                Ok(())
            }.await;
            log.push("job: I'm running finally");
            r?;
        };
        delay(ms(1300)).await?;
        log.push("main: I'm tired of waiting!");
        job.cancel_and_join().await?;
        log.push("main: Now I can quit.");
        Ok(())
    };
    r.unwrap();
    assert_eq!(
        log.take(),
        [
            "job: I'm sleeping 0 ...",
            "job: I'm sleeping 1 ...",
            "job: I'm sleeping 2 ...",
            "main: I'm tired of waiting!",
            "job: I'm running finally",
            "main: Now I can quit."
        ]
    );
}

// example-cancel-06
#[tokio::test(start_paused = true)]
async fn example_cancel_06() {
    let log = Log::default();
    let log = &log;
    let start = Instant::now();
    let r: scopes::Result<()> = coroutine_scope! {
        let job = launch {
            let r: scopes::Result<()> = async {
                for i in 0..1000 {
                    log.push(format!("job: I'm sleeping {i} ..."));
                    delay(ms(500)).await?;
                }
                Ok(())
            }.await;
            non_cancellable {
                log.push("job: I'm running finally");
                delay(ms(1000)).await?;
                log.push("job: And I've just delayed for 1 sec because I'm non-cancellable");
            }?;
            r?;
        };
        delay(ms(1300)).await?;
        log.push("main: I'm tired of waiting!");
        job.cancel_and_join().await?;
        log.push("main: Now I can quit.");
        Ok(())
    };
    r.unwrap();
    assert_eq!(start.elapsed(), ms(2300));
    assert_eq!(
        log.take(),
        [
            "job: I'm sleeping 0 ...",
            "job: I'm sleeping 1 ...",
            "job: I'm sleeping 2 ...",
            "main: I'm tired of waiting!",
            "job: I'm running finally",
            "job: And I've just delayed for 1 sec because I'm non-cancellable",
            "main: Now I can quit."
        ]
    );
}

// example-cancel-07 (the timeout is a failure, R9)
#[tokio::test(start_paused = true)]
async fn example_cancel_07() {
    let log = Log::default();
    let log = &log;
    let start = Instant::now();
    let r: scopes::Result<()> = coroutine_scope! {
        with_timeout(ms(1300)) {
            for i in 0..1000 {
                log.push(format!("I'm sleeping {i} ..."));
                delay(ms(500)).await?;
            }
        }
    };
    assert!(r.unwrap_err().is_timeout());
    assert_eq!(start.elapsed(), ms(1300));
    assert_eq!(
        log.take(),
        [
            "I'm sleeping 0 ...",
            "I'm sleeping 1 ...",
            "I'm sleeping 2 ..."
        ]
    );
}

// example-cancel-08
#[tokio::test(start_paused = true)]
async fn example_cancel_08() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        let result = with_timeout_or_none(ms(1300)) {
            for i in 0..1000 {
                log.push(format!("I'm sleeping {i} ..."));
                delay(ms(500)).await?;
            }
            Ok("Done")
        }?;
        log.push(format!("Result is {result:?}"));
        Ok(())
    };
    r.unwrap();
    assert_eq!(
        log.take(),
        [
            "I'm sleeping 0 ...",
            "I'm sleeping 1 ...",
            "I'm sleeping 2 ...",
            "Result is None"
        ]
    );
}

// example-cancel-10 (and -09): 10K children, each acquiring a resource in a
// withTimeout that does not expire; every resource is released.
#[tokio::test(start_paused = true)]
async fn example_cancel_10() {
    use std::sync::atomic::{AtomicI64, Ordering};
    let acquired = AtomicI64::new(0);
    let acquired = &acquired;
    struct Resource<'a>(&'a AtomicI64);
    impl<'a> Resource<'a> {
        fn new(a: &'a AtomicI64) -> Self {
            a.fetch_add(1, Ordering::SeqCst);
            Resource(a)
        }
        fn close(self) {
            self.0.fetch_sub(1, Ordering::SeqCst);
        }
    }
    let start = Instant::now();
    let r: scopes::Result<()> = coroutine_scope! {
        for _ in 0..10_000 {
            launch {
                let mut resource = None;
                let r = with_timeout(ms(60)) {
                    delay(ms(50)).await?;
                    resource = Some(Resource::new(acquired));
                };
                if let Some(res) = resource { res.close(); }
                r?;
            };
        }
        Ok(())
    };
    r.unwrap();
    assert_eq!(start.elapsed(), ms(50));
    assert_eq!(acquired.load(Ordering::SeqCst), 0);
}

// example-compose-03
#[tokio::test(start_paused = true)]
async fn example_compose_03() {
    let start = Instant::now();
    let r: scopes::Result<u32> = coroutine_scope! {
        let one = async(start = lazy) { delay(ms(1000)).await?; Ok(13u32) };
        let two = async(start = lazy) { delay(ms(1000)).await?; Ok(29u32) };
        one.start();
        two.start();
        Ok(one.await? + two.await?)
    };
    assert_eq!(r.unwrap(), 42);
    assert_eq!(start.elapsed(), ms(1000));
}

// example-compose-06
#[tokio::test(start_paused = true)]
async fn example_compose_06() {
    let log = Log::default();
    let log = &log;
    let failed_concurrent_sum = || async move {
        coroutine_scope! {
            let one = async {
                let r = delay(Duration::MAX).await;
                log.push("First child was cancelled");
                r?;
                Ok(42u32)
            };
            let two = async {
                log.push("Second child throws an exception");
                Err::<u32, _>(fail("ArithmeticException"))
            };
            Ok(one.await? + two.await?)
        }
    };
    if let Err(e) = failed_concurrent_sum().await {
        assert_eq!(name_of(&e), Some("ArithmeticException"));
        log.push("Computation failed with ArithmeticException");
    }
    assert_eq!(
        log.take(),
        [
            "Second child throws an exception",
            "First child was cancelled",
            "Computation failed with ArithmeticException"
        ]
    );
}

// example-exceptions-01
#[tokio::test(start_paused = true)]
async fn example_exceptions_01() {
    let log = Log::default();
    let r: scopes::Result<()> = with_exception_handler(printing_handler(&log), async {
        let log = &log;
        supervisor_scope! {
            let job = launch {
                log.push("Throwing exception from launch");
                Err::<(), _>(fail("IndexOutOfBoundsException"))
            };
            job.join().await?;
            log.push("Joined failed job");
            let deferred = async {
                log.push("Throwing exception from async");
                Err::<(), _>(fail("ArithmeticException"))
            };
            match deferred.await {
                Ok(()) => log.push("Unreached"),
                Err(e) if name_of(&e) == Some("ArithmeticException") => log.push("Caught ArithmeticException"),
                Err(e) => return Err(e),
            }
            Ok(())
        }
    })
    .await;
    r.unwrap();
    assert_eq!(
        log.take(),
        [
            "Throwing exception from launch",
            "CoroutineExceptionHandler got IndexOutOfBoundsException",
            "Joined failed job",
            "Throwing exception from async",
            "Caught ArithmeticException"
        ]
    );
}

// example-exceptions-03
#[tokio::test(start_paused = true)]
async fn example_exceptions_03() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        let job = launch {
            let child = launch {
                let r = delay(Duration::MAX).await;
                log.push("Child is cancelled");
                r?;
            };
            yield_now().await?;
            log.push("Cancelling child");
            child.cancel();
            child.join().await?;
            yield_now().await?;
            log.push("Parent is not cancelled");
        };
        job.join().await?;
        assert!(!job.is_cancelled());
        Ok(())
    };
    r.unwrap();
    assert_eq!(
        log.take(),
        [
            "Cancelling child",
            "Child is cancelled",
            "Parent is not cancelled"
        ]
    );
}

// example-exceptions-04
#[tokio::test(start_paused = true)]
async fn example_exceptions_04() {
    let log = Log::default();
    let start = Instant::now();
    let r: scopes::Result<()> = with_exception_handler(printing_handler(&log), async {
        let log = &log;
        supervisor_scope! {
            let job = launch {
                launch {
                    let r = delay(Duration::MAX).await;
                    non_cancellable {
                        log.push("Children are cancelled, but exception is not handled until all children terminate");
                        delay(ms(100)).await?;
                        log.push("The first child finished its non cancellable block");
                    }?;
                    r?;
                };
                launch {
                    delay(ms(10)).await?;
                    log.push("Second child throws an exception");
                    Err::<(), _>(fail("ArithmeticException"))
                };
            };
            job.join().await?;
            Ok(())
        }
    })
    .await;
    r.unwrap();
    assert_eq!(start.elapsed(), ms(110));
    assert_eq!(
        log.take(),
        [
            "Second child throws an exception",
            "Children are cancelled, but exception is not handled until all children terminate",
            "The first child finished its non cancellable block",
            "CoroutineExceptionHandler got ArithmeticException"
        ]
    );
}

// example-exceptions-05
#[tokio::test(start_paused = true)]
async fn example_exceptions_05() {
    let log = Log::default();
    let r: scopes::Result<()> = with_exception_handler(printing_handler(&log), async {
        supervisor_scope! {
            let job = launch {
                launch {
                    let _ = delay(Duration::MAX).await;
                    Err::<(), _>(fail("ArithmeticException"))
                };
                launch {
                    delay(ms(100)).await?;
                    Err::<(), _>(fail("IOException"))
                };
                delay(Duration::MAX).await?;
            };
            job.join().await?;
            Ok(())
        }
    })
    .await;
    r.unwrap();
    assert_eq!(
        log.take(),
        ["CoroutineExceptionHandler got IOException with suppressed [\"ArithmeticException\"]"]
    );
}

// example-exceptions-06: the job's join of the failing inner job gives a
// cancellation (the job is cancelled by its child's failure, R2); the job
// rethrows it, yet the original IOException reaches the handler.
#[tokio::test(start_paused = true)]
async fn example_exceptions_06() {
    let log = Log::default();
    let r: scopes::Result<()> = with_exception_handler(printing_handler(&log), async {
        let log = &log;
        supervisor_scope! {
            let job = launch {
                let inner_job = launch {
                    launch {
                        launch { Err::<(), _>(fail("IOException")) };
                    };
                };
                if let Err(e) = inner_job.join().await {
                    assert!(e.is_cancellation(), "{e:?}");
                    log.push("Rethrowing CancellationException with original cause");
                    return Err(e);
                }
            };
            job.join().await?;
            Ok(())
        }
    })
    .await;
    r.unwrap();
    assert_eq!(
        log.take(),
        [
            "Rethrowing CancellationException with original cause",
            "CoroutineExceptionHandler got IOException"
        ]
    );
}

// example-supervision-01 (supervisor.cancel() of the children is
// cancel_children() in the supervisor's body)
#[tokio::test(start_paused = true)]
async fn example_supervision_01() {
    let log = Log::default();
    let r: scopes::Result<()> = with_exception_handler(|_: &scopes::Error| {}, async {
        let log = &log;
        supervisor_scope! {
            let first_child = launch {
                log.push("The first child is failing");
                Err::<(), _>(fail("The first child is cancelled"))
            };
            let first = first_child.clone();
            let second_child = launch {
                first.join().await?;
                log.push(format!(
                    "The first child is cancelled: {}, but the second one is still active",
                    first.is_cancelled()
                ));
                let r = delay(Duration::MAX).await;
                log.push("The second child is cancelled because the supervisor was cancelled");
                r?;
            };
            first_child.join().await?;
            log.push("Cancelling the supervisor");
            cancel_children();
            second_child.join().await?;
            Ok(())
        }
    })
    .await;
    r.unwrap();
    assert_eq!(
        log.take(),
        [
            "The first child is failing",
            "The first child is cancelled: true, but the second one is still active",
            "Cancelling the supervisor",
            "The second child is cancelled because the supervisor was cancelled"
        ]
    );
}

// example-supervision-02
#[tokio::test(start_paused = true)]
async fn example_supervision_02() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = supervisor_scope! {
        launch {
            log.push("The child is sleeping");
            let r = delay(Duration::MAX).await;
            log.push("The child is cancelled");
            r?;
        };
        yield_now().await?;
        log.push("Throwing an exception from the scope");
        Err(fail("AssertionError"))
    };
    if let Err(e) = r {
        assert_eq!(name_of(&e), Some("AssertionError"));
        log.push("Caught an assertion error");
    }
    assert_eq!(
        log.take(),
        [
            "The child is sleeping",
            "Throwing an exception from the scope",
            "The child is cancelled",
            "Caught an assertion error"
        ]
    );
}

// example-supervision-03
#[tokio::test(start_paused = true)]
async fn example_supervision_03() {
    let log = Log::default();
    let r: scopes::Result<()> = with_exception_handler(printing_handler(&log), async {
        let log = &log;
        supervisor_scope! {
            launch {
                log.push("The child throws an exception");
                Err::<(), _>(fail("AssertionError"))
            };
            log.push("The scope is completing");
            Ok(())
        }
    })
    .await;
    r.unwrap();
    log.push("The scope is completed");
    assert_eq!(
        log.take(),
        [
            "The scope is completing",
            "The child throws an exception",
            "CoroutineExceptionHandler got AssertionError",
            "The scope is completed"
        ]
    );
}

// example-channel-04: a pipeline of producers, stopped by cancel_children
#[tokio::test(start_paused = true)]
async fn example_channel_04() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        let numbers = produce!(|tx| {
            let mut x = 1u64;
            loop { tx.send(x).await?; x += 1; }
        });
        let squares = produce!(|tx| {
            while let Some(x) = numbers.recv().await? { tx.send(x * x).await?; }
        });
        for _ in 0..5 {
            log.push(squares.recv().await?.unwrap());
        }
        log.push("Done!");
        cancel_children();
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), ["1", "4", "9", "16", "25", "Done!"]);
}

// example-channel-05: prime sieve of producers
#[tokio::test(start_paused = true)]
async fn example_channel_05() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = scopes::coroutine_scope(|s| {
        Box::pin(async move {
            let mut cur: Receiver<u64> = s.produce(0, |tx| async move {
                let mut x = 2u64;
                loop {
                    tx.send(x).await?;
                    x += 1;
                }
            });
            for _ in 0..10 {
                let prime = cur.recv().await?.unwrap();
                log.push(prime);
                let numbers = cur;
                cur = s.produce(0, move |tx| async move {
                    while let Some(x) = numbers.recv().await? {
                        if x % prime != 0 {
                            tx.send(x).await?;
                        }
                    }
                    Ok(())
                });
            }
            cancel_children();
            Ok(())
        })
    })
    .await;
    r.unwrap();
    assert_eq!(
        log.take(),
        ["2", "3", "5", "7", "11", "13", "17", "19", "23", "29"]
    );
}

// example-channel-06: fan-out; receivers are served in the order they came
#[tokio::test(start_paused = true)]
async fn example_channel_06() {
    let log = Log::default();
    let log = &log;
    let start = Instant::now();
    let r: scopes::Result<()> = coroutine_scope! {
        let producer = produce!(|tx| {
            let mut x = 1u32;
            loop { tx.send(x).await?; x += 1; delay(ms(100)).await?; }
        });
        for id in 0..5 {
            let channel = producer.clone();
            launch {
                while let Some(msg) = channel.recv().await? {
                    log.push(format!("Processor #{id} received {msg}"));
                }
            };
        }
        delay(ms(950)).await?;
        producer.cancel();
        Ok(())
    };
    r.unwrap();
    assert_eq!(start.elapsed(), ms(950));
    let lines = log.take();
    assert_eq!(lines.len(), 10, "{lines:?}");
    for (i, line) in lines.iter().enumerate() {
        assert!(
            line.starts_with("Processor #") && line.ends_with(&format!(" received {}", i + 1)),
            "{lines:?}"
        );
    }
    // Kotlin's order (one FIFO, fair receivers): #0 takes 1 from the waiting
    // sender and is first in line again for 2; then 1, 2, 3, 4, 0, ...
    let ids: Vec<_> = lines.iter().map(|l| l.as_bytes()[11] - b'0').collect();
    assert_eq!(ids, [0, 0, 1, 2, 3, 4, 0, 1, 2, 3], "{lines:?}");
}

// example-channel-07: fan-in; BAR's timer, registered first, wins the tie at 1000 ms
#[tokio::test(start_paused = true)]
async fn example_channel_07() {
    let log = Log::default();
    let log = &log;
    let r: scopes::Result<()> = coroutine_scope! {
        let (channel, rx) = channel::<&'static str>(0);
        let c1 = channel.clone();
        launch { loop { delay(ms(200)).await?; c1.send("foo").await?; } };
        launch { loop { delay(ms(500)).await?; channel.send("BAR!").await?; } };
        for _ in 0..6 {
            log.push(rx.recv().await?.unwrap());
        }
        cancel_children();
        Ok(())
    };
    r.unwrap();
    assert_eq!(log.take(), ["foo", "foo", "BAR!", "foo", "foo", "BAR!"]);
}

// example-channel-08: a buffered channel of 4; the fifth send waits
#[tokio::test(start_paused = true)]
async fn example_channel_08() {
    let log = Log::default();
    let log = &log;
    let (channel, rx) = channel::<u32>(4);
    let channel = &channel;
    let r: scopes::Result<()> = coroutine_scope! {
        let sender = launch {
            for i in 0..10 {
                log.push(format!("Sending {i}"));
                channel.send(i).await?;
            }
        };
        delay(ms(1000)).await?;
        sender.cancel();
        Ok(())
    };
    r.unwrap();
    assert_eq!(rx.len(), 4);
    assert_eq!(
        log.take(),
        [
            "Sending 0",
            "Sending 1",
            "Sending 2",
            "Sending 3",
            "Sending 4"
        ]
    );
}

// example-channel-09: ping-pong over a rendezvous channel
#[tokio::test(start_paused = true)]
async fn example_channel_09() {
    #[derive(Debug)]
    struct Ball {
        hits: u32,
    }
    let log = Log::default();
    let log = &log;
    let (table_tx, table_rx) = channel::<Ball>(0);
    let (table_tx, table_rx) = (&table_tx, &table_rx);
    let r: scopes::Result<()> = coroutine_scope! {
        for name in ["ping", "pong"] {
            launch {
                while let Some(mut ball) = table_rx.recv().await? {
                    ball.hits += 1;
                    log.push(format!("{name} {ball:?}"));
                    delay(ms(300)).await?;
                    table_tx.send(ball).await?;
                }
            };
        }
        table_tx.send(Ball { hits: 0 }).await?;
        delay(ms(1000)).await?;
        cancel_children();
        Ok(())
    };
    r.unwrap();
    assert_eq!(
        log.take(),
        [
            "ping Ball { hits: 1 }",
            "pong Ball { hits: 2 }",
            "ping Ball { hits: 3 }",
            "pong Ball { hits: 4 }"
        ]
    );
}
