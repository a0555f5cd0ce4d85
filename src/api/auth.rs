//! Bearer-token auth for `/api/v1`.
//!
//! Tokens are configured as the SHA-256 of the token (`[[api.tokens]]`), never in clear. A
//! request's token is hashed and compared with every configured hash in constant time (no
//! early exit, so the answer time does not say which hash came close).
//!
//! Scopes are independent: a token has exactly the scopes it lists, and `admin` does not imply
//! `write`, nor `write` `read`. Each operation needs one scope; give a token every scope its
//! holder needs (`["read", "write"]` is the usual pair). Independence keeps the grant explicit
//! and makes "a token without this scope" exist for every operation.
//!
//! Handlers take `Auth<Read>`, `Auth<Write>` or `Auth<Admin>` as their FIRST argument, so the
//! token is checked before the path, the query or the body is looked at.

use std::marker::PhantomData;

use axum::extract::FromRequestParts;
use axum::http::HeaderValue;
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::AppState;
use crate::config::{ApiScope, ApiToken};
use crate::error::{ApiError, ProblemKind};

/// The name of the security scheme in the OpenAPI document.
pub const BEARER: &str = "bearer";

/// A scope an operation requires, as a type.
pub trait Scope: Send + Sync + 'static {
    const SCOPE: ApiScope;
}

/// The `read` scope: look at events, users, groups, sources, plans.
pub struct Read;
/// The `write` scope: submit events, onboard/offboard, change memberships, replay.
pub struct Write;
/// The `admin` scope: create Domo groups, run reconciles, reload the configuration.
pub struct Admin;

impl Scope for Read {
    const SCOPE: ApiScope = ApiScope::Read;
}
impl Scope for Write {
    const SCOPE: ApiScope = ApiScope::Write;
}
impl Scope for Admin {
    const SCOPE: ApiScope = ApiScope::Admin;
}

/// A request authenticated with a token that has scope `S`.
pub struct Auth<S: Scope> {
    /// The configured name of the token (for logs and audit; never the token).
    pub token_name: String,
    _scope: PhantomData<S>,
}

/// Finds the configured token whose hash matches `presented` and that is live at `now`
/// (unix seconds; outside its `not_before`/`not_after` it is unknown). Every hash is
/// compared, in constant time.
pub fn find_token<'a>(tokens: &'a [ApiToken], presented: &str, now: i64) -> Option<&'a ApiToken> {
    let position = matching_digest(presented, tokens.iter().map(|t| (t.sha256, t.live_at(now))))?;
    tokens.get(position)
}

/// The position of the candidate (SHA-256 digest, live) whose digest is that of `presented`
/// and that is live. Every digest is compared, in constant time, with no early exit, so the
/// answer time does not say which came close. Shared by API tokens and SCIM sources.
pub fn matching_digest(
    presented: &str,
    candidates: impl IntoIterator<Item = ([u8; 32], bool)>,
) -> Option<usize> {
    let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
    let mut found = None;
    for (i, (candidate, live)) in candidates.into_iter().enumerate() {
        if bool::from(candidate.ct_eq(&digest)) && live {
            found = Some(i);
        }
    }
    found
}

/// The token of an `Authorization: Bearer <token>` header.
pub fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// An auth failure: a problem document, with `WWW-Authenticate: Bearer` on a 401 (RFC 6750).
pub struct AuthRejection(pub ApiError);

impl From<ApiError> for AuthRejection {
    fn from(e: ApiError) -> Self {
        AuthRejection(e)
    }
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        let unauthorized = self.0.kind == ProblemKind::Unauthorized;
        let mut resp = self.0.into_response();
        if unauthorized {
            resp.headers_mut()
                .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        resp
    }
}

impl<S: Scope> FromRequestParts<AppState> for Auth<S> {
    type Rejection = AuthRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, AuthRejection> {
        let Some(presented) = bearer(parts) else {
            return Err(ApiError::with_detail(
                ProblemKind::Unauthorized,
                "send `Authorization: Bearer <token>`",
            )
            .into());
        };
        let live = state.live.load();
        let now = chrono::Utc::now().timestamp();
        let Some(token) = find_token(&live.api_tokens, presented, now) else {
            tracing::debug!("api: unknown (or expired) bearer token");
            return Err(ApiError::new(ProblemKind::Unauthorized).into());
        };
        metrics::counter!(crate::prometheus::TOKEN_USES, "token" => token.name.clone())
            .increment(1);
        if !token.scopes.contains(&S::SCOPE) {
            tracing::debug!(api.token = %token.name, scope = ?S::SCOPE, "api: missing scope");
            return Err(ApiError::with_detail(
                ProblemKind::Forbidden,
                format!("this operation needs the `{}` scope", scope_name(S::SCOPE)),
            )
            .into());
        }
        Ok(Auth {
            token_name: token.name.clone(),
            _scope: PhantomData,
        })
    }
}

/// The scope's configured name.
pub fn scope_name(s: ApiScope) -> &'static str {
    match s {
        ApiScope::Read => "read",
        ApiScope::Write => "write",
        ApiScope::Admin => "admin",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(name: &str, secret: &str) -> ApiToken {
        ApiToken {
            name: name.into(),
            sha256: Sha256::digest(secret.as_bytes()).into(),
            scopes: vec![ApiScope::Read],
            not_before: None,
            not_after: None,
        }
    }

    #[test]
    fn a_token_is_found_by_its_hash_and_only_by_it() {
        let tokens = [token("a", "alpha-token"), token("b", "bravo-token")];
        assert_eq!(
            find_token(&tokens, "bravo-token", 0).map(|t| t.name.as_str()),
            Some("b")
        );
        assert!(find_token(&tokens, "bravo-toke", 0).is_none());
        assert!(find_token(&tokens, "", 0).is_none());
        assert!(find_token(&[], "alpha-token", 0).is_none());
    }

    #[test]
    fn a_token_outside_its_lifetime_is_unknown() {
        let mut t = token("a", "alpha-token");
        t.not_before = Some(100);
        t.not_after = Some(200);
        let tokens = [t];
        assert!(find_token(&tokens, "alpha-token", 99).is_none());
        assert!(find_token(&tokens, "alpha-token", 100).is_some());
        assert!(find_token(&tokens, "alpha-token", 199).is_some());
        assert!(find_token(&tokens, "alpha-token", 200).is_none());
    }
}
