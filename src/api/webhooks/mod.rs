//! `POST /webhooks/{source}`: raw bytes → size limit → signature → format adapter → durable
//! commit → 202. And `GET /webhooks/{source}` for Okta's one-time verification. Microsoft
//! Graph change notifications (`graph` sources) take their own path after the size limit
//! (`graph`).
//!
//! Order matters: the body is read as raw bytes (never re-serialised, the signature covers
//! them exactly), the size limit applies while reading, the signature is checked before any
//! parsing, and the answer is sent only after the commit.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tracing::Instrument as _;
use utoipa::ToSchema;

mod graph;

use super::AppState;
use super::allowlist::{self, Peer};
use crate::config::Scheme;
use crate::error::{ApiError, Problem, ProblemKind};
use crate::ingest::to_item;
use crate::store::IngestStatus;

/// The answer to an accepted delivery.
#[derive(Debug, Serialize, ToSchema)]
pub struct Accepted {
    /// One entry per event in the delivery, in order.
    pub events: Vec<AcceptedEvent>,
}

/// What became of one event of a delivery.
#[derive(Debug, Serialize, ToSchema)]
pub struct AcceptedEvent {
    /// The sender's event id (the dedup key with the source name).
    #[schema(example = "msg_2Lz8Hk1Q")]
    pub id: String,
    /// `queued` (stored, will be applied), `duplicate` (seen before, nothing done) or
    /// `ignored` (stored and acknowledged; the service does not act on this event type).
    #[schema(value_type = String, example = "queued")]
    pub status: IngestStatus,
}

/// The body of Okta's verification answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Verification {
    pub verification: String,
}

/// Receive signed events from an identity provider or HR system.
///
/// The body is verified with the source's signature scheme (its headers are listed under
/// security schemes), mapped to canonical events by the source's format, stored durably, and
/// answered 202 only after the commit. Nothing here calls Domo. Sources with the `okta` scheme
/// are answered `200` with an empty body, as Okta expects.
///
/// Sources with the `graph` scheme (Microsoft Graph change notifications of an Entra ID
/// source) take no signature header: with `?validationToken=…` (Graph's subscription
/// validation) the answer is `200 text/plain` with the decoded token; otherwise the body is
/// Graph's `{"value": [...]}`, each notification's `clientState` must equal one of the
/// source's secrets (others are dropped; none → 401), and a user or group change makes the
/// source's next pull due now: `202` with an empty body once that is stored.
#[utoipa::path(post, path = "/webhooks/{source}", tag = "webhooks",
    security(("standard-webhooks" = []), ("svix" = []), ("github" = []), ("stripe" = []),
        ("workos" = []), ("bamboohr" = []), ("okta" = []), ("hmac" = [])),
    params(("source" = String, Path, description = "The source's configured name", example = "workos"),
        ("webhook-id" = Option<String>, Header, description = "Standard Webhooks: the message id (signed)"),
        ("webhook-timestamp" = Option<String>, Header, description = "Standard Webhooks: unix seconds (signed; checked against the tolerance)"),
        ("svix-id" = Option<String>, Header, description = "Svix: the message id (also the dedup id of Clerk events)"),
        ("svix-timestamp" = Option<String>, Header, description = "Svix: unix seconds"),
        ("X-BambooHR-Timestamp" = Option<String>, Header, description = "BambooHR: the signed timestamp"),
        ("validationToken" = Option<String>, Query, description = "Graph sources: the subscription validation token (at most 1024 bytes decoded), echoed URL-decoded as text/plain; no body is read",
            example = "Validation: Testing client application reachability for subscription Request-Id: 25b4b9b9-7c60-4c2d-8a6b-6d3b5f0a0c11")),
    request_body(content = serde_json::Value, content_type = "application/json",
        description = "The sender's payload, exactly as sent (the signature covers these bytes). \
            For a `canonical` source: one canonical event (see the `CanonicalEvent` schema), an \
            array of them, or `{\"events\": [...]}`. For a `graph` source: Graph's notification \
            collection `{\"value\": [{\"subscriptionId\", \"clientState\", \"changeType\", \
            \"resource\", \"resourceData\", \"lifecycleEvent\"?, ...}]}`.",
        example = json!({"id": "evt_01JD8Q3", "type": "user.onboarded", "occurred_at": "2026-11-28T10:00:00Z",
            "user": {"email": "ada@example.com", "name": "Ada Lovelace"}, "groups": ["Marketing"]})),
    responses(
        (status = 202, description = "Stored durably; will be applied (graph sources: the pull a \
            notification asked for is scheduled; empty body)", body = Accepted),
        (status = 200, description = "Stored (Okta sources: empty body); for a graph source's \
            `validationToken`, the decoded token (`text/plain; charset=utf-8`, `nosniff`)",
            body = String, content_type = "text/plain"),
        (status = 400, description = "Malformed payload after a valid signature (graph sources: \
            not a notification collection, or a validationToken over 1024 bytes)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing, wrong or expired signature (graph sources: no \
            notification carries a live clientState)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The client address is not in the source's `allow_ips`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No source of that name, or a source without a webhook (scheme `none`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over `server.max_body_bytes`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The store could not commit; nothing was acknowledged (Graph \
            retries)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn receive_webhook(
    State(state): State<AppState>,
    Path(source): Path<String>,
    peer: Peer,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    // One snapshot for the whole request: a reload meanwhile does not change its outcome.
    let live = state.live.load();
    // A SCIM source takes SCIM requests at /scim/{source}/v2, not webhooks.
    let Some(src) = live
        .sources
        .get(&source)
        .filter(|s| s.scheme != Scheme::Scim)
        .cloned()
    else {
        return Err(ApiError::new(ProblemKind::UnknownSource));
    };
    let refused = |reason: &'static str| {
        let now_ms = chrono::Utc::now().timestamp_millis();
        state.refusals.record(&source, reason, now_ms);
    };
    if src.scheme == Scheme::PullOnly {
        return Err(ApiError::with_detail(
            ProblemKind::UnknownSource,
            format!("source `{source}` has no webhook (scheme \"none\"): it only pulls"),
        ));
    }
    allowlist::check(&live, &src, &headers, &peer)
        .inspect_err(|_| refused("address_not_allowed"))?;
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            refused("too_large");
            ApiError::new(ProblemKind::PayloadTooLarge)
        } else {
            refused("unreadable_body");
            ApiError::with_detail(ProblemKind::MalformedPayload, "the body could not be read")
        }
    })?;
    tracing::Span::current().record("webhook.source", source.as_str());
    if src.scheme == Scheme::Graph {
        return graph::receive(&state, &src, query.as_deref(), &body, &refused).await;
    }
    let now = chrono::Utc::now().timestamp();
    match crate::signature::verify_matched(&src, &headers, &body, now) {
        Ok(position) => {
            let secret = src
                .secrets
                .get(position)
                .map_or_else(|| position.to_string(), |s| s.label(position));
            metrics::counter!(crate::prometheus::SIGNATURE_VERIFICATIONS,
                "source" => source.clone(), "secret" => secret)
            .increment(1);
        }
        Err(e) => {
            tracing::debug!(webhook.source = %source, reason = e.reason(), "signature rejected");
            metrics::counter!(crate::prometheus::SIGNATURE_FAILURES,
                "source" => source.clone(), "reason" => e.reason())
            .increment(1);
            refused(e.reason());
            return Err(ApiError::new(ProblemKind::InvalidSignature));
        }
    }
    let parsed = crate::sources::parse(src.format, &headers, &body).map_err(|e| {
        tracing::debug!(webhook.source = %source, error = %e, "payload rejected");
        refused("malformed_payload");
        ApiError::with_detail(ProblemKind::MalformedPayload, e.to_string())
    })?;
    // Set by the request-id layer (from the sender's header when valid, else a fresh UUID).
    let request_id = headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128)
        .map(str::to_owned);
    let items = parsed
        .into_iter()
        .map(|p| crate::store::IngestItem {
            request_id: request_id.clone(),
            ..to_item(&source, p, None)
        })
        .collect();
    let outcomes = state
        .ingestor
        .submit(&source, items)
        .instrument(tracing::info_span!("ingest", webhook.source = %source))
        .await
        .map_err(|e| {
            tracing::warn!(webhook.source = %source, error = %e, "could not store a delivery");
            ApiError::from(e)
        })?;
    tracing::info!(
        webhook.source = %source,
        events = outcomes.len(),
        queued = outcomes.iter().filter(|o| o.status == IngestStatus::Queued).count(),
        "delivery stored"
    );
    if src.scheme == Scheme::Okta {
        return Ok(StatusCode::OK.into_response());
    }
    let events = outcomes
        .into_iter()
        .map(|o| AcceptedEvent {
            id: o.event_id,
            status: o.status,
        })
        .collect();
    Ok((StatusCode::ACCEPTED, Json(Accepted { events })).into_response())
}

/// Okta's one-time endpoint verification.
///
/// Okta sends `X-Okta-Verification-Challenge` once when the hook is registered; the answer
/// echoes it. Only sources with the `okta` scheme answer; when the configured auth header is
/// present it must match.
#[utoipa::path(get, path = "/webhooks/{source}", tag = "webhooks",
    security((), ("okta" = [])),
    params(
        ("source" = String, Path, description = "The source's configured name"),
        ("X-Okta-Verification-Challenge" = String, Header, description = "The challenge to echo")),
    responses(
        (status = 200, description = "The challenge, echoed", body = Verification),
        (status = 400, description = "No challenge header", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "A wrong auth header", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The client address is not in the source's `allow_ips`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No Okta source of that name", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn verify_webhook_endpoint(
    State(state): State<AppState>,
    Path(source): Path<String>,
    peer: Peer,
    headers: HeaderMap,
) -> Result<Json<Verification>, ApiError> {
    let live = state.live.load();
    let Some(src) = live
        .sources
        .get(&source)
        .filter(|s| s.scheme == Scheme::Okta)
    else {
        return Err(ApiError::new(ProblemKind::UnknownSource));
    };
    allowlist::check(&live, src, &headers, &peer)?;
    if headers.contains_key(src.header.as_str())
        && crate::signature::verify(src, &headers, b"", chrono::Utc::now().timestamp()).is_err()
    {
        return Err(ApiError::new(ProblemKind::InvalidSignature));
    }
    let challenge = headers
        .get("x-okta-verification-challenge")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 1024)
        .ok_or_else(|| {
            ApiError::with_detail(
                ProblemKind::MalformedPayload,
                "the X-Okta-Verification-Challenge header is missing",
            )
        })?;
    Ok(Json(Verification {
        verification: challenge.to_owned(),
    }))
}
