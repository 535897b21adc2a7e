//! What the reference model (tests/model) assumes of tokio's paused clock,
//! checked on the tokio version in use: timers that fire at the same
//! instant wake their tasks in the order the timers were registered (first
//! polled), wherever in the timer wheel they were registered from.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Wake, Waker};
use std::time::Duration;

use tokio::time::{Instant, Sleep, advance, sleep_until};

/// A waker that records its index in a shared list when woken.
struct Recorder {
    index: usize,
    woken: Arc<Mutex<Vec<usize>>>,
}

impl Wake for Recorder {
    fn wake(self: Arc<Self>) {
        self.woken.lock().unwrap().push(self.index);
    }
}

/// A small deterministic generator (xorshift), so the test needs no seed.
struct Xorshift(u64);

impl Xorshift {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Registers `count` sleeps that all end at `deadline_ms`, each first polled
/// after advancing the clock by a random number of milliseconds, and returns
/// the order in which they were woken.
async fn wake_order(count: usize, deadline_ms: u64, rng: &mut Xorshift) -> Vec<usize> {
    let start = Instant::now();
    let deadline = start + Duration::from_millis(deadline_ms);
    let woken = Arc::new(Mutex::new(Vec::new()));
    let mut sleeps: Vec<Pin<Box<Sleep>>> = Vec::new();
    for index in 0..count {
        let elapsed = start.elapsed().as_millis() as u64;
        let step = rng.below(deadline_ms - elapsed);
        advance(Duration::from_millis(step)).await;
        let mut sleep = Box::pin(sleep_until(deadline));
        let waker = Waker::from(Arc::new(Recorder {
            index,
            woken: woken.clone(),
        }));
        assert!(
            sleep
                .as_mut()
                .poll(&mut Context::from_waker(&waker))
                .is_pending()
        );
        sleeps.push(sleep);
    }
    let rest = deadline - Instant::now();
    tokio::time::sleep(rest).await;
    woken.lock().unwrap().clone()
}

#[tokio::test(start_paused = true)]
async fn same_instant_timers_wake_in_registration_order() {
    let mut rng = Xorshift(0x9E37_79B9_7F4A_7C15);
    // Deadlines on both sides of the wheel's level boundaries (64 ms,
    // 4096 ms, 262 144 ms), so that some timers cascade between levels.
    for deadline_ms in [7, 64, 65, 100, 4096, 4100, 5000, 262_144, 300_000] {
        for _ in 0..20 {
            let order = wake_order(12, deadline_ms, &mut rng).await;
            assert_eq!(
                order,
                (0..12).collect::<Vec<_>>(),
                "deadline {deadline_ms} ms"
            );
        }
    }
}
