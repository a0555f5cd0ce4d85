//! Stripe (`stripe`): `Stripe-Signature: t=<unix s>,v1=<hex>[,v1=<hex>...][,v0=<hex>]`.
//!
//! Signed bytes `{t}.{body}`, HMAC-SHA256 keyed with the whole secret string *including* its
//! `whsec_` prefix (never decoded). Any `v1` may match (Stripe sends one per active secret while
//! a secret is rolled); other schemes such as the test-mode `v0` are ignored. Hex is compared as
//! Stripe's libraries do: lower case only.
//!
//! Window: like Stripe's libraries, only timestamps older than the tolerance are rejected; a
//! future `t` is accepted (the vectors make this our policy: "1 h in the future" is valid).

use axum::http::HeaderMap;

use super::window::{self, Direction};
use super::{SignatureError, headers, mac};
use crate::config::{Secret, SourceConfig};

/// The header Stripe signs with.
const HEADER: &str = "Stripe-Signature";

/// Verifies a Stripe request.
pub(super) fn verify(
    source: &SourceConfig,
    map: &HeaderMap,
    body: &[u8],
    now: i64,
) -> Result<usize, SignatureError> {
    let parsed = parse(headers::required(map, HEADER)?)?;
    let ts = window::parse_secs(parsed.timestamp, "Stripe-Signature t is not unix seconds")?;
    window::check_secs(ts, now, source.tolerance_secs, Direction::PastOnly)?;
    // Stripe's libraries parse `t` as an integer and print it again before signing.
    let timestamp = ts.to_string();
    for (position, secret) in super::usable_secrets(source, now) {
        let expected = expected(secret, &timestamp, body)?;
        let matched = parsed.v1.iter().fold(false, |acc, candidate| {
            acc | mac::ct_eq(expected.as_bytes(), candidate.as_bytes())
        });
        if matched {
            return Ok(position);
        }
    }
    Err(SignatureError::Mismatch)
}

/// The `Stripe-Signature` header for `body` at `now`.
pub(super) fn sign(
    secret: &Secret,
    body: &[u8],
    now: i64,
) -> Result<Vec<(String, String)>, SignatureError> {
    let timestamp = now.to_string();
    let digest = expected(secret, &timestamp, body)?;
    Ok(vec![(
        HEADER.to_owned(),
        format!("t={timestamp},v1={digest}"),
    )])
}

fn expected(secret: &Secret, timestamp: &str, body: &[u8]) -> Result<String, SignatureError> {
    let parts: [&[u8]; 3] = [timestamp.as_bytes(), b".", body];
    Ok(hex::encode(mac::hmac_sha256(
        secret.expose().as_bytes(),
        &parts,
    )?))
}

/// The parts of a `Stripe-Signature` header we use.
struct Parsed<'a> {
    timestamp: &'a str,
    v1: Vec<&'a str>,
}

/// Splits on `,` then once on `=`, trimming spaces. Needs one `t` and at least one `v1`.
fn parse(header: &str) -> Result<Parsed<'_>, SignatureError> {
    let mut timestamp = None;
    let mut v1 = Vec::new();
    for item in header.split(',') {
        let Some((key, value)) = item.split_once('=') else {
            continue;
        };
        match key.trim() {
            "t" => timestamp = Some(value.trim()),
            "v1" => v1.push(value.trim()),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed("Stripe-Signature has no t"))?;
    if v1.is_empty() {
        return Err(SignatureError::Malformed(
            "Stripe-Signature has no v1 signature",
        ));
    }
    Ok(Parsed { timestamp, v1 })
}
