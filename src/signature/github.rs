//! GitHub (`github`): `X-Hub-Signature-256: sha256=<lowercase hex>`, HMAC-SHA256 of the raw
//! body keyed with the secret's UTF-8 bytes. No timestamp, so no window.
//!
//! Like octokit, the whole `sha256=<hex>` string is compared: a missing prefix or upper-case hex
//! does not match (GitHub always sends lower case). The legacy SHA-1 `X-Hub-Signature` is never
//! consulted.

use axum::http::HeaderMap;

use super::{SignatureError, headers, mac};
use crate::config::{Secret, SourceConfig};

/// The header GitHub signs with.
const HEADER: &str = "X-Hub-Signature-256";
/// The algorithm tag before the hex digest.
const PREFIX: &str = "sha256=";

/// Verifies a GitHub request.
pub(super) fn verify(
    source: &SourceConfig,
    map: &HeaderMap,
    body: &[u8],
    now: i64,
) -> Result<usize, SignatureError> {
    let received = headers::required(map, HEADER)?;
    if !received.starts_with(PREFIX) {
        return Err(SignatureError::Malformed(
            "X-Hub-Signature-256 lacks the sha256= prefix",
        ));
    }
    for (position, secret) in super::usable_secrets(source, now) {
        if mac::ct_eq(expected(secret, body)?.as_bytes(), received.as_bytes()) {
            return Ok(position);
        }
    }
    Err(SignatureError::Mismatch)
}

/// The `X-Hub-Signature-256` header for `body`.
pub(super) fn sign(secret: &Secret, body: &[u8]) -> Result<Vec<(String, String)>, SignatureError> {
    Ok(vec![(HEADER.to_owned(), expected(secret, body)?)])
}

fn expected(secret: &Secret, body: &[u8]) -> Result<String, SignatureError> {
    let digest = mac::hmac_sha256(secret.expose().as_bytes(), &[body])?;
    Ok(format!("{PREFIX}{}", hex::encode(digest)))
}
