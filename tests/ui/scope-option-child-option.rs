use scopes::prelude::*;

async fn f() -> Result<()> {
    supervisor_scope!(local, name = "jobs";
        launch { yield_now().await }
        Ok(())
    )
}

fn main() {}
