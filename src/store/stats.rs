//! Read-only figures for the metrics endpoint: events by status, and the oldest queued event.

use super::{Store, StoreError, on_read_pool};

impl Store {
    /// The number of stored events per status, in one query.
    pub async fn count_by_status(&self) -> Result<Vec<(String, i64)>, StoreError> {
        on_read_pool!(self, pool, sql = "SELECT status, COUNT(*) FROM events GROUP BY status" => {
            Ok(sqlx::query_as(sql).fetch_all(pool).await?)
        })
    }

    /// When the oldest queued event was received (unix ms), if any is queued.
    pub async fn oldest_queued_received_ms(&self) -> Result<Option<i64>, StoreError> {
        on_read_pool!(self, pool, sql = "SELECT MIN(received_ms) FROM events WHERE status = 'queued'" => {
            Ok(sqlx::query_scalar(sql).fetch_one(pool).await?)
        })
    }
}
