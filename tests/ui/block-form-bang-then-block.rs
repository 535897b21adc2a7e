// The bang form takes its body after a `;`; a block after it would be a
// separate statement.
use scopes::prelude::*;

async fn f() -> Result<u32> {
    coroutine_scope! {
        let n = with_timeout!(std::time::Duration::from_secs(1)) { Ok(1) }?;
        Ok(n)
    }
}

fn main() {}
