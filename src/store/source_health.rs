//! What the pull poller last reported about each source, for `source.failing`: read, and
//! written with the notice about it in one commit.

use sqlx::Connection;

use super::outbox::{INSERT_OUTBOX, OutboxItem, in_tx};
use super::{Store, StoreError, on_pool};

/// What the pull poller last reported about a source (`source.failing`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceHealthRow {
    pub source: String,
    pub consecutive_errors: i64,
    /// Since when it has been failing or lagging; `None` while healthy.
    pub failing_since_ms: Option<i64>,
    pub last_error: Option<String>,
    pub last_success_ms: Option<i64>,
    /// When `source.failing` was last written in this episode.
    pub notified_ms: Option<i64>,
    pub updated_ms: i64,
}

type HealthTuple = (
    String,
    i64,
    Option<i64>,
    Option<String>,
    Option<i64>,
    Option<i64>,
    i64,
);

impl Store {
    /// A source's recorded health.
    pub async fn source_health(&self, source: &str) -> Result<Option<SourceHealthRow>, StoreError> {
        let row: Option<HealthTuple> = on_pool!(self, pool, sql = "SELECT source, \
            consecutive_errors, failing_since_ms, last_error, last_success_ms, notified_ms, \
            updated_ms FROM source_health WHERE source = $1" => {
            sqlx::query_as(sql).bind(source).fetch_optional(pool).await?
        });
        Ok(row.map(|t| SourceHealthRow {
            source: t.0,
            consecutive_errors: t.1,
            failing_since_ms: t.2,
            last_error: t.3,
            last_success_ms: t.4,
            notified_ms: t.5,
            updated_ms: t.6,
        }))
    }

    /// Stores a source's health and the notices about it, in one commit.
    pub async fn put_source_health(
        &self,
        row: &SourceHealthRow,
        notices: &[OutboxItem],
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let upsert = self.sql(
            "INSERT INTO source_health (source, consecutive_errors, failing_since_ms, \
             last_error, last_success_ms, notified_ms, updated_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (source) DO UPDATE SET \
             consecutive_errors = excluded.consecutive_errors, \
             failing_since_ms = excluded.failing_since_ms, last_error = excluded.last_error, \
             last_success_ms = excluded.last_success_ms, notified_ms = excluded.notified_ms, \
             updated_ms = excluded.updated_ms",
        );
        let insert = self.sql(INSERT_OUTBOX);
        in_tx!(self, tx => {
            sqlx::query(upsert).bind(&row.source).bind(row.consecutive_errors)
                .bind(row.failing_since_ms).bind(&row.last_error).bind(row.last_success_ms)
                .bind(row.notified_ms).bind(row.updated_ms).execute(&mut *tx).await?;
            for it in notices {
                sqlx::query(insert).bind(&it.subscriber).bind(&it.msg_id).bind(&it.event_type)
                    .bind(&it.body).bind(now_ms).execute(&mut *tx).await?;
            }
        });
        Ok(())
    }
}
