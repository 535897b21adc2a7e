use scopes::prelude::*;

// A bad argument is reported and the body still expands with the valid
// options: a type error in it is reported as well.
#[scoped(handler = log_it, limit = 2)]
async fn f() -> Result<u32> {
    let d = async { Ok(1u32) };
    let wrong: bool = d.await?;
    Ok(2)
}

fn main() {}
