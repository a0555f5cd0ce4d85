//! The HTTP stack around the routes: the OpenAPI document and its UI, `/metrics`, the
//! problem+json fallback, and the layers (request id, metrics, trace, timeout, body limit).

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::StatusCode;
use axum::routing::get;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use super::AppState;
use crate::config::Config;
use crate::error::{ApiError, ProblemKind};

/// The router with its layers. Order (outermost first): request id → metrics → trace →
/// timeout → body limit → routes. The body limit must wrap the routes so the webhook handler
/// sees a 413; metrics must wrap the timeout so a 408 is counted. `/metrics` is a plain route
/// (Prometheus text, not part of the OpenAPI document).
pub(crate) fn router(
    state: AppState,
    scrape: crate::prometheus::Scrape,
    config: &Config,
) -> Router {
    let (routes, openapi) = super::router().split_for_parts();
    let openapi = Arc::new(openapi);
    // The console is not part of the API (nor of its document): its own routes and layers.
    let routes = if config.console.enabled {
        routes.merge(crate::console::router(&state))
    } else {
        routes
    };
    routes
        .route(
            "/openapi.json",
            get(move || {
                let doc = openapi.clone();
                async move { axum::Json(doc.as_ref().clone()) }
            }),
        )
        .merge(
            utoipa_swagger_ui::SwaggerUi::new("/docs")
                .config(utoipa_swagger_ui::Config::from("/openapi.json")),
        )
        .fallback(|| async { ApiError::new(ProblemKind::NotFound) })
        .with_state(state.clone())
        .merge(
            Router::new()
                .route("/metrics", get(crate::prometheus::render))
                .with_state(scrape),
        )
        .layer(DefaultBodyLimit::max(config.server.max_body_bytes))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(config.server.request_timeout_secs),
        ))
        // Outside the timeout, so that a 408 under /scim is a SCIM error too.
        .layer(axum::middleware::from_fn_with_state(
            state,
            super::scim::scim_layer,
        ))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_response(
                    |resp: &axum::http::Response<_>, latency: Duration, span: &tracing::Span| {
                        span.record(
                            "http.response.status_code",
                            i64::from(resp.status().as_u16()),
                        );
                        tracing::debug!(
                            status = resp.status().as_u16(),
                            latency_ms = latency.as_millis(),
                            "finished processing request"
                        );
                    },
                ),
        )
        .layer(axum::middleware::from_fn(crate::prometheus::track_http))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

/// The span of one request: named `{method} {route template}` (never the raw path, which may
/// hold an email), a server span for traces, a child of the caller's `traceparent` if it sent
/// one. The webhook handler records `webhook.source`.
fn request_span(req: &Request) -> tracing::Span {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str);
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let span = tracing::info_span!(
        "request",
        otel.name = %format_args!("{} {route}", req.method()),
        otel.kind = "server",
        http.method = %req.method(),
        http.route = route,
        request.id = id,
        webhook.source = tracing::field::Empty,
        http.response.status_code = tracing::field::Empty,
    );
    crate::telemetry::continue_caller(
        &span,
        req.headers()
            .get("traceparent")
            .and_then(|v| v.to_str().ok()),
    );
    span
}
