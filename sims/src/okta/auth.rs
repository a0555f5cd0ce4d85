//! Okta auth (reference §1.3): `Authorization: SSWS <api token>`, or `Bearer <access token>`
//! from `POST /oauth2/v1/token` with a `client_credentials` grant and a `private_key_jwt`
//! client assertion. The assertion's structure and claims are checked (alg, `iss`=`sub`=the
//! client id, `aud` = this server's token URL, `exp` in the future and at most an hour ahead,
//! `jti` never reused); its **signature is not verified** (no RSA/EC code here).

use std::collections::{BTreeMap, BTreeSet};

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::Simulator;
use super::error::OktaError;
use crate::shared::base_url;

/// The client assertion type OAuth requires for a JWT.
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Issued access tokens and used assertion ids.
#[derive(Debug, Default)]
pub struct Tokens {
    /// Token → (expiry, scopes).
    issued: BTreeMap<String, (DateTime<Utc>, BTreeSet<String>)>,
    used_jti: BTreeSet<String>,
}

impl Tokens {
    /// Makes every issued token expire; returns how many were live.
    pub fn expire_all(&mut self, now: DateTime<Utc>) -> usize {
        let live = self.issued.values().filter(|(exp, _)| *exp > now).count();
        self.issued.clear();
        live
    }
}

/// Checks the request's credentials for an endpoint needing `scope`.
pub fn authorize(sim: &Simulator, headers: &HeaderMap, scope: &str) -> Result<(), OktaError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let (scheme, credential) = value.split_once(' ').unwrap_or((value, ""));
    let credential = credential.trim();
    if scheme.eq_ignore_ascii_case("SSWS") {
        return if sim.config().api_tokens.iter().any(|t| t == credential) {
            Ok(())
        } else {
            Err(OktaError::invalid_token())
        };
    }
    if scheme.eq_ignore_ascii_case("Bearer") {
        let state = sim.lock();
        return match state.tokens.issued.get(credential) {
            Some((exp, _)) if *exp <= Utc::now() => Err(OktaError::invalid_token()),
            Some((_, scopes)) if scopes.contains(scope) => Ok(()),
            Some(_) => Err(OktaError::forbidden()),
            None => Err(OktaError::invalid_token()),
        };
    }
    Err(OktaError::invalid_token())
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

/// `POST /oauth2/v1/token` (form body).
pub async fn issue_token(
    State(sim): State<Simulator>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form: BTreeMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let get = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    match get("grant_type") {
        "client_credentials" => {}
        "" => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "The request is missing a required parameter: grant_type.",
            );
        }
        _ => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "The authorization grant type is not supported by the authorization server.",
            );
        }
    }
    if form.contains_key("client_secret") || get("client_assertion_type") != ASSERTION_TYPE {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed: this service app requires private_key_jwt.",
        );
    }
    let now = Utc::now();
    let audience = format!("{}/oauth2/v1/token", base_url(&headers));
    let client_id = sim.config().client_id.clone();
    let jti = match check_assertion(get("client_assertion"), &client_id, &audience, now) {
        Ok(jti) => jti,
        Err(description) => {
            return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", &description);
        }
    };
    let requested: BTreeSet<String> = get("scope").split_whitespace().map(str::to_owned).collect();
    if requested.is_empty() {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            "The authorization server resource does not have any configured default scopes, 'scope' must be provided.",
        );
    }
    let granted = &sim.config().granted_scopes;
    if let Some(missing) = requested.iter().find(|s| !granted.contains(s)) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            &format!("The following scopes are not allowed: {missing}"),
        );
    }
    let ttl = i64::try_from(sim.config().token_ttl_secs).unwrap_or(3600);
    let token = format!("eyJraWQiOiJzaW0ifQ.{}.sim", uuid::Uuid::new_v4().simple());
    {
        let mut state = sim.lock();
        if let Some(jti) = jti
            && !state.tokens.used_jti.insert(jti)
        {
            return oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "The client_assertion token has already been used.",
            );
        }
        let expires = now + chrono::Duration::seconds(ttl);
        state
            .tokens
            .issued
            .insert(token.clone(), (expires, requested.clone()));
    }
    let scope = requested.into_iter().collect::<Vec<_>>().join(" ");
    Json(json!({
        "token_type": "Bearer",
        "expires_in": ttl,
        "access_token": token,
        "scope": scope,
    }))
    .into_response()
}

/// Checks a `private_key_jwt` assertion; returns its `jti`, or the error description.
pub fn check_assertion(
    jwt: &str,
    client_id: &str,
    audience: &str,
    now: DateTime<Utc>,
) -> Result<Option<String>, String> {
    let parts: Vec<&str> = jwt.split('.').collect();
    let [header, payload, signature] = parts[..] else {
        return Err("The client_assertion is not a well-formed JWT.".to_owned());
    };
    let decode = |part: &str| -> Option<Value> {
        let bytes = URL_SAFE_NO_PAD.decode(part).ok()?;
        serde_json::from_slice(&bytes).ok()
    };
    let (Some(header), Some(claims)) = (decode(header), decode(payload)) else {
        return Err("The client_assertion is not a well-formed JWT.".to_owned());
    };
    if signature.is_empty() || URL_SAFE_NO_PAD.decode(signature).is_err() {
        return Err("The client_assertion signature is invalid.".to_owned());
    }
    const ALGS: [&str; 6] = ["RS256", "RS384", "RS512", "ES256", "ES384", "ES512"];
    let alg = header.get("alg").and_then(Value::as_str).unwrap_or("");
    if !ALGS.contains(&alg) {
        return Err(format!(
            "The client_assertion algorithm {alg:?} is not supported."
        ));
    }
    let claim = |k: &str| claims.get(k).and_then(Value::as_str);
    if claim("iss") != Some(client_id) || claim("sub") != Some(client_id) {
        return Err("The client_assertion iss and sub must be the client_id.".to_owned());
    }
    let audience_ok = match claims.get("aud") {
        Some(Value::String(aud)) => aud == audience,
        Some(Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(audience)),
        _ => false,
    };
    if !audience_ok {
        return Err(format!(
            "The audience claim for client_assertion must be '{audience}'."
        ));
    }
    let now_secs = now.timestamp();
    match claims.get("exp").and_then(Value::as_i64) {
        None => return Err("The client_assertion token must have an exp claim.".to_owned()),
        Some(exp) if exp <= now_secs => {
            return Err("The client_assertion token is expired.".to_owned());
        }
        Some(exp) if exp > now_secs + 3600 => {
            return Err(
                "The client_assertion token has an expiration too far into the future.".to_owned(),
            );
        }
        Some(_) => {}
    }
    if claims
        .get("iat")
        .and_then(Value::as_i64)
        .is_some_and(|iat| iat > now_secs + 60)
    {
        return Err("The client_assertion token was issued in the future.".to_owned());
    }
    Ok(claim("jti").map(str::to_owned))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(header: &Value, claims: &Value) -> String {
        let part = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
        format!(
            "{}.{}.{}",
            part(header),
            part(claims),
            URL_SAFE_NO_PAD.encode(b"sig")
        )
    }

    #[test]
    fn assertion_claims_are_checked() {
        let now = Utc::now();
        let aud = "http://127.0.0.1:1/oauth2/v1/token";
        let good = json!({"iss": "app", "sub": "app", "aud": aud, "exp": now.timestamp() + 300, "jti": "j1"});
        let rs = json!({"alg": "RS256"});
        assert_eq!(
            check_assertion(&jwt(&rs, &good), "app", aud, now),
            Ok(Some("j1".into()))
        );
        let mut cases = Vec::new();
        cases.push(jwt(&json!({"alg": "HS256"}), &good));
        for (k, v) in [
            ("iss", json!("other")),
            ("aud", json!("http://elsewhere/oauth2/v1/token")),
            ("exp", json!(now.timestamp() - 1)),
            ("exp", json!(now.timestamp() + 7200)),
        ] {
            let mut claims = good.clone();
            claims[k] = v;
            cases.push(jwt(&rs, &claims));
        }
        cases.push("not-a-jwt".to_owned());
        for case in cases {
            assert!(check_assertion(&case, "app", aud, now).is_err(), "{case}");
        }
    }
}
