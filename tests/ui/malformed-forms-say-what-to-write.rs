// Malformed options and block forms: each error says what to write.
use scopes::prelude::*;

async fn empty_value() -> Result<()> {
    coroutine_scope! {
        launch(name = ) { }
        Ok(())
    }
}

async fn missing_eq() -> Result<()> {
    coroutine_scope! {
        launch(name "x") { }
        Ok(())
    }
}

async fn no_duration() -> Result<()> {
    coroutine_scope! {
        with_timeout() { Ok(()) }?;
        Ok(())
    }
}

async fn argument_to_non_cancellable() -> Result<()> {
    coroutine_scope! {
        non_cancellable(1) { Ok(()) }?;
        Ok(())
    }
}

fn main() {}
