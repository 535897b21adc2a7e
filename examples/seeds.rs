//! Runs the seed scenarios S1–S6 of SPEC §4 and prints, for each, what the
//! Kotlin program prints, the outcome and the virtual time it took. It is
//! the `scopes-seeds` package's example (seeds/Cargo.toml), so running it
//! builds only scopes, its macros and tokio.
//!
//! ```text
//! cargo run --example seeds              # paused clock: instant
//! cargo run --example seeds -- --real-time   # on the wall clock (~63 s)
//! ```

use scopes_seeds::{Log, dsl};
use tokio::time::Instant;

fn main() {
    let real_time = std::env::args().any(|a| a == "--real-time");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(!real_time)
        .build()
        .expect("a current-thread tokio runtime");
    runtime.block_on(async {
        let clock = if real_time {
            "wall clock"
        } else {
            "virtual time"
        };
        println!("seed scenarios ({clock})\n");
        for seed in &dsl::SEEDS {
            let log = Log::default();
            let start = Instant::now();
            let outcome = dsl::run(seed.id, &log).await;
            let took = start.elapsed();
            println!("{}  {}", seed.id, seed.about);
            for line in log.take() {
                println!("    prints:  {line}");
            }
            match outcome {
                Ok(value) => println!("    outcome: Ok({value:?})"),
                Err(error) => println!("    outcome: Err({error})"),
            }
            println!("    time:    {} ms\n", took.as_millis());
        }
    });
}
