// The attribute forms and where they come from.
use scopes::attr;
use scopes::prelude::*;

#[attr::coroutine_scope]
async fn a() -> Result<u32> {
    let x = async { Ok(1) };
    x.await
}

#[scopes::attr::coroutine_scope]
async fn b() -> Result<u32> {
    Ok(2)
}

#[scoped]
async fn c() -> Result<u32> {
    // The function-like macro is still the prelude's `coroutine_scope`.
    coroutine_scope! { Ok(3) }
}

#[supervised]
async fn d() -> Result<u32, Error> {
    Ok(4)
}

/// An error type of the user's: it must implement `From<scopes::Error>`.
#[derive(Debug)]
struct AppError(#[allow(dead_code)] Error);

impl From<Error> for AppError {
    fn from(e: Error) -> Self {
        AppError(e)
    }
}

#[attr::supervised]
async fn e() -> std::result::Result<u32, AppError> {
    Ok(5)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let sum = a().await.unwrap() + b().await.unwrap() + c().await.unwrap();
    assert_eq!(sum + d().await.unwrap() + e().await.unwrap(), 15);
}
