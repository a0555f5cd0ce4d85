//! The HTTP surface: webhooks, health, and (later) the internal API and docs. Handlers are
//! thin: they authenticate, parse, and hand events to the ingestor; none calls Domo.

pub mod health;
pub mod webhooks;

use std::collections::HashMap;
use std::sync::Arc;

use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::config::SourceConfig;
use crate::ingest::Ingestor;
use crate::store::Store;

/// What handlers share. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// Configured webhook sources by name.
    pub sources: Arc<HashMap<String, Arc<SourceConfig>>>,
    pub ingestor: Ingestor,
    pub store: Store,
    /// Readiness probe of the Domo side (a token can be obtained); `None` = not checked.
    pub domo_ready: Option<Arc<dyn DomoReadiness>>,
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
        description = "Keeps Domo groups in step with an identity provider or HR system.",
        license(name = "Apache-2.0", identifier = "Apache-2.0")
    ),
    tags(
        (name = "webhooks", description = "Signed events from identity providers and HR systems"),
        (name = "health", description = "Liveness and readiness")
    )
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
}

/// The OpenAPI document the service publishes.
pub fn openapi() -> utoipa::openapi::OpenApi {
    router().into_openapi()
}
