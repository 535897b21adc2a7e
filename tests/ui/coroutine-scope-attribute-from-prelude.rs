// `coroutine_scope` in the prelude is the function-like macro; the attribute
// is `scopes::attr::coroutine_scope` (or `#[scoped]`).
use scopes::prelude::*;

#[coroutine_scope]
async fn f() -> Result<()> {
    Ok(())
}

fn main() {}
