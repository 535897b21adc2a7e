// `with_timeout(d) { .. }` is a `scopes::Result`: as a statement it needs
// `?;` (or a binding), not silence.
use scopes::prelude::*;

async fn f() -> Result<()> {
    coroutine_scope! {
        with_timeout(std::time::Duration::from_secs(1)) {
            delay(std::time::Duration::from_millis(10)).await?;
        }
        let x = 1;
        Ok(())
    }
}

fn main() {}
