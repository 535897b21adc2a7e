use scopes::prelude::*;

async fn f() -> Result<u32> {
    coroutine_scope! {
        tokio::select! {
            fast = async { Ok::<_, Error>(1) } => fast,
            slow = async move { Ok::<_, Error>(2) } => slow,
        }
    }
}

fn main() {}
