//! The HTTP surface: webhooks, health, the internal API (`v1`) and the document. Handlers
//! are thin: they authenticate, parse, and hand events to the ingestor; none calls Domo.

pub mod admin;
mod allowlist;
pub mod auth;
pub mod deliveries;
mod doc;
pub mod health;
pub mod scim;
pub mod serve;
pub(crate) mod stack;
pub mod v1;
pub mod webhooks;

use std::sync::Arc;

use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::ingest::Ingestor;
use crate::rules::RuleSet;
use crate::store::Store;
use doc::{OutgoingEvents, SecuritySchemes};

/// What handlers share: one reference count per request (axum clones the state for every
/// request), whatever it holds.
#[derive(Clone)]
pub struct AppState(Arc<SharedState>);

impl AppState {
    pub fn new(shared: SharedState) -> Self {
        AppState(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = SharedState;
    fn deref(&self) -> &SharedState {
        &self.0
    }
}

/// The contents of `AppState`.
pub struct SharedState {
    /// The reloadable configuration: webhook sources by name, API tokens, trusted proxies.
    /// Read it once per request with `live.load()`.
    pub live: Arc<crate::reload::Live>,
    /// Reloads `live` (the admin API; SIGHUP and the file watcher share it).
    pub reloader: Arc<crate::reload::Reloader>,
    pub ingestor: Ingestor,
    pub store: Store,
    /// Readiness probe of the Domo side (a token can be obtained); `None` = not checked.
    pub domo_ready: Option<Arc<dyn DomoReadiness>>,
    /// The compiled rules (for user views, plans and mapping checks).
    pub rules: Arc<RuleSet>,
    /// Reconcile runs (admin API).
    pub reconciler: Arc<crate::reconcile::Reconciler>,
    /// Refused webhook deliveries since start, per source and reason (the console shows them).
    pub refusals: Arc<deliveries::DeliveryRefusals>,
    /// The console's settings and sign-in limiter.
    pub console: Arc<crate::console::ConsoleSettings>,
    /// `server.public_url`: the origin SCIM's `meta.location` uses (else the request's Host).
    pub public_url: Option<url::Url>,
    /// The sources' pulls (status and "pull now").
    pub pulls: Option<Arc<crate::pull::Pulls>>,
    /// The subscribers of outgoing events (names, kinds and types; the API never shows their
    /// URLs or secrets).
    pub subscribers: Vec<crate::config::SubscriberConfig>,
    /// Wakes the delivery lanes after a replay.
    pub notifier: Arc<crate::notify::build::Notifier>,
}

/// Something that can say whether Domo is usable (a token can be obtained).
pub trait DomoReadiness: Send + Sync {
    /// `Ok` when ready; `Err` with a short reason otherwise.
    fn check(&self) -> futures_like::BoxFuture<'_, Result<(), String>>;
}

/// A tiny boxed-future alias, so the trait stays object safe without another crate.
pub mod futures_like {
    /// A pinned, boxed, sendable future.
    pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;
}

/// The document's static parts; paths come from the router.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "domo-group-sync",
        version = "1.0.0",
        description = "Keeps Domo groups in step with an identity provider or HR system.",
        license(name = "Apache-2.0", identifier = "Apache-2.0")
    ),
    tags(
        (name = "webhooks", description = "Signed events from identity providers and HR systems"),
        (name = "events", description = "The inbox: submit canonical events, follow them, replay them, the dead letters"),
        (name = "users", description = "Users as the service sees them; onboard, offboard, memberships"),
        (name = "groups", description = "Managed Domo groups"),
        (name = "plan", description = "What an event would do, without doing it"),
        (name = "sources", description = "Configured sources: their webhooks and their pulls"),
        (name = "reconcile", description = "Compare Domo with the desired membership and repair the drift"),
        (name = "notify", description = "Outgoing operational events: subscribers, deliveries, dead letters and replays"),
        (name = "admin", description = "Operating the service: reload the configuration"),
        (name = "scim", description = "SCIM 2.0 (RFC 7643/7644) for `scim` sources: Users, Groups and discovery, as Entra ID, Okta, OneLogin and JumpCloud provision them. Answers are `application/scim+json`; errors are SCIM errors, not problem documents"),
        (name = "health", description = "Liveness and readiness")
    ),
    modifiers(&SecuritySchemes, &OutgoingEvents)
)]
pub struct ApiDoc;

/// Every route with its OpenAPI description, without state (so the document can be generated
/// without a running service).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(
            webhooks::receive_webhook,
            webhooks::verify_webhook_endpoint
        ))
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .merge(v1::router())
        .merge(admin::router())
        .merge(scim::router())
}

/// The OpenAPI document the service publishes.
pub fn openapi() -> utoipa::openapi::OpenApi {
    router().into_openapi()
}
