//! `POST /webhooks/{source}` for a `graph` source (Microsoft Graph change notifications of an
//! Entra ID source): the `validationToken` handshake, and notifications that make the
//! source's next event pull due now.
//!
//! A notification carries no data worth storing: it says that a user or a group changed, and
//! the source's delta pull reads what changed. So the answer is committed as a schedule
//! (`pull_state.next_run_ms` = now) before the 202, and this replica's poller is woken; a
//! burst of notifications makes one prompt pull (the schedule is set, the lease lets one run).

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::AppState;
use crate::config::SourceConfig;
use crate::error::{ApiError, ProblemKind};
use crate::prometheus as prom;
use crate::signature::graph::{self, Checked, Lifecycle, Outcome, Refusal};

/// Answers a request to a `graph` source, after the allowlist and the body size limit.
/// `refused` records a refusal for the console.
pub(super) async fn receive(
    state: &AppState,
    src: &SourceConfig,
    query: Option<&str>,
    body: &[u8],
    refused: &(dyn Fn(&'static str) + Sync),
) -> Result<Response, ApiError> {
    let source = src.name.as_str();
    if let Some(token) = graph::validation_token(query) {
        return handshake(source, &token, refused);
    }
    let now = chrono::Utc::now();
    let checked = match graph::verify(src, body, now.timestamp()) {
        Ok(c) => c,
        Err(Refusal::Malformed(e)) => {
            tracing::debug!(webhook.source = %source, error = %e, "graph notification rejected");
            refused("malformed_payload");
            return Err(ApiError::with_detail(
                ProblemKind::MalformedPayload,
                e.to_string(),
            ));
        }
        Err(Refusal::Unauthenticated { error, dropped }) => {
            tracing::debug!(webhook.source = %source, reason = error.reason(), notifications = dropped,
                "graph notifications refused: no clientState matched a live secret");
            count(source, "client_state_mismatch", dropped);
            metrics::counter!(prom::SIGNATURE_FAILURES,
                "source" => source.to_owned(), "reason" => error.reason())
            .increment(1);
            refused(error.reason());
            return Err(ApiError::new(ProblemKind::InvalidSignature));
        }
    };
    for c in &checked {
        record(src, c);
    }
    let pull = checked.iter().any(|c| c.outcome.requests_pull());
    if pull {
        state
            .store
            .request_event_pull(source, now.timestamp_millis())
            .await
            .map_err(|e| {
                // Graph retries a 5xx for hours: nothing is acknowledged that is not stored.
                tracing::warn!(webhook.source = %source, error = %e,
                    "could not schedule the pull a graph notification asked for");
                ApiError::new(ProblemKind::StoreUnavailable)
            })?;
        if let Some(pulls) = &state.pulls {
            pulls.wake(source);
        }
    }
    tracing::info!(webhook.source = %source, notifications = checked.len(),
        accepted = checked.iter().filter(|c| c.secret.is_some()).count(),
        pull_requested = pull, "graph notifications received");
    Ok(StatusCode::ACCEPTED.into_response())
}

/// Graph's `notificationUrl` validation: the URL-decoded token, as `text/plain`, never
/// sniffed as HTML.
fn handshake(
    source: &str,
    token: &str,
    refused: &(dyn Fn(&'static str) + Sync),
) -> Result<Response, ApiError> {
    if token.is_empty() || token.len() > graph::MAX_VALIDATION_TOKEN {
        refused("malformed_payload");
        return Err(ApiError::with_detail(
            ProblemKind::BadRequest,
            format!(
                "validationToken must be 1 to {} bytes long",
                graph::MAX_VALIDATION_TOKEN
            ),
        ));
    }
    tracing::info!(webhook.source = %source, "graph subscription validation answered");
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        token.to_owned(),
    )
        .into_response())
}

/// Counts and logs one checked notification (never its `clientState`).
fn record(src: &SourceConfig, c: &Checked) {
    let source = src.name.as_str();
    count(source, c.outcome.label(), 1);
    if let Some(position) = c.secret {
        let secret = src
            .secrets
            .get(position)
            .map_or_else(|| position.to_string(), |s| s.label(position));
        metrics::counter!(prom::SIGNATURE_VERIFICATIONS,
            "source" => source.to_owned(), "secret" => secret)
        .increment(1);
    }
    let subscription = c.subscription_id.as_str();
    match c.outcome {
        Outcome::ClientStateMismatch => tracing::debug!(webhook.source = %source, subscription,
            "graph notification dropped: its clientState matches no live secret"),
        Outcome::PullRequested | Outcome::Ignored => {}
        Outcome::Lifecycle(Lifecycle::Missed) => tracing::info!(webhook.source = %source,
            subscription, "graph missed notifications: a pull catches up"),
        Outcome::Lifecycle(Lifecycle::ReauthorizationRequired) => tracing::warn!(
            webhook.source = %source, subscription,
            "graph subscription needs reauthorization (POST /subscriptions/{{id}}/reauthorize, \
             or renew it): notifications stop when it lapses"),
        Outcome::Lifecycle(Lifecycle::SubscriptionRemoved) => tracing::warn!(
            webhook.source = %source, subscription,
            "graph removed the subscription: create it again, or changes wait for the interval pull"),
        Outcome::Lifecycle(Lifecycle::Unknown) => tracing::warn!(webhook.source = %source,
            subscription, "graph lifecycle notification of an unknown kind ignored"),
    }
}

fn count(source: &str, outcome: &'static str, n: usize) {
    metrics::counter!(prom::GRAPH_NOTIFICATIONS, "source" => source.to_owned(), "outcome" => outcome)
        .increment(u64::try_from(n).unwrap_or(u64::MAX));
}
