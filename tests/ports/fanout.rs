//! kotlinx guide example-compose-05 style fan-out (SPEC §2a): async blocks
//! in closures and in other macros' inputs are children.

use super::common::*;
use scopes::prelude::*;
use tokio::time::Instant;

// ComposingGuide (example-compose-04/05 fan-out): a map over ids starting one async child per id.
#[tokio::test(start_paused = true)]
async fn fan_out_in_closure_runs_concurrently() {
    let start = Instant::now();
    let r: scopes::Result<Vec<u64>> = coroutine_scope! {
        let ds: Vec<_> = (1..=3u64).map(|i| async { delay(ms(10 * i)).await?; Ok(i) }).collect();
        await_all(ds).await
    };
    assert_eq!(r.unwrap(), [1, 2, 3]);
    assert_eq!(start.elapsed(), ms(30));
}

// ComposingGuide fan-out through vec![async { }, async { }] in a scope body: children.
#[tokio::test(start_paused = true)]
async fn fan_out_in_vec_macro_runs_concurrently() {
    let start = Instant::now();
    let r: scopes::Result<Vec<u64>> = coroutine_scope! {
        let ds = vec![
            async { delay(ms(10)).await?; Ok(1u64) },
            async { delay(ms(20)).await?; Ok(2u64) },
        ];
        await_all(ds).await
    };
    assert_eq!(r.unwrap(), [1, 2]);
    assert_eq!(start.elapsed(), ms(20));
}

// SelectDeferredTest-like / AsyncLazyTest: race over lazy children starts them (Kotlin's select on a lazy
// Deferred's onAwait starts it)
#[tokio::test(start_paused = true)]
async fn race_starts_lazy_children() {
    let start = Instant::now();
    let r: scopes::Result<u32> = coroutine_scope! {
        let a = async(start = lazy) { delay(ms(20)).await?; Ok(1u32) };
        let b = async(start = lazy) { delay(ms(10)).await?; Ok(2u32) };
        race([a, b]).await
    };
    assert_eq!(r.unwrap(), 2);
    assert_eq!(start.elapsed(), ms(10));
}
