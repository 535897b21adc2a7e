// A child borrowing a local of an annotated fn's body: the error points at
// the body and the borrow, as it does in a `coroutine_scope! { }`.
use scopes::prelude::*;

#[scoped]
async fn len() -> Result<usize> {
    let local = vec![1, 2, 3];
    let local = &local;
    let len = async { Ok(local.len()) };
    len.await
}

fn main() {}
