//! The operators' console: server-rendered pages at `/console` (Overview, Events, Event, Dead
//! letters, User, Reconcile, Sources) for people who want to look rather than write requests.
//!
//! It is not a second API: every figure comes from the functions the REST API uses
//! (`api::v1::*`, `reconcile::explain`, `store::*`), called directly, never over HTTP. What it
//! changes (replay, approve, start a reconcile) goes through those same functions, so the
//! inbox, the per-user order and the audit are the API's.
//!
//! Security (`session`, `guard`, `limiter`): sign in with an API token through a form; the
//! browser then holds only a random session id in an HttpOnly, SameSite=Strict cookie (Secure
//! over HTTPS, `__Host-` prefixed); sessions live in the store, by the hash of their id, and
//! end when idle, when old, on sign-out, or when a reload removes their token. The token's
//! scopes, read live on every request, decide what the pages offer and what a POST may do.
//! Every POST carries a CSRF token and must come from this origin. Every answer carries a
//! strict Content-Security-Policy (no inline script or style); askama escapes all output.

mod assets;
mod error;
mod forms;
mod guard;
mod limiter;
mod pages;
mod session;
mod view;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};

pub use guard::{CSP, origin_allowed};
pub use limiter::SignInLimiter;
pub use session::{SESSION_COOKIE, SESSION_COOKIE_SECURE};

use crate::api::AppState;
use crate::config::{Config, ConsoleConfig, RuleMatch};

/// What the console needs beyond the API's state: its settings, the rules in words, and the
/// sign-in limiter.
pub struct ConsoleSettings {
    pub config: ConsoleConfig,
    /// Each configured rule in words, by index (`rules[i]`).
    pub rules: Vec<String>,
    /// `domo.dry_run`: the overview says so.
    pub dry_run: bool,
    pub limiter: SignInLimiter,
}

impl ConsoleSettings {
    /// The console's part of `config`.
    pub fn from_config(config: &Config) -> Arc<ConsoleSettings> {
        Arc::new(ConsoleSettings {
            config: config.console.clone(),
            rules: config
                .rules
                .iter()
                .map(|r| {
                    let when = match &r.when {
                        RuleMatch::Group(g) => format!("IdP group `{g}`"),
                        RuleMatch::Attribute { name, equals } => {
                            format!("attribute `{name}` = `{equals}`")
                        }
                    };
                    format!("{when} → {}", r.domo_groups.join(", "))
                })
                .collect(),
            dry_run: config.domo.dry_run,
            limiter: SignInLimiter::default(),
        })
    }

    /// Rule `i` in words, or a placeholder when the configuration changed since.
    pub fn rule(&self, i: i64) -> String {
        usize::try_from(i)
            .ok()
            .and_then(|i| self.rules.get(i))
            .map_or_else(|| format!("rules[{i}]"), |r| format!("rules[{i}]: {r}"))
    }
}

/// The console's routes, with its security layers (headers on every answer, the origin check
/// on every POST). Mounted by the HTTP stack when `console.enabled`.
pub fn router(state: &AppState) -> Router<AppState> {
    use pages::{dead_letters, events, overview, reconcile, sources, users};
    Router::new()
        .route("/console", get(overview::show))
        .route("/console/", get(overview::show))
        .route(
            "/console/sign-in",
            get(session::sign_in_form).post(session::sign_in),
        )
        .route("/console/sign-out", post(session::sign_out))
        .route("/console/events", get(events::list))
        .route("/console/events/{id}", get(events::show))
        .route("/console/events/{id}/payload", get(events::payload))
        .route("/console/events/{id}/replay", post(events::replay))
        .route("/console/dead-letters", get(dead_letters::list))
        .route(
            "/console/dead-letters/replay",
            get(dead_letters::preview).post(dead_letters::replay_all),
        )
        .route("/console/users", get(users::show))
        .route(
            "/console/reconcile",
            get(reconcile::list).post(reconcile::start),
        )
        .route("/console/reconcile/{id}", get(reconcile::show))
        .route("/console/reconcile/{id}/approve", post(reconcile::approve))
        .route("/console/sources", get(sources::list))
        .route("/console/static/{version}/{file}", get(assets::serve))
        .route(
            "/console/{*rest}",
            get(error::not_found).post(error::not_found),
        )
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::same_origin_posts,
        ))
        .layer(axum::middleware::from_fn(guard::security_headers))
}
