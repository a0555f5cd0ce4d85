//! `DomoError`, the one error type of the Domo boundary, and the pure functions that turn an
//! HTTP answer or a transport failure into it.
//!
//! This module decides *what kind* of failure happened (retryable or permanent, with which
//! `Retry-After`); it never decides *when* to retry, which is the worker's job. Messages are
//! short, built from Domo's error body when there is one, and never contain a token or a
//! credential: known secrets and anything shaped like a JWT are redacted.

use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};

use super::model::ErrorBody;

/// The longest message kept from an error body, in characters.
const MAX_MESSAGE_CHARS: usize = 300;

/// Why a call to Domo did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomoError {
    /// 429: Domo asks us to slow down. `retry_after` comes from the `Retry-After` header
    /// (delay in seconds or an HTTP-date), when Domo sends one.
    #[error("Domo rate limit reached (429)")]
    RateLimited {
        /// How long Domo asked us to wait, if it said.
        retry_after: Option<Duration>,
    },
    /// Domo could not be reached or failed on its side: a 5xx, a 408, a timeout, a refused,
    /// reset or closed connection. Retryable.
    #[error("Domo unavailable: {message}")]
    Unavailable {
        /// The HTTP status, when there was an answer at all.
        status: Option<u16>,
        /// What went wrong, for logs and the dead letter.
        message: String,
    },
    /// Domo refused our credentials: a 401 that persisted after one token refresh and retry,
    /// or the token endpoint refused to issue a token. Not retryable: a configuration problem.
    #[error("Domo refused the credentials: {message}")]
    Unauthorized {
        /// Domo's reason, redacted.
        message: String,
    },
    /// Any other non-success answer (400, 403, 404, 409, …): permanent for this request.
    #[error("Domo rejected the request ({status}): {message}")]
    Rejected {
        /// The HTTP status Domo answered.
        status: u16,
        /// Domo's reason, redacted.
        message: String,
    },
    /// A success answer whose body we cannot read, or a list that never ends.
    #[error("unreadable answer from Domo: {message}")]
    Decode {
        /// What could not be read (never the body itself).
        message: String,
    },
}

impl DomoError {
    /// True for failures that may succeed later unchanged: `RateLimited` and `Unavailable`.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::RateLimited { .. } | Self::Unavailable { .. })
    }

    /// The HTTP status behind this error, when there is one (`Unauthorized` reports 401).
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::RateLimited { .. } => Some(429),
            Self::Unavailable { status, .. } => *status,
            Self::Unauthorized { .. } => Some(401),
            Self::Rejected { status, .. } => Some(*status),
            Self::Decode { .. } => None,
        }
    }

    /// The delay Domo asked for with `Retry-After`, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after } => *retry_after,
            _ => None,
        }
    }
}

/// Maps a non-success HTTP answer to a `DomoError`. `now` is used only to turn a
/// `Retry-After` HTTP-date into a delay; `redact` lists secret values (token, client secret)
/// that must not appear in the message.
pub(crate) fn classify(
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    now: DateTime<Utc>,
    redact: &[&str],
) -> DomoError {
    let code = status.as_u16();
    match status {
        StatusCode::TOO_MANY_REQUESTS => DomoError::RateLimited {
            retry_after: headers
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| parse_retry_after(v, now)),
        },
        StatusCode::UNAUTHORIZED => DomoError::Unauthorized {
            message: error_message(status, body, redact),
        },
        // A 408 is the server timing our request out: the same as our own timeout.
        StatusCode::REQUEST_TIMEOUT => DomoError::Unavailable {
            status: Some(code),
            message: error_message(status, body, redact),
        },
        s if s.is_server_error() => DomoError::Unavailable {
            status: Some(code),
            message: error_message(status, body, redact),
        },
        // Other 4xx, and unexpected 1xx/3xx (redirects are not followed): permanent.
        _ => DomoError::Rejected {
            status: code,
            message: error_message(status, body, redact),
        },
    }
}

/// Maps a transport failure (no complete HTTP answer) to `Unavailable`.
pub(crate) fn from_transport(err: &reqwest::Error) -> DomoError {
    let kind = if err.is_timeout() {
        "request timed out"
    } else if err.is_connect() {
        "connection failed"
    } else if err.is_body() || err.is_decode() {
        "reading the answer failed"
    } else {
        "request failed"
    };
    // The chain of causes says "connection refused" or "connection reset"; the URL is left
    // out (it holds no secret, but it makes messages long).
    let mut detail = Vec::new();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        detail.push(cause.to_string());
        source = cause.source();
    }
    let message = if detail.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind}: {}", detail.join(": "))
    };
    DomoError::Unavailable {
        status: None,
        message: truncate(&message),
    }
}

/// Builds a `Decode` error from a JSON error without echoing any of the body (serde messages
/// may quote values, and a token response holds a token).
pub(crate) fn decode_error(what: &str, err: &serde_json::Error) -> DomoError {
    let class = match err.classify() {
        serde_json::error::Category::Io => "I/O error",
        serde_json::error::Category::Syntax => "invalid JSON",
        serde_json::error::Category::Data => "unexpected shape",
        serde_json::error::Category::Eof => "truncated JSON",
    };
    DomoError::Decode {
        message: format!(
            "{what}: {class} at line {} column {}",
            err.line(),
            err.column()
        ),
    }
}

/// Parses a `Retry-After` value (RFC 9110 §10.2.3): a number of seconds, or an HTTP-date
/// (IMF-fixdate, or the obsolete RFC 850 and asctime forms). A date in the past means "now".
pub(crate) fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return value.parse::<u64>().ok().map(Duration::from_secs);
    }
    let at = parse_http_date(value)?;
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

/// Parses the three HTTP-date forms, all in GMT.
fn parse_http_date(value: &str) -> Option<DateTime<Utc>> {
    if let Ok(at) = DateTime::parse_from_rfc2822(value) {
        return Some(at.with_timezone(&Utc));
    }
    // RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT"; asctime: "Sun Nov  6 08:49:37 1994".
    ["%A, %d-%b-%y %H:%M:%S GMT", "%a %b %e %H:%M:%S %Y"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(value, format).ok())
        .map(|naive| naive.and_utc())
}

/// A short, redacted message from an error body in either Domo shape, or from the status
/// alone when the body is empty or not JSON (a proxy's HTML page is not worth keeping).
pub(crate) fn error_message(status: StatusCode, body: &[u8], redact: &[&str]) -> String {
    let fallback = || {
        let reason = status.canonical_reason().unwrap_or("unexpected status");
        if body.iter().all(u8::is_ascii_whitespace) {
            format!("HTTP {} {reason} (empty body)", status.as_u16())
        } else {
            format!("HTTP {} {reason}", status.as_u16())
        }
    };
    let Ok(parsed) = serde_json::from_slice::<ErrorBody>(body) else {
        return fallback();
    };
    // OAuth shape: `{error, error_description}`; bedrock shape: `{status, statusReason,
    // message, toe, path}`. Prefer the most specific text either gives.
    let mut message = match (text(&parsed.error), text(&parsed.error_description)) {
        (Some(code), Some(description)) => format!("{code}: {description}"),
        (Some(only), None) | (None, Some(only)) => only.to_owned(),
        (None, None) => match (text(&parsed.message), text(&parsed.status_reason)) {
            (Some(message), _) => message.to_owned(),
            (None, Some(reason)) => reason.to_owned(),
            (None, None) => return fallback(),
        },
    };
    // `toe` is Domo's trace id: worth keeping for a support ticket.
    if let Some(toe) = text(&parsed.toe) {
        message.push_str(&format!(" (toe {toe})"));
    }
    truncate(&redact_secrets(&message, redact))
}

/// A field's text, trimmed, when it has any.
fn text(field: &Option<String>) -> Option<&str> {
    field.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Replaces every known secret, and every word that looks like a JWT, with `***`.
/// Spring's "Access token expired: <token>" is the case this guards against.
fn redact_secrets(message: &str, redact: &[&str]) -> String {
    let mut out = message.to_owned();
    for secret in redact.iter().filter(|s| s.len() >= 4) {
        out = out.replace(secret, "***");
    }
    out.split(' ')
        .map(|word| {
            let bare =
                word.trim_matches(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'));
            if bare.starts_with("eyJ") && bare.len() >= 20 {
                word.replace(bare, "***")
            } else {
                word.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Cuts a message to `MAX_MESSAGE_CHARS` characters, on a character boundary.
fn truncate(message: &str) -> String {
    match message.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((cut, _)) => format!("{}…", &message[..cut]),
        None => message.to_owned(),
    }
}

#[cfg(test)]
#[path = "error_tests.rs"]
mod tests;
