// A plain scope's children must be `Send`: a child holding an `Rc` across
// an await is rejected on the user's `launch`, and the bound rustc points
// at says where such children go (a local scope).
use std::rc::Rc;

async fn f() -> scopes::Result<()> {
    scopes::coroutine_scope(|s| {
        Box::pin(async move {
            s.launch(async {
                let cache = Rc::new(vec![1, 2, 3]);
                scopes::yield_now().await?;
                assert_eq!(cache.len(), 3);
                Ok(())
            });
            Ok(())
        })
    })
    .await
}

fn main() {}
