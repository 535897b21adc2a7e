// A non-`move` `async { }` in a scope body is a child: `tokio::time::timeout`
// would time its handle, and on a timeout the child would run on. The error
// points to `with_timeout(d) { .. }`, which cancels the work.
use std::time::Duration;

use scopes::prelude::*;

async fn run() -> scopes::Result<()> {
    coroutine_scope! {
        let timed = tokio::time::timeout(Duration::from_millis(10), async {
            delay(Duration::from_secs(10)).await?;
            Ok(1)
        });
        let _ = timed.await;
        Ok(())
    }
}

fn main() {
    let _ = run();
}
