//! WorkOS (`workos`): `WorkOS-Signature: t=<unix milliseconds>, v1=<lowercase hex>`.
//!
//! Signed bytes `{t}.{body}` with `t` exactly as sent, HMAC-SHA256 keyed with the secret's
//! UTF-8 bytes (even when it looks like `whsec_...`: it is not decoded). The header is parsed
//! tolerantly (split on `,`, trim, split once on `=`), so `t=1,v1=..` without the space is
//! accepted as workos-go and workos-node do. Hex is compared as sent: upper case fails, as in all
//! three SDKs.
//!
//! Window: `t` is milliseconds and is compared exactly against `now` in seconds, in both
//! directions (workos-python and workos-go); the WorkOS default is 180 s
//! (see [`super::default_tolerance_secs`]).

use axum::http::HeaderMap;

use super::window::{self, Direction};
use super::{SignatureError, headers, mac};
use crate::config::{Secret, SourceConfig};

/// The header WorkOS signs with.
const HEADER: &str = "WorkOS-Signature";

/// Verifies a WorkOS request.
pub(super) fn verify(
    source: &SourceConfig,
    map: &HeaderMap,
    body: &[u8],
    now: i64,
) -> Result<usize, SignatureError> {
    let (timestamp, received) = parse(headers::required(map, HEADER)?)?;
    let ts_ms = window::parse_unsigned(timestamp).ok_or(SignatureError::Malformed(
        "WorkOS-Signature t is not unix milliseconds",
    ))?;
    window::check_millis(ts_ms, now, source.tolerance_secs, Direction::Both)?;
    for (position, secret) in super::usable_secrets(source, now) {
        if mac::ct_eq(
            expected(secret, timestamp, body)?.as_bytes(),
            received.as_bytes(),
        ) {
            return Ok(position);
        }
    }
    Err(SignatureError::Mismatch)
}

/// The `WorkOS-Signature` header for `body` at `now` (seconds, sent as milliseconds).
pub(super) fn sign(
    secret: &Secret,
    body: &[u8],
    now: i64,
) -> Result<Vec<(String, String)>, SignatureError> {
    let timestamp = i128::from(now) * 1000;
    let timestamp = timestamp.to_string();
    let digest = expected(secret, &timestamp, body)?;
    Ok(vec![(
        HEADER.to_owned(),
        format!("t={timestamp}, v1={digest}"),
    )])
}

fn expected(secret: &Secret, timestamp: &str, body: &[u8]) -> Result<String, SignatureError> {
    let parts: [&[u8]; 3] = [timestamp.as_bytes(), b".", body];
    Ok(hex::encode(mac::hmac_sha256(
        secret.expose().as_bytes(),
        &parts,
    )?))
}

/// `(t, v1)` from the header; both must be present and non-empty.
fn parse(header: &str) -> Result<(&str, &str), SignatureError> {
    let mut timestamp = None;
    let mut signature = None;
    for item in header.split(',') {
        let Some((key, value)) = item.split_once('=') else {
            continue;
        };
        match key.trim() {
            "t" => timestamp = Some(value.trim()),
            "v1" => signature = Some(value.trim()),
            _ => {}
        }
    }
    let timestamp = timestamp
        .filter(|t| !t.is_empty())
        .ok_or(SignatureError::Malformed("WorkOS-Signature has no t"))?;
    let signature = signature
        .filter(|s| !s.is_empty())
        .ok_or(SignatureError::Malformed("WorkOS-Signature has no v1"))?;
    Ok((timestamp, signature))
}
