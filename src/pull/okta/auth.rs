//! Okta credentials: a static `SSWS` API token, or an OAuth 2.0 service app whose one-hour
//! access token is obtained with a `private_key_jwt` client assertion (client credentials
//! grant, `POST /oauth2/v1/token` on the org authorization server) and cached until shortly
//! before it expires.

use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::sync::Mutex;

use super::Okta;
use crate::config::{PullConfig, Secret};
use crate::pull::connector::{Progress, PullError};
use crate::pull::http::Request;
use crate::pull::jwt::SigningKey;

/// The scopes the pull needs (`reference/backfill.md` §1.3).
pub const SCOPES: &str = "okta.logs.read okta.users.read okta.groups.read";
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// A token is renewed this long before Okta says it expires.
const EARLY: Duration = Duration::from_secs(120);

pub(super) enum Auth {
    Ssws(Secret),
    Service {
        client_id: String,
        key: Box<SigningKey>,
        token: Mutex<Option<(String, Instant)>>,
    },
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

impl Auth {
    pub(super) fn from_config(pull: &PullConfig) -> Result<Auth, String> {
        match (&pull.token, &pull.client_id, &pull.private_key) {
            (Some(token), _, _) => Ok(Auth::Ssws(token.clone())),
            (None, Some(client_id), Some(key)) => Ok(Auth::Service {
                client_id: client_id.expose().to_owned(),
                key: Box::new(SigningKey::from_pem(key.expose())?),
                token: Mutex::new(None),
            }),
            _ => Err("Okta needs `token`, or `client_id` and `private_key`".into()),
        }
    }

    pub(super) fn is_oauth(&self) -> bool {
        matches!(self, Auth::Service { .. })
    }

    /// Drops the cached access token.
    pub(super) async fn forget(&self) {
        if let Auth::Service { token, .. } = self {
            *token.lock().await = None;
        }
    }

    /// The `Authorization` header value.
    pub(super) async fn header(
        &self,
        okta: &Okta,
        progress: &Progress<'_>,
    ) -> Result<String, PullError> {
        let (client_id, key, token) = match self {
            Auth::Ssws(t) => return Ok(format!("SSWS {}", t.expose())),
            Auth::Service {
                client_id,
                key,
                token,
            } => (client_id, key, token),
        };
        let mut cached = token.lock().await;
        if let Some((value, expires)) = cached.as_ref()
            && Instant::now() < *expires
        {
            return Ok(format!("Bearer {value}"));
        }
        let url = okta.endpoint("oauth2/v1/token")?;
        let assertion = key
            .client_assertion(client_id, url.as_str(), chrono::Utc::now().timestamp())
            .map_err(|e| {
                PullError::Unauthorized(format!("cannot sign the client assertion: {e}"))
            })?;
        let form = [
            ("grant_type", "client_credentials"),
            ("scope", SCOPES),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", assertion.as_str()),
        ];
        let request = Request {
            method: reqwest::Method::POST,
            url: &url,
            auth: None,
            form: Some(&form),
            bucket: "token",
        };
        let answer = okta
            .http
            .send(&request, progress)
            .await
            .map_err(|e| match e {
                // The OAuth errors (`invalid_client`, `invalid_scope`) come as 400 or 401.
                PullError::Provider { status, detail } if status < 500 => PullError::Unauthorized(
                    format!("the token endpoint answered {status}: {detail}"),
                ),
                other => other,
            })?;
        let t: TokenAnswer = answer.json()?;
        let lifetime = Duration::from_secs(t.expires_in.unwrap_or(3600));
        let expires = Instant::now() + lifetime.saturating_sub(EARLY).max(Duration::from_secs(10));
        let header = format!("Bearer {}", t.access_token);
        *cached = Some((t.access_token, expires));
        Ok(header)
    }
}
