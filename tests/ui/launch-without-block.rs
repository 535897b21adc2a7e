use scopes::prelude::*;

async fn f() -> Result<()> {
    coroutine_scope! {
        launch;
        Ok(())
    }
}

fn main() {}
