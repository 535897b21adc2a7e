use std::rc::Rc;

use scopes::prelude::*;

async fn f() -> Result<usize> {
    coroutine_scope! {
        let shared = Rc::new(vec![1, 2, 3]);
        let len = async(parallel) { Ok(shared.len()) };
        len.await
    }
}

fn main() {}
