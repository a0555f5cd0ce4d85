//! Standard Webhooks 1.0 (`standard-webhooks`) and Svix (`svix`, used by Clerk).
//!
//! Signed bytes: `{id}.{timestamp}.{body}`, HMAC-SHA256 keyed with the base64-decoded secret
//! (after an optional `whsec_` prefix). `webhook-signature` is a space-separated list of
//! `v1,<base64>` entries; entries with another version tag are skipped. Svix sends the same
//! with `svix-*` names; its libraries also accept `webhook-*` and prefer `svix-*`, as we do.

use axum::http::HeaderMap;

use super::window::{self, Direction};
use super::{SignatureError, headers, mac};
use crate::config::{Secret, SourceConfig};

/// The prefix senders show on Standard Webhooks secrets; optional on input.
const SECRET_PREFIX: &str = "whsec_";

/// Which header names a sender uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Flavour {
    /// `webhook-id`, `webhook-timestamp`, `webhook-signature` only.
    Standard,
    /// `svix-*`, falling back to `webhook-*` header by header.
    Svix,
}

impl Flavour {
    /// Header names in order of preference: (id, timestamp, signature).
    fn names(self) -> [&'static [&'static str]; 3] {
        match self {
            Self::Standard => [
                &["webhook-id"],
                &["webhook-timestamp"],
                &["webhook-signature"],
            ],
            Self::Svix => [
                &["svix-id", "webhook-id"],
                &["svix-timestamp", "webhook-timestamp"],
                &["svix-signature", "webhook-signature"],
            ],
        }
    }
}

/// The HMAC key of a secret: base64 after an optional `whsec_`, padding optional (the
/// python library accepts unpadded secrets and the vectors make that our policy).
pub(super) fn key(secret: &Secret) -> Result<Vec<u8>, String> {
    let raw = secret.expose();
    let encoded = raw.strip_prefix(SECRET_PREFIX).unwrap_or(raw);
    if encoded.is_empty() {
        return Err(
            "the secret is empty after the whsec_ prefix; copy the whole signing secret \
                    from the sender"
                .into(),
        );
    }
    match mac::decode_secret_base64(encoded) {
        Some(bytes) if !bytes.is_empty() => Ok(bytes),
        _ => Err(
            "the secret is not base64 after the optional whsec_ prefix; copy the signing \
                  secret exactly as the sender shows it (e.g. whsec_...)"
                .into(),
        ),
    }
}

/// Verifies a Standard Webhooks or Svix request.
pub(super) fn verify(
    flavour: Flavour,
    source: &SourceConfig,
    map: &HeaderMap,
    body: &[u8],
    now: i64,
) -> Result<(), SignatureError> {
    let [id_names, ts_names, sig_names] = flavour.names();
    let id = headers::first_of(map, id_names)?;
    let timestamp = headers::first_of(map, ts_names)?;
    let signatures = headers::first_of(map, sig_names)?;

    let ts = window::parse_secs(timestamp, "the webhook timestamp is not unix seconds")?;
    window::check_secs(ts, now, source.tolerance_secs, Direction::Both)?;

    let candidates = parse_signatures(signatures)?;
    let keys: Vec<Vec<u8>> = super::usable_secrets(source)
        .filter_map(|s| key(s).ok())
        .collect();
    if keys.is_empty() {
        return Err(SignatureError::Misconfigured("no secret is valid base64"));
    }
    for key in &keys {
        let expected = mac::hmac_sha256(key, &signed_parts(id, timestamp, body))?;
        // Every candidate is compared, so timing does not reveal which one matched.
        let matched = candidates.iter().fold(false, |acc, candidate| {
            acc | mac::ct_eq(&expected, candidate)
        });
        if matched {
            return Ok(());
        }
    }
    Err(SignatureError::Mismatch)
}

/// The headers a sender would send, with `webhook-*` or `svix-*` names.
pub(super) fn sign(
    flavour: Flavour,
    secret: &Secret,
    body: &[u8],
    now: i64,
    msg_id: &str,
) -> Result<Vec<(String, String)>, SignatureError> {
    if msg_id.is_empty() {
        return Err(SignatureError::Malformed("the message id is empty"));
    }
    let key = key(secret).map_err(|_| SignatureError::Misconfigured("the secret is not usable"))?;
    let timestamp = now.to_string();
    let digest = mac::hmac_sha256(&key, &signed_parts(msg_id, &timestamp, body))?;
    let prefix = match flavour {
        Flavour::Standard => "webhook",
        Flavour::Svix => "svix",
    };
    Ok(vec![
        (format!("{prefix}-id"), msg_id.to_owned()),
        (format!("{prefix}-timestamp"), timestamp),
        (
            format!("{prefix}-signature"),
            format!("v1,{}", mac::encode_base64(&digest)),
        ),
    ])
}

fn signed_parts<'a>(id: &'a str, timestamp: &'a str, body: &'a [u8]) -> [&'a [u8]; 5] {
    [id.as_bytes(), b".", timestamp.as_bytes(), b".", body]
}

/// The decoded `v1` digests of a signature header. Entries of other versions, entries without
/// a comma and entries that are not base64 are skipped (they can never match); a header with
/// no entries at all is malformed.
fn parse_signatures(header: &str) -> Result<Vec<Vec<u8>>, SignatureError> {
    let entries: Vec<&str> = header.split_ascii_whitespace().collect();
    if entries.is_empty() {
        return Err(SignatureError::Malformed(
            "the signature header has no entries",
        ));
    }
    Ok(entries
        .into_iter()
        .filter_map(|entry| entry.split_once(','))
        .filter(|(version, _)| *version == "v1")
        .filter_map(|(_, encoded)| mac::decode_signature_base64(encoded))
        .collect())
}
