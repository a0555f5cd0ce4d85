//! The OAuth access token: how it is requested, how long it is kept, and how concurrent
//! callers share one refresh.
//!
//! Domo's Platform API uses the client-credentials grant with HTTP Basic and returns a token
//! with `expires_in` but no refresh token (reference/domo-api.md §1). The cache hands the
//! same token to every caller until shortly before it expires; a refresh happens under one
//! lock, so many callers cause one token request (single flight), and callers that waited on
//! a failed refresh share its error instead of each trying again. This module never logs a
//! token or a credential, and never retries.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;
use url::Url;

use super::error::{DomoError, classify, decode_error};
use super::model::TokenResponse;
use super::transport::Transport;
use crate::config::Secret;

/// The lifetime assumed when the token response has no usable `expires_in`.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(300);

/// The longest lifetime believed (Domo's tokens last about an hour).
const MAX_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// How long before expiry a token is replaced.
const REFRESH_MARGIN: Duration = Duration::from_secs(60);

/// A token just issued, with the lifetime Domo gave it and the user it acts as.
pub(crate) struct FreshToken {
    pub token: Secret,
    pub expires_in: Duration,
    /// `userId` of the token answer, when Domo gave a usable one.
    pub user_id: Option<i64>,
}

/// The token in use and when to stop using it.
struct Cached {
    token: Secret,
    refresh_at: Instant,
}

/// What the lock protects.
#[derive(Default)]
struct Slot {
    cached: Option<Cached>,
    /// The error of the last refresh, handed to callers that waited on it.
    last_error: Option<DomoError>,
}

/// The single-flight token cache.
#[derive(Default)]
pub(crate) struct TokenCache {
    slot: Mutex<Slot>,
    /// Completed refresh attempts, successful or not; lets a waiter see that a refresh
    /// happened while it waited.
    attempts: AtomicU64,
    /// Tokens successfully obtained.
    fetched: AtomicU64,
    /// The user the tokens act as, from the latest answer that said.
    user_id: std::sync::Mutex<Option<i64>>,
}

impl TokenCache {
    /// How many tokens have been obtained so far.
    pub(crate) fn fetched(&self) -> u64 {
        self.fetched.load(Ordering::Relaxed)
    }

    /// The Domo user the tokens act as: the `userId` of the latest token answer that had
    /// one; `None` until such an answer.
    pub(crate) fn user_id(&self) -> Option<i64> {
        *self
            .user_id
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The current token, fetching one with `fetch` if there is none or it is due for
    /// refresh.
    pub(crate) async fn get<F, Fut>(&self, fetch: F) -> Result<Secret, DomoError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<FreshToken, DomoError>>,
    {
        self.obtain(None, fetch).await
    }

    /// A token other than `rejected`, which Domo just answered 401 to. If another caller
    /// already replaced it, that token is used; otherwise `fetch` gets a new one.
    pub(crate) async fn replace<F, Fut>(
        &self,
        rejected: &Secret,
        fetch: F,
    ) -> Result<Secret, DomoError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<FreshToken, DomoError>>,
    {
        self.obtain(Some(rejected), fetch).await
    }

    async fn obtain<F, Fut>(&self, rejected: Option<&Secret>, fetch: F) -> Result<Secret, DomoError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<FreshToken, DomoError>>,
    {
        let seen = self.attempts.load(Ordering::Acquire);
        let mut slot = self.slot.lock().await;
        if let Some(cached) = &slot.cached
            && cached.refresh_at > Instant::now()
            && rejected != Some(&cached.token)
        {
            return Ok(cached.token.clone());
        }
        // A refresh finished while we waited for the lock and failed: share its error
        // rather than send another doomed request.
        if self.attempts.load(Ordering::Acquire) != seen
            && let Some(err) = &slot.last_error
        {
            return Err(err.clone());
        }
        // The lock is held across the request: that is what makes the refresh single-flight.
        let result = fetch().await;
        self.attempts.fetch_add(1, Ordering::Release);
        match result {
            Ok(fresh) => {
                self.fetched.fetch_add(1, Ordering::Relaxed);
                if let Some(id) = fresh.user_id {
                    *self
                        .user_id
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(id);
                }
                slot.last_error = None;
                slot.cached = Some(Cached {
                    token: fresh.token.clone(),
                    refresh_at: Instant::now() + refresh_after(fresh.expires_in),
                });
                Ok(fresh.token)
            }
            Err(err) => {
                slot.cached = None;
                slot.last_error = Some(err.clone());
                Err(err)
            }
        }
    }
}

/// How long a token with lifetime `expires_in` is used: until 60 s before it expires, or for
/// half its life when that is shorter (a short-lived token would otherwise never be used).
pub(crate) fn refresh_after(expires_in: Duration) -> Duration {
    if expires_in >= REFRESH_MARGIN * 2 {
        expires_in - REFRESH_MARGIN
    } else {
        expires_in / 2
    }
}

/// The lifetime to assume for a token whose response said `expires_in` (seconds): absent
/// means 300 s, negative means already expired, and anything beyond a day is capped so that
/// a nonsense value cannot keep a token forever.
pub(crate) fn lifetime(expires_in: Option<i64>) -> Duration {
    expires_in.map_or(DEFAULT_LIFETIME, |secs| {
        Duration::from_secs(secs.max(0).unsigned_abs()).min(MAX_LIFETIME)
    })
}

/// Where the token comes from and with what credentials.
pub(crate) struct TokenSource {
    pub url: Url,
    pub client_id: Secret,
    pub client_secret: Secret,
}

impl TokenSource {
    /// Requests a token: `POST /oauth/token` with HTTP Basic and the form
    /// `grant_type=client_credentials&scope=user` (the groups and users APIs need `user`).
    ///
    /// A refusal (any 4xx but 408 and 429) is `Unauthorized`; 429, 408, 5xx and transport
    /// failures keep their retryable kinds.
    pub(crate) async fn request(&self, transport: &Transport) -> Result<FreshToken, DomoError> {
        let request = transport
            .http
            .post(self.url.clone())
            .basic_auth(self.client_id.expose(), Some(self.client_secret.expose()))
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&[("grant_type", "client_credentials"), ("scope", "user")]);
        let answer = transport.exchange(request).await?;
        if !answer.status.is_success() {
            let redact = [self.client_secret.expose()];
            let err = classify(
                answer.status,
                &answer.headers,
                &answer.body,
                chrono::Utc::now(),
                &redact,
            );
            return Err(match err {
                DomoError::Rejected { status, message } => DomoError::Unauthorized {
                    message: format!("token endpoint answered {status}: {message}"),
                },
                DomoError::Unauthorized { message } => DomoError::Unauthorized {
                    message: format!("token endpoint answered 401: {message}"),
                },
                other => other,
            });
        }
        let parsed: TokenResponse =
            serde_json::from_slice(&answer.body).map_err(|e| decode_error("token response", &e))?;
        if parsed.access_token.trim().is_empty() {
            return Err(DomoError::Decode {
                message: "token response: empty access_token".into(),
            });
        }
        Ok(FreshToken {
            token: Secret::new(parsed.access_token),
            expires_in: lifetime(parsed.expires_in),
            user_id: parsed.user_id,
        })
    }
}

#[cfg(test)]
#[path = "auth_tests.rs"]
mod tests;
