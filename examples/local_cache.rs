//! A single-threaded program with state that is not `Send`: an
//! `Rc<RefCell<HashMap>>` cache shared by the children of local scopes
//! (`coroutine_scope_local`, `supervisor_scope_local`, SPEC §2d), on a
//! `LocalSet`.
//!
//! Two waves of page renders look users up through the cache. A plain
//! `coroutine_scope` would reject these children ("future cannot be sent
//! between threads safely"): they hold an `Rc` across their awaits. A
//! lookup that misses fetches the user (50 ms) and fills the cache, so the
//! second wave fetches only the user it has not seen; a user that fails to
//! load fails only its own page (a supervisor scope). Last, a local
//! producer streams the cached names to a consumer.
//!
//! `cargo run --example local_cache`

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

use scopes::{Error, Result, coroutine_scope_local, delay, supervisor_scope_local};
use tokio::task::LocalSet;
use tokio::time::Instant;

/// The cache, and how many fetches went past it.
#[derive(Default)]
struct Cache {
    users: RefCell<HashMap<u32, Rc<str>>>,
    fetches: Cell<u32>,
}

/// The slow backend: 50 ms per user; user 13 does not load.
async fn fetch_user(id: u32) -> Result<Rc<str>> {
    delay(Duration::from_millis(50)).await?;
    if id == 13 {
        return Err(Error::msg(format!("user {id}: not found")));
    }
    Ok(format!("user-{id}").into())
}

/// A user through the cache. No `RefCell` borrow is held across an await.
async fn user(cache: &Cache, id: u32) -> Result<Rc<str>> {
    if let Some(name) = cache.users.borrow().get(&id) {
        return Ok(name.clone());
    }
    cache.fetches.set(cache.fetches.get() + 1);
    let name = fetch_user(id).await?;
    cache.users.borrow_mut().insert(id, name.clone());
    Ok(name)
}

/// Renders one page per id, concurrently; every page fails or renders.
async fn render_all(cache: Rc<Cache>, ids: &[u32]) -> Result<Vec<String>> {
    supervisor_scope_local(|s| {
        Box::pin(async move {
            let pages: Vec<_> = ids
                .iter()
                .map(|&id| {
                    let cache = cache.clone(); // an `Rc`: not `Send`
                    s.r#async(async move { Ok(format!("<h1>{}</h1>", user(&cache, id).await?)) })
                })
                .collect();
            let mut rendered = Vec::new();
            for page in pages {
                rendered.push(page.await.unwrap_or_else(|e| format!("<p>{e}</p>")));
            }
            Ok(rendered)
        })
    })
    .await
}

fn main() -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("tokio runtime");
    LocalSet::new().block_on(&runtime, async {
        let start = Instant::now();
        let cache = Rc::new(Cache::default());
        let (first, second) = coroutine_scope_local(|s| {
            let cache = cache.clone();
            Box::pin(async move {
                // Two concurrent requests in the first wave, one after it.
                let a = s.r#async(render_all(cache.clone(), &[1, 2]));
                let b = s.r#async(render_all(cache.clone(), &[3]));
                let first = [a.await?, b.await?].concat();
                let second = render_all(cache, &[2, 3, 4, 13]).await?;
                Ok((first, second))
            })
        })
        .await?;
        for page in first.iter().chain(&second) {
            println!("{page}");
        }
        let elapsed = start.elapsed();
        println!("{} fetches in {elapsed:?}", cache.fetches.get());

        assert_eq!(
            first,
            ["<h1>user-1</h1>", "<h1>user-2</h1>", "<h1>user-3</h1>"]
        );
        assert_eq!(
            second,
            [
                "<h1>user-2</h1>",
                "<h1>user-3</h1>",
                "<h1>user-4</h1>",
                "<p>user 13: not found</p>",
            ]
        );
        // 1, 2, 3 in the first wave; 4 and 13 in the second (2 and 3 hit).
        assert_eq!(cache.fetches.get(), 5);
        assert_eq!(cache.users.borrow().len(), 4);
        // Each wave waits for one round of fetches.
        assert_eq!(elapsed, Duration::from_millis(100));

        // A local producer (SPEC §2c with §2d) streams the cached names,
        // `Rc<str>` items that could not cross threads, to its consumer.
        let names = coroutine_scope_local(|s| {
            let cache = cache.clone();
            Box::pin(async move {
                let rx = s.produce(0, |tx| async move {
                    let mut ids: Vec<u32> = cache.users.borrow().keys().copied().collect();
                    ids.sort_unstable();
                    for id in ids {
                        let name = cache.users.borrow()[&id].clone();
                        tx.send(name).await?;
                    }
                    Ok(())
                });
                let mut names = Vec::new();
                while let Some(name) = rx.recv().await? {
                    names.push(name.to_string());
                }
                Ok(names)
            })
        })
        .await?;
        println!("cached: {}", names.join(", "));
        assert_eq!(names, ["user-1", "user-2", "user-3", "user-4"]);
        Ok(())
    })
}
