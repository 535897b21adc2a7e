// A block form written as a statement without `?;` drops its
// `scopes::Result`: the error says to end it with `?;` also when the next
// statement starts with `*`, `(` or `-`, not only with a word or a block.
use scopes::prelude::*;

async fn run() -> scopes::Result<u32> {
    coroutine_scope! {
        let mut n = 0;
        let r = &mut n;
        non_cancellable { }
        *r += 1;
        non_cancellable { }
        (n, _) = (2, 0);
        Ok(n)
    }
}

fn main() {}
