// `launch` that is not the DSL is left alone in a scope body.
use scopes::prelude::*;

struct Rocket {
    launch: bool,
}

fn launch(n: u32) -> bool {
    n > 1
}

async fn run(rocket: &Rocket) -> Result<u32> {
    coroutine_scope! {
        let mut n = 0;
        if rocket.launch {
            n += 1;
        }
        if launch(2) {
            n += 1;
        }
        if true == launch(3) {
            n += 1;
        }
        if r#launch(4) {
            n += 1;
        }
        fn launch_twice() -> u32 {
            2
        }
        n += launch_twice();
        let by_hand = scopes::coroutine_scope(|s| Box::pin(async move {
            s.launch(async { Ok(()) });
            Ok(())
        }));
        by_hand.await?;
        Ok(n)
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(run(&Rocket { launch: true }).await.unwrap(), 6);
}
