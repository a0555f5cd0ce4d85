//! Inbox writes: one transaction stores the events of many requests (group commit), with
//! `(source, event_id)` as the dedup key.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex, PoisonError};

use sqlx::Row;

use sqlx::Connection;
use sqlx::pool::PoolConnection;

use super::{Store, StoreError};

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
    /// The W3C `traceparent` of the span that stored it, so that the job applying it
    /// continues the trace (`None` when tracing is off).
    pub trace_context: Option<String>,
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

/// The columns of one inbox row, after `$1` (the commit time, shared by every row).
const COLUMNS: &str = "INSERT INTO events (source, event_id, event_type, job_key, user_key, \
     occurred_at, payload, status, replay_of, request_id, trace_context, received_ms, run_at_ms, \
     updated_ms, attempts) VALUES ";
/// Bound parameters per row (the commit time is bound once, as `$1`).
const PARAMS_PER_ROW: usize = 11;
/// Rows per statement at most. Statements hold 1, 2, 4, … `MAX_ROWS` rows, so that a batch of
/// any size takes a handful of statements whose texts (and prepared plans) are reused.
const MAX_ROWS: usize = 128;

/// The insert of `rows` rows, `$N` style: `ON CONFLICT DO NOTHING`, returning the rows it
/// stored, so that the ones missing are duplicates.
fn insert_sql_text(rows: usize) -> String {
    let mut sql = String::from(COLUMNS);
    for r in 0..rows {
        let b = 2 + r * PARAMS_PER_ROW;
        let row: Vec<String> = (b..b + PARAMS_PER_ROW).map(|n| format!("${n}")).collect();
        if r > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&format!("({}, $1, $1, $1, 0)", row.join(", ")));
    }
    sql.push_str(" ON CONFLICT (source, event_id) DO NOTHING RETURNING id, source, event_id");
    sql
}

/// `insert_sql_text`, built once per size (the chunk sizes are few: powers of two).
fn insert_sql(rows: usize) -> &'static str {
    static CACHE: LazyLock<Mutex<HashMap<usize, &'static str>>> =
        LazyLock::new(|| Mutex::new(HashMap::new()));
    let mut cache = CACHE.lock().unwrap_or_else(PoisonError::into_inner);
    cache
        .entry(rows)
        .or_insert_with(|| Box::leak(insert_sql_text(rows).into_boxed_str()))
}

/// Splits `n` rows into statement sizes: the largest power of two ≤ `MAX_ROWS` that fits,
/// repeatedly (100 rows: 64 + 32 + 4).
fn chunk_sizes(mut n: usize) -> Vec<usize> {
    let mut sizes = Vec::new();
    while n > 0 {
        let size = MAX_ROWS.min(1 << n.ilog2());
        sizes.push(size);
        n -= size;
    }
    sizes
}

/// A hold on a writer connection for consecutive ingest batches. Returning a connection to
/// sqlx's pool costs a spawned task and a ping on the database thread; on SQLite, whose one
/// writer connection every batch needs, that hand-back was a third of a batch's time under
/// load. The committer keeps a session while requests are waiting (for a bounded time, so
/// that workers get the writer too) and drops it when the queue is empty.
pub enum IngestSession {
    Sqlite(PoolConnection<sqlx::Sqlite>),
    Postgres(PoolConnection<sqlx::Postgres>),
}

impl Store {
    /// Takes a writer connection for `IngestSession::ingest`.
    pub async fn ingest_session(&self) -> Result<IngestSession, StoreError> {
        Ok(match self {
            Store::Sqlite(s) => IngestSession::Sqlite(s.write.acquire().await?),
            Store::Postgres(p) => IngestSession::Postgres(p.pool.acquire().await?),
        })
    }

    /// Stores the items of several requests in ONE transaction and returns, per request, the
    /// outcome of each item. Nothing is visible (or acknowledged) before the commit.
    pub async fn ingest(
        &self,
        requests: &[(&str, &[IngestItem])],
        now_ms: i64,
    ) -> Result<Vec<Vec<IngestOutcome>>, StoreError> {
        self.ingest_session().await?.ingest(requests, now_ms).await
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

impl IngestSession {
    /// `Store::ingest` on this session's connection.
    pub async fn ingest(
        &mut self,
        requests: &[(&str, &[IngestItem])],
        now_ms: i64,
    ) -> Result<Vec<Vec<IngestOutcome>>, StoreError> {
        self.ingest_with(requests, now_ms, None)
            .await?
            .ok_or_else(|| StoreError::Corrupt("an unfenced ingest was fenced off".into()))
    }

    /// Stores a page of pulled events of `source` and advances its cursor in the SAME
    /// transaction: a crash then re-reads the page (its events come back as duplicates) and
    /// never skips it. The write counts only while `fence` (the source's pull lease) is held
    /// by its owner; otherwise nothing is written and the answer is `None`.
    pub async fn ingest_pulled(
        &mut self,
        source: &str,
        items: &[IngestItem],
        cursor: &super::pull::CursorWrite,
        fence: &super::pull::Fence,
        now_ms: i64,
    ) -> Result<Option<Vec<IngestOutcome>>, StoreError> {
        let out = self
            .ingest_with(&[(source, items)], now_ms, Some((source, cursor, fence)))
            .await?;
        Ok(out.map(|mut o| o.pop().unwrap_or_default()))
    }

    /// The inbox rows of `requests`, and with `cursor` the pull cursor (fenced by the pull
    /// lease), in one transaction. `None`: the fence no longer holds, nothing was written.
    async fn ingest_with(
        &mut self,
        requests: &[(&str, &[IngestItem])],
        now_ms: i64,
        cursor: Option<(&str, &super::pull::CursorWrite, &super::pull::Fence)>,
    ) -> Result<Option<Vec<Vec<IngestOutcome>>>, StoreError> {
        macro_rules! commit {
            ($conn:ident, $insert:ident, $sql:expr) => {{
                let mut tx = $conn.begin().await?;
                let out = $insert(&mut tx, requests, now_ms).await?;
                if let Some((source, cw, fence)) = cursor {
                    let n = sqlx::query($sql(super::pull::CURSOR_UPDATE))
                        .bind(source)
                        .bind(&cw.cursor)
                        .bind(now_ms)
                        .bind(cw.newest_us)
                        .bind(cw.read)
                        .bind(&fence.lease)
                        .bind(&fence.owner)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    if n == 0 {
                        tx.rollback().await?;
                        return Ok(None);
                    }
                }
                tx.commit().await?;
                Ok(Some(out))
            }};
        }
        match self {
            IngestSession::Sqlite(conn) => commit!(conn, insert_sqlite, super::sqlite_sql),
            IngestSession::Postgres(conn) => commit!(conn, insert_postgres, std::convert::identity),
        }
    }
}

/// The rows of `requests` in (source, event id) order, whatever the request order: concurrent
/// batches (PostgreSQL runs several committers, and replicas) that share event ids then wait
/// for each other's unique-index entries in one order and cannot deadlock.
fn insert_order(requests: &[(&str, &[IngestItem])]) -> Vec<(usize, usize)> {
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
    order
}

/// The outcome of every item, given the rows the inserts stored (by source and event id).
fn outcomes(
    requests: &[(&str, &[IngestItem])],
    order: &[(usize, usize)],
    mut stored: HashMap<(String, String), i64>,
) -> Vec<Vec<IngestOutcome>> {
    // The first occurrence of a key in insert order got the row; later ones are duplicates.
    let mut pks: Vec<Vec<Option<i64>>> = requests
        .iter()
        .map(|(_, items)| vec![None; items.len()])
        .collect();
    for &(r, i) in order {
        let key = (requests[r].0.to_owned(), requests[r].1[i].event_id.clone());
        pks[r][i] = stored.remove(&key);
    }
    requests
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
        .collect()
}

/// Defines the inbox insert for one backend: the rows of several requests on an open
/// transaction, with a few multi-row inserts rather than one statement per event (on SQLite
/// each statement is a round trip to the database thread, and that hand-off, not the insert
/// itself, was most of the cost of a batch). Nothing is committed here.
macro_rules! define_insert {
    ($name:ident, $conn:ty, $sql:expr) => {
        pub(crate) async fn $name(
            conn: &mut $conn,
            requests: &[(&str, &[IngestItem])],
            now_ms: i64,
        ) -> Result<Vec<Vec<IngestOutcome>>, StoreError> {
            let order = insert_order(requests);
            // (source, event id) → row id, for the rows stored by this transaction.
            let mut stored: HashMap<(String, String), i64> = HashMap::with_capacity(order.len());
            let mut rest = order.as_slice();
            for size in chunk_sizes(order.len()) {
                let (chunk, tail) = rest.split_at(size);
                rest = tail;
                let mut q = sqlx::query($sql(insert_sql(size))).bind(now_ms);
                for &(r, i) in chunk {
                    let (source, items) = requests[r];
                    let it = &items[i];
                    let status = if it.job_key.is_some() {
                        "queued"
                    } else {
                        "ignored"
                    };
                    q = q
                        .bind(source)
                        .bind(&it.event_id)
                        .bind(&it.event_type)
                        .bind(&it.job_key)
                        .bind(&it.user_key)
                        .bind(it.occurred_at)
                        .bind(&it.payload)
                        .bind(status)
                        .bind(it.replay_of)
                        .bind(&it.request_id)
                        .bind(&it.trace_context);
                }
                for row in q.fetch_all(&mut *conn).await? {
                    stored.insert(
                        (row.try_get("source")?, row.try_get("event_id")?),
                        row.try_get("id")?,
                    );
                }
            }
            Ok(outcomes(requests, &order, stored))
        }
    };
}
define_insert!(insert_sqlite, sqlx::SqliteConnection, super::sqlite_sql);
define_insert!(insert_postgres, sqlx::PgConnection, std::convert::identity);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_split_into_few_reusable_statement_sizes() {
        assert_eq!(chunk_sizes(0), Vec::<usize>::new());
        assert_eq!(chunk_sizes(1), vec![1]);
        assert_eq!(chunk_sizes(100), vec![64, 32, 4]);
        assert_eq!(chunk_sizes(300), vec![128, 128, 32, 8, 4]);
        for n in 0..1000 {
            let sizes = chunk_sizes(n);
            assert_eq!(sizes.iter().sum::<usize>(), n);
            assert!(sizes.iter().all(|s| s.is_power_of_two() && *s <= MAX_ROWS));
        }
    }

    #[test]
    fn the_insert_binds_every_row_and_the_shared_time_once() {
        let sql = insert_sql(2);
        assert!(sql.contains("($2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $1, $1, $1, 0)"));
        assert!(
            sql.contains("($13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $1, $1, $1, 0)")
        );
        assert!(!sql.contains("$24"));
        assert_eq!(insert_sql(2).as_ptr(), sql.as_ptr(), "built once per size");
    }
}
