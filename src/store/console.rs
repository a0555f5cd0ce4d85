//! Read-only figures the console shows beside what the API already reads: events per status
//! over a recent window, dead letters grouped by reason, each source's last delivery, and the
//! latest Domo calls. Every query is bounded (an index range, or a fixed number of rows).

use super::{Store, StoreError, on_read_pool};

/// Dead letters that share a reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReasonGroup {
    /// The dead letter's `last_error` (`None` when none was recorded).
    pub reason: Option<String>,
    pub count: i64,
    /// The newest such event's row id.
    pub newest: i64,
}

/// A source's newest stored event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastDelivery {
    pub id: i64,
    pub received_ms: i64,
}

/// One of the latest Domo calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecentCall {
    pub at_ms: i64,
    pub op: String,
    pub http_status: Option<i64>,
    pub outcome: String,
}

impl Store {
    /// Events received at or after `since_ms`, counted by their status now.
    pub async fn count_by_status_since(
        &self,
        since_ms: i64,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        on_read_pool!(self, pool, sql = "SELECT status, COUNT(*) FROM events WHERE received_ms >= $1 \
            GROUP BY status ORDER BY status" => {
            Ok(sqlx::query_as(sql).bind(since_ms).fetch_all(pool).await?)
        })
    }

    /// Dead letters (of `source`, when given) grouped by reason, most frequent first, at most
    /// `limit` groups.
    pub async fn dead_reasons(
        &self,
        source: Option<&str>,
        limit: i64,
    ) -> Result<Vec<ReasonGroup>, StoreError> {
        on_read_pool!(self, pool, sql = "SELECT last_error, COUNT(*), MAX(id) FROM events \
            WHERE status = 'dead' AND ($1 IS NULL OR source = $1) GROUP BY last_error \
            ORDER BY COUNT(*) DESC, MAX(id) DESC LIMIT $2" => {
            let rows: Vec<(Option<String>, i64, i64)> =
                sqlx::query_as(sql).bind(source).bind(limit).fetch_all(pool).await?;
            Ok(rows.into_iter().map(|(reason, count, newest)| ReasonGroup { reason, count, newest }).collect())
        })
    }

    /// The newest event stored for `source`.
    pub async fn last_delivery(&self, source: &str) -> Result<Option<LastDelivery>, StoreError> {
        on_read_pool!(self, pool, sql = "SELECT id, received_ms FROM events WHERE source = $1 \
            ORDER BY id DESC LIMIT 1" => {
            let row: Option<(i64, i64)> = sqlx::query_as(sql).bind(source).fetch_optional(pool).await?;
            Ok(row.map(|(id, received_ms)| LastDelivery { id, received_ms }))
        })
    }

    /// The latest `limit` Domo calls the workers made, newest first.
    pub async fn recent_calls(&self, limit: i64) -> Result<Vec<RecentCall>, StoreError> {
        on_read_pool!(self, pool, sql = "SELECT at_ms, op, http_status, outcome FROM audit \
            ORDER BY id DESC LIMIT $1" => {
            let rows: Vec<(i64, String, Option<i64>, String)> =
                sqlx::query_as(sql).bind(limit).fetch_all(pool).await?;
            Ok(rows.into_iter().map(|(at_ms, op, http_status, outcome)| RecentCall { at_ms, op, http_status, outcome }).collect())
        })
    }
}
