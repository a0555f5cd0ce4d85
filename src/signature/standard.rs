//! Standard Webhooks 1.0 (`standard-webhooks`) and Svix (`svix`, used by Clerk).
//!
//! Signed bytes: `{id}.{timestamp}.{body}`, HMAC-SHA256 keyed with the base64-decoded secret
//! (after an optional `whsec_` prefix). `webhook-signature` is a space-separated list of
//! `v1,<base64>` entries; entries with another version tag are skipped. Svix sends the same
//! with `svix-*` names; its libraries also accept `webhook-*` and prefer `svix-*`, as we do.
//!
//! `standard-webhooks` also takes the asymmetric `v1a` entries (Ed25519, see `asymmetric`):
//! a source's `whpk_` public keys verify them, its `whsec_` secrets verify `v1`, and one
//! header may mix both kinds (a sender moving from one to the other signs with both).

use axum::http::HeaderMap;

use ed25519_dalek::VerifyingKey;

use super::window::{self, Direction};
use super::{SignatureError, asymmetric, headers, mac};
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

/// What a receiver holds: an HMAC key (`v1`) or, for `standard-webhooks`, a public key (`v1a`).
enum ReceiverKey {
    Hmac(Vec<u8>),
    Ed25519(VerifyingKey),
}

fn receiver_key(flavour: Flavour, secret: &Secret) -> Result<ReceiverKey, String> {
    let value = secret.expose();
    if flavour == Flavour::Standard {
        if value.starts_with(asymmetric::PUBLIC_PREFIX) {
            return asymmetric::public_key(secret).map(ReceiverKey::Ed25519);
        }
        if value.starts_with(asymmetric::PRIVATE_PREFIX) {
            return Err(
                "this is a v1a private key (whsk_), which only the sender should hold; \
                 configure its public key (whpk_) instead"
                    .into(),
            );
        }
    }
    key(secret).map(ReceiverKey::Hmac)
}

/// Config validation of a `standard-webhooks` source's secret: a `whsec_` secret or a `whpk_`
/// public key.
pub(super) fn check_receiver_key(secret: &Secret) -> Result<(), String> {
    receiver_key(Flavour::Standard, secret).map(|_| ())
}

/// What `sign` takes for `standard-webhooks`: a `whsec_` secret or a `whsk_` private key.
pub(super) fn check_sender_key(secret: &Secret) -> Result<(), String> {
    let value = secret.expose();
    if value.starts_with(asymmetric::PRIVATE_PREFIX) {
        return asymmetric::private_key(secret).map(|_| ());
    }
    if value.starts_with(asymmetric::PUBLIC_PREFIX) {
        return Err("a public key (whpk_) cannot sign; give the sender's whsk_ private key".into());
    }
    key(secret).map(|_| ())
}

/// Verifies a Standard Webhooks or Svix request.
pub(super) fn verify(
    flavour: Flavour,
    source: &SourceConfig,
    map: &HeaderMap,
    body: &[u8],
    now: i64,
) -> Result<usize, SignatureError> {
    let [id_names, ts_names, sig_names] = flavour.names();
    let id = headers::first_of(map, id_names)?;
    let timestamp = headers::first_of(map, ts_names)?;
    let signatures = headers::first_of(map, sig_names)?;

    let ts = window::parse_secs(timestamp, "the webhook timestamp is not unix seconds")?;
    window::check_secs(ts, now, source.tolerance_secs, Direction::Both)?;

    let candidates = parse_signatures(signatures)?;
    let keys: Vec<(usize, ReceiverKey)> = super::usable_secrets(source, now)
        .filter_map(|(position, s)| receiver_key(flavour, s).ok().map(|k| (position, k)))
        .collect();
    if keys.is_empty() {
        return Err(SignatureError::Misconfigured("no secret is valid base64"));
    }
    let parts = signed_parts(id, timestamp, body);
    for (position, key) in &keys {
        let matched = match key {
            ReceiverKey::Hmac(key) => {
                let expected = mac::hmac_sha256(key, &parts)?;
                // Every candidate is compared, so timing does not reveal which one matched.
                candidates.v1.iter().fold(false, |acc, candidate| {
                    acc | mac::ct_eq(&expected, candidate)
                })
            }
            // A public-key check leaks nothing secret; stop at the first that holds.
            ReceiverKey::Ed25519(key) => candidates
                .v1a
                .iter()
                .any(|candidate| asymmetric::verify(key, &parts, candidate)),
        };
        if matched {
            return Ok(*position);
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
    let unusable = |_| SignatureError::Misconfigured("the secret is not usable");
    let timestamp = now.to_string();
    let parts = signed_parts(msg_id, &timestamp, body);
    let entry = if flavour == Flavour::Standard
        && secret.expose().starts_with(asymmetric::PRIVATE_PREFIX)
    {
        let key = asymmetric::private_key(secret).map_err(unusable)?;
        format!(
            "v1a,{}",
            mac::encode_base64(&asymmetric::sign(&key, &parts))
        )
    } else {
        let key = key(secret).map_err(unusable)?;
        format!(
            "v1,{}",
            mac::encode_base64(&mac::hmac_sha256(&key, &parts)?)
        )
    };
    let prefix = match flavour {
        Flavour::Standard => "webhook",
        Flavour::Svix => "svix",
    };
    Ok(vec![
        (format!("{prefix}-id"), msg_id.to_owned()),
        (format!("{prefix}-timestamp"), timestamp),
        (format!("{prefix}-signature"), entry),
    ])
}

fn signed_parts<'a>(id: &'a str, timestamp: &'a str, body: &'a [u8]) -> [&'a [u8]; 5] {
    [id.as_bytes(), b".", timestamp.as_bytes(), b".", body]
}

/// The decoded entries of a signature header, by version.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Candidates {
    /// `v1,<base64>`: HMAC-SHA256 digests.
    pub v1: Vec<Vec<u8>>,
    /// `v1a,<base64>`: Ed25519 signatures.
    pub v1a: Vec<Vec<u8>>,
}

/// The decoded `v1` and `v1a` entries of a signature header. Entries of other versions,
/// entries without a comma and entries that are not base64 are skipped (they can never
/// match); a header with no entries at all is malformed. At most 64 entries are read, so a
/// hostile header cannot cost a verification per entry without bound.
pub(crate) fn parse_signatures(header: &str) -> Result<Candidates, SignatureError> {
    let entries: Vec<&str> = header.split_ascii_whitespace().take(64).collect();
    if entries.is_empty() {
        return Err(SignatureError::Malformed(
            "the signature header has no entries",
        ));
    }
    let mut out = Candidates::default();
    for (version, encoded) in entries.into_iter().filter_map(|e| e.split_once(',')) {
        let list = match version {
            "v1" => &mut out.v1,
            "v1a" => &mut out.v1a,
            _ => continue,
        };
        if let Some(bytes) = mac::decode_signature_base64(encoded) {
            list.push(bytes);
        }
    }
    Ok(out)
}
