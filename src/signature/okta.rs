//! Okta event hooks (`okta`): no signature exists. Okta sends a static header configured with
//! the hook (`source.header`, default `Authorization`), whose value must equal one of the
//! source's secrets. Values are hashed with SHA-256 before a constant-time comparison, so
//! neither content nor length leaks through timing.

use axum::http::HeaderMap;

use super::{SignatureError, mac};
use crate::config::{Secret, SourceConfig};

/// The header used when the source names none.
pub(super) const DEFAULT_HEADER: &str = "Authorization";

/// Verifies an Okta request.
pub(super) fn verify(
    source: &SourceConfig,
    map: &HeaderMap,
    now: i64,
) -> Result<usize, SignatureError> {
    let name = header_name(source);
    let received = map
        .get(name)
        .ok_or_else(|| SignatureError::MissingHeader(name.to_owned()))?
        .as_bytes();
    // Every secret is compared, so timing does not reveal which one matched.
    // Every secret is compared, so timing does not say which one matched.
    let matched = super::usable_secrets(source, now).fold(None, |acc, (position, secret)| {
        let equal = mac::ct_eq_hashed(secret.expose().as_bytes(), received);
        acc.or(equal.then_some(position))
    });
    matched.ok_or(SignatureError::Mismatch)
}

/// The static header Okta would send.
pub(super) fn sign(source: &SourceConfig, secret: &Secret) -> Vec<(String, String)> {
    vec![(header_name(source).to_owned(), secret.expose().to_owned())]
}

fn header_name(source: &SourceConfig) -> &str {
    if source.header.trim().is_empty() {
        DEFAULT_HEADER
    } else {
        source.header.trim()
    }
}
