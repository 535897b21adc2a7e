use scopes::prelude::*;

async fn f() -> Result<u32> {
    let deferred = supervisor_scope! {
        Ok(async { Ok(42) })
    }?;
    deferred.await
}

fn main() {}
