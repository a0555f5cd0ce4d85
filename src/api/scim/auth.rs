//! Who may call `/scim/{source}/v2`: the source must be a `scim` source, the client address in
//! its `allow_ips`, and the bearer token one whose SHA-256 is among its live `secrets`
//! (compared in constant time, as API tokens are). Secrets reload with the configuration.

use std::collections::HashMap;

use axum::extract::{ConnectInfo, FromRequestParts, Path};
use axum::http::StatusCode;
use axum::http::request::Parts;

use crate::api::AppState;
use crate::api::auth::{bearer, matching_digest};
use crate::config::{Format, SourceConfig, SourceSecret};
use crate::scim::ScimError;

/// An authenticated SCIM request: its source, and the absolute base URL it is served at.
pub struct ScimSource {
    pub name: String,
    /// `{public_url or http://Host}/scim/{source}/v2`, for `meta.location`.
    pub base: String,
}

/// The digest of a configured secret (64 hex characters; validated when loaded).
fn digest(s: &SourceSecret) -> [u8; 32] {
    let mut out = [0u8; 32];
    if hex::decode_to_slice(s.expose().trim(), &mut out).is_err() {
        // Never matches a real token's digest by accident: config validation refuses it.
        out = [0xff; 32];
    }
    out
}

/// The position of the secret `presented` matches, live at `now`.
pub fn matching_secret(source: &SourceConfig, presented: &str, now: i64) -> Option<usize> {
    matching_digest(
        presented,
        source
            .secrets
            .iter()
            .map(|s| (digest(s), !s.expose().is_empty() && s.live_at(now))),
    )
}

impl FromRequestParts<AppState> for ScimSource {
    type Rejection = super::ScimRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let params: Path<HashMap<String, String>> = Path::from_request_parts(parts, state)
            .await
            .map_err(|_| ScimError::not_found("no such SCIM endpoint"))?;
        let name = params.get("source").cloned().unwrap_or_default();
        let live = state.live.load();
        let Some(src) = live
            .sources
            .get(&name)
            .filter(|s| s.format == Format::Scim)
            .cloned()
        else {
            return Err(ScimError::not_found(format!("no SCIM source is named `{name}`")).into());
        };
        let peer = parts
            .extensions
            .get::<ConnectInfo<std::net::SocketAddr>>()
            .map(|c| axum::Extension(*c));
        crate::api::allowlist::check(&live, &src, &parts.headers, &peer).map_err(|_| {
            ScimError::status(
                StatusCode::FORBIDDEN,
                "requests from this address are not accepted",
            )
        })?;
        let Some(presented) = bearer(parts) else {
            metrics::counter!(crate::prometheus::SIGNATURE_FAILURES, "source" => name.clone(), "reason" => "missing")
                .increment(1);
            return Err(super::ScimRejection::unauthorized(
                "send `Authorization: Bearer <token>`",
            ));
        };
        let Some(position) = matching_secret(&src, presented, chrono::Utc::now().timestamp())
        else {
            tracing::debug!(scim.source = %name, "scim: unknown (or expired) bearer token");
            metrics::counter!(crate::prometheus::SIGNATURE_FAILURES, "source" => name.clone(), "reason" => "mismatch")
                .increment(1);
            return Err(super::ScimRejection::unauthorized(
                "the bearer token is not valid for this source",
            ));
        };
        let label = src
            .secrets
            .get(position)
            .map_or_else(|| position.to_string(), |s| s.label(position));
        metrics::counter!(crate::prometheus::SIGNATURE_VERIFICATIONS, "source" => name.clone(), "secret" => label)
            .increment(1);
        let origin = match &state.public_url {
            Some(u) => u.as_str().trim_end_matches('/').to_owned(),
            None => {
                let host = parts
                    .headers
                    .get(axum::http::header::HOST)
                    .and_then(|h| h.to_str().ok())
                    .filter(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_graphic()))
                    .unwrap_or("localhost");
                format!("http://{host}")
            }
        };
        Ok(ScimSource {
            base: format!("{origin}/scim/{name}/v2"),
            name,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Scheme;
    use sha2::{Digest, Sha256};

    fn source(secrets: Vec<SourceSecret>) -> SourceConfig {
        SourceConfig {
            name: "idp".into(),
            format: Format::Scim,
            scheme: Scheme::Scim,
            secrets,
            tolerance_secs: 300,
            header: "Authorization".into(),
            hmac: None,
            allow_ips: Vec::new(),
            pull: None,
        }
    }

    fn hex_digest(token: &str) -> String {
        hex::encode(Sha256::digest(token.as_bytes()))
    }

    #[test]
    fn a_token_matches_by_its_digest_and_only_live_secrets_count() {
        let old = SourceSecret {
            not_after: Some(100),
            ..SourceSecret::new(hex_digest("old-token"))
        };
        let src = source(vec![old, SourceSecret::new(hex_digest("new-token"))]);
        assert_eq!(matching_secret(&src, "new-token", 50), Some(1));
        assert_eq!(matching_secret(&src, "old-token", 50), Some(0));
        assert_eq!(matching_secret(&src, "old-token", 100), None, "expired");
        assert_eq!(matching_secret(&src, "new-toke", 50), None);
        assert_eq!(matching_secret(&src, "", 50), None);
        let mut upper = src.clone();
        upper.secrets[1] = SourceSecret::new(hex_digest("new-token").to_uppercase());
        assert_eq!(
            matching_secret(&upper, "new-token", 50),
            Some(1),
            "hex case does not matter"
        );
    }
}
