//! kotlinx produce semantics: the channel of `produce` closes when the
//! producer coroutine completes, children included (Kotlin's ProducerCoroutine
//! closes the channel in onCompleted/onCancelled, after its children).

use super::common::*;
use scopes::prelude::*;

// ProduceTest-like (ProducerCoroutine closes in onCompleted): produce { launch { send } }: a child of the producer sends after the
// producer's own code ended; the receiver gets its item, then the end.
#[tokio::test(start_paused = true)]
async fn produce_children_send_before_the_channel_closes() {
    let start = tokio::time::Instant::now();
    let r: scopes::Result<Vec<u32>> = coroutine_scope! {
        let rx = produce!(|tx: Sender<u32>| {
            for i in 0..3u32 {
                let tx = tx.clone();
                launch { delay(ms(10 * (i as u64 + 1))).await?; tx.send(i).await?; };
            }
        });
        let mut got = Vec::new();
        while let Some(x) = rx.recv().await? { got.push(x); }
        Ok(got)
    };
    assert_eq!(r.unwrap(), [0, 1, 2]);
    assert_eq!(start.elapsed(), ms(30));
}

// ProduceExceptionsTest-like: the failure of a producer's child closes the channel with that failure
// (in a supervisor_scope, where the receiver takes it).
#[tokio::test(start_paused = true)]
async fn produce_child_failure_closes_the_channel_with_it() {
    let (got, h) = recorder();
    let r: scopes::Result<()> = with_exception_handler(h, async {
        supervisor_scope! {
            let rx = produce!(|tx: Sender<u32>| {
                tx.send(1).await?;
                launch { delay(ms(10)).await?; Err::<(), _>(fail("child")) };
            });
            assert_eq!(rx.recv().await?, Some(1));
            let e = rx.recv().await.unwrap_err();
            assert_eq!(name_of(&e), Some("child"), "{e:?}");
            Ok(())
        }
    })
    .await;
    r.unwrap();
    assert!(got.lock().unwrap().is_empty());
}
