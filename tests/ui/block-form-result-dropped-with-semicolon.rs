// A block form ended with `;` drops its `scopes::Result`, and with it a
// failure or a timeout: a compile error saying to write `?;` (or
// `let _ = ..;` to drop it on purpose), in a scope body and in a child's.
use scopes::prelude::*;

async fn f() -> Result<()> {
    coroutine_scope! {
        with_timeout(std::time::Duration::from_millis(1)) {
            delay(std::time::Duration::from_secs(1)).await?;
        };
        launch {
            non_cancellable { println!("cleanup"); };
        };
        Ok(())
    }
}

fn main() {}
