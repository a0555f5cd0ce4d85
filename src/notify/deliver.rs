//! Delivery: one lane (task) per subscriber, off the path of ingest and the workers.
//!
//! A lane takes its subscriber's lease in the store (`notify:<name>`; on PostgreSQL on the
//! database's clock), so one delivery at a time per subscriber across replicas, renewed before
//! each delivery for longer than a delivery may take. It sends the message due longest (new
//! messages in the order they were written), and
//! records the outcome: delivered on any 2xx; otherwise retried with exponential backoff and
//! jitter (never before the subscriber's `Retry-After`), and dead after
//! `notify.max_attempts`. The attempt is counted before the request goes out, so a crash
//! mid-delivery retries the message later: at least once. A message that fails waits for its
//! own retry while later ones go on, so order holds while the subscriber answers, not across a
//! failure (each body has its `timestamp`, each message its `webhook-id`).
//!
//! A janitor bounds the outbox: delivered and dead messages are deleted after
//! `notify.retention_secs`; past `notify.max_pending` undelivered messages for one subscriber,
//! the oldest are dead-lettered ("outbox full"), still replayable until deleted; messages of a
//! subscriber removed from the configuration are dead-lettered.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::{NotifyConfig, SubscriberConfig, SubscriberKind};
use crate::store::{AttemptOutcome, OutboxRow, Store, StoreError};
use crate::worker::RetryPolicy;

use crate::prometheus::{
    NOTIFY_DELIVERIES as DELIVERIES, NOTIFY_DROPPED as DROPPED,
    NOTIFY_DURATION as DELIVERY_DURATION,
};

/// How much of a subscriber's error answer is kept (never logged; stored for the API).
const ERROR_SNIPPET: usize = 200;
/// Rows deleted per janitor statement.
const PRUNE_BATCH: i64 = 1_000;
/// How often the janitor runs.
const JANITOR_EVERY: Duration = Duration::from_secs(60);

/// The delivery lanes and their janitor.
pub struct Deliverer {
    store: Store,
    subscribers: Vec<SubscriberConfig>,
    settings: NotifyConfig,
    retry: RetryPolicy,
    http: reqwest::Client,
    bell: Arc<tokio::sync::Notify>,
}

/// A failed attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Failure {
    status: Option<u16>,
    retry_after: Option<Duration>,
    message: String,
}

impl Deliverer {
    pub fn new(
        store: Store,
        subscribers: Vec<SubscriberConfig>,
        settings: NotifyConfig,
        bell: Arc<tokio::sync::Notify>,
    ) -> anyhow::Result<Deliverer> {
        let timeout = Duration::from_secs(settings.timeout_secs);
        let http = reqwest::Client::builder()
            .user_agent(concat!("domo-group-sync/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(timeout)
            .timeout(timeout)
            // A redirect is a failure: the signature is for this URL's receiver only.
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        // Every subscriber's series exist from the start, at zero: a rate over them (and the
        // alert on failing subscribers) then sees "none delivered", not "no data".
        for sub in &subscribers {
            for outcome in ["delivered", "failed", "dead"] {
                metrics::counter!(DELIVERIES, "subscriber" => sub.name.clone(), "outcome" => outcome)
                    .absolute(0);
            }
            metrics::counter!(DROPPED, "subscriber" => sub.name.clone(), "reason" => "full")
                .absolute(0);
        }
        Ok(Deliverer {
            retry: RetryPolicy {
                max_attempts: settings.max_attempts,
                base: Duration::from_millis(settings.backoff_base_ms),
                max: Duration::from_secs(settings.backoff_max_secs),
            },
            store,
            subscribers,
            settings,
            http,
            bell,
        })
    }

    /// Starts one lane per subscriber and the janitor on `tracker`, until `token`.
    pub fn spawn(self: &Arc<Self>, tracker: &TaskTracker, token: &CancellationToken) {
        for i in 0..self.subscribers.len() {
            let (d, t) = (self.clone(), token.clone());
            tracker.spawn(async move { d.lane(i, t).await });
        }
        let (d, t) = (self.clone(), token.clone());
        tracker.spawn(async move { d.janitor(t).await });
    }

    /// How long a lane's lease lasts: longer than one delivery can take.
    fn lease_ms(&self) -> i64 {
        i64::try_from(self.settings.timeout_secs * 2 * 1000 + 5_000).unwrap_or(i64::MAX)
    }

    async fn lane(self: Arc<Self>, i: usize, token: CancellationToken) {
        let Some(sub) = self.subscribers.get(i) else {
            return;
        };
        let owner = format!(
            "{}:{}",
            crate::worker::owner_prefix(),
            uuid::Uuid::new_v4().simple()
        );
        let poll = Duration::from_millis(self.settings.poll_interval_ms);
        while !token.is_cancelled() {
            let rung = self.bell.notified();
            match self.deliver_next(sub, &owner).await {
                Ok(true) => continue,
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(subscriber = %sub.name, error = %e, "delivery lane: store failed; will retry")
                }
            }
            let wait = match self.store.outbox_next_due(&sub.name).await {
                Ok(Some(due)) => {
                    Duration::from_millis(u64::try_from(due.saturating_sub(now_ms())).unwrap_or(0))
                        .min(poll)
                }
                _ => poll,
            };
            tokio::select! {
                () = token.cancelled() => break,
                () = rung => {}
                () = tokio::time::sleep(wait.max(Duration::from_millis(10))) => {}
            }
        }
        if let Err(e) = self.store.outbox_release_lane(&sub.name, &owner).await {
            tracing::debug!(subscriber = %sub.name, error = %e, "could not release the lane; it will expire");
        }
    }

    /// Sends the subscriber's oldest due message, if this replica holds the lane. `true` when
    /// an attempt was made.
    pub async fn deliver_next(
        &self,
        sub: &SubscriberConfig,
        owner: &str,
    ) -> Result<bool, StoreError> {
        let now = now_ms();
        let retry = self.retry;
        let Some(row) = self
            .store
            .outbox_start_attempt(&sub.name, owner, self.lease_ms(), now, |attempts| {
                let attempts = u32::try_from(attempts).unwrap_or(u32::MAX);
                now + millis(retry.delay(attempts, None, fastrand::f64()))
            })
            .await?
        else {
            return Ok(false);
        };
        let started = Instant::now();
        let result = self.send(sub, &row).await;
        let elapsed = started.elapsed();
        metrics::histogram!(DELIVERY_DURATION, "subscriber" => sub.name.clone())
            .record(elapsed.as_secs_f64());
        let attempts = u32::try_from(row.attempts).unwrap_or(u32::MAX);
        let outcome = match result {
            Ok(status) => AttemptOutcome::Delivered {
                status: i64::from(status),
            },
            Err(f) if self.retry.may_retry(attempts) => {
                let retry_after = f
                    .retry_after
                    .map(|d| d.min(Duration::from_secs(self.settings.backoff_max_secs)));
                let delay = self.retry.delay(attempts, retry_after, fastrand::f64());
                AttemptOutcome::Retry {
                    next_ms: now_ms() + millis(delay),
                    status: f.status.map(i64::from),
                    error: f.message,
                }
            }
            Err(f) => AttemptOutcome::Dead {
                status: f.status.map(i64::from),
                error: format!("gave up after {attempts} attempts: {}", f.message),
            },
        };
        let label = match &outcome {
            AttemptOutcome::Delivered { .. } => "delivered",
            AttemptOutcome::Retry { .. } => "failed",
            AttemptOutcome::Dead { .. } => "dead",
        };
        metrics::counter!(DELIVERIES, "subscriber" => sub.name.clone(), "outcome" => label)
            .increment(1);
        match &outcome {
            AttemptOutcome::Delivered { .. } => tracing::debug!(
                subscriber = %sub.name, delivery = row.id, event_type = %row.event_type, "delivered"
            ),
            AttemptOutcome::Retry { error, .. } => tracing::info!(
                subscriber = %sub.name, delivery = row.id, attempt = attempts, error = %error,
                "delivery failed; will retry"
            ),
            AttemptOutcome::Dead { error, .. } => tracing::warn!(
                subscriber = %sub.name, delivery = row.id, error = %error,
                "delivery dead-lettered (replay: POST /api/v1/deliveries/{{id}}/replay)"
            ),
        }
        self.store.outbox_finish(row.id, &outcome, now_ms()).await?;
        Ok(true)
    }

    /// One HTTP attempt: the signed body (webhook) or the Slack text.
    async fn send(&self, sub: &SubscriberConfig, row: &OutboxRow) -> Result<u16, Failure> {
        let mut request = self
            .http
            .post(sub.url.expose())
            .header(reqwest::header::CONTENT_TYPE, "application/json");
        let body = match sub.kind {
            SubscriberKind::Webhook => {
                let Some(secret) = &sub.secret else {
                    return Err(Failure {
                        status: None,
                        retry_after: None,
                        message: "the subscriber has no signing secret".into(),
                    });
                };
                let now = chrono::Utc::now().timestamp();
                let headers = crate::signature::sign_standard_webhooks(
                    secret,
                    row.body.as_bytes(),
                    now,
                    &row.msg_id,
                )
                .map_err(|e| Failure {
                    status: None,
                    retry_after: None,
                    message: format!("cannot sign: {e}"),
                })?;
                for (k, v) in headers {
                    request = request.header(k, v);
                }
                row.body.clone()
            }
            SubscriberKind::Slack => super::slack::message(&row.body),
        };
        let response = request.body(body).send().await.map_err(|e| Failure {
            status: None,
            retry_after: None,
            // Without the URL: it may hold a token (Slack).
            message: transport_error(&e),
        })?;
        let status = response.status();
        if status.is_success() {
            return Ok(status.as_u16());
        }
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| crate::domo::parse_retry_after(v, chrono::Utc::now()));
        let text = response.text().await.unwrap_or_default();
        let snippet: String = text
            .chars()
            .filter(|c| !c.is_control())
            .take(ERROR_SNIPPET)
            .collect();
        Err(Failure {
            status: Some(status.as_u16()),
            retry_after,
            message: if snippet.trim().is_empty() {
                format!("answered {}", status.as_u16())
            } else {
                format!("answered {}: {}", status.as_u16(), snippet.trim())
            },
        })
    }

    async fn janitor(self: Arc<Self>, token: CancellationToken) {
        loop {
            if let Err(e) = self.tidy().await {
                tracing::warn!(error = %e, "outbox janitor failed; will retry");
            }
            tokio::select! {
                () = token.cancelled() => return,
                () = tokio::time::sleep(JANITOR_EVERY) => {}
            }
        }
    }

    /// One janitor pass: orphans, the per-subscriber cap, retention.
    pub async fn tidy(&self) -> Result<(), StoreError> {
        let now = now_ms();
        let names: Vec<String> = self.subscribers.iter().map(|s| s.name.clone()).collect();
        let orphaned = self.store.outbox_orphans(&names, now).await?;
        if orphaned > 0 {
            tracing::warn!(
                messages = orphaned,
                "dead-lettered messages of subscribers no longer configured"
            );
            metrics::counter!(DROPPED, "subscriber" => "unconfigured", "reason" => "orphaned")
                .increment(orphaned);
        }
        let keep = i64::try_from(self.settings.max_pending).unwrap_or(i64::MAX);
        for name in &names {
            let reason = format!(
                "outbox full: more than notify.max_pending ({keep}) undelivered messages for this subscriber"
            );
            let n = self.store.outbox_cap(name, keep, &reason, now).await?;
            if n > 0 {
                tracing::warn!(subscriber = %name, messages = n, "outbox full: dead-lettered the oldest undelivered messages");
                metrics::counter!(DROPPED, "subscriber" => name.clone(), "reason" => "full")
                    .increment(n);
            }
        }
        let cutoff = now - i64::try_from(self.settings.retention_secs * 1000).unwrap_or(i64::MAX);
        loop {
            let n = self.store.outbox_prune(cutoff, PRUNE_BATCH).await?;
            if n < u64::try_from(PRUNE_BATCH).unwrap_or(u64::MAX) {
                break;
            }
        }
        Ok(())
    }
}

/// A transport failure in a few words, without the URL.
fn transport_error(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "could not connect".into()
    } else if e.is_redirect() {
        "redirected (redirects are not followed)".into()
    } else {
        "the connection failed".into()
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
