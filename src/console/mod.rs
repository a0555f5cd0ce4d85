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

mod actions;
mod assets;
mod error;
mod forms;
mod guard;
mod limiter;
mod pages;
mod session;
mod sign_in;
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
            get(sign_in::sign_in_form).post(sign_in::sign_in),
        )
        .route("/console/sign-out", post(sign_in::sign_out))
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

#[cfg(test)]
mod tests {
    /// Every template escapes all it prints: `|safe` (askama's only opt-out) and turning the
    /// escaper off are banned, so a field holding markup can only ever show as text.
    #[test]
    fn no_template_opts_out_of_escaping() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/templates/console");
        let mut seen = 0;
        for entry in std::fs::read_dir(dir).expect("templates") {
            let path = entry.expect("entry").path();
            let text = std::fs::read_to_string(&path).expect("template");
            let squashed: String = text.chars().filter(|c| !c.is_whitespace()).collect();
            for banned in [
                "|safe",
                "escape=\"none\"",
                "{%autoescape",
                "|escape(\"none\")",
            ] {
                assert!(
                    !squashed.contains(banned),
                    "{} uses {banned}",
                    path.display()
                );
            }
            seen += 1;
        }
        assert!(seen >= 10, "the console's templates were read");
    }

    #[test]
    fn rules_read_as_words() {
        let toml = "[[rules]]\nwhen = { group = \"eng-*\" }\ndomo_groups = [\"Engineering\"]\n\
                    [[rules]]\nwhen = { attribute = \"department\", equals = \"Sales\" }\n\
                    domo_groups = [\"Sales\", \"Sales {location}\"]\n";
        let config = crate::config::Config::parse(crate::config::ConfigInput {
            toml: Some(toml),
            env: &Default::default(),
        })
        .expect("valid");
        let s = super::ConsoleSettings::from_config(&config);
        assert_eq!(s.rule(0), "rules[0]: IdP group `eng-*` → Engineering");
        assert_eq!(
            s.rule(1),
            "rules[1]: attribute `department` = `Sales` → Sales, Sales {location}"
        );
        assert_eq!(s.rule(7), "rules[7]");
        assert_eq!(s.rule(-1), "rules[-1]");
    }
}
