use scopes::prelude::*;

async fn f(data: &[u32]) -> Result<u32> {
    coroutine_scope! {
        let sum = async(parallel) { Ok(data.iter().sum::<u32>()) };
        sum.await
    }
}

fn main() {}
