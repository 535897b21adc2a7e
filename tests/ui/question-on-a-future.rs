// `?` on a future that was not awaited (a `Deferred`, `delay(..)`): the
// macros write every `?` through a helper trait, so rustc's own hint to add
// `.await` is lost; the trait's message says what `?` takes, and to await.
use scopes::prelude::*;

async fn f() -> Result<u8> {
    coroutine_scope! {
        let d = async { Ok(1u8) };
        let v = d?;
        Ok(v)
    }
}

fn main() {
    let _ = f();
}
