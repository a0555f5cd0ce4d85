//! The HTTP client every connector uses: the source's request budget before each request,
//! bounded retries of 429, 5xx and dropped connections that honour the provider's own headers
//! (`Retry-After`, Okta's `X-Rate-Limit-Reset`), and one mapping of failures to [`PullError`].
//!
//! A run waits inline for a short time only (`MAX_INLINE_WAIT`); a longer wait ends the run
//! with `RateLimited`, and the poller schedules the next run after it.

use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use bytes::Bytes;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};

use super::budget::Budget;
use super::connector::{Progress, PullError, Step};

/// Longest wait (budget, 429, retry) a run sits through before giving up until the next run.
const MAX_INLINE_WAIT: Duration = Duration::from_secs(65);
/// Attempts per request (the first included) on 429, 5xx and dropped connections.
const ATTEMPTS: u32 = 4;
/// First retry delay after a 5xx or a dropped connection; doubled each time.
const RETRY_BASE: Duration = Duration::from_millis(250);
/// Longest part of an error body quoted in a message.
const DETAIL_CHARS: usize = 200;

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
    /// The provider's rate-limit bucket this request counts against.
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
        self.observe(req.bucket, &headers);
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
            429 => Err(Failure::Retry {
                wait: Some(
                    retry_wait(&headers, chrono::Utc::now().timestamp())
                        .unwrap_or(Duration::from_secs(5)),
                ),
                error: PullError::RateLimited {
                    wait: Duration::ZERO,
                },
            }),
            401 | 403 => Err(Failure::Final(PullError::Unauthorized(format!(
                "{status}: {}",
                detail(&body)
            )))),
            500..=599 => Err(Failure::Retry {
                error: PullError::Provider {
                    status,
                    detail: detail(&body),
                },
                wait: retry_wait(&headers, chrono::Utc::now().timestamp()),
            }),
            _ => Err(Failure::Final(PullError::Provider {
                status,
                detail: detail(&body),
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

/// Seconds from `now_secs` to an epoch-seconds reset time, within reason: a reset in the past
/// is now, and one more than ten minutes ahead (clock skew) counts as a minute.
fn reset_in(reset: u64, now_secs: i64) -> Duration {
    let delta = i64::try_from(reset)
        .unwrap_or(i64::MAX)
        .saturating_sub(now_secs);
    match delta {
        d if d <= 0 => Duration::ZERO,
        d if d > 600 => Duration::from_secs(60),
        d => Duration::from_secs(d.unsigned_abs()),
    }
}

/// How long a 429 or 503 asks to wait: `Retry-After` (seconds or an HTTP date), else Okta's
/// `X-Rate-Limit-Reset` (epoch seconds; at least one second).
pub fn retry_wait(headers: &HeaderMap, now_secs: i64) -> Option<Duration> {
    if let Some(v) = headers.get(RETRY_AFTER).and_then(|v| v.to_str().ok()) {
        let v = v.trim();
        if let Ok(secs) = v.parse::<u64>() {
            return Some(Duration::from_secs(secs));
        }
        if let Ok(at) = chrono::DateTime::parse_from_rfc2822(v) {
            let delta = at.timestamp().saturating_sub(now_secs).max(0);
            return Some(Duration::from_secs(delta.unsigned_abs()));
        }
    }
    headers
        .get("x-rate-limit-reset")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|reset| reset_in(reset, now_secs).max(Duration::from_secs(1)))
}

/// The `rel="next"` target of the `Link` headers.
pub fn next_link(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(reqwest::header::LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|link| {
            let (target, params) = link.split_once(';')?;
            let is_next = params.split(';').any(|p| {
                let p = p.trim();
                p == "rel=\"next\"" || p == "rel=next"
            });
            let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
            is_next.then(|| target.to_owned())
        })
}

/// A short, single-line part of an error body (the provider's summary).
fn detail(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    // Okta: {"errorCode","errorSummary","errorCauses":[{"errorSummary"}]}; OAuth:
    // {"error","error_description"}; else the text.
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) {
        let field = |k: &str| v.get(k).and_then(|s| s.as_str());
        let mut parts: Vec<String> = Vec::new();
        for k in [
            "errorCode",
            "errorSummary",
            "error",
            "error_description",
            "message",
        ] {
            if let Some(s) = field(k) {
                parts.push(s.to_owned());
            }
        }
        if let Some(causes) = v.get("errorCauses").and_then(|c| c.as_array()) {
            for c in causes {
                if let Some(s) = c.get("errorSummary").and_then(|s| s.as_str()) {
                    parts.push(s.to_owned());
                }
            }
        }
        if !parts.is_empty() {
            return cut(&parts.join(": "));
        }
    }
    if text.trim().is_empty() {
        "(no body)".to_owned()
    } else {
        cut(text.trim())
    }
}

fn cut(s: &str) -> String {
    let one_line: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if one_line.chars().count() > DETAIL_CHARS {
        let head: String = one_line.chars().take(DETAIL_CHARS).collect();
        format!("{head}…")
    } else {
        one_line
    }
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

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).expect("value"));
        }
        h
    }

    #[test]
    fn retry_after_wins_then_the_okta_reset_time() {
        let now = 1_800_000_000;
        assert_eq!(
            retry_wait(
                &headers(&[("retry-after", "7"), ("x-rate-limit-reset", "1800000030")]),
                now
            ),
            Some(Duration::from_secs(7))
        );
        let date = chrono::DateTime::from_timestamp(now + 10, 0)
            .expect("time")
            .format("%a, %d %b %Y %H:%M:%S GMT")
            .to_string();
        assert_eq!(
            retry_wait(&headers(&[("retry-after", &date)]), now),
            Some(Duration::from_secs(10)),
            "an HTTP date: {date}"
        );
        assert_eq!(
            retry_wait(&headers(&[("x-rate-limit-reset", "1800000030")]), now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            retry_wait(&headers(&[("x-rate-limit-reset", "1700000000")]), now),
            Some(Duration::from_secs(1)),
            "a reset in the past still waits a second"
        );
        assert_eq!(
            retry_wait(&headers(&[("x-rate-limit-reset", "1900000000")]), now),
            Some(Duration::from_secs(60)),
            "a reset far ahead is clock skew: a minute"
        );
        assert_eq!(retry_wait(&headers(&[]), now), None);
    }

    #[test]
    fn the_next_link_is_found_among_several_links() {
        let h = headers(&[
            (
                "link",
                "<https://o.example/api/v1/logs?after=1>; rel=\"self\"",
            ),
            (
                "link",
                "<https://o.example/api/v1/logs?after=2&limit=5>; rel=\"next\"",
            ),
        ]);
        assert_eq!(
            next_link(&h).as_deref(),
            Some("https://o.example/api/v1/logs?after=2&limit=5")
        );
        let joined = headers(&[(
            "link",
            "<https://a/self>; rel=\"self\", <https://a/next>; rel=next",
        )]);
        assert_eq!(next_link(&joined).as_deref(), Some("https://a/next"));
        assert_eq!(
            next_link(&headers(&[("link", "<https://a>; rel=\"self\"")])),
            None
        );
    }

    #[test]
    fn error_details_quote_the_provider_summary_briefly() {
        let okta = br#"{"errorCode":"E0000001","errorSummary":"Api validation failed: after","errorCauses":[{"errorSummary":"after: not a bookmark this server issued"}]}"#;
        assert_eq!(
            detail(okta),
            "E0000001: Api validation failed: after: after: not a bookmark this server issued"
        );
        assert_eq!(detail(b""), "(no body)");
        let long = "x".repeat(1000);
        assert!(detail(long.as_bytes()).chars().count() <= DETAIL_CHARS + 1);
        assert_eq!(detail(b"line\nbreak"), "line break");
    }
}
