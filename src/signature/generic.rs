//! The generic HMAC profile (`hmac`) for senders without a named scheme, described by
//! `source.hmac` ([`HmacProfile`]): one signature header, SHA-256 or SHA-512, hex or base64, an
//! optional prefix, and the signed bytes `body`, `{timestamp}.{body}` or
//! `{id}.{timestamp}.{body}` with the timestamp (unix seconds) and id read from named headers.
//!
//! The key is the secret's UTF-8 bytes. When a prefix is configured the header must start with
//! it. Hex is compared case-insensitively (it is decoded first); base64 may omit padding. The
//! window applies, in both directions, whenever the timestamp is signed.

use axum::http::HeaderMap;

use super::window::{self, Direction};
use super::{SignatureError, headers, mac};
use crate::config::{HmacEncoding, HmacProfile, Secret, SignedContent, SourceConfig};

/// Verifies a request against the source's generic profile.
pub(super) fn verify(
    source: &SourceConfig,
    map: &HeaderMap,
    body: &[u8],
    now: i64,
) -> Result<usize, SignatureError> {
    let profile = profile(source)?;
    let received = headers::required(map, &profile.header)?;
    let encoded = match profile.prefix.as_deref().filter(|p| !p.is_empty()) {
        Some(prefix) => received
            .strip_prefix(prefix)
            .ok_or(SignatureError::Malformed(
                "the signature header lacks the configured prefix",
            ))?,
        None => received,
    };
    let received = decode(profile.encoding, encoded.trim())?;

    let (id, timestamp) = signed_headers(profile, map)?;
    if let Some(timestamp) = timestamp {
        let ts = window::parse_secs(timestamp, "the timestamp header is not unix seconds")?;
        window::check_secs(ts, now, source.tolerance_secs, Direction::Both)?;
    }
    for (position, secret) in super::usable_secrets(source, now) {
        if mac::ct_eq(&expected(profile, secret, id, timestamp, body)?, &received) {
            return Ok(position);
        }
    }
    Err(SignatureError::Mismatch)
}

/// The id, timestamp and signature headers a sender using the profile would send.
pub(super) fn sign(
    source: &SourceConfig,
    secret: &Secret,
    body: &[u8],
    now: i64,
    msg_id: &str,
) -> Result<Vec<(String, String)>, SignatureError> {
    let profile = profile(source)?;
    let timestamp = now.to_string();
    let mut out = Vec::new();
    let (id, ts) = match profile.signed {
        SignedContent::Body => (None, None),
        SignedContent::TimestampBody => (None, Some(timestamp.as_str())),
        SignedContent::IdTimestampBody => {
            if msg_id.is_empty() {
                return Err(SignatureError::Malformed("the message id is empty"));
            }
            (Some(msg_id), Some(timestamp.as_str()))
        }
    };
    if let (Some(id), Some(name)) = (id, profile.id_header.as_deref()) {
        out.push((name.to_owned(), id.to_owned()));
    }
    if let (Some(ts), Some(name)) = (ts, profile.timestamp_header.as_deref()) {
        out.push((name.to_owned(), ts.to_owned()));
    }
    let digest = expected(profile, secret, id, ts, body)?;
    let encoded = match profile.encoding {
        HmacEncoding::Hex => hex::encode(digest),
        HmacEncoding::Base64 => mac::encode_base64(&digest),
    };
    let prefix = profile.prefix.as_deref().unwrap_or_default();
    out.push((profile.header.clone(), format!("{prefix}{encoded}")));
    Ok(out)
}

/// The profile, checked for the headers its `signed` content needs.
fn profile(source: &SourceConfig) -> Result<&HmacProfile, SignatureError> {
    let profile = source.hmac.as_ref().ok_or(SignatureError::Misconfigured(
        "scheme hmac needs an [sources.hmac] profile",
    ))?;
    let needs_timestamp = profile.signed != SignedContent::Body;
    let needs_id = profile.signed == SignedContent::IdTimestampBody;
    if needs_timestamp && profile.timestamp_header.is_none() {
        return Err(SignatureError::Misconfigured(
            "the hmac profile needs timestamp_header",
        ));
    }
    if needs_id && profile.id_header.is_none() {
        return Err(SignatureError::Misconfigured(
            "the hmac profile needs id_header",
        ));
    }
    Ok(profile)
}

/// The (id, timestamp) header values the profile signs, read from the request.
fn signed_headers<'a>(
    profile: &HmacProfile,
    map: &'a HeaderMap,
) -> Result<(Option<&'a str>, Option<&'a str>), SignatureError> {
    let read = |name: &Option<String>| -> Result<&'a str, SignatureError> {
        let name = name.as_deref().ok_or(SignatureError::Misconfigured(
            "the hmac profile lacks a header name",
        ))?;
        headers::required(map, name)
    };
    match profile.signed {
        SignedContent::Body => Ok((None, None)),
        SignedContent::TimestampBody => Ok((None, Some(read(&profile.timestamp_header)?))),
        SignedContent::IdTimestampBody => Ok((
            Some(read(&profile.id_header)?),
            Some(read(&profile.timestamp_header)?),
        )),
    }
}

fn decode(encoding: HmacEncoding, text: &str) -> Result<Vec<u8>, SignatureError> {
    match encoding {
        HmacEncoding::Hex => {
            hex::decode(text).map_err(|_| SignatureError::Malformed("the signature is not hex"))
        }
        HmacEncoding::Base64 => mac::decode_signature_base64(text)
            .ok_or(SignatureError::Malformed("the signature is not base64")),
    }
}

fn expected(
    profile: &HmacProfile,
    secret: &Secret,
    id: Option<&str>,
    timestamp: Option<&str>,
    body: &[u8],
) -> Result<Vec<u8>, SignatureError> {
    let mut parts: Vec<&[u8]> = Vec::with_capacity(5);
    if let Some(id) = id {
        parts.extend([id.as_bytes(), b"."]);
    }
    if let Some(timestamp) = timestamp {
        parts.extend([timestamp.as_bytes(), b"."]);
    }
    parts.push(body);
    mac::hmac(profile.algorithm, secret.expose().as_bytes(), &parts)
}
