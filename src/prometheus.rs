//! Prometheus metrics: the process-wide recorder, the names of every series, the HTTP
//! middleware that counts requests by route template, and the `/metrics` handler.
//!
//! Call sites record through the `metrics` macros with the names below; this module owns the
//! recorder and what is refreshed on each scrape (jobs by state, the age of the oldest queued
//! job, token refreshes). Labels are bounded by construction: route templates (never raw
//! paths), configured source names, canonical event types, Domo operation names and HTTP
//! status codes. Never an email, an id or a path.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::domo::{DomoClient, DomoError};
use crate::event::EventType;
use crate::store::{IngestOutcome, IngestStatus, JobOutcome, Store};

/// HTTP requests served, by `method`, `route` (template) and `status`.
pub const HTTP_REQUESTS: &str = "dgs_http_requests_total";
/// Latency of HTTP requests, same labels.
pub const HTTP_DURATION: &str = "dgs_http_request_duration_seconds";
/// Webhook deliveries refused for their signature, by `source` and `reason`.
pub const SIGNATURE_FAILURES: &str = "dgs_webhook_signature_failures_total";
/// Webhook deliveries whose signature verified, by `source` and `secret` (the secret's
/// configured `name`, else its position in `secrets`; never its value).
pub const SIGNATURE_VERIFICATIONS: &str = "dgs_webhook_verifications_total";
/// Webhook requests refused because the client address is outside the source's `allow_ips`
/// (or cannot be known), by `source`.
pub const IP_REFUSALS: &str = "dgs_webhook_ip_refusals_total";
/// API requests authenticated, by `token` (its configured name).
pub const TOKEN_USES: &str = "dgs_api_token_uses_total";
/// Configuration reloads, by `trigger` (sighup, api, file) and `result` (ok, failed).
pub const CONFIG_RELOADS: &str = "dgs_config_reloads_total";
/// The `not_after` (unix seconds) of every secret and token that has one, by `kind` (source,
/// token), `owner` (source or token name) and `secret` (name or position).
pub const SECRET_EXPIRY: &str = "dgs_secret_expiry_timestamp_seconds";
/// Events by `source`, `type` and `outcome` (queued/duplicate/ignored, then done/retry/dead).
pub const EVENTS: &str = "dgs_events_total";
/// Events dead-lettered, by `source`.
pub const DEAD_LETTERS: &str = "dgs_dead_letters_total";
/// Jobs claimed by a worker (each claim is an attempt).
pub const JOB_ATTEMPTS: &str = "dgs_job_attempts_total";
/// Jobs stopped because their lease was lost (expired while they ran).
pub const JOB_LEASES_LOST: &str = "dgs_job_leases_lost_total";
/// Jobs interrupted by a store outage and taken back by their own worker once the store
/// answered again (the attempt not counted; the job reads Domo live).
pub const JOB_RESUMES: &str = "dgs_job_resumes_total";
/// Store operations that failed because the store was unavailable (down, unreachable, out of
/// disk, read-only), by `component`: `ingest` (a commit of deliveries: they were answered 503),
/// `worker` (a pass or a job; it backs off), `readiness`, `reconcile`.
pub const STORE_UNAVAILABLE: &str = "dgs_store_unavailable_total";
/// Stored events by `state` (queued, running, done, dead, ignored), read on scrape.
pub const JOBS: &str = "dgs_jobs";
/// Age of the oldest queued event in seconds (0 when none), read on scrape.
pub const OLDEST_QUEUED: &str = "dgs_oldest_queued_job_age_seconds";
/// Domo API calls made by the workers, by `op` and `status` (`error` when no answer).
pub const DOMO_REQUESTS: &str = "dgs_domo_requests_total";
/// Latency of Domo API calls, same labels.
pub const DOMO_DURATION: &str = "dgs_domo_request_duration_seconds";
/// Domo access tokens obtained.
pub const TOKEN_REFRESHES: &str = "dgs_domo_token_refreshes_total";

/// Reconcile runs, by `status` (planned, held, queued, failed).
pub const RECONCILE_RUNS: &str = "dgs_reconcile_runs_total";
/// Drift the last reconcile found, by `kind` (add, remove, unknown, create).
pub const RECONCILE_DRIFT: &str = "dgs_reconcile_drift";
/// Membership changes reconciles queued for repair (applied or approved), by `kind` (add, remove).
pub const RECONCILE_REPAIRS: &str = "dgs_reconcile_repairs_queued_total";
/// When the last reconcile that read Domo completely finished (unix seconds); the time since
/// is `time() - dgs_reconcile_last_success_timestamp_seconds`.
pub const RECONCILE_LAST_SUCCESS: &str = "dgs_reconcile_last_success_timestamp_seconds";

/// Console sign-ins, by `result` (success, failure, limited, refused).
pub const CONSOLE_SIGN_INS: &str = "dgs_console_sign_ins_total";
/// Console actions, by `action` (replay, bulk_replay, approve, reconcile_dry_run,
/// reconcile_apply, sign_out, post) and `result` (ok, failed, refused).
pub const CONSOLE_ACTIONS: &str = "dgs_console_actions_total";
/// SCIM requests, by `source` (a configured SCIM source, else `unknown`), `operation`
/// (`create_user`, `patch_group`, `list_users`, `schemas`, …, `other`) and `status`.
pub const SCIM_REQUESTS: &str = "dgs_scim_requests_total";
/// Now minus the newest pulled event's time, by `source`, in seconds (set after each pull).
pub const PULL_LAG: &str = "dgs_pull_lag_seconds";
/// Pull failures by `source` and `reason` (`rate_limited`, `unauthorized`, `server_error`,
/// `client_error`, `network`, `bad_response`, `cursor_expired`, `store`, `lease_lost`,
/// `unmappable` events, `directory` passes).
pub const PULL_ERRORS: &str = "dgs_pull_errors_total";
/// Pulled events by `source` and `outcome` (`queued`, `duplicate`, `ignored`).
pub const PULL_EVENTS: &str = "dgs_pull_events_total";
/// When a source's last event pull succeeded (unix seconds), by `source`.
pub const PULL_LAST_SUCCESS: &str = "dgs_pull_last_success_timestamp_seconds";
/// Cursors the provider no longer honoured (each followed by a full directory pass).
pub const PULL_CURSOR_RESETS: &str = "dgs_pull_cursor_resets_total";
/// What directory passes found, by `source` and `kind` (`offboard`, `add`, `remove`,
/// `withheld` removals of a partial listing, `held` removals over the caps, `queued` events).
pub const DIRECTORY_DRIFT: &str = "dgs_directory_drift_total";
/// Microsoft Graph change notifications by `source` and `outcome` (`pull_requested`,
/// `ignored`: not about users or groups, `client_state_mismatch`, `lifecycle_<event>`).
pub const GRAPH_NOTIFICATIONS: &str = "dgs_graph_notifications_total";
/// Outgoing events delivered or attempted, by `subscriber` and `outcome` (`delivered`,
/// `failed`: will be retried, `dead`).
pub const NOTIFY_DELIVERIES: &str = "dgs_notify_deliveries_total";
/// Latency of delivery attempts, by `subscriber`.
pub const NOTIFY_DURATION: &str = "dgs_notify_delivery_duration_seconds";
/// Outgoing messages dead-lettered without being tried, by `subscriber` and `reason`
/// (`full`: past `notify.max_pending`; `orphaned`: the subscriber is no longer configured).
pub const NOTIFY_DROPPED: &str = "dgs_notify_dropped_total";
/// Outgoing messages in the outbox by `subscriber` and `status` (pending, delivered, dead),
/// read at scrape.
pub const NOTIFY_OUTBOX: &str = "dgs_notify_outbox";
/// Age of a subscriber's oldest undelivered message in seconds (0 when none), read at scrape.
pub const NOTIFY_OLDEST_PENDING: &str = "dgs_notify_oldest_pending_age_seconds";

/// The `reason`s of [`PULL_ERRORS`] (`PullError::reason`, plus unmappable events and failed
/// directory passes).
pub const PULL_ERROR_REASONS: [&str; 11] = [
    "cursor_expired",
    "rate_limited",
    "unauthorized",
    "server_error",
    "client_error",
    "network",
    "bad_response",
    "store",
    "lease_lost",
    "unmappable",
    "directory",
];

/// Starts the counters of a pulling `source` at zero, so rates and `increase()` see its first
/// error, pulled event or drift (a series born at 1 hides its first increment).
pub fn pull_source_series(source: &str) {
    for reason in PULL_ERROR_REASONS {
        metrics::counter!(PULL_ERRORS, "source" => source.to_owned(), "reason" => reason)
            .increment(0);
    }
    for outcome in ["queued", "duplicate", "ignored"] {
        metrics::counter!(PULL_EVENTS, "source" => source.to_owned(), "outcome" => outcome)
            .increment(0);
    }
    metrics::counter!(PULL_CURSOR_RESETS, "source" => source.to_owned()).increment(0);
    for kind in ["offboard", "add", "remove", "withheld", "held", "queued"] {
        metrics::counter!(DIRECTORY_DRIFT, "source" => source.to_owned(), "kind" => kind)
            .increment(0);
    }
}

/// Starts the notification counters of a `graph` source at zero.
pub fn graph_source_series(source: &str) {
    for outcome in crate::signature::graph::Outcome::LABELS {
        metrics::counter!(GRAPH_NOTIFICATIONS, "source" => source.to_owned(), "outcome" => outcome)
            .increment(0);
    }
}

/// Label for requests that matched no route.
const UNMATCHED: &str = "unmatched";
/// Event states reported by `dgs_jobs`.
const STATES: [&str; 5] = ["queued", "running", "done", "dead", "ignored"];

const HTTP_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];
const DOMO_BUCKETS: [f64; 11] = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];
/// Outbox statuses reported by `dgs_notify_outbox`.
const OUTBOX_STATES: [&str; 3] = ["pending", "delivered", "dead"];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide recorder the first time and returns its handle; later calls
/// (tests start many applications in one process) return the same handle. When another
/// recorder is already installed, metrics still render, empty.
pub fn install() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full(HTTP_DURATION.to_owned()), &HTTP_BUCKETS)
                .and_then(|b| {
                    b.set_buckets_for_metric(Matcher::Full(DOMO_DURATION.to_owned()), &DOMO_BUCKETS)
                })
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full(NOTIFY_DURATION.to_owned()),
                        &DOMO_BUCKETS,
                    )
                })
                .map(PrometheusBuilder::build_recorder)
                .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder());
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_ok() {
                describe();
                // Counters without labels exist from the start, at zero (an alert or a panel
                // on them sees 0, not "no data").
                for name in [JOB_ATTEMPTS, JOB_LEASES_LOST] {
                    counter!(name).absolute(0);
                }
                // Histogram samples are folded into their buckets on render and on upkeep;
                // upkeep keeps memory bounded when nobody scrapes.
                let upkeep = handle.clone();
                let _ = std::thread::Builder::new()
                    .name("metrics-upkeep".into())
                    .spawn(move || {
                        loop {
                            std::thread::sleep(Duration::from_secs(5));
                            upkeep.run_upkeep();
                        }
                    });
            }
            handle
        })
        .clone()
}

fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        HTTP_REQUESTS,
        "HTTP requests served, by route template and status"
    );
    describe_histogram!(HTTP_DURATION, Unit::Seconds, "HTTP request latency");
    describe_counter!(
        SIGNATURE_FAILURES,
        "Webhook deliveries refused for their signature"
    );
    describe_counter!(
        SIGNATURE_VERIFICATIONS,
        "Webhook deliveries verified, by source and by the secret that matched"
    );
    describe_counter!(
        IP_REFUSALS,
        "Webhook requests refused for their client address"
    );
    describe_counter!(TOKEN_USES, "API requests authenticated, by token name");
    describe_counter!(
        CONFIG_RELOADS,
        "Configuration reloads by trigger and result"
    );
    describe_gauge!(
        SECRET_EXPIRY,
        Unit::Seconds,
        "When a secret or token stops verifying (its not_after, unix time)"
    );
    describe_counter!(EVENTS, "Events by source, type and outcome");
    describe_counter!(
        SCIM_REQUESTS,
        "SCIM requests by source, operation and status"
    );
    describe_counter!(DEAD_LETTERS, "Events dead-lettered");
    describe_counter!(JOB_ATTEMPTS, "Jobs claimed by a worker (attempts)");
    describe_counter!(
        JOB_LEASES_LOST,
        "Jobs stopped because their lease expired while they ran"
    );
    describe_counter!(
        JOB_RESUMES,
        "Jobs interrupted by a store outage and resumed by their worker"
    );
    describe_counter!(
        STORE_UNAVAILABLE,
        "Store operations that failed because the store was unavailable, by component"
    );
    describe_gauge!(JOBS, "Stored events by state");
    describe_gauge!(
        OLDEST_QUEUED,
        Unit::Seconds,
        "Age of the oldest queued event"
    );
    describe_counter!(DOMO_REQUESTS, "Domo API calls by operation and status");
    describe_histogram!(DOMO_DURATION, Unit::Seconds, "Domo API call latency");
    describe_counter!(TOKEN_REFRESHES, "Domo access tokens obtained");
    describe_counter!(
        RECONCILE_RUNS,
        "Reconcile runs by status (held = over the removal cap)"
    );
    describe_gauge!(RECONCILE_DRIFT, "Drift the last reconcile found, by kind");
    describe_counter!(
        RECONCILE_REPAIRS,
        "Membership changes queued by reconciles, by kind"
    );
    describe_counter!(
        CONSOLE_SIGN_INS,
        "Console sign-ins by result (failure = a wrong token, limited = too many failures)"
    );
    describe_counter!(CONSOLE_ACTIONS, "Console actions by action and result");
    describe_counter!(
        NOTIFY_DELIVERIES,
        "Outgoing event deliveries by subscriber and outcome"
    );
    describe_histogram!(
        NOTIFY_DURATION,
        Unit::Seconds,
        "Outgoing event delivery latency"
    );
    describe_counter!(
        NOTIFY_DROPPED,
        "Outgoing events dead-lettered without an attempt (outbox full, subscriber removed)"
    );
    describe_gauge!(NOTIFY_OUTBOX, "Outgoing events in the outbox by status");
    describe_gauge!(
        NOTIFY_OLDEST_PENDING,
        Unit::Seconds,
        "Age of a subscriber's oldest undelivered event"
    );
    describe_gauge!(
        RECONCILE_LAST_SUCCESS,
        Unit::Seconds,
        "When the last complete reconcile finished (unix time)"
    );
    describe_gauge!(
        PULL_LAG,
        Unit::Seconds,
        "Now minus the newest pulled event's time, per source"
    );
    describe_counter!(PULL_ERRORS, "Pull failures by source and reason");
    describe_counter!(PULL_EVENTS, "Pulled events by source and outcome");
    describe_counter!(
        GRAPH_NOTIFICATIONS,
        "Microsoft Graph change notifications by source and outcome"
    );
    describe_gauge!(
        PULL_LAST_SUCCESS,
        Unit::Seconds,
        "When the source's last event pull succeeded (unix time)"
    );
    describe_counter!(
        PULL_CURSOR_RESETS,
        "Cursors the provider no longer honoured (a full directory pass follows)"
    );
    describe_counter!(
        DIRECTORY_DRIFT,
        "What directory passes found, by source and kind"
    );
}

/// Middleware: counts and times every request by its route template. Must be added with
/// `Router::layer` (inside routing) so `MatchedPath` is set; outside the timeout layer so a
/// 408 is counted.
pub async fn track_http(req: Request, next: Next) -> Response {
    let started = Instant::now();
    // Extension methods are arbitrary strings: only the standard ones become labels.
    let method = match *req.method() {
        Method::GET
        | Method::POST
        | Method::PUT
        | Method::DELETE
        | Method::PATCH
        | Method::HEAD
        | Method::OPTIONS => req.method().as_str().to_owned(),
        _ => "other".to_owned(),
    };
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| UNMATCHED.to_owned(), |p| p.as_str().to_owned());
    let response = next.run(req).await;
    let labels = [
        ("method", method),
        ("route", route),
        ("status", response.status().as_u16().to_string()),
    ];
    counter!(HTTP_REQUESTS, &labels).increment(1);
    histogram!(HTTP_DURATION, &labels).record(started.elapsed().as_secs_f64());
    response
}

/// What the `/metrics` handler reads on each scrape.
#[derive(Clone)]
pub struct Scrape {
    pub handle: PrometheusHandle,
    pub store: Store,
    pub domo: DomoClient,
    /// The configured subscribers' names (the outbox gauges' labels).
    pub subscribers: Vec<String>,
}

/// How long a scrape waits for each store read: while the store is down the gauges keep their
/// last values and the rest still renders, within a scraper's timeout.
const SCRAPE_STORE_BOUND: Duration = Duration::from_secs(2);

/// `GET /metrics`: refreshes the gauges read from the store, then renders the text format.
pub async fn render(State(s): State<Scrape>) -> Response {
    match bounded(s.store.count_by_status()).await {
        Ok(counts) => {
            for state in STATES {
                let n = counts
                    .iter()
                    .find(|(k, _)| k == state)
                    .map_or(0, |(_, n)| *n);
                gauge!(JOBS, "state" => state).set(n as f64);
            }
        }
        Err(e) => tracing::warn!(error = %e, "metrics: cannot count jobs"),
    }
    match bounded(s.store.oldest_queued_received_ms()).await {
        Ok(oldest) => {
            let now = chrono::Utc::now().timestamp_millis();
            let age = oldest.map_or(0, |t| now.saturating_sub(t).max(0));
            gauge!(OLDEST_QUEUED).set(age as f64 / 1000.0);
        }
        Err(e) => tracing::warn!(error = %e, "metrics: cannot read the queue age"),
    }
    if !s.subscribers.is_empty() {
        match s.store.outbox_counts().await {
            Ok(counts) => {
                let now = chrono::Utc::now().timestamp_millis();
                for name in &s.subscribers {
                    let mine = counts.iter().filter(|c| c.subscriber == *name);
                    for state in OUTBOX_STATES {
                        let n = mine
                            .clone()
                            .find(|c| c.status == state)
                            .map_or(0, |c| c.count);
                        gauge!(NOTIFY_OUTBOX, "subscriber" => name.clone(), "status" => state)
                            .set(n as f64);
                    }
                    let oldest = mine.filter_map(|c| c.oldest_created_ms).min();
                    let age = oldest.map_or(0, |t| now.saturating_sub(t).max(0));
                    gauge!(NOTIFY_OLDEST_PENDING, "subscriber" => name.clone())
                        .set(age as f64 / 1000.0);
                }
            }
            Err(e) => tracing::warn!(error = %e, "metrics: cannot count the outbox"),
        }
    }
    counter!(TOKEN_REFRESHES).absolute(s.domo.token_refreshes());
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        s.handle.render(),
    )
        .into_response()
}

/// A store read within `SCRAPE_STORE_BOUND` (past it, the pool's own timeout error).
async fn bounded<T>(
    read: impl Future<Output = Result<T, crate::store::StoreError>>,
) -> Result<T, crate::store::StoreError> {
    tokio::time::timeout(SCRAPE_STORE_BOUND, read)
        .await
        .unwrap_or_else(|_| Err(crate::store::StoreError::Db(sqlx::Error::PoolTimedOut)))
}

/// The canonical type as a bounded label: one of the six wire names, else `other`.
pub fn type_label(event_type: &str) -> &'static str {
    EventType::ALL
        .into_iter()
        .map(EventType::as_str)
        .find(|t| *t == event_type)
        .unwrap_or("other")
}

/// The type label of a stored canonical payload; `None` when it cannot be read.
pub fn payload_type_label(payload: Option<&str>) -> Option<&'static str> {
    #[derive(serde::Deserialize)]
    struct TypeOnly {
        #[serde(rename = "type")]
        kind: String,
    }
    let t: TypeOnly = serde_json::from_str(payload?).ok()?;
    Some(type_label(&t.kind))
}

/// Counts the ingest outcome of each event (`types` in the same order as `outcomes`).
pub fn record_ingest(source: &str, types: &[&'static str], outcomes: &[IngestOutcome]) {
    for (kind, o) in types.iter().zip(outcomes) {
        let outcome = match o.status {
            IngestStatus::Queued => "queued",
            IngestStatus::Duplicate => "duplicate",
            IngestStatus::Ignored => "ignored",
        };
        counter!(EVENTS, "source" => source.to_owned(), "type" => *kind, "outcome" => outcome)
            .increment(1);
    }
}

/// Counts one SCIM request.
pub fn record_scim(source: String, operation: &'static str, status: u16) {
    counter!(SCIM_REQUESTS, "source" => source, "operation" => operation, "status" => status.to_string())
        .increment(1);
}

/// Counts a job's outcome for each of its events: `(source, type)` pairs.
pub fn record_job<'a>(events: impl IntoIterator<Item = (&'a str, &'static str)>, o: &JobOutcome) {
    let outcome = match o {
        JobOutcome::Done => "done",
        JobOutcome::Retry { .. } => "retry",
        JobOutcome::Dead { .. } => "dead",
    };
    for (source, kind) in events {
        counter!(EVENTS, "source" => source.to_owned(), "type" => kind, "outcome" => outcome)
            .increment(1);
        if outcome == "dead" {
            counter!(DEAD_LETTERS, "source" => source.to_owned()).increment(1);
        }
    }
}

/// Counts and times one Domo call made by a worker.
pub fn record_domo_call(op: &str, result: Result<u16, &DomoError>, elapsed: Duration) {
    let status = match result {
        Ok(s) => s.to_string(),
        Err(e) => e
            .status()
            .map_or_else(|| "error".to_owned(), |s| s.to_string()),
    };
    let labels = [("op", op.to_owned()), ("status", status)];
    counter!(DOMO_REQUESTS, &labels).increment(1);
    histogram!(DOMO_DURATION, &labels).record(elapsed.as_secs_f64());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_labels_are_bounded_to_the_canonical_types() {
        assert_eq!(type_label("user.onboarded"), "user.onboarded");
        assert_eq!(type_label("dsync.user.created"), "other");
        assert_eq!(type_label("ada@example.com"), "other");
        assert_eq!(
            payload_type_label(Some(r#"{"id":"e","type":"user.offboarded"}"#)),
            Some("user.offboarded")
        );
        assert_eq!(payload_type_label(Some("not json")), None);
        assert_eq!(payload_type_label(None), None);
    }

    #[test]
    fn installing_twice_gives_the_same_recorder() {
        let a = install();
        let b = install();
        counter!("dgs_test_install_twice_total").increment(1);
        assert!(a.render().contains("dgs_test_install_twice_total"));
        assert!(b.render().contains("dgs_test_install_twice_total"));
    }
}
