//! Tests of the signature module: shared helpers and the behaviour every scheme must have
//! (`common`), one file per scheme for its own byte constructions and traps, and the shared
//! vector files (`vectors`).

mod bamboohr;
mod common;
mod generic;
mod github;
mod graph;
mod okta;
mod standard;
mod stripe;
mod v1a;
mod vectors;
mod workos;

use axum::http::{HeaderMap, HeaderName, HeaderValue};

use super::{default_tolerance_secs, sign};
use crate::config::{Format, Scheme, Secret, SourceConfig};

/// A fixed "now" for tests (2023-11-14T22:13:20Z).
pub(super) const NOW: i64 = 1_700_000_000;

/// A source for `scheme` with `secrets`, the scheme's default tolerance and Okta's default
/// header.
pub(super) fn source(scheme: Scheme, secrets: &[&str]) -> SourceConfig {
    SourceConfig {
        name: "test".into(),
        format: Format::Canonical,
        scheme,
        secrets: secrets.iter().map(|s| Secret::new(*s).into()).collect(),
        tolerance_secs: default_tolerance_secs(scheme),
        header: "Authorization".into(),
        hmac: None,
        allow_ips: Vec::new(),
        pull: None,
    }
}

/// A header map from (name, value) pairs; repeated names are appended.
pub(super) fn header_map<N: AsRef<str>, V: AsRef<str>>(
    pairs: impl IntoIterator<Item = (N, V)>,
) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        let name = HeaderName::from_bytes(name.as_ref().as_bytes()).expect("header name");
        let value = HeaderValue::from_str(value.as_ref()).expect("header value");
        map.append(name, value);
    }
    map
}

/// The headers `sign` gives for `body` at `now` with `secret` and message id `msg_1`.
pub(super) fn signed_with(source: &SourceConfig, secret: &str, body: &[u8], now: i64) -> HeaderMap {
    let pairs = sign(source, &Secret::new(secret), body, now, "msg_1").expect("sign");
    header_map(pairs)
}

/// `map` with header `name` set to `value` (replacing any earlier value).
pub(super) fn with(mut map: HeaderMap, name: &str, value: &str) -> HeaderMap {
    let name = HeaderName::from_bytes(name.as_bytes()).expect("header name");
    map.insert(name, HeaderValue::from_str(value).expect("header value"));
    map
}

/// `map` without header `name`.
pub(super) fn without(mut map: HeaderMap, name: &str) -> HeaderMap {
    map.remove(name);
    map
}

/// The value of header `name` in `map`, as text.
pub(super) fn value(map: &HeaderMap, name: &str) -> String {
    map.get(name)
        .expect("header present")
        .to_str()
        .expect("ascii")
        .to_owned()
}
