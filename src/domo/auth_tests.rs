//! Unit tests of the token cache with an in-memory token source (no HTTP).

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use tokio::sync::Notify;

use super::*;

fn fresh(token: &str, secs: u64) -> FreshToken {
    FreshToken {
        token: Secret::new(token),
        expires_in: Duration::from_secs(secs),
        user_id: None,
    }
}

/// A source that counts its calls and names tokens `t1`, `t2`, ….
#[derive(Default)]
struct Source {
    calls: AtomicUsize,
}

impl Source {
    async fn issue(&self, secs: u64) -> Result<FreshToken, DomoError> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        Ok(fresh(&format!("t{n}"), secs))
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

/// Lets the spawned callers run until each holds the lock or waits for it (the runtime of
/// `tokio::test` is single-threaded, so they run only when this task yields).
async fn let_every_caller_queue() {
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
}

/// Joins a caller, failing the test instead of hanging if it never finishes.
async fn join<T>(caller: tokio::task::JoinHandle<T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), caller)
        .await
        .expect("caller finished")
        .expect("caller did not panic")
}

#[test]
fn refresh_after_keeps_a_minute_of_margin_for_normal_lifetimes() {
    assert_eq!(
        refresh_after(Duration::from_secs(3599)),
        Duration::from_secs(3539)
    );
    assert_eq!(
        refresh_after(Duration::from_secs(120)),
        Duration::from_secs(60)
    );
}

#[test]
fn refresh_after_uses_half_the_life_of_short_tokens() {
    assert_eq!(
        refresh_after(Duration::from_secs(100)),
        Duration::from_secs(50)
    );
    assert_eq!(
        refresh_after(Duration::from_secs(1)),
        Duration::from_millis(500)
    );
    assert_eq!(refresh_after(Duration::ZERO), Duration::ZERO);
}

#[test]
fn lifetime_defaults_clamps_and_caps_expires_in() {
    assert_eq!(lifetime(Some(3599)), Duration::from_secs(3599));
    assert_eq!(lifetime(None), Duration::from_secs(300));
    assert_eq!(lifetime(Some(-5)), Duration::ZERO);
    assert_eq!(lifetime(Some(i64::MAX)), Duration::from_secs(86_400));
}

#[tokio::test]
async fn a_valid_token_is_reused() {
    let cache = TokenCache::default();
    let source = Source::default();
    for _ in 0..5 {
        let token = cache.get(|| source.issue(3600)).await.expect("token");
        assert_eq!(token.expose(), "t1");
    }
    assert_eq!(source.calls(), 1);
    assert_eq!(cache.fetched(), 1);
}

#[tokio::test]
async fn a_token_due_for_refresh_is_replaced() {
    let cache = TokenCache::default();
    let source = Source::default();
    // A zero lifetime is due at once.
    let first = cache.get(|| source.issue(0)).await.expect("token");
    let second = cache.get(|| source.issue(0)).await.expect("token");
    assert_eq!((first.expose(), second.expose()), ("t1", "t2"));
    assert_eq!(cache.fetched(), 2);
}

#[tokio::test]
async fn concurrent_callers_share_one_fetch() {
    let cache = Arc::new(TokenCache::default());
    let source = Arc::new(Source::default());
    let release = Arc::new(Notify::new());
    let mut callers = Vec::new();
    for _ in 0..10 {
        let (cache, source, release) = (cache.clone(), source.clone(), release.clone());
        callers.push(tokio::spawn(async move {
            cache
                .get(|| async move {
                    // Hold the fetch open until every caller is queued behind it.
                    release.notified().await;
                    source.issue(3600).await
                })
                .await
        }));
    }
    let_every_caller_queue().await;
    release.notify_one();
    for caller in callers {
        let token = join(caller).await.expect("token");
        assert_eq!(token.expose(), "t1");
    }
    assert_eq!(source.calls(), 1);
}

#[tokio::test]
async fn replacing_the_rejected_token_fetches_a_new_one() {
    let cache = TokenCache::default();
    let source = Source::default();
    let first = cache.get(|| source.issue(3600)).await.expect("token");
    let second = cache
        .replace(&first, || source.issue(3600))
        .await
        .expect("token");
    assert_eq!(second.expose(), "t2");
    assert_eq!(source.calls(), 2);
}

#[tokio::test]
async fn a_token_already_replaced_by_another_caller_is_reused() {
    let cache = TokenCache::default();
    let source = Source::default();
    let stale = cache.get(|| source.issue(3600)).await.expect("token");
    // Two callers got a 401 with the same stale token; the first replaces it.
    let a = cache
        .replace(&stale, || source.issue(3600))
        .await
        .expect("token");
    let b = cache
        .replace(&stale, || source.issue(3600))
        .await
        .expect("token");
    assert_eq!((a.expose(), b.expose()), ("t2", "t2"));
    assert_eq!(source.calls(), 2);
}

#[tokio::test]
async fn a_failed_fetch_is_not_cached_and_the_next_caller_tries_again() {
    let cache = TokenCache::default();
    let source = Source::default();
    let err = cache
        .get(|| async {
            Err(DomoError::Unavailable {
                status: Some(503),
                message: "down".into(),
            })
        })
        .await
        .expect_err("failure");
    assert_eq!(err.status(), Some(503));
    assert_eq!(cache.fetched(), 0);
    let token = cache.get(|| source.issue(3600)).await.expect("token");
    assert_eq!(token.expose(), "t1");
}

#[tokio::test]
async fn callers_waiting_on_a_failed_fetch_share_its_error() {
    let cache = Arc::new(TokenCache::default());
    let attempts = Arc::new(AtomicUsize::new(0));
    let release = Arc::new(Notify::new());
    let mut callers = Vec::new();
    for _ in 0..5 {
        let (cache, attempts, release) = (cache.clone(), attempts.clone(), release.clone());
        callers.push(tokio::spawn(async move {
            cache
                .get(|| async move {
                    attempts.fetch_add(1, Ordering::SeqCst);
                    release.notified().await;
                    Err::<FreshToken, _>(DomoError::Unauthorized {
                        message: "bad secret".into(),
                    })
                })
                .await
        }));
    }
    let_every_caller_queue().await;
    release.notify_one();
    for caller in callers {
        let err = join(caller).await.expect_err("shared failure");
        assert!(matches!(err, DomoError::Unauthorized { .. }), "{err:?}");
    }
    assert_eq!(attempts.load(Ordering::SeqCst), 1);
}
