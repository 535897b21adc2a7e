use scopes::attr;

#[attr::coroutine_scope]
struct Service;

fn main() {}
