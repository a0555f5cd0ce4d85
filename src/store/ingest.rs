//! Inbox writes: one transaction stores the events of many requests (group commit), with
//! `(source, event_id)` as the dedup key.

use super::{Store, StoreError, on_pool};

/// One event to store, already verified, parsed and mapped.
#[derive(Debug, Clone)]
pub struct IngestItem {
    /// The sender's id: with the source, the dedup key.
    pub event_id: String,
    /// The canonical type, or the sender's own type for an ignored event.
    pub event_type: String,
    /// Which queue lane the job belongs to; `None` stores the event as `ignored`.
    pub job_key: Option<String>,
    /// The lower-cased email, when the event names one.
    pub user_key: Option<String>,
    /// When it happened at the sender, unix microseconds.
    pub occurred_at: Option<i64>,
    /// The canonical event as JSON.
    pub payload: Option<String>,
    /// The event this one replays (a replay bypasses dedup with a fresh id).
    pub replay_of: Option<i64>,
    /// The `x-request-id` of the HTTP request that delivered it (links the logs).
    pub request_id: Option<String>,
}

/// What became of one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IngestStatus {
    /// Stored; a job will apply it.
    Queued,
    /// Stored and acknowledged; the service does not act on this type.
    Ignored,
    /// Seen before (same source and id); nothing was stored.
    Duplicate,
}

/// The outcome for one item, in request order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestOutcome {
    pub event_id: String,
    pub status: IngestStatus,
    /// The row id of the stored event (absent for duplicates).
    pub pk: Option<i64>,
}

const INSERT: &str = "INSERT INTO events (source, event_id, event_type, job_key, user_key, \
     occurred_at, received_ms, payload, status, attempts, run_at_ms, replay_of, updated_ms, \
     request_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, $7, $10, $7, $11) \
     ON CONFLICT (source, event_id) DO NOTHING RETURNING id";

impl Store {
    /// Stores the items of several requests in ONE transaction and returns, per request, the
    /// outcome of each item. Nothing is visible (or acknowledged) before the commit.
    pub async fn ingest(
        &self,
        requests: &[(&str, &[IngestItem])],
        now_ms: i64,
    ) -> Result<Vec<Vec<IngestOutcome>>, StoreError> {
        // Insert in (source, event id) order, whatever the request order: concurrent batches
        // (PostgreSQL runs several committers, and replicas) that share event ids then wait
        // for each other's unique-index entries in one order and cannot deadlock.
        let mut order: Vec<(usize, usize)> = requests
            .iter()
            .enumerate()
            .flat_map(|(r, (_, items))| (0..items.len()).map(move |i| (r, i)))
            .collect();
        order.sort_by(|&(ra, ia), &(rb, ib)| {
            (requests[ra].0, &requests[ra].1[ia].event_id)
                .cmp(&(requests[rb].0, &requests[rb].1[ib].event_id))
                .then((ra, ia).cmp(&(rb, ib)))
        });
        let mut pks: Vec<Vec<Option<i64>>> = requests
            .iter()
            .map(|(_, items)| vec![None; items.len()])
            .collect();
        on_pool!(self, pool, sql = INSERT => {
            let mut tx = pool.begin().await?;
            for &(r, i) in &order {
                let (source, items) = requests[r];
                let it = &items[i];
                let status = if it.job_key.is_some() { "queued" } else { "ignored" };
                pks[r][i] = sqlx::query_scalar(sql)
                    .bind(source)
                    .bind(&it.event_id)
                    .bind(&it.event_type)
                    .bind(&it.job_key)
                    .bind(&it.user_key)
                    .bind(it.occurred_at)
                    .bind(now_ms)
                    .bind(&it.payload)
                    .bind(status)
                    .bind(it.replay_of)
                    .bind(&it.request_id)
                    .fetch_optional(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        });
        Ok(requests
            .iter()
            .zip(pks)
            .map(|((_, items), pks)| {
                items
                    .iter()
                    .zip(pks)
                    .map(|(it, pk)| {
                        let status = match (pk, it.job_key.is_some()) {
                            (None, _) => IngestStatus::Duplicate,
                            (Some(_), true) => IngestStatus::Queued,
                            (Some(_), false) => IngestStatus::Ignored,
                        };
                        IngestOutcome {
                            event_id: it.event_id.clone(),
                            status,
                            pk,
                        }
                    })
                    .collect()
            })
            .collect())
    }

    /// Counts stored events by status (for tests, metrics and the crash test).
    pub async fn count_events(&self, status: &str) -> Result<i64, StoreError> {
        super::on_read_pool!(self, pool, sql = "SELECT COUNT(*) FROM events WHERE status = $1" => {
            Ok(sqlx::query_scalar(sql).bind(status).fetch_one(pool).await?)
        })
    }

    /// Counts events still to be worked (queued or running), in one read: two separate
    /// counts can both miss a job that moves from running back to queued between them.
    pub async fn count_pending(&self) -> Result<i64, StoreError> {
        super::on_read_pool!(self, pool, sql = "SELECT COUNT(*) FROM events WHERE status IN ('queued', 'running')" => {
            Ok(sqlx::query_scalar(sql).fetch_one(pool).await?)
        })
    }

    /// Whether an event with this source and id is stored.
    pub async fn has_event(&self, source: &str, event_id: &str) -> Result<bool, StoreError> {
        super::on_read_pool!(self, pool, sql = "SELECT COUNT(*) FROM events WHERE source = $1 AND event_id = $2" => {
            let n: i64 = sqlx::query_scalar(sql).bind(source).bind(event_id).fetch_one(pool).await?;
            Ok(n > 0)
        })
    }
}
