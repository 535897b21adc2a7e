use scopes::prelude::*;

async fn f() -> Result<()> {
    coroutine_scope!(limit = 4)
}

fn main() {}
