// A slip in an annotated fn's body is rustc's one error: the attribute and
// the `launch!` in the body add none (they used to say "can only be applied
// to an `async fn`" and "only allowed in a scope body").
use scopes::prelude::*;

#[scoped]
async fn f() -> scopes::Result<u32> {
    let x = 1
    launch! { Ok(()) };
    Ok(x)
}

fn main() {
    let _ = f();
}
