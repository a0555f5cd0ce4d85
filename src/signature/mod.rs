//! Webhook authentication: decides whether a request's raw bytes and headers come from the
//! sender a source is configured for.
//!
//! One entry point, [`verify`], dispatches on the source's [`Scheme`] to one file per scheme.
//! Everything here is pure: no clock reads (`now` is a parameter, unix seconds), no I/O, no
//! axum handlers, no logging. Any of a source's secrets may match (rotation), timestamps must
//! lie within `source.tolerance_secs` (inclusive) and every MAC comparison is constant-time.
//! Errors never carry a secret, a signature or a body.
//!
//! Microsoft Graph change notifications (`graph`) carry their secret, the `clientState`, in
//! each item of the body rather than in a header: [`graph::verify`] parses and checks them,
//! and [`verify`] refuses the scheme.
//!
//! [`sign`] is the sender's side of each scheme, for the `sign` CLI subcommand and for tests;
//! [`check_secret`] and [`default_tolerance_secs`] serve config loading and validation.

pub(crate) mod asymmetric;
mod bamboohr;
mod error;
mod generic;
mod github;
pub mod graph;
mod headers;
mod mac;
mod okta;
mod standard;
mod stripe;
mod window;
mod workos;

#[cfg(test)]
mod tests;

use axum::http::HeaderMap;

pub use asymmetric::public_key_of;
pub use error::SignatureError;

use crate::config::{Scheme, Secret, SourceConfig};
use standard::Flavour;

/// Verify a request for a configured source. `now` = unix seconds.
///
/// `body` must be the exact bytes received; any re-serialisation breaks every scheme.
pub fn verify(
    source: &SourceConfig,
    headers: &HeaderMap,
    body: &[u8],
    now: i64,
) -> Result<(), SignatureError> {
    verify_matched(source, headers, body, now).map(|_| ())
}

/// As [`verify`], and says which secret matched: its position in `source.secrets` (for the
/// metric that shows when an old secret is no longer used). Only secrets live at `now`
/// (`not_before` ≤ now < `not_after`) are tried.
pub fn verify_matched(
    source: &SourceConfig,
    headers: &HeaderMap,
    body: &[u8],
    now: i64,
) -> Result<usize, SignatureError> {
    if !source.secrets.iter().any(|s| !s.expose().is_empty()) {
        return Err(SignatureError::Misconfigured(
            "the source has no non-empty secret",
        ));
    }
    if usable_secrets(source, now).next().is_none() {
        return Err(SignatureError::NoLiveSecret);
    }
    match source.scheme {
        Scheme::StandardWebhooks => standard::verify(Flavour::Standard, source, headers, body, now),
        Scheme::Svix => standard::verify(Flavour::Svix, source, headers, body, now),
        Scheme::Github => github::verify(source, headers, body, now),
        Scheme::Stripe => stripe::verify(source, headers, body, now),
        Scheme::Workos => workos::verify(source, headers, body, now),
        Scheme::Bamboohr => bamboohr::verify(source, headers, body, now),
        Scheme::Okta => okta::verify(source, headers, now),
        Scheme::Hmac => generic::verify(source, headers, body, now),
        // SCIM sources take bearer tokens at /scim/{source}/v2, never signed webhooks.
        Scheme::Scim => Err(SignatureError::Misconfigured(
            "a SCIM source does not receive webhooks",
        )),
        Scheme::PullOnly => Err(SignatureError::Misconfigured(
            "the source has no webhook (scheme \"none\")",
        )),
        Scheme::Graph => Err(SignatureError::Misconfigured(
            "Graph notifications are checked item by item (signature::graph::verify)",
        )),
    }
}

/// The secrets verification may use at `now`, with their positions: empty ones are skipped,
/// so that an empty secret (which config validation refuses) can never make an empty key or
/// an empty static header valid, and so are those outside their `not_before`/`not_after`.
fn usable_secrets(source: &SourceConfig, now: i64) -> impl Iterator<Item = (usize, &Secret)> {
    source
        .secrets
        .iter()
        .enumerate()
        .filter(move |(_, s)| !s.expose().is_empty() && s.live_at(now))
        .map(|(i, s)| (i, &s.value))
}

/// The headers (name, value) a sender using `source`'s scheme would send for `body` signed
/// with `secret` at `now`, with message id `msg_id` where the scheme has one. Used by
/// `domo-group-sync sign` and tests.
///
/// Only `standard-webhooks`, `svix` and an `hmac` profile signing `id.timestamp.body` use
/// `msg_id` (it must then be non-empty). For `standard-webhooks` a `whsk_` private key signs
/// `v1a` (Ed25519). An unusable secret gives `Misconfigured`; call [`check_signing_secret`]
/// first for a message that says how to fix it.
pub fn sign(
    source: &SourceConfig,
    secret: &Secret,
    body: &[u8],
    now: i64,
    msg_id: &str,
) -> Result<Vec<(String, String)>, SignatureError> {
    check_signing_secret(source.scheme, secret)
        .map_err(|_| SignatureError::Misconfigured("the secret is not usable for the scheme"))?;
    match source.scheme {
        Scheme::StandardWebhooks => standard::sign(Flavour::Standard, secret, body, now, msg_id),
        Scheme::Svix => standard::sign(Flavour::Svix, secret, body, now, msg_id),
        Scheme::Github => github::sign(secret, body),
        Scheme::Stripe => stripe::sign(secret, body, now),
        Scheme::Workos => workos::sign(secret, body, now),
        Scheme::Bamboohr => bamboohr::sign(secret, body, now),
        Scheme::Okta => Ok(okta::sign(source, secret)),
        Scheme::Hmac => generic::sign(source, secret, body, now, msg_id),
        Scheme::Scim => Err(SignatureError::Misconfigured(
            "a SCIM source does not sign webhooks",
        )),
        Scheme::PullOnly => Err(SignatureError::Misconfigured(
            "the source has no webhook (scheme \"none\")",
        )),
        Scheme::Graph => Err(SignatureError::Misconfigured(
            "Graph notifications carry their clientState in the body; nothing to sign",
        )),
    }
}

/// The Standard Webhooks headers of an outgoing message (`webhook-id`, `webhook-timestamp`,
/// `webhook-signature`): the same signing code that `sign` and the tests use, so what the
/// service sends its subscribers verifies exactly as what it receives. A `whsec_` secret
/// signs `v1` (HMAC-SHA256), a `whsk_` key `v1a` (Ed25519).
pub fn sign_standard_webhooks(
    secret: &Secret,
    body: &[u8],
    now: i64,
    msg_id: &str,
) -> Result<Vec<(String, String)>, SignatureError> {
    standard::sign(Flavour::Standard, secret, body, now, msg_id)
}

/// Check a configured secret is usable for the scheme. Used by config validation: the error
/// says how to fix the problem and never contains the secret.
///
/// Every scheme refuses an empty secret and one with leading or trailing whitespace (usually
/// the newline at the end of a `file:` secret, which would silently make every signature
/// mismatch). `standard-webhooks` and `svix` also need non-empty base64 after an optional
/// `whsec_`; `okta` needs a value that can be sent as a header; `graph` a `clientState` Graph
/// accepts (at most 128 characters).
pub fn check_secret(scheme: Scheme, secret: &Secret) -> Result<(), String> {
    common_checks(secret)?;
    match scheme {
        Scheme::StandardWebhooks => standard::check_receiver_key(secret),
        Scheme::Svix => standard::key(secret).map(|_| ()),
        _ => scheme_checks(scheme, secret),
    }
}

/// Check a secret a sender signs with (`sign`): as [`check_secret`], except that
/// `standard-webhooks` takes a `whsk_` private key (for `v1a`) where a receiver holds the
/// `whpk_` public key.
pub fn check_signing_secret(scheme: Scheme, secret: &Secret) -> Result<(), String> {
    common_checks(secret)?;
    match scheme {
        Scheme::StandardWebhooks => standard::check_sender_key(secret),
        Scheme::Svix => standard::key(secret).map(|_| ()),
        _ => scheme_checks(scheme, secret),
    }
}

fn common_checks(secret: &Secret) -> Result<(), String> {
    let value = secret.expose();
    if value.is_empty() {
        return Err("the secret is empty; set it to the value the sender shows".into());
    }
    if value.trim() != value {
        return Err(
            "the secret has leading or trailing whitespace (often the newline at the \
                    end of a file: secret); remove it"
                .into(),
        );
    }
    Ok(())
}

fn scheme_checks(scheme: Scheme, secret: &Secret) -> Result<(), String> {
    let value = secret.expose();
    match scheme {
        Scheme::StandardWebhooks | Scheme::Svix => standard::key(secret).map(|_| ()),
        Scheme::Scim if !(value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit())) => {
            Err(
                "a SCIM source's secret is the SHA-256 of the bearer token the IdP sends, as 64 \
                 hex characters (printf %s \"$TOKEN\" | sha256sum), never the token"
                    .into(),
            )
        }
        Scheme::Okta if value.bytes().any(|b| b.is_ascii_control()) => Err(
            "the secret contains control characters and cannot be sent as a header; use \
                 the exact header value configured in Okta"
                .into(),
        ),
        Scheme::Github
        | Scheme::Stripe
        | Scheme::Workos
        | Scheme::Bamboohr
        | Scheme::Okta
        | Scheme::Hmac
        | Scheme::Scim => Ok(()),
        Scheme::Graph => graph::check_secret(value),
        Scheme::PullOnly => {
            Err("scheme \"none\" has no webhook and takes no secret; remove it".into())
        }
    }
}

/// The default timestamp window for a scheme when the source sets none, in seconds.
///
/// 180 s for `workos` (the WorkOS SDKs' default, which the vectors require: 200 s is
/// rejected), 300 s for every other scheme (the Standard Webhooks, Svix and Stripe libraries'
/// default). `github` and `okta` send no timestamp, and `hmac` only when its profile signs one,
/// so the value is unused there.
pub fn default_tolerance_secs(scheme: Scheme) -> u64 {
    match scheme {
        Scheme::Workos => 180,
        Scheme::StandardWebhooks
        | Scheme::Svix
        | Scheme::Github
        | Scheme::Stripe
        | Scheme::Bamboohr
        | Scheme::Okta
        | Scheme::Hmac
        | Scheme::Scim
        | Scheme::PullOnly
        | Scheme::Graph => 300,
    }
}
