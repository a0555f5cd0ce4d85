//! Okta's error bodies (`{errorCode, errorSummary, errorLink, errorId, errorCauses}`) and its
//! rate limits: one bucket per endpoint family, a window per minute, and the
//! `X-Rate-Limit-Limit`, `-Remaining`, `-Reset` headers (reset in epoch seconds) on every
//! answer; past the limit, 429 `E0000047` (reference §1.1).

use std::collections::BTreeMap;

use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An Okta API error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OktaError {
    pub status: StatusCode,
    pub code: &'static str,
    pub summary: String,
    pub causes: Vec<String>,
}

impl OktaError {
    pub fn new(status: StatusCode, code: &'static str, summary: impl Into<String>) -> Self {
        Self {
            status,
            code,
            summary: summary.into(),
            causes: Vec::new(),
        }
    }

    /// 400 `E0000001` "Api validation failed: {what}" with the cause.
    pub fn validation(what: &str, cause: impl Into<String>) -> Self {
        Self {
            causes: vec![cause.into()],
            ..Self::new(
                StatusCode::BAD_REQUEST,
                "E0000001",
                format!("Api validation failed: {what}"),
            )
        }
    }

    /// 400 `E0000053` for a filter the System Log cannot run.
    pub fn invalid_filter(cause: impl Into<String>) -> Self {
        Self {
            causes: vec![cause.into()],
            ..Self::new(
                StatusCode::BAD_REQUEST,
                "E0000053",
                "Invalid filter parameter",
            )
        }
    }

    /// 401 `E0000011`.
    pub fn invalid_token() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "E0000011",
            "Invalid token provided",
        )
    }

    /// 403 `E0000006`.
    pub fn forbidden() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "E0000006",
            "You do not have permission to perform the requested action",
        )
    }

    /// 404 `E0000007`.
    pub fn not_found(id: &str, kind: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "E0000007",
            format!("Not found: Resource not found: {id} ({kind})"),
        )
    }
}

impl IntoResponse for OktaError {
    fn into_response(self) -> Response {
        let causes: Vec<_> = self
            .causes
            .iter()
            .map(|c| json!({ "errorSummary": c }))
            .collect();
        let body = json!({
            "errorCode": self.code,
            "errorSummary": self.summary,
            "errorLink": self.code,
            "errorId": format!("oae{}", uuid::Uuid::new_v4().simple()),
            "errorCauses": causes,
        });
        (self.status, Json(body)).into_response()
    }
}

/// The rate-limit bucket of a route key (`"GET /api/v1/groups/{id}/users"` → `groups`).
pub fn bucket_of(route: &str) -> &'static str {
    let path = route.split_once(' ').map_or(route, |(_, p)| p);
    if path.starts_with("/api/v1/logs") {
        "logs"
    } else if path.starts_with("/api/v1/users") {
        "users"
    } else if path.starts_with("/api/v1/groups") {
        "groups"
    } else {
        "token"
    }
}

/// Per-bucket request limits per minute (0: unlimited, no headers) and their windows.
#[derive(Debug, Default)]
pub struct RateLimits {
    pub limits: BTreeMap<&'static str, u64>,
    /// Bucket → (window start, epoch minutes; requests used in it).
    used: BTreeMap<&'static str, (i64, u64)>,
}

impl RateLimits {
    pub fn new(logs: u64, others: u64) -> Self {
        let limits = [
            ("logs", logs),
            ("users", others),
            ("groups", others),
            ("token", others),
        ];
        Self {
            limits: limits.into_iter().collect(),
            used: BTreeMap::new(),
        }
    }

    /// Takes one request from the bucket at `now_secs`: `Ok(headers)` or `Err(429)`.
    pub fn take(
        &mut self,
        bucket: &'static str,
        now_secs: i64,
    ) -> Result<HeaderMap, Box<Response>> {
        let limit = self.limits.get(bucket).copied().unwrap_or(0);
        if limit == 0 {
            return Ok(HeaderMap::new());
        }
        let minute = now_secs.div_euclid(60);
        let entry = self.used.entry(bucket).or_insert((minute, 0));
        if entry.0 != minute {
            *entry = (minute, 0);
        }
        let reset = (minute + 1) * 60;
        if entry.1 >= limit {
            return Err(Box::new(too_many(limit, reset)));
        }
        entry.1 += 1;
        Ok(headers(limit, limit - entry.1, reset))
    }

    /// The limit of a bucket (0: none).
    pub fn limit(&self, bucket: &str) -> u64 {
        self.limits.get(bucket).copied().unwrap_or(0)
    }
}

/// The three rate-limit headers.
pub fn headers(limit: u64, remaining: u64, reset: i64) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("x-rate-limit-limit", HeaderValue::from(limit));
    headers.insert("x-rate-limit-remaining", HeaderValue::from(remaining));
    headers.insert("x-rate-limit-reset", HeaderValue::from(reset));
    headers
}

/// Okta's 429: `E0000047` with `X-Rate-Limit-Remaining: 0` and the reset time.
pub fn too_many(limit: u64, reset: i64) -> Response {
    let mut response = OktaError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "E0000047",
        "API call exceeded rate limit due to too many requests.",
    )
    .into_response();
    response.headers_mut().extend(headers(limit, 0, reset));
    response
}
