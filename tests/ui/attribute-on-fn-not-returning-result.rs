use scopes::prelude::*;

#[scoped]
async fn refresh_all(ids: Vec<u32>) -> usize {
    ids.len()
}

fn main() {}
