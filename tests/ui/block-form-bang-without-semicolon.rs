// `with_timeout!(d; body)`: the duration ends at a `;`.
use scopes::prelude::*;

#[scoped]
async fn f() -> Result<u32> {
    let n = with_timeout!(std::time::Duration::from_secs(1), Ok(1))?;
    Ok(n)
}

fn main() {}
