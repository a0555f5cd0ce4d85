//! Reading the inbox for the internal API: filtered, keyset-paginated lists (newest first,
//! by row id, so pages are stable while new events arrive), one event, its replays.

use sqlx::Row;

use super::{Store, StoreError, on_read_pool};

/// One stored event as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRow {
    pub id: i64,
    pub source: String,
    pub event_id: String,
    pub event_type: String,
    pub job_key: Option<String>,
    pub user_key: Option<String>,
    /// Unix microseconds.
    pub occurred_at: Option<i64>,
    pub received_ms: i64,
    pub payload: Option<String>,
    pub status: String,
    pub attempts: i64,
    pub run_at_ms: i64,
    pub last_error: Option<String>,
    pub replay_of: Option<i64>,
    pub updated_ms: i64,
}

/// Filters of an event list; `None` = any.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub status: Option<String>,
    pub source: Option<String>,
    /// Lower-cased email.
    pub user_key: Option<String>,
    /// Received at or after (unix ms).
    pub received_from_ms: Option<i64>,
    /// Received before (unix ms).
    pub received_to_ms: Option<i64>,
    /// The canonical type (or the sender's, for an ignored event).
    pub event_type: Option<String>,
    /// The sender's id for the event.
    pub event_id: Option<String>,
    /// The last error, exactly (a dead letter's reason).
    pub last_error: Option<String>,
    /// Leave out events that already have a replay that is not dead (queued, running or done):
    /// what a bulk replay of dead letters should not replay twice.
    pub not_replayed: bool,
}

const LIST: &str = "SELECT id, source, event_id, event_type, job_key, user_key, occurred_at, \
     received_ms, payload, status, attempts, run_at_ms, last_error, replay_of, updated_ms \
     FROM events WHERE ($1 IS NULL OR status = $1) AND ($2 IS NULL OR source = $2) \
     AND ($3 IS NULL OR user_key = $3) AND ($4 IS NULL OR received_ms >= $4) \
     AND ($5 IS NULL OR received_ms < $5) AND ($6 IS NULL OR id < $6) \
     AND ($8 IS NULL OR event_type = $8) AND ($9 IS NULL OR event_id = $9) \
     AND ($10 IS NULL OR last_error = $10) AND ($11 = 0 OR NOT EXISTS \
     (SELECT 1 FROM events r WHERE r.replay_of = events.id AND r.status <> 'dead')) \
     ORDER BY id DESC LIMIT $7";

/// How many events match a filter (the same conditions as `LIST`, without the cursor).
const COUNT: &str = "SELECT COUNT(*) FROM events WHERE ($1 IS NULL OR status = $1) \
     AND ($2 IS NULL OR source = $2) AND ($3 IS NULL OR user_key = $3) \
     AND ($4 IS NULL OR received_ms >= $4) AND ($5 IS NULL OR received_ms < $5) \
     AND ($6 IS NULL OR event_type = $6) AND ($7 IS NULL OR event_id = $7) \
     AND ($8 IS NULL OR last_error = $8) AND ($9 = 0 OR NOT EXISTS \
     (SELECT 1 FROM events r WHERE r.replay_of = events.id AND r.status <> 'dead'))";

const GET: &str = "SELECT id, source, event_id, event_type, job_key, user_key, occurred_at, \
     received_ms, payload, status, attempts, run_at_ms, last_error, replay_of, updated_ms \
     FROM events WHERE id = $1";

fn from_row<R>(r: &R) -> Result<EventRow, sqlx::Error>
where
    R: Row,
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    Ok(EventRow {
        id: r.try_get("id")?,
        source: r.try_get("source")?,
        event_id: r.try_get("event_id")?,
        event_type: r.try_get("event_type")?,
        job_key: r.try_get("job_key")?,
        user_key: r.try_get("user_key")?,
        occurred_at: r.try_get("occurred_at")?,
        received_ms: r.try_get("received_ms")?,
        payload: r.try_get("payload")?,
        status: r.try_get("status")?,
        attempts: r.try_get("attempts")?,
        run_at_ms: r.try_get("run_at_ms")?,
        last_error: r.try_get("last_error")?,
        replay_of: r.try_get("replay_of")?,
        updated_ms: r.try_get("updated_ms")?,
    })
}

impl Store {
    /// Events matching `filter` with a row id below `before` (the cursor), newest first, at
    /// most `limit`.
    pub async fn list_events(
        &self,
        filter: &EventFilter,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<EventRow>, StoreError> {
        on_read_pool!(self, pool, sql = LIST => {
            let rows = sqlx::query(sql)
                .bind(&filter.status)
                .bind(&filter.source)
                .bind(&filter.user_key)
                .bind(filter.received_from_ms)
                .bind(filter.received_to_ms)
                .bind(before)
                .bind(limit)
                .bind(&filter.event_type)
                .bind(&filter.event_id)
                .bind(&filter.last_error)
                .bind(i64::from(filter.not_replayed))
                .fetch_all(pool)
                .await?;
            Ok(rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?)
        })
    }

    /// How many events match `filter`.
    pub async fn count_matching(&self, filter: &EventFilter) -> Result<i64, StoreError> {
        on_read_pool!(self, pool, sql = COUNT => {
            Ok(sqlx::query_scalar(sql)
                .bind(&filter.status)
                .bind(&filter.source)
                .bind(&filter.user_key)
                .bind(filter.received_from_ms)
                .bind(filter.received_to_ms)
                .bind(&filter.event_type)
                .bind(&filter.event_id)
                .bind(&filter.last_error)
                .bind(i64::from(filter.not_replayed))
                .fetch_one(pool)
                .await?)
        })
    }

    /// One event by row id.
    pub async fn get_event(&self, id: i64) -> Result<Option<EventRow>, StoreError> {
        on_read_pool!(self, pool, sql = GET => {
            let row = sqlx::query(sql).bind(id).fetch_optional(pool).await?;
            Ok(row.as_ref().map(from_row).transpose()?)
        })
    }

    /// The row ids of the replays of an event, oldest first.
    pub async fn replays_of(&self, id: i64) -> Result<Vec<i64>, StoreError> {
        on_read_pool!(self, pool, sql = "SELECT id FROM events WHERE replay_of = $1 ORDER BY id" => {
            Ok(sqlx::query_scalar(sql).bind(id).fetch_all(pool).await?)
        })
    }

    /// The row id of the event stored under this source and sender id.
    pub async fn find_event(
        &self,
        source: &str,
        event_id: &str,
    ) -> Result<Option<i64>, StoreError> {
        on_read_pool!(self, pool, sql = "SELECT id FROM events WHERE source = $1 AND event_id = $2" => {
            Ok(sqlx::query_scalar(sql).bind(source).bind(event_id).fetch_optional(pool).await?)
        })
    }
}
