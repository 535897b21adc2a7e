// The Kotlin look is not Rust, so an annotated fn's body cannot hold it:
// beside rustc's parse error, the attribute says what to write instead.
use scopes::prelude::*;

#[supervised]
async fn f() -> scopes::Result<()> {
    launch(name = "x") { Ok(()) };
    Ok(())
}

fn main() {
    let _ = f();
}
