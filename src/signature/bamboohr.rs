//! BambooHR (`bamboohr`): `X-BambooHR-Signature` = hex HMAC-SHA256 over the raw body
//! *immediately followed by* the raw `X-BambooHR-Timestamp` string (no separator), keyed with
//! the webhook private key's UTF-8 bytes.
//!
//! BambooHR does not document the timestamp format (integrations show unix seconds and
//! ISO 8601), so the HMAC uses the header string as sent and the window accepts unix seconds or
//! RFC 3339. A digits-only value above [`MILLIS_THRESHOLD`] is read as unix milliseconds (such
//! a value in seconds would lie beyond the year 5000). Anything else is `Malformed`. The window
//! is checked in both directions. Hex is compared case-insensitively (by decoding), since no
//! vendor library fixes the case.

use axum::http::HeaderMap;

use super::window::{self, Direction};
use super::{SignatureError, headers, mac};
use crate::config::{Secret, SourceConfig};

/// The header that carries the signature.
const SIGNATURE_HEADER: &str = "X-BambooHR-Signature";
/// The header that carries the timestamp (signed, after the body).
const TIMESTAMP_HEADER: &str = "X-BambooHR-Timestamp";
/// Digits-only timestamps above this are milliseconds (10^11 s is in the year 5138).
const MILLIS_THRESHOLD: i64 = 100_000_000_000;

/// Verifies a BambooHR request.
pub(super) fn verify(
    source: &SourceConfig,
    map: &HeaderMap,
    body: &[u8],
    now: i64,
) -> Result<usize, SignatureError> {
    let timestamp = headers::required(map, TIMESTAMP_HEADER)?;
    let received = headers::required(map, SIGNATURE_HEADER)?;
    check_window(timestamp, now, source.tolerance_secs)?;
    let received = hex::decode(received)
        .map_err(|_| SignatureError::Malformed("X-BambooHR-Signature is not hex"))?;
    for (position, secret) in super::usable_secrets(source, now) {
        if mac::ct_eq(&expected(secret, body, timestamp)?, &received) {
            return Ok(position);
        }
    }
    Err(SignatureError::Mismatch)
}

/// The timestamp (unix seconds) and signature headers for `body` at `now`.
pub(super) fn sign(
    secret: &Secret,
    body: &[u8],
    now: i64,
) -> Result<Vec<(String, String)>, SignatureError> {
    let timestamp = now.to_string();
    let digest = hex::encode(expected(secret, body, &timestamp)?);
    Ok(vec![
        (TIMESTAMP_HEADER.to_owned(), timestamp),
        (SIGNATURE_HEADER.to_owned(), digest),
    ])
}

fn expected(secret: &Secret, body: &[u8], timestamp: &str) -> Result<Vec<u8>, SignatureError> {
    mac::hmac_sha256(secret.expose().as_bytes(), &[body, timestamp.as_bytes()])
}

fn check_window(timestamp: &str, now: i64, tolerance: u64) -> Result<(), SignatureError> {
    if let Some(number) = window::parse_unsigned(timestamp) {
        return if number > MILLIS_THRESHOLD {
            window::check_millis(number, now, tolerance, Direction::Both)
        } else {
            window::check_secs(number, now, tolerance, Direction::Both)
        };
    }
    let parsed = chrono::DateTime::parse_from_rfc3339(timestamp).map_err(|_| {
        SignatureError::Malformed("X-BambooHR-Timestamp is neither unix time nor RFC 3339")
    })?;
    window::check_millis(parsed.timestamp_millis(), now, tolerance, Direction::Both)
}
