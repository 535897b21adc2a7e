use scopes::prelude::*;

async fn f() -> Result<()> {
    coroutine_scope! {
        launch(name = "fetch");
        Ok(())
    }
}

fn main() {}
