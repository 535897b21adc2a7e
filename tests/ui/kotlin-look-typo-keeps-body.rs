use scopes::prelude::*;

// A malformed Kotlin-look form is reported on its token; the rest of the
// body still expands (the type error below is reported too, not lost).
async fn f() -> Result<u32> {
    coroutine_scope! {
        launch(name = "fetch");
        let d = async { Ok(1u32) };
        let wrong: bool = d.await?;
        Ok(2)
    }
}

fn main() {}
