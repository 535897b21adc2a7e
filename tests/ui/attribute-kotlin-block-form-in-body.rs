// The Kotlin look of a block form is not Rust either, so an annotated fn's
// body cannot hold it: beside rustc's parse error, the attribute says what
// to write instead.
use std::time::Duration;

use scopes::prelude::*;

#[scoped]
async fn f() -> Result<()> {
    if let Err(e) = delay(Duration::from_secs(1)).await {
        non_cancellable { delay(Duration::from_millis(1)).await?; }?;
        return Err(e);
    }
    Ok(())
}

#[scoped]
async fn g() -> Result<u8> {
    let v = with_timeout(Duration::from_secs(1)) { Ok(1u8) }?;
    Ok(v)
}

fn main() {
    let _ = (f(), g());
}
