use scopes::prelude::*;

async fn f() -> Result<usize> {
    coroutine_scope! {
        let local = vec![1, 2, 3];
        let local = &local;
        let len = async { Ok(local.len()) };
        len.await
    }
}

fn main() {}
