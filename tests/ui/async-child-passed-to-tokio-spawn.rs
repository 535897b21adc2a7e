// A non-`move` `async { }` in a scope body is a child: passed to
// `tokio::spawn`, the task would get the child's handle. The error says to
// write `async move` (a task) or `launch(parallel)` (a child on the pool).
use scopes::prelude::*;

async fn run() -> scopes::Result<()> {
    coroutine_scope! {
        let task = tokio::spawn(async { 1 + 1 });
        let _ = task.await;
        Ok(())
    }
}

fn main() {
    let _ = run();
}
