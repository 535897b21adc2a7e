//! Measures the stack a nesting level of scopes costs (bytes per level),
//! by reading the address of a local at two depths.
use std::cell::Cell;

thread_local! { static TOP: Cell<usize> = const { Cell::new(0) }; }

fn nest(levels: u32) -> scopes::BoxFuture<'static, scopes::Result<usize>> {
    Box::pin(scopes::coroutine_scope(move |_s| {
        Box::pin(async move {
            if levels == 0 {
                scopes::yield_now().await?;
                return Ok(probe());
            }
            nest(levels - 1).await
        })
    }))
}

#[inline(never)]
fn probe() -> usize {
    let here = 0u8;
    std::hint::black_box(std::ptr::from_ref(&here) as usize)
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let a = rt.block_on(nest(10)).unwrap();
    let b = rt.block_on(nest(110)).unwrap();
    let _ = TOP.with(Cell::get);
    println!("bytes per level: {}", (a - b) / 100);
}
