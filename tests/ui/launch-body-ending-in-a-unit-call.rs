// A `launch` body whose last expression is a call returning `()`: the
// macro cannot see the type, so the body keeps its tail; the one error is
// on that tail and says to add `Ok(())` (or a `;`).
use scopes::prelude::*;

async fn f(log: &std::sync::Mutex<Vec<u32>>) -> Result<()> {
    coroutine_scope! {
        launch {
            yield_now().await?;
            log.lock().unwrap().push(1)
        }
        Ok(())
    }
}

fn main() {}
