//! The signed-in user of every console request, and what a session is (signing in and out
//! is in `sign_in`).
//!
//! Sign-in takes an API token through a form (never a URL), checks it as the API does, and
//! opens a server-side session: a random 256-bit id goes to the browser in an HttpOnly,
//! SameSite=Strict cookie, and only the id's SHA-256 is stored. Over HTTPS (directly, or
//! through a trusted proxy that says so, or with an `https` `server.public_url`) the cookie
//! is `Secure` and `__Host-` prefixed, and only that name is read. Every request re-reads the
//! session row and the live token: an expired session, or one whose token a reload removed or
//! replaced, sends the browser back to the form. The CSRF token of a session is derived from
//! its id (HMAC), so it needs no storage and a copy of the database does not reveal it.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use hmac::{KeyInit, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::error::ConsoleError;
use super::limiter::UNKNOWN_CLIENT;
use crate::api::AppState;
use crate::config::{ApiScope, ClientIpHeader};

/// The session cookie over plain HTTP (path `/console`).
pub const SESSION_COOKIE: &str = "dgs_console";
/// The session cookie over HTTPS: `__Host-` makes the browser require `Secure`, `Path=/` and
/// no `Domain`, so a sibling subdomain cannot plant one.
pub const SESSION_COOKIE_SECURE: &str = "__Host-dgs_console";
/// The sign-in form's own CSRF cookie (double submit: there is no session yet).
pub(super) const FORM_COOKIE: &str = "dgs_console_form";
pub(super) const FORM_COOKIE_SECURE: &str = "__Host-dgs_console_form";
/// A session is marked used at most this often (a write per page view would be waste).
const TOUCH_EVERY_MS: i64 = 60_000;

/// What a request says about itself: over HTTPS or not, and from which client address.
#[derive(Debug, Clone, Copy)]
pub struct Facts {
    pub secure: bool,
    pub client: IpAddr,
}

impl Facts {
    pub(super) fn of(parts: &Parts, state: &AppState) -> Facts {
        let live = state.live.load();
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(a)| a.ip());
        let h = &parts.headers;
        let values = |name: &str| -> Vec<&str> {
            h.get_all(name)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect()
        };
        let public_https = state
            .public_url
            .as_ref()
            .is_some_and(|u| u.scheme() == "https");
        let forwarded_https = peer.is_some_and(|p| {
            crate::net::forwarded_proto(
                p,
                &live.trusted_proxies,
                values("x-forwarded-proto"),
                values("forwarded"),
            )
            .as_deref()
                == Some("https")
        });
        let client = peer.and_then(|p| {
            let chain = match live.client_ip_header {
                ClientIpHeader::XForwardedFor => {
                    crate::net::parse_x_forwarded_for(values("x-forwarded-for"))
                }
                ClientIpHeader::Forwarded => crate::net::parse_forwarded(values("forwarded")),
            };
            crate::net::client_ip(p, &live.trusted_proxies, &chain)
        });
        Facts {
            secure: public_https || forwarded_https,
            client: client.unwrap_or(UNKNOWN_CLIENT),
        }
    }
}

/// The signed-in user of a console request.
#[derive(Debug, Clone)]
pub struct ConsoleUser {
    /// The configured name of the token the session was opened with.
    pub token_name: String,
    /// The token's scopes now (a reload may have changed them).
    pub scopes: Vec<ApiScope>,
    /// The session's CSRF token, for the forms of the page.
    pub csrf: String,
    /// The hash of the session id (its row).
    pub(super) id_sha256: String,
    pub facts: Facts,
}

impl ConsoleUser {
    /// Whether the token has `scope`.
    pub fn can(&self, scope: ApiScope) -> bool {
        self.scopes.contains(&scope)
    }

    /// `Ok` when the token has `scope`, else a 403 page naming it.
    pub fn require(&self, scope: ApiScope) -> Result<(), ConsoleError> {
        if self.can(scope) {
            Ok(())
        } else {
            Err(ConsoleError::forbidden(&format!(
                "Your token does not have the `{}` scope this needs.",
                crate::api::auth::scope_name(scope)
            )))
        }
    }

    /// `Ok` when `presented` is this session's CSRF token (constant time).
    pub fn check_csrf(&self, presented: &str) -> Result<(), ConsoleError> {
        if bool::from(self.csrf.as_bytes().ct_eq(presented.as_bytes())) {
            Ok(())
        } else {
            Err(ConsoleError::forbidden(
                "The form's security token does not match your session. Reload the page and try again.",
            ))
        }
    }
}

pub(super) fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// 32 random bytes from the operating system, hex.
pub(super) fn random_hex() -> Result<String, ConsoleError> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).map_err(|e| {
        tracing::error!(error = %e, "console: no randomness for a session id");
        ConsoleError::from(crate::error::ApiError::new(
            crate::error::ProblemKind::Internal,
        ))
    })?;
    Ok(hex::encode(b))
}

pub(super) fn csrf_of(session_id: &str) -> String {
    let mut mac = hmac::Hmac::<Sha256>::new_from_slice(session_id.as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(b"dgs-console-csrf");
    hex::encode(mac.finalize().into_bytes())
}

/// The value of cookie `name`, if the request sent it.
pub(super) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

/// A `Set-Cookie` value: HttpOnly and SameSite=Strict always; `Secure` over HTTPS (and then
/// the `__Host-` rules: `Path=/`). `max_age` 0 deletes it; `None` makes a browser-session
/// cookie (the server's expiry is what counts).
pub(super) fn set_cookie(
    secure: bool,
    plain: &str,
    host: &str,
    value: &str,
    max_age: Option<u64>,
) -> String {
    let (name, path) = if secure {
        (host, "/")
    } else {
        (plain, "/console")
    };
    let mut c = format!("{name}={value}; Path={path}; HttpOnly; SameSite=Strict");
    if secure {
        c.push_str("; Secure");
    }
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    c
}

pub(super) fn with_cookies(mut resp: Response, cookies: &[String]) -> Response {
    for c in cookies {
        if let Ok(v) = HeaderValue::from_str(c) {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    resp
}

/// Where to go back to after signing in: a console path, else the overview (never another
/// site: no scheme, no `//`, no backslash).
pub(super) fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if (n == "/console" || n.starts_with("/console/") || n.starts_with("/console?"))
                && !n.contains("//")
                && !n.contains('\\')
                && !n.starts_with("/console/sign-") =>
        {
            n.to_owned()
        }
        _ => "/console".to_owned(),
    }
}

pub(super) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl FromRequestParts<AppState> for ConsoleUser {
    type Rejection = ConsoleError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ConsoleError> {
        let facts = Facts::of(parts, state);
        let next = parts
            .uri
            .path_and_query()
            .map_or("/console", |p| p.as_str())
            .to_owned();
        let sign_in = || ConsoleError::SignIn {
            next: safe_next(Some(&next)),
        };
        let name = if facts.secure {
            SESSION_COOKIE_SECURE
        } else {
            SESSION_COOKIE
        };
        let Some(id) = cookie(&parts.headers, name).filter(|v| v.len() == 64) else {
            return Err(sign_in());
        };
        let id_sha256 = sha256_hex(id);
        let Some(row) = state.store.get_session(&id_sha256).await? else {
            return Err(sign_in());
        };
        let now = now_ms();
        let cfg = &state.console.config;
        let idle_ms = i64::try_from(cfg.session_idle_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
        let live = state.live.load();
        let token = live.api_tokens.iter().find(|t| {
            t.name == row.token_name
                && hex::encode(t.sha256) == row.token_sha256
                && t.live_at(now / 1000)
        });
        let expired = row.expires_ms <= now || row.last_seen_ms.saturating_add(idle_ms) <= now;
        let Some(token) = token.filter(|_| !expired) else {
            tracing::debug!(console.token = %row.token_name, expired, "console: session ended");
            state.store.delete_session(&id_sha256).await?;
            return Err(sign_in());
        };
        if now - row.last_seen_ms >= TOUCH_EVERY_MS {
            state.store.touch_session(&id_sha256, now).await?;
        }
        Ok(ConsoleUser {
            token_name: token.name.clone(),
            scopes: token.scopes.clone(),
            csrf: csrf_of(id),
            id_sha256,
            facts,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_inside_the_console() {
        assert_eq!(
            safe_next(Some("/console/events?status=dead")),
            "/console/events?status=dead"
        );
        assert_eq!(safe_next(Some("/console")), "/console");
        for bad in [
            "https://evil.example/console",
            "//evil.example",
            "/console//evil",
            "/consolex",
            "/console/\\evil",
            "/console/sign-out",
            "/api/v1/events",
        ] {
            assert_eq!(safe_next(Some(bad)), "/console", "{bad}");
        }
        assert_eq!(safe_next(None), "/console");
    }

    #[test]
    fn cookies_are_http_only_strict_and_secure_over_https() {
        let plain = set_cookie(false, SESSION_COOKIE, SESSION_COOKIE_SECURE, "abc", None);
        assert_eq!(
            plain,
            "dgs_console=abc; Path=/console; HttpOnly; SameSite=Strict"
        );
        let secure = set_cookie(true, SESSION_COOKIE, SESSION_COOKIE_SECURE, "abc", Some(0));
        assert_eq!(
            secure,
            "__Host-dgs_console=abc; Path=/; HttpOnly; SameSite=Strict; Secure; Max-Age=0"
        );
    }

    #[test]
    fn the_csrf_token_is_bound_to_the_session() {
        let a = csrf_of(&"a".repeat(64));
        assert_eq!(a, csrf_of(&"a".repeat(64)));
        assert_ne!(a, csrf_of(&"b".repeat(64)));
        assert_eq!(a.len(), 64);
    }
}
