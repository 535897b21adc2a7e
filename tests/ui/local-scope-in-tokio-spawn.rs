// A local scope's future is not `Send`: it cannot be `tokio::spawn`ed
// (SPEC §2d). The error lands on the spawn and on the scope's `.await`.
use std::rc::Rc;

use scopes::coroutine_scope_local;

async fn serve() {
    let handle = tokio::spawn(async {
        coroutine_scope_local(|s| {
            Box::pin(async move {
                let shared = Rc::new(1);
                s.launch(async move {
                    scopes::yield_now().await?;
                    assert_eq!(*shared, 1);
                    Ok(())
                });
                Ok(())
            })
        })
        .await
    });
    let _ = handle.await;
}

fn main() {}
