//! `/healthz` (the process lives) and `/readyz` (the store can commit and a Domo token can be
//! had).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use super::AppState;

/// Health answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok`, or `unavailable`.
    pub status: &'static str,
    /// Per dependency: `ok` or a short reason.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<Check>,
}

/// One readiness check.
#[derive(Debug, Serialize, ToSchema)]
pub struct Check {
    pub name: &'static str,
    pub status: String,
}

/// Liveness: answers while the process runs.
#[utoipa::path(get, path = "/healthz", tag = "health",
    responses((status = 200, description = "The process is alive", body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok",
        checks: Vec::new(),
    })
}

/// How long `/readyz` waits for the store's commit: below the chart's probe timeout (5 s), so
/// that a store that hangs reads as not ready rather than as a probe that timed out.
const STORE_BOUND: std::time::Duration = std::time::Duration::from_secs(3);

/// What `/readyz` checks.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
pub struct ReadyQuery {
    /// `store`: check only that the store can commit. A Kubernetes readiness probe should use
    /// this: during a Domo outage the service must keep accepting (and durably queueing)
    /// webhooks, or senders that retry little (Okta: once) would drop offboardings.
    pub only: Option<String>,
}

/// Readiness: the store can commit and (unless in dry run) a Domo token can be obtained.
///
/// The store check is a tiny write within 3 s, so a full disk or a read-only database reads as
/// not ready.
///
/// With `?only=store`, the store alone: the probe for taking webhook traffic.
#[utoipa::path(get, path = "/readyz", tag = "health", params(ReadyQuery),
    responses(
        (status = 200, description = "Ready to take traffic", body = Health),
        (status = 503, description = "A dependency is not ready", body = Health)))]
pub async fn readyz(
    State(state): State<AppState>,
    axum::extract::Query(query): axum::extract::Query<ReadyQuery>,
) -> (StatusCode, Json<Health>) {
    let store_only = query.only.as_deref() == Some("store");
    let mut checks = Vec::new();
    let now = chrono::Utc::now().timestamp_millis();
    let store = match tokio::time::timeout(STORE_BOUND, state.store.probe_commit(now)).await {
        Ok(Ok(())) => "ok".to_owned(),
        Ok(Err(e)) if e.is_unavailable() => {
            tracing::warn!(error = %e, "readiness: the store cannot commit");
            metrics::counter!(crate::prometheus::STORE_UNAVAILABLE, "component" => "readiness")
                .increment(1);
            "unavailable".to_owned()
        }
        Ok(Err(e)) => {
            tracing::error!(error = %e, "readiness: store error");
            "error".to_owned()
        }
        Err(_) => {
            tracing::warn!("readiness: the store did not commit within the bound");
            metrics::counter!(crate::prometheus::STORE_UNAVAILABLE, "component" => "readiness")
                .increment(1);
            "unavailable (no answer in time)".to_owned()
        }
    };
    checks.push(Check {
        name: "store",
        status: store,
    });
    if let Some(domo) = state.domo_ready.as_ref().filter(|_| !store_only) {
        let s = match domo.check().await {
            Ok(()) => "ok".to_owned(),
            Err(reason) => reason,
        };
        checks.push(Check {
            name: "domo",
            status: s,
        });
    }
    let ok = checks.iter().all(|c| c.status == "ok");
    let code = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        code,
        Json(Health {
            status: if ok { "ok" } else { "unavailable" },
            checks,
        }),
    )
}
