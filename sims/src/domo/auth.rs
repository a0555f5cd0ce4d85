//! OAuth client credentials (`GET`/`POST /oauth/token`, reference §1) and bearer-token
//! checks on the API (`Caller`, §1.4).
//!
//! Tokens are JWT-shaped (three base64url parts, the payload carrying `exp`) so that
//! pydomo-style clients that read `exp` work, but the simulator only ever looks them up in
//! its own table; it never trusts what a token says about itself.

use std::collections::HashMap;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, RawQuery, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::Simulator;
use super::error::SimError;
use super::params::query_pairs;

/// The scope the Groups and Users APIs need (reference §1.2).
pub const USER_SCOPE: &str = "user";

/// Above this many live entries, expired tokens are pruned when a new one is issued.
const PRUNE_ABOVE: usize = 10_000;

/// One issued token.
#[derive(Debug, Clone)]
struct IssuedToken {
    expires_at: Instant,
    scopes: Vec<String>,
    user_id: u64,
}

/// What a successful issue returns.
#[derive(Debug, Clone)]
pub struct Grant {
    /// The bearer token.
    pub access_token: String,
    /// The token id (`jti`).
    pub jti: String,
}

/// The table of issued tokens.
#[derive(Debug)]
pub struct Tokens {
    issued: HashMap<String, IssuedToken>,
    rng: fastrand::Rng,
}

impl Tokens {
    /// An empty table whose token strings come from `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            issued: HashMap::new(),
            rng: fastrand::Rng::with_seed(seed),
        }
    }

    /// Issues a token valid for `ttl_secs` from `now`.
    pub fn issue(&mut self, now: Instant, ttl_secs: u64, scopes: &[String], user_id: u64) -> Grant {
        if self.issued.len() > PRUNE_ABOVE {
            self.issued.retain(|_, t| t.expires_at > now);
        }
        let mut bytes = [0_u8; 16];
        self.rng.fill(&mut bytes);
        let jti = uuid::Builder::from_random_bytes(bytes)
            .into_uuid()
            .to_string();
        let unix_now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let payload = json!({
            "iat": unix_now,
            "exp": unix_now.saturating_add(ttl_secs),
            "jti": jti,
            "scope": scopes,
            "user_id": user_id,
        });
        let payload = URL_SAFE_NO_PAD.encode(payload.to_string());
        let mut key = [0_u8; 32];
        self.rng.fill(&mut key);
        let signature = Sha256::new()
            .chain_update(format!("{header}.{payload}"))
            .chain_update(key)
            .finalize();
        let access_token = format!("{header}.{payload}.{}", URL_SAFE_NO_PAD.encode(signature));
        let expires_at = now
            .checked_add(std::time::Duration::from_secs(ttl_secs))
            .unwrap_or(now);
        self.issued.insert(
            access_token.clone(),
            IssuedToken {
                expires_at,
                scopes: scopes.to_vec(),
                user_id,
            },
        );
        Grant { access_token, jti }
    }

    /// The user and scopes of a live token, or the 401 Domo gives.
    fn check(&self, token: &str, now: Instant) -> Result<&IssuedToken, SimError> {
        let issued = self
            .issued
            .get(token)
            .ok_or_else(|| SimError::invalid_token("Cannot convert access token to JSON"))?;
        if issued.expires_at <= now {
            return Err(SimError::invalid_token("Access token expired"));
        }
        Ok(issued)
    }

    /// Makes every issued token expire at `now`; returns how many were still live.
    pub fn expire_all(&mut self, now: Instant) -> usize {
        let mut live = 0;
        for token in self.issued.values_mut() {
            if token.expires_at > now {
                live += 1;
                token.expires_at = now;
            }
        }
        live
    }
}

/// `GET` or `POST /oauth/token`: client credentials by HTTP Basic, `grant_type` and `scope`
/// from the query string or a form body (the body wins).
pub async fn issue_token(
    State(sim): State<Simulator>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Result<Response, SimError> {
    let config = sim.config();
    let (id, secret) = basic_credentials(&headers).ok_or_else(|| {
        SimError::oauth(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Full authentication is required to access this resource",
        )
    })?;
    if id != config.client_id || secret != config.client_secret {
        return Err(SimError::oauth(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Bad credentials",
        ));
    }

    let mut params = query_pairs(query.as_deref());
    params.extend(query_pairs(std::str::from_utf8(&body).ok()));
    let param = |name: &str| {
        params
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    match param("grant_type").as_deref() {
        Some("client_credentials") => {}
        None | Some("") => {
            return Err(SimError::oauth(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "Missing grant type",
            ));
        }
        Some(other) => {
            return Err(SimError::oauth(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                format!("Unsupported grant type: {other}"),
            ));
        }
    }
    let scopes = granted_scopes(param("scope").as_deref(), &config.client_scopes)?;

    let (grant, user_id) = sim.issue_token(&scopes);
    let body = json!({
        "access_token": grant.access_token,
        "customer": config.customer,
        "expires_in": config.token_ttl_secs,
        "jti": grant.jti,
        "role": "Admin",
        "scope": scopes.join(" "),
        "token_type": "bearer",
        "userId": user_id,
    });
    let mut response = (StatusCode::OK, Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// The scopes a token gets: all of the client's when none are asked for, else the asked-for
/// ones, each of which the client must hold.
fn granted_scopes(asked: Option<&str>, client: &[String]) -> Result<Vec<String>, SimError> {
    let asked: Vec<&str> = asked.unwrap_or_default().split_whitespace().collect();
    if asked.is_empty() {
        return Ok(client.to_vec());
    }
    let mut scopes: Vec<String> = Vec::new();
    for scope in asked {
        if !client.iter().any(|c| c == scope) {
            return Err(SimError::OAuth {
                status: StatusCode::BAD_REQUEST,
                error: "invalid_scope".to_owned(),
                description: format!("Invalid scope: {scope}"),
                scope: Some(client.join(" ")),
            });
        }
        if !scopes.iter().any(|s| s == scope) {
            scopes.push(scope.to_owned());
        }
    }
    Ok(scopes)
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

/// The authenticated caller of a `/v1/*` endpoint: a live bearer token with the `user`
/// scope. Rejections are Domo's: no header → 401 bedrock; unknown or expired token → 401
/// `invalid_token`; no `user` scope → 403 `insufficient_scope`.
#[derive(Debug, Clone, Copy)]
pub struct Caller {
    /// The Domo user the token acts as.
    pub user_id: u64,
}

impl FromRequestParts<Simulator> for Caller {
    type Rejection = SimError;

    async fn from_request_parts(parts: &mut Parts, sim: &Simulator) -> Result<Self, SimError> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .filter(|token| !token.is_empty())
            .ok_or_else(|| SimError::authentication_required(parts.uri.path()))?;
        let state = sim.lock();
        let issued = state.tokens.check(token, Instant::now())?;
        if !issued.scopes.iter().any(|s| s == USER_SCOPE) {
            return Err(SimError::insufficient_scope(USER_SCOPE));
        }
        Ok(Self {
            user_id: issued.user_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_default_to_the_clients_and_must_be_a_subset() {
        let client = vec!["data".to_owned(), "user".to_owned()];
        assert_eq!(granted_scopes(None, &client).ok(), Some(client.clone()));
        assert_eq!(
            granted_scopes(Some("user user"), &client).ok(),
            Some(vec!["user".to_owned()])
        );
        let err = granted_scopes(Some("user dashboard"), &client).expect_err("not granted");
        assert_eq!(err.status(), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn expired_and_unknown_tokens_are_invalid() {
        let mut tokens = Tokens::new(1);
        let now = Instant::now();
        let grant = tokens.issue(now, 60, &["user".to_owned()], 7);
        assert_eq!(grant.access_token.split('.').count(), 3);
        assert!(tokens.check(&grant.access_token, now).is_ok());
        assert!(tokens.check("nope", now).is_err());
        assert_eq!(tokens.expire_all(now), 1);
        assert!(tokens.check(&grant.access_token, now).is_err());
    }
}
