//! Entra's client-credentials token (`{login_base}/{tenant}/oauth2/v2.0/token`, scope
//! `https://graph.microsoft.com/.default`): by client secret, or by a certificate whose private
//! key signs a `private_key_jwt` client assertion (`x5t`: the certificate's SHA-1 thumbprint).
//! The token is kept until shortly before its `expires_in`.

use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::sync::Mutex;

use crate::config::{PullConfig, Secret};
use crate::pull::connector::{Progress, PullError};
use crate::pull::http::{Http, Request};
use crate::pull::jwt::{SigningKey, certificate_thumbprint};

/// The one scope of a client-credentials request for Graph.
pub(super) const SCOPE: &str = "https://graph.microsoft.com/.default";
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// A token is renewed this long before Entra says it expires.
const EARLY: Duration = Duration::from_secs(120);

/// How the app proves itself.
pub(super) enum Credential {
    Secret(Secret),
    Certificate { key: Box<SigningKey>, x5t: String },
}

pub(super) struct Auth {
    /// The token endpoint.
    url: url::Url,
    client_id: String,
    credential: Credential,
    token: Mutex<Option<(String, Instant)>>,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

impl Auth {
    pub(super) fn from_config(pull: &PullConfig) -> Result<Auth, String> {
        let client_id = pull
            .client_id
            .as_ref()
            .ok_or("Entra needs `client_id` (the application id)")?;
        let tenant = pull.tenant_id.as_ref().ok_or("Entra needs `tenant_id`")?;
        let credential = match (&pull.client_secret, &pull.private_key) {
            (Some(secret), None) => Credential::Secret(secret.clone()),
            (None, Some(pem)) => Credential::Certificate {
                key: Box::new(SigningKey::from_pem(pem.expose())?),
                x5t: certificate_thumbprint(pem.expose()).ok_or(
                    "Entra's certificate credentials need the certificate: put its PEM \
                     (`BEGIN CERTIFICATE`) after the private key in the same secret",
                )?,
            },
            _ => return Err("Entra needs exactly one of `client_secret` and `private_key`".into()),
        };
        Ok(Auth {
            url: token_url(pull.login_base.as_ref(), tenant.expose())?,
            client_id: client_id.expose().to_owned(),
            credential,
            token: Mutex::new(None),
        })
    }

    /// The token request's form at `now` (unix seconds): the client-credentials grant with
    /// the secret, or with a fresh client assertion signed by the certificate's key.
    pub(super) fn form(&self, now: i64) -> Result<Vec<(&'static str, String)>, PullError> {
        let mut form = vec![
            ("grant_type", "client_credentials".to_owned()),
            ("client_id", self.client_id.clone()),
            ("scope", SCOPE.to_owned()),
        ];
        match &self.credential {
            Credential::Secret(s) => form.push(("client_secret", s.expose().to_owned())),
            Credential::Certificate { key, x5t } => {
                let assertion = key
                    .client_assertion_with(&self.client_id, self.url.as_str(), now, Some(x5t))
                    .map_err(|e| {
                        PullError::Unauthorized(format!("cannot sign the client assertion: {e}"))
                    })?;
                form.push(("client_assertion_type", ASSERTION_TYPE.to_owned()));
                form.push(("client_assertion", assertion));
            }
        }
        Ok(form)
    }

    /// Drops the cached access token.
    pub(super) async fn forget(&self) {
        *self.token.lock().await = None;
    }

    /// The `Authorization` header value: the cached token, or a new one.
    pub(super) async fn header(
        &self,
        http: &Http,
        progress: &Progress<'_>,
    ) -> Result<String, PullError> {
        let mut cached = self.token.lock().await;
        if let Some((value, expires)) = cached.as_ref()
            && Instant::now() < *expires
        {
            return Ok(format!("Bearer {value}"));
        }
        let form = self.form(chrono::Utc::now().timestamp())?;
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let request = Request {
            method: reqwest::Method::POST,
            url: &self.url,
            auth: None,
            form: Some(&pairs),
            bucket: "token",
        };
        let answer = http.send(&request, progress).await.map_err(|e| match e {
            // AADSTS errors (`invalid_client`, `unauthorized_client`, `invalid_scope`, an
            // unknown tenant) come as 400 or 401.
            PullError::Provider { status, detail } if status < 500 => {
                PullError::Unauthorized(format!("the token endpoint answered {status}: {detail}"))
            }
            other => other,
        })?;
        let t: TokenAnswer = answer.json()?;
        let lifetime = Duration::from_secs(t.expires_in.unwrap_or(3599));
        let expires = Instant::now() + lifetime.saturating_sub(EARLY).max(Duration::from_secs(10));
        let header = format!("Bearer {}", t.access_token);
        *cached = Some((t.access_token, expires));
        Ok(header)
    }
}

/// `{login_base}/{tenant}/oauth2/v2.0/token`, the tenant as one path segment.
pub(super) fn token_url(login_base: Option<&url::Url>, tenant: &str) -> Result<url::Url, String> {
    let mut url = match login_base {
        Some(u) => u.clone(),
        None => url::Url::parse(crate::config::ENTRA_LOGIN_BASE).map_err(|e| e.to_string())?,
    };
    url.path_segments_mut()
        .map_err(|()| "login_base cannot have a path".to_owned())?
        .pop_if_empty()
        .extend([tenant, "oauth2", "v2.0", "token"]);
    Ok(url)
}
