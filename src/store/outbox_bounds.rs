//! The outbox's bounds, kept by the delivery loop (`notify::deliver`): delivered and dead
//! messages pruned after the retention, a subscriber's pending messages capped (the oldest
//! beyond the cap dead-lettered), and the pending messages of subscribers no longer configured
//! dead-lettered.

use super::{Store, StoreError, on_pool, on_read_pool};

impl Store {
    /// Deletes delivered and dead messages last changed before `cutoff_ms`, at most `batch`
    /// at a time; how many.
    pub async fn outbox_prune(&self, cutoff_ms: i64, batch: i64) -> Result<u64, StoreError> {
        on_pool!(self, pool, sql = "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox \
            WHERE status IN ('delivered', 'dead') AND updated_ms < $1 LIMIT $2)" => {
            Ok(sqlx::query(sql).bind(cutoff_ms).bind(batch).execute(pool).await?.rows_affected())
        })
    }

    /// Dead-letters a subscriber's oldest pending messages beyond the newest `keep`, with
    /// `reason`; how many.
    pub async fn outbox_cap(
        &self,
        subscriber: &str,
        keep: i64,
        reason: &str,
        now_ms: i64,
    ) -> Result<u64, StoreError> {
        let sql = match self {
            Store::Sqlite(_) => super::sqlite_sql(
                "UPDATE outbox SET status = 'dead', last_error = $3, updated_ms = $4 \
                 WHERE id IN (SELECT id FROM outbox WHERE subscriber = $1 AND status = 'pending' \
                 ORDER BY id DESC LIMIT -1 OFFSET $2)",
            ),
            Store::Postgres(_) => {
                "UPDATE outbox SET status = 'dead', last_error = $3, updated_ms = $4 \
                 WHERE id IN (SELECT id FROM outbox WHERE subscriber = $1 AND status = 'pending' \
                 ORDER BY id DESC OFFSET $2)"
            }
        };
        on_pool!(self, pool, _unused = "" => {
            Ok(sqlx::query(sql).bind(subscriber).bind(keep).bind(reason).bind(now_ms)
                .execute(pool).await?.rows_affected())
        })
    }

    /// Dead-letters the pending messages of subscribers no longer configured; how many.
    pub async fn outbox_orphans(
        &self,
        configured: &[String],
        now_ms: i64,
    ) -> Result<u64, StoreError> {
        let names: Vec<String> = on_read_pool!(self, pool, sql = "SELECT DISTINCT subscriber \
            FROM outbox WHERE status = 'pending'" => {
            sqlx::query_scalar(sql).fetch_all(pool).await?
        });
        let mut n = 0;
        for name in names.iter().filter(|n| !configured.contains(n)) {
            n += on_pool!(self, pool, sql = "UPDATE outbox SET status = 'dead', \
                last_error = 'the subscriber is no longer configured', updated_ms = $2 \
                WHERE subscriber = $1 AND status = 'pending'" => {
                sqlx::query(sql).bind(name).bind(now_ms).execute(pool).await?.rows_affected()
            });
        }
        Ok(n)
    }
}
