// In a scope body a non-`move` `async { }` is a child: a plain future for
// `with_timeout` (or `tokio::spawn`, ...) is written `async move { }`.
use std::time::Duration;

use scopes::prelude::*;

async fn f() -> Result<()> {
    coroutine_scope! {
        with_timeout(Duration::from_secs(1), async { delay(Duration::from_secs(2)).await }).await?;
        Ok(())
    }
}

fn main() {}
