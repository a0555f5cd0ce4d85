//! The HTTP client every connector uses: the source's request budget before each request,
//! bounded retries of 429, 5xx and dropped connections that honour the provider's own headers
//! (`Retry-After`, Okta's `X-Rate-Limit-Reset`), and one mapping of failures to [`PullError`].
//!
//! A run waits inline for a short time only (`MAX_INLINE_WAIT`); a longer wait ends the run
//! with `RateLimited`, and the poller schedules the next run after it.

use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use bytes::Bytes;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};

use super::budget::Budget;
use super::connector::{Progress, PullError, Step};

mod parse;
use parse::{detail, reset_in};
pub use parse::{next_link, retry_wait};

/// Longest wait (budget, 429, retry) a run sits through before giving up until the next run.
const MAX_INLINE_WAIT: Duration = Duration::from_secs(65);
/// Attempts per request (the first included) on 429, 5xx and dropped connections.
const ATTEMPTS: u32 = 4;
/// First retry delay after a 5xx or a dropped connection; doubled each time.
const RETRY_BASE: Duration = Duration::from_millis(250);

/// A successful answer.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Answer {
    /// The body as JSON.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, PullError> {
        serde_json::from_slice(&self.body).map_err(|e| PullError::BadResponse(e.to_string()))
    }

    /// The target of the `Link: <…>; rel="next"` header, if any (RFC 8288).
    pub fn next_link(&self) -> Option<String> {
        next_link(&self.headers)
    }
}

/// One request to make.
pub struct Request<'a> {
    pub method: reqwest::Method,
    pub url: &'a url::Url,
    /// The `Authorization` header value (never logged).
    pub auth: Option<&'a str>,
    /// A form body (`application/x-www-form-urlencoded`).
    pub form: Option<&'a [(&'a str, &'a str)]>,
    /// The provider's rate-limit bucket this request counts against; several joined by `+`
    /// when it counts against each (`"key+directory_users:D"`). The first is the one the
    /// provider's rate-limit headers describe.
    pub bucket: &'a str,
}

/// The source's HTTP client: a shared reqwest client, the source's budget, its name for
/// metrics and logs.
#[derive(Debug)]
pub struct Http {
    client: reqwest::Client,
    budget: Budget,
    source: String,
}

impl Http {
    pub fn new(client: reqwest::Client, budget: Budget, source: &str) -> Self {
        Http {
            client,
            budget,
            source: source.to_owned(),
        }
    }

    /// `GET url` with `auth`.
    pub async fn get(
        &self,
        url: &url::Url,
        auth: &str,
        bucket: &str,
        progress: &Progress<'_>,
    ) -> Result<Answer, PullError> {
        self.send(
            &Request {
                method: reqwest::Method::GET,
                url,
                auth: Some(auth),
                form: None,
                bucket,
            },
            progress,
        )
        .await
    }

    /// Sends `req`, retrying what may be retried; a 2xx is `Ok`, anything else an error.
    pub async fn send(
        &self,
        req: &Request<'_>,
        progress: &Progress<'_>,
    ) -> Result<Answer, PullError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.wait_for_budget(req.bucket, progress).await?;
            let (error, wait) = match self.once(req).await {
                Ok(answer) => return Ok(answer),
                Err(Failure::Final(e)) => return Err(e),
                Err(Failure::Retry { error, wait }) => (error, wait),
            };
            let wait = wait.unwrap_or_else(|| RETRY_BASE * 2u32.pow(attempt - 1));
            if let PullError::RateLimited { .. } = error {
                self.budget.block_for(wait, Instant::now());
            }
            if attempt >= ATTEMPTS || wait > MAX_INLINE_WAIT {
                return Err(match error {
                    PullError::RateLimited { .. } => PullError::RateLimited { wait },
                    e => e,
                });
            }
            tracing::debug!(pull.source = %self.source, error = %error, wait_ms = wait.as_millis() as u64,
                "provider request failed; retrying");
            progress(Step::Waiting {
                secs: wait.as_secs(),
                why: error.to_string(),
            });
            tokio::time::sleep(wait).await;
        }
    }

    /// Declares a rate limit the provider documents but does not advertise in its answers
    /// (see [`Budget::declare`]).
    pub fn declare_limit(&self, bucket: &str, limit: u64, window: Duration) {
        self.budget.declare(bucket, limit, window);
    }

    async fn wait_for_budget(
        &self,
        bucket: &str,
        progress: &Progress<'_>,
    ) -> Result<(), PullError> {
        loop {
            let wait = self.budget.take(bucket, Instant::now());
            if wait.is_zero() {
                return Ok(());
            }
            if wait > MAX_INLINE_WAIT {
                return Err(PullError::RateLimited { wait });
            }
            progress(Step::Waiting {
                secs: wait.as_secs(),
                why: format!("request budget of `{bucket}`"),
            });
            tokio::time::sleep(wait).await;
        }
    }

    async fn once(&self, req: &Request<'_>) -> Result<Answer, Failure> {
        let mut builder = self
            .client
            .request(req.method.clone(), req.url.clone())
            .header(ACCEPT, "application/json");
        if let Some(auth) = req.auth {
            builder = builder.header(AUTHORIZATION, auth);
        }
        if let Some(form) = req.form {
            let body = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(form.iter())
                .finish();
            builder = builder
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(body);
        }
        let response = builder.send().await.map_err(|e| Failure::Retry {
            // reqwest's message names the URL; ours carry no credential in it.
            error: PullError::Network(without_url(&e)),
            wait: None,
        })?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        self.observe(req.bucket.split('+').next().unwrap_or(""), &headers);
        let body = response.bytes().await.map_err(|e| Failure::Retry {
            error: PullError::Network(without_url(&e)),
            wait: None,
        })?;
        match status {
            200..=299 => Ok(Answer {
                status,
                headers,
                body,
            }),
            // A 503 with `Retry-After` is the provider asking to wait (BambooHR throttles so):
            // a rate limit, whose wait the budget honours and the poller schedules after.
            429 | 503 if status == 429 || headers.contains_key(reqwest::header::RETRY_AFTER) => {
                Err(Failure::Retry {
                    wait: Some(
                        retry_wait(&headers, chrono::Utc::now().timestamp())
                            .unwrap_or(Duration::from_secs(5)),
                    ),
                    error: PullError::RateLimited {
                        wait: Duration::ZERO,
                    },
                })
            }
            401 | 403 => Err(Failure::Final(PullError::Unauthorized(format!(
                "{status}: {}",
                detail(&headers, &body)
            )))),
            500..=599 => Err(Failure::Retry {
                error: PullError::Provider {
                    status,
                    detail: detail(&headers, &body),
                },
                wait: retry_wait(&headers, chrono::Utc::now().timestamp()),
            }),
            _ => Err(Failure::Final(PullError::Provider {
                status,
                detail: detail(&headers, &body),
            })),
        }
    }

    /// Feeds Okta-style rate-limit headers to the budget.
    fn observe(&self, bucket: &str, headers: &HeaderMap) {
        let number = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        let now_secs = chrono::Utc::now().timestamp();
        let reset_in = number("x-rate-limit-reset").map(|reset| reset_in(reset, now_secs));
        self.budget.observe(
            bucket,
            number("x-rate-limit-limit"),
            number("x-rate-limit-remaining"),
            reset_in,
            Instant::now(),
        );
    }
}

/// A failed attempt: give up, or retry (after `wait` when the provider said how long).
enum Failure {
    Final(PullError),
    Retry {
        error: PullError,
        wait: Option<Duration>,
    },
}

/// A reqwest error without the URL (which may carry a provider cursor; never a credential,
/// but it makes messages long and unstable).
fn without_url(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else if e.is_body() || e.is_decode() {
        "the answer broke off"
    } else {
        "request failed"
    };
    let mut source = std::error::Error::source(e);
    let mut root = None;
    while let Some(s) = source {
        root = Some(s.to_string());
        source = s.source();
    }
    match root {
        Some(r) => format!("{kind}: {r}"),
        None => kind.to_owned(),
    }
}
