//! The sign-in form, signing in (a token checked once, rate limited, then a session) and
//! signing out. What a session is, and how each request finds its user, is in `session`.

use std::time::Instant;

use askama::Template;
use axum::extract::{Form, FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::Deserialize;
use subtle::ConstantTimeEq;

use super::error::{ConsoleError, render, see_other};
use super::forms::Posted;
use super::limiter::FAILURE_DELAY;
use super::session::{
    FORM_COOKIE, FORM_COOKIE_SECURE, Facts, SESSION_COOKIE, SESSION_COOKIE_SECURE, cookie, now_ms,
    random_hex, safe_next, set_cookie, sha256_hex, with_cookies,
};
use crate::api::AppState;
use crate::config::ApiScope;
use crate::prometheus::CONSOLE_SIGN_INS;
use crate::store::SessionRow;

#[derive(Template)]
#[template(path = "console/sign_in.html")]
struct SignInPage {
    css: String,
    csrf: String,
    next: String,
    message: Option<&'static str>,
    signed_out: bool,
}

/// `?next=` and `?signed_out=1` of the form.
#[derive(Debug, Deserialize)]
pub struct SignInQuery {
    next: Option<String>,
    signed_out: Option<String>,
}

/// The request's facts, whatever else fails.
pub struct RequestFacts(pub Facts);

impl FromRequestParts<AppState> for RequestFacts {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(RequestFacts(Facts::of(parts, state)))
    }
}

fn sign_in_page(
    facts: Facts,
    next: String,
    message: Option<&'static str>,
    signed_out: bool,
    status: StatusCode,
) -> Result<Response, ConsoleError> {
    let csrf = random_hex()?;
    let page = SignInPage {
        css: super::assets::css_path(),
        csrf: csrf.clone(),
        next,
        message,
        signed_out,
    };
    let mut resp = render(&page);
    *resp.status_mut() = status;
    let cookie = set_cookie(
        facts.secure,
        FORM_COOKIE,
        FORM_COOKIE_SECURE,
        &csrf,
        Some(3600),
    );
    Ok(with_cookies(resp, &[cookie]))
}

/// `GET /console/sign-in`: the form (with its CSRF cookie).
pub async fn sign_in_form(
    RequestFacts(facts): RequestFacts,
    Query(q): Query<SignInQuery>,
) -> Result<Response, ConsoleError> {
    sign_in_page(
        facts,
        safe_next(q.next.as_deref()),
        None,
        q.signed_out.is_some(),
        StatusCode::OK,
    )
}

/// The sign-in form's fields.
#[derive(Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    csrf: String,
    next: Option<String>,
}

/// `POST /console/sign-in`: checks the token (rate limited per client address; every failure
/// answered after a delay), opens a session, and goes back to `next`.
pub async fn sign_in(
    State(state): State<AppState>,
    RequestFacts(facts): RequestFacts,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Result<Response, ConsoleError> {
    let next = safe_next(form.next.as_deref());
    let form_cookie = cookie(
        &headers,
        if facts.secure {
            FORM_COOKIE_SECURE
        } else {
            FORM_COOKIE
        },
    );
    let fresh_form = form_cookie.is_some_and(|c| {
        !form.csrf.is_empty() && bool::from(c.as_bytes().ct_eq(form.csrf.as_bytes()))
    });
    if !fresh_form {
        metrics::counter!(CONSOLE_SIGN_INS, "result" => "refused").increment(1);
        return sign_in_page(
            facts,
            next,
            Some("The sign-in form expired or was not sent from this site. Please try again."),
            false,
            StatusCode::FORBIDDEN,
        );
    }
    let limiter = &state.console.limiter;
    if let Err(wait) = limiter.check(facts.client, Instant::now()) {
        metrics::counter!(CONSOLE_SIGN_INS, "result" => "limited").increment(1);
        tracing::warn!(client = %facts.client, "console: sign-in refused, too many failures");
        let mut resp = sign_in_page(
            facts,
            next,
            Some("Too many failed sign-ins from your address. Wait a few minutes and try again."),
            false,
            StatusCode::TOO_MANY_REQUESTS,
        )?;
        if let Ok(v) = HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return Ok(resp);
    }
    let now = now_ms();
    let live = state.live.load();
    let token = crate::api::auth::find_token(&live.api_tokens, form.token.trim(), now / 1000);
    let Some(token) = token.filter(|t| t.scopes.contains(&ApiScope::Read)) else {
        limiter.failed(facts.client, Instant::now());
        metrics::counter!(CONSOLE_SIGN_INS, "result" => "failure").increment(1);
        tracing::info!(client = %facts.client, "console: a sign-in failed");
        tokio::time::sleep(FAILURE_DELAY).await;
        return sign_in_page(
            facts,
            next,
            Some("That token is not valid, has expired, or lacks the `read` scope."),
            false,
            StatusCode::UNAUTHORIZED,
        );
    };
    limiter.succeeded(facts.client);
    let id = random_hex()?;
    let cfg = &state.console.config;
    let max_ms = i64::try_from(cfg.session_max_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
    let idle_ms = i64::try_from(cfg.session_idle_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
    state
        .store
        .insert_session(&SessionRow {
            id_sha256: sha256_hex(&id),
            token_name: token.name.clone(),
            token_sha256: hex::encode(token.sha256),
            created_ms: now,
            last_seen_ms: now,
            expires_ms: now.saturating_add(max_ms),
        })
        .await?;
    if let Err(e) = state
        .store
        .delete_expired_sessions(now, now.saturating_sub(idle_ms))
        .await
    {
        tracing::debug!(error = %e, "console: could not prune expired sessions");
    }
    metrics::counter!(CONSOLE_SIGN_INS, "result" => "success").increment(1);
    tracing::info!(console.token = %token.name, "console: signed in");
    let session = set_cookie(
        facts.secure,
        SESSION_COOKIE,
        SESSION_COOKIE_SECURE,
        &id,
        None,
    );
    let clear = set_cookie(facts.secure, FORM_COOKIE, FORM_COOKIE_SECURE, "", Some(0));
    Ok(with_cookies(see_other(&next), &[session, clear]))
}

/// The sign-out form (the CSRF token only).
#[derive(Deserialize)]
pub struct SignOutForm {}

/// `POST /console/sign-out`: ends the session (its row is deleted) and clears the cookie.
pub async fn sign_out(
    State(state): State<AppState>,
    posted: Posted<SignOutForm>,
) -> Result<Response, ConsoleError> {
    let user = posted.user;
    state.store.delete_session(&user.id_sha256).await?;
    super::actions::count("sign_out", "ok");
    tracing::info!(console.token = %user.token_name, "console: signed out");
    let clear = set_cookie(
        user.facts.secure,
        SESSION_COOKIE,
        SESSION_COOKIE_SECURE,
        "",
        Some(0),
    );
    Ok(with_cookies(
        see_other("/console/sign-in?signed_out=1"),
        &[clear],
    ))
}
