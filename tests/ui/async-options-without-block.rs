use scopes::prelude::*;

async fn f() -> Result<u32> {
    coroutine_scope! {
        let d = async(start = lazy) Ok(1);
        d.await
    }
}

fn main() {}
