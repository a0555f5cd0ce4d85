//! Schema migrations: numbered SQL files embedded in the binary, applied in order, each in
//! its own transaction, recorded in `schema_migrations`. On PostgreSQL an advisory lock makes
//! replicas that start together migrate one at a time.

use sqlx::Executor;

use super::{Store, StoreError};

/// (version, SQL) per backend, in order.
const SQLITE: &[(i64, &str)] = &[
    (1, include_str!("../../migrations/sqlite/0001_init.sql")),
    (
        2,
        include_str!("../../migrations/sqlite/0002_request_id.sql"),
    ),
    (
        3,
        include_str!("../../migrations/sqlite/0003_reconcile.sql"),
    ),
    (4, include_str!("../../migrations/sqlite/0004_pull.sql")),
    (5, include_str!("../../migrations/sqlite/0005_outbox.sql")),
    (6, include_str!("../../migrations/sqlite/0006_console.sql")),
    (7, include_str!("../../migrations/sqlite/0007_scim.sql")),
];
const POSTGRES: &[(i64, &str)] = &[
    (1, include_str!("../../migrations/postgres/0001_init.sql")),
    (
        2,
        include_str!("../../migrations/postgres/0002_request_id.sql"),
    ),
    (
        3,
        include_str!("../../migrations/postgres/0003_reconcile.sql"),
    ),
    (4, include_str!("../../migrations/postgres/0004_pull.sql")),
    (5, include_str!("../../migrations/postgres/0005_outbox.sql")),
    (
        6,
        include_str!("../../migrations/postgres/0006_console.sql"),
    ),
    (7, include_str!("../../migrations/postgres/0007_scim.sql")),
];

/// Arbitrary constant key for `pg_advisory_lock` while migrating.
const PG_MIGRATION_LOCK: i64 = 0x0064_6773_5f6d_6967; // "dgs_mig"

/// Applies the migrations of `$list` not yet recorded, each in its own transaction, on the
/// connection `$conn`. Written once, compiled per backend.
macro_rules! apply_pending {
    ($conn:expr, $list:expr, $backend:literal, $int:literal) => {{
        $conn
            .execute(concat!(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version ",
                $int,
                " PRIMARY KEY, applied_ms ",
                $int,
                " NOT NULL)"
            ))
            .await?;
        for &(version, sql) in $list {
            let done: Option<i64> =
                sqlx::query_scalar("SELECT version FROM schema_migrations WHERE version = $1")
                    .bind(version)
                    .fetch_optional(&mut *$conn)
                    .await?;
            if done.is_some() {
                continue;
            }
            let mut tx = sqlx::Connection::begin(&mut *$conn).await?;
            tx.execute(sql).await.map_err(|e| {
                StoreError::Migrate(format!(concat!($backend, " {}: {}"), version, e))
            })?;
            sqlx::query("INSERT INTO schema_migrations (version, applied_ms) VALUES ($1, $2)")
                .bind(version)
                .bind(chrono::Utc::now().timestamp_millis())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        }
        Ok::<(), StoreError>(())
    }};
}

impl Store {
    /// Applies every migration not applied yet.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(s) => {
                let mut conn = s.write.acquire().await?;
                apply_pending!(conn, SQLITE, "sqlite", "INTEGER")
            }
            Store::Postgres(p) => {
                let mut conn = p.pool.acquire().await?;
                sqlx::query("SELECT pg_advisory_lock($1)")
                    .bind(PG_MIGRATION_LOCK)
                    .execute(&mut *conn)
                    .await?;
                let result = async { apply_pending!(conn, POSTGRES, "postgres", "BIGINT") }.await;
                sqlx::query("SELECT pg_advisory_unlock($1)")
                    .bind(PG_MIGRATION_LOCK)
                    .execute(&mut *conn)
                    .await?;
                result
            }
        }
    }
}
