#![allow(dead_code)]
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Default, Clone)]
pub struct Log(Arc<Mutex<Vec<String>>>);
impl Log {
    pub fn push(&self, s: impl ToString) {
        self.0.lock().unwrap().push(s.to_string());
    }
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}
pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}
pub const FOREVER: Duration = Duration::from_secs(1_000_000);

#[derive(Debug)]
pub struct TestException(pub &'static str);
impl std::fmt::Display for TestException {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}
impl std::error::Error for TestException {}
pub fn fail(name: &'static str) -> scopes::Error {
    scopes::Error::new(TestException(name))
}
pub fn name_of(e: &scopes::Error) -> Option<&'static str> {
    e.downcast_ref::<TestException>().map(|t| t.0)
}

/// A handler recording what it gets, by message.
pub fn recorder() -> (
    Arc<Mutex<Vec<scopes::Error>>>,
    impl Fn(&scopes::Error) + Send + Sync + 'static,
) {
    let got = Arc::new(Mutex::new(Vec::new()));
    let g = got.clone();
    (got, move |e: &scopes::Error| {
        g.lock().unwrap().push(e.clone())
    })
}

/// Kotlin's blocking `CyclicBarrier.await()` in a `parallel` child: blocks
/// the worker thread as Kotlin's does, through tokio's `block_in_place`,
/// which first hands the worker's queued tasks (its LIFO slot too) to
/// another thread, so that a partner queued behind the blocked child still
/// runs. A plain `Barrier::wait` there could wait for ever: a debug run on
/// a loaded 2-core machine hung in `await_all_multiple_exceptions`.
pub fn wait_on_worker(barrier: &std::sync::Barrier) {
    tokio::task::block_in_place(|| {
        barrier.wait();
    });
}

/// "1", "2", .. "n": the log of a Kotlin test's `expect(1)` .. `expect(n)`.
pub fn nums(n: u32) -> Vec<String> {
    (1..=n).map(|i| i.to_string()).collect()
}

/// The names of the failures a handler (`recorder`) got, in order.
pub fn names(got: &Arc<Mutex<Vec<scopes::Error>>>) -> Vec<Option<&'static str>> {
    got.lock().unwrap().iter().map(name_of).collect()
}
