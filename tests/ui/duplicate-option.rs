use scopes::prelude::*;

async fn f() -> Result<u32> {
    coroutine_scope! {
        let d = async(name = "first", start = lazy, name = "second") { Ok(1) };
        d.await
    }
}

fn main() {}
