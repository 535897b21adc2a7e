use scopes::prelude::*;

async fn f() -> Result<u32> {
    let d = r#async!(name = "answer"; Ok(42));
    d.await
}

fn main() {}
