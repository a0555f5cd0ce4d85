//! Microsoft's error shapes: Graph's `{"error": {code, message, innerError{date,
//! request-id, client-request-id}}}` and the identity platform's token errors `{error,
//! error_description: "AADSTS…", error_codes, timestamp, trace_id, correlation_id}`; and
//! Graph's throttling: a request budget per 10-second window, 429 with `Retry-After`.

use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde_json::json;

/// A Graph API error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub headers: Vec<(&'static str, String)>,
}

impl GraphError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            headers: Vec::new(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "BadRequest", message)
    }

    pub fn unauthorized(message: &str) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            message,
        )
    }

    pub fn forbidden() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        )
    }

    /// 410 for a delta token the tenant no longer honours; `Location` starts a new round.
    pub fn sync_state_gone(location: String) -> Self {
        Self {
            headers: vec![("location", location)],
            ..Self::new(
                StatusCode::GONE,
                "syncStateNotFound",
                "The sync state generation is not found or has expired. Start a new delta round.",
            )
        }
    }

    /// 429 with `Retry-After`.
    pub fn throttled(retry_after_secs: u64) -> Self {
        Self {
            headers: vec![("retry-after", retry_after_secs.to_string())],
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "TooManyRequests",
                "Too many requests are being made. Please retry after the interval in Retry-After.",
            )
        }
    }
}

impl IntoResponse for GraphError {
    fn into_response(self) -> Response {
        let id = uuid::Uuid::new_v4().to_string();
        let body = json!({"error": {
            "code": self.code,
            "message": self.message,
            "innerError": {
                "date": Utc::now().format("%Y-%m-%dT%H:%M:%S").to_string(),
                "request-id": id,
                "client-request-id": id,
            },
        }});
        let mut response = (self.status, Json(body)).into_response();
        for (name, value) in self.headers {
            if let Ok(value) = HeaderValue::from_str(&value) {
                response.headers_mut().insert(name, value);
            }
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\""),
            );
        }
        response
    }
}

/// An identity-platform token error.
pub fn aad_error(status: StatusCode, error: &str, code: u32, description: &str) -> Response {
    let id = uuid::Uuid::new_v4().to_string();
    let body = json!({
        "error": error,
        "error_description": format!("AADSTS{code}: {description} Trace ID: {id} Correlation ID: {id} Timestamp: {}", Utc::now().format("%Y-%m-%d %H:%M:%SZ")),
        "error_codes": [code],
        "timestamp": Utc::now().format("%Y-%m-%d %H:%M:%SZ").to_string(),
        "trace_id": id,
        "correlation_id": id,
    });
    (status, Json(body)).into_response()
}

/// A request budget per 10-second window (0: unlimited).
#[derive(Debug, Default)]
pub struct Throttle {
    pub per_10s: u64,
    window: i64,
    used: u64,
}

impl Throttle {
    pub fn new(per_10s: u64) -> Self {
        Self {
            per_10s,
            ..Self::default()
        }
    }

    /// Takes one request at `now_ms`, or answers 429 with the seconds left in the window.
    pub fn take(&mut self, now_ms: i64) -> Result<HeaderMap, Box<Response>> {
        if self.per_10s == 0 {
            return Ok(HeaderMap::new());
        }
        let window = now_ms.div_euclid(10_000);
        if window != self.window {
            self.window = window;
            self.used = 0;
        }
        if self.used >= self.per_10s {
            let left_ms = (window + 1) * 10_000 - now_ms;
            let secs = u64::try_from((left_ms + 999) / 1000).unwrap_or(1).max(1);
            return Err(Box::new(GraphError::throttled(secs).into_response()));
        }
        self.used += 1;
        Ok(HeaderMap::new())
    }
}
