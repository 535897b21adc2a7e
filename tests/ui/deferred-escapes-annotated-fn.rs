// A `Deferred` returned out of an annotated fn's scope: the error points at
// the fn's body (the scope), as it does at a `supervisor_scope! { }` call.
use scopes::prelude::*;

#[supervised]
async fn answer() -> Result<Deferred<'static, u32>> {
    let deferred = async { Ok(42) };
    Ok(deferred)
}

fn main() {}
