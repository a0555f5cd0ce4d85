//! The console's sign-in sessions: stored by the SHA-256 of their id (never the id), with the
//! API token they were opened with, an idle and an absolute expiry. The console decides what
//! a session may do; this module only keeps the rows.

use super::{Store, StoreError, on_pool, on_read_pool};

/// One stored session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    /// Hex SHA-256 of the session id.
    pub id_sha256: String,
    pub token_name: String,
    /// The token's configured hash (hex) when the session was opened.
    pub token_sha256: String,
    pub created_ms: i64,
    pub last_seen_ms: i64,
    pub expires_ms: i64,
}

impl Store {
    /// Stores a new session.
    pub async fn insert_session(&self, s: &SessionRow) -> Result<(), StoreError> {
        on_pool!(self, pool, sql = "INSERT INTO console_sessions (id_sha256, token_name, token_sha256, \
            created_ms, last_seen_ms, expires_ms) VALUES ($1, $2, $3, $4, $5, $6)" => {
            sqlx::query(sql)
                .bind(&s.id_sha256)
                .bind(&s.token_name)
                .bind(&s.token_sha256)
                .bind(s.created_ms)
                .bind(s.last_seen_ms)
                .bind(s.expires_ms)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// The session with this id hash, expired or not (the caller checks the times).
    pub async fn get_session(&self, id_sha256: &str) -> Result<Option<SessionRow>, StoreError> {
        on_read_pool!(self, pool, sql = "SELECT id_sha256, token_name, token_sha256, created_ms, \
            last_seen_ms, expires_ms FROM console_sessions WHERE id_sha256 = $1" => {
            let row: Option<(String, String, String, i64, i64, i64)> =
                sqlx::query_as(sql).bind(id_sha256).fetch_optional(pool).await?;
            Ok(row.map(|(id_sha256, token_name, token_sha256, created_ms, last_seen_ms, expires_ms)| {
                SessionRow { id_sha256, token_name, token_sha256, created_ms, last_seen_ms, expires_ms }
            }))
        })
    }

    /// Records that the session was used at `now_ms` (the idle timeout starts again).
    pub async fn touch_session(&self, id_sha256: &str, now_ms: i64) -> Result<(), StoreError> {
        on_pool!(self, pool, sql = "UPDATE console_sessions SET last_seen_ms = $2 WHERE id_sha256 = $1" => {
            sqlx::query(sql).bind(id_sha256).bind(now_ms).execute(pool).await?;
        });
        Ok(())
    }

    /// Ends a session (sign-out, or found expired).
    pub async fn delete_session(&self, id_sha256: &str) -> Result<(), StoreError> {
        on_pool!(self, pool, sql = "DELETE FROM console_sessions WHERE id_sha256 = $1" => {
            sqlx::query(sql).bind(id_sha256).execute(pool).await?;
        });
        Ok(())
    }

    /// Deletes the sessions past their absolute expiry or idle since before `idle_before_ms`;
    /// returns how many.
    pub async fn delete_expired_sessions(
        &self,
        now_ms: i64,
        idle_before_ms: i64,
    ) -> Result<u64, StoreError> {
        on_pool!(self, pool, sql = "DELETE FROM console_sessions WHERE expires_ms <= $1 OR last_seen_ms < $2" => {
            Ok(sqlx::query(sql).bind(now_ms).bind(idle_before_ms).execute(pool).await?.rows_affected())
        })
    }
}
