use scopes::prelude::*;

async fn f() -> Result<()> {
    coroutine_scope! {
        println!("{:?}", launch { yield_now().await });
        Ok(())
    }
}

fn main() {}
