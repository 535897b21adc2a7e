// An option written without its value is an error on `key =`, in every
// place options go: a bang child form in an annotated fn, an attribute's
// arguments, `produce!`'s options (not on the whole attribute or macro).
use scopes::prelude::*;

#[scoped]
async fn child_in_annotated_fn() -> scopes::Result<()> {
    launch!(name = ; );
    Ok(())
}

#[scoped(limit = )]
async fn attribute_argument() -> scopes::Result<()> {
    Ok(())
}

async fn producer() -> scopes::Result<()> {
    coroutine_scope! {
        let rx = produce!(capacity = ; |tx| { tx.send(1u8).await?; });
        drop(rx);
        Ok(())
    }
}

fn main() {}
