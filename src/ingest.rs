//! The durable front door: turns parsed events into inbox rows and commits them, sharing one
//! commit between concurrent requests (group commit) so that durable ingest is not capped at one
//! fsync per request.
//!
//! A request hands its items to a committer task and waits for the reply; the committer takes
//! every request already waiting (up to `store.max_batch`), writes them in one transaction, and
//! answers each. The HTTP layer answers 202 only after that reply: ack means durable.

use std::sync::Arc;

use tokio::sync::{Mutex, Notify, mpsc, oneshot};

use crate::event::{CanonicalEvent, EventType};
use crate::sources::Parsed;
use crate::store::{IngestItem, IngestOutcome, IngestSession, ScimTx, Store, StoreError};

/// Why events could not be stored (nothing of the request was acknowledged). The HTTP layer
/// answers 503 when the store is unavailable (`StoreError::is_unavailable`), else 500.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the store could not commit: {message}")]
pub struct IngestError {
    pub message: String,
    /// The store was unavailable (down, unreachable, full, read-only): retry later.
    pub unavailable: bool,
}

impl IngestError {
    fn stopped() -> Self {
        IngestError {
            message: "the committer has stopped".into(),
            unavailable: true,
        }
    }
}

impl From<IngestError> for crate::error::ApiError {
    fn from(e: IngestError) -> Self {
        use crate::error::{ApiError, ProblemKind};
        if e.unavailable {
            ApiError::new(ProblemKind::StoreUnavailable)
        } else {
            ApiError::new(ProblemKind::Internal)
        }
    }
}

struct Request {
    source: String,
    items: Vec<IngestItem>,
    reply: oneshot::Sender<Result<Vec<IngestOutcome>, IngestError>>,
}

/// Submits events to the store, batching concurrent submissions into shared commits.
#[derive(Clone)]
pub struct Ingestor {
    store: Store,
    tx: Option<mpsc::Sender<Request>>,
    notify: Arc<Notify>,
}

impl Ingestor {
    /// Starts the committer task(s). With `group_commit` off, every submission commits on its
    /// own (the baseline for the benchmark). `notify` wakes the workers after each commit.
    pub fn start(store: Store, group_commit: bool, max_batch: usize, notify: Arc<Notify>) -> Self {
        if !group_commit {
            return Ingestor {
                store,
                tx: None,
                notify,
            };
        }
        let (tx, rx) = mpsc::channel::<Request>(max_batch.max(1) * 4);
        // SQLite has one writer: one committer. PostgreSQL commits in parallel well, so a few
        // committers share the queue, each still batching what is waiting.
        let committers = match store {
            Store::Sqlite(_) => 1,
            Store::Postgres(_) => 4,
        };
        let rx = Arc::new(Mutex::new(rx));
        for _ in 0..committers {
            let (store, rx, notify) = (store.clone(), rx.clone(), notify.clone());
            tokio::spawn(async move { commit_loop(store, rx, max_batch.max(1), notify).await });
        }
        Ingestor {
            store,
            tx: Some(tx),
            notify,
        }
    }

    /// Stores the items of one request and returns their outcomes once committed.
    pub async fn submit(
        &self,
        source: &str,
        items: Vec<IngestItem>,
    ) -> Result<Vec<IngestOutcome>, IngestError> {
        let types: Vec<&'static str> = items
            .iter()
            .map(|i| crate::prometheus::type_label(&i.event_type))
            .collect();
        let outcomes = self.commit(source, items).await?;
        crate::prometheus::record_ingest(source, &types, &outcomes);
        Ok(outcomes)
    }

    async fn commit(
        &self,
        source: &str,
        items: Vec<IngestItem>,
    ) -> Result<Vec<IngestOutcome>, IngestError> {
        let Some(tx) = &self.tx else {
            let now = chrono::Utc::now().timestamp_millis();
            let mut out = self
                .store
                .ingest(&[(source, &items)], now)
                .await
                .map_err(|e| store_error(&e))?;
            self.notify.notify_waiters();
            return Ok(out.pop().unwrap_or_default());
        };
        let (reply, rx) = oneshot::channel();
        let req = Request {
            source: source.to_owned(),
            items,
            reply,
        };
        tx.send(req).await.map_err(|_| IngestError::stopped())?;
        rx.await.map_err(|_| IngestError::stopped())?
    }
}

impl Ingestor {
    /// The inbox for writers that keep rows of their own beside the events (the SCIM view):
    /// stores `items` in `tx`, the writer's open transaction, and commits both at once. The
    /// caller answers only after this returns (ack means durable), and a failure leaves
    /// neither. Dedup, job keys and per-user order are the inbox's, as for every input; the
    /// workers are woken and the events counted as for a webhook.
    pub async fn commit_with(
        &self,
        source: &str,
        mut tx: ScimTx,
        items: Vec<IngestItem>,
    ) -> Result<Vec<IngestOutcome>, StoreError> {
        let types: Vec<&'static str> = items
            .iter()
            .map(|i| crate::prometheus::type_label(&i.event_type))
            .collect();
        let now = chrono::Utc::now().timestamp_millis();
        let outcomes = if items.is_empty() {
            Vec::new()
        } else {
            tx.insert_events(source, &items, now).await?
        };
        tx.commit().await?;
        if !outcomes.is_empty() {
            self.notify.notify_waiters();
            crate::prometheus::record_ingest(source, &types, &outcomes);
        }
        Ok(outcomes)
    }
}

fn store_error(e: &StoreError) -> IngestError {
    let unavailable = e.is_unavailable();
    if unavailable {
        tracing::warn!(error = %e, "ingest commit failed: the store is unavailable");
        metrics::counter!(crate::prometheus::STORE_UNAVAILABLE, "component" => "ingest")
            .increment(1);
    } else {
        tracing::error!(error = %e, "ingest commit failed");
    }
    IngestError {
        message: e.to_string(),
        unavailable,
    }
}

/// How long a committer keeps the writer connection for batch after batch while requests
/// keep arriving, before handing it back so that the workers' claims get their turn.
const HOLD_WRITER: std::time::Duration = std::time::Duration::from_millis(20);

async fn commit_loop(
    store: Store,
    rx: Arc<Mutex<mpsc::Receiver<Request>>>,
    max_batch: usize,
    notify: Arc<Notify>,
) {
    let mut pending: Vec<Request> = Vec::new();
    loop {
        if pending.is_empty() {
            // Wait for work holding no connection.
            let Some(head) = rx.lock().await.recv().await else {
                return;
            };
            pending.push(head);
        }
        take_waiting(&rx, &mut pending, max_batch);
        let mut session = match store.ingest_session().await {
            Ok(s) => s,
            Err(e) => {
                let err = store_error(&e);
                // No connection within the acquire bound: the requests queued meanwhile would
                // wait as long again for the same answer. Answer them now (503), so that no
                // request waits more than about one bound while the store is down.
                if err.unavailable {
                    take_waiting(&rx, &mut pending, usize::MAX);
                }
                for req in pending.drain(..) {
                    let _ = req.reply.send(Err(err.clone()));
                }
                continue;
            }
        };
        let held = std::time::Instant::now();
        loop {
            let batch = std::mem::take(&mut pending);
            // A failed connection goes back to the pool, which tests or closes it.
            if !commit_batch(&mut session, batch, &notify).await {
                break;
            }
            take_waiting(&rx, &mut pending, max_batch);
            if pending.is_empty() || held.elapsed() >= HOLD_WRITER {
                break;
            }
        }
    }
}

/// Adds the requests already queued to `pending`, up to `max_batch`, without ever waiting:
/// the caller may hold the writer, and another committer may be parked on the queue.
fn take_waiting(rx: &Mutex<mpsc::Receiver<Request>>, pending: &mut Vec<Request>, max_batch: usize) {
    let Ok(mut rx) = rx.try_lock() else { return };
    while pending.len() < max_batch {
        match rx.try_recv() {
            Ok(r) => pending.push(r),
            Err(_) => break,
        }
    }
}

/// Commits one batch on the session and answers its requests; whether the commit worked.
async fn commit_batch(session: &mut IngestSession, batch: Vec<Request>, notify: &Notify) -> bool {
    let now = chrono::Utc::now().timestamp_millis();
    let requests: Vec<(&str, &[IngestItem])> = batch
        .iter()
        .map(|r| (r.source.as_str(), r.items.as_slice()))
        .collect();
    match session.ingest(&requests, now).await {
        Ok(outcomes) => {
            for (req, out) in batch.into_iter().zip(outcomes) {
                let _ = req.reply.send(Ok(out));
            }
            notify.notify_waiters();
            true
        }
        Err(e) => {
            let err = store_error(&e);
            for req in batch {
                let _ = req.reply.send(Err(err.clone()));
            }
            false
        }
    }
}

/// The queue lane of an event: its user's email, else the sender's user id (resolved later),
/// else the group it creates.
pub fn job_key(source: &str, ev: &CanonicalEvent) -> String {
    if let Some(email) = ev.user_key() {
        return format!("user:{email}");
    }
    if ev.event_type == EventType::GroupCreated {
        let name = ev
            .groups
            .as_deref()
            .and_then(<[String]>::first)
            .map(|g| g.to_lowercase())
            .unwrap_or_default();
        return format!("group:{name}");
    }
    let id = ev
        .user
        .as_ref()
        .and_then(|u| u.id.as_deref())
        .unwrap_or_default();
    format!("id:{source}:{id}")
}

/// Turns a parsed item into the row to store.
pub fn to_item(source: &str, parsed: Parsed, replay_of: Option<i64>) -> IngestItem {
    match parsed {
        Parsed::Event(ev) => IngestItem {
            event_id: ev.id.clone(),
            event_type: ev.event_type.as_str().to_owned(),
            job_key: Some(job_key(source, &ev)),
            user_key: ev.user_key(),
            occurred_at: Some(ev.occurred_at.timestamp_micros()),
            payload: serde_json::to_string(&ev).ok(),
            replay_of,
            request_id: None,
            trace_context: crate::telemetry::traceparent(),
        },
        Parsed::Ignored { id, kind } => IngestItem {
            event_id: id,
            event_type: kind,
            job_key: None,
            user_key: None,
            occurred_at: None,
            payload: None,
            replay_of,
            request_id: None,
            trace_context: crate::telemetry::traceparent(),
        },
    }
}
