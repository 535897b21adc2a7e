// Two children that both use one `&mut` (children capture by value): the
// error points at the two child forms, not at the whole scope macro.
use scopes::prelude::*;

async fn f(out: &mut Vec<u32>) -> Result<()> {
    coroutine_scope! {
        launch { out.push(1); }
        launch { out.push(2); }
        Ok(())
    }
}

fn main() {
    let mut v = Vec::new();
    let _ = f(&mut v);
}
