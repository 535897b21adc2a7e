// In a child body too, a non-`move` `async { }` is a child: cleanup for
// `non_cancellable` is `async move { }` (or the block form).
use std::time::Duration;

use scopes::prelude::*;

async fn f() -> Result<()> {
    coroutine_scope! {
        launch {
            if let Err(e) = delay(Duration::from_secs(60)).await {
                non_cancellable(async { delay(Duration::from_secs(1)).await }).await?;
                return Err(e);
            }
        }
        Ok(())
    }
}

fn main() {}
