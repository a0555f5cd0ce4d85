//! Store errors, and the one classification every caller uses: is the store *unavailable*
//! (it cannot be reached, or cannot commit right now, and the same request may work later), or
//! is this something else (corrupt data, a bug)?
//!
//! Callers act on the classification, never on the error's text or variant: the HTTP layer
//! answers 503 `store-unavailable` (nothing was acknowledged) instead of 500, workers back off
//! and resume their job instead of counting an attempt, background tasks retry later. New code
//! that writes to the store inherits this by converting its errors with `?`.

/// A store error. `is_unavailable` tells the callers to answer 503 and retry later.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("migration failed: {0}")]
    Migrate(String),
}

impl StoreError {
    /// True when the database could not be reached or could not commit now, for a reason that
    /// passes (server down or restarting, connection lost, pool exhausted, disk full,
    /// read-only, locked, a serialization failure): the caller answers 503 or retries later.
    /// False for corrupt data and bugs (a constraint the code should have avoided, bad SQL).
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Db(e) => sqlx_unavailable(e),
            StoreError::Corrupt(_) | StoreError::Migrate(_) => false,
        }
    }
}

impl StoreError {
    /// True when this process closed its pool (it is stopping): unavailable for good, so
    /// waiting for the store to answer again cannot help.
    pub fn is_closed(&self) -> bool {
        matches!(self, StoreError::Db(sqlx::Error::PoolClosed))
    }
}

fn sqlx_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        // A connection cut in the middle of a message reads as a protocol error.
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::BeginFailed => true,
        sqlx::Error::Database(db) => {
            if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                db.code()
                    .and_then(|c| c.parse::<i32>().ok())
                    .is_some_and(sqlite_code_unavailable)
            } else {
                db.code().is_some_and(|c| pg_sqlstate_unavailable(&c))
            }
        }
        _ => false,
    }
}

/// SQLite result codes (primary, the low byte of an extended code) that pass: BUSY (5),
/// LOCKED (6), NOMEM (7), READONLY (8), IOERR (10: a failed write, e.g. EFBIG past a file size
/// limit), FULL (13: the disk is full), CANTOPEN (14), PROTOCOL (15). CORRUPT (11) and NOTADB
/// (26) do not: retrying cannot help.
pub(crate) fn sqlite_code_unavailable(extended: i32) -> bool {
    matches!(extended & 0xff, 5 | 6 | 7 | 8 | 10 | 13 | 14 | 15)
}

/// PostgreSQL SQLSTATEs that pass: class 08 (connection exception), 53 (insufficient
/// resources: disk full, out of memory, too many connections), 57P01–57P03 (the server is
/// shutting down, crashed, or not accepting connections yet), 58 (I/O error), 40001 and
/// 40P01 (serialization failure, deadlock: the transaction may be retried), 25006 (a
/// read-only transaction: a standby after a failover, or `default_transaction_read_only`),
/// 55P03 (lock not available) and 57014 (a cancelled statement).
pub(crate) fn pg_sqlstate_unavailable(code: &str) -> bool {
    matches!(code.get(..2), Some("08" | "53" | "58"))
        || matches!(
            code,
            "57P01" | "57P02" | "57P03" | "40001" | "40P01" | "25006" | "55P03" | "57014"
        )
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};

    use super::*;

    #[test]
    fn connection_level_failures_are_unavailable() {
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        for e in [
            sqlx::Error::Io(refused),
            sqlx::Error::PoolTimedOut,
            sqlx::Error::PoolClosed,
            sqlx::Error::WorkerCrashed,
            sqlx::Error::Protocol("unexpected end of stream".into()),
        ] {
            assert!(StoreError::Db(e).is_unavailable());
        }
        for e in [
            sqlx::Error::RowNotFound,
            sqlx::Error::ColumnNotFound("x".into()),
        ] {
            assert!(!StoreError::Db(e).is_unavailable());
        }
        assert!(StoreError::Db(sqlx::Error::PoolClosed).is_closed());
        assert!(!StoreError::Db(sqlx::Error::PoolTimedOut).is_closed());
        assert!(!StoreError::Corrupt("bad json".into()).is_unavailable());
        assert!(!StoreError::Migrate("3: syntax".into()).is_unavailable());
    }

    #[test]
    fn postgres_states_that_pass_are_unavailable_and_bugs_are_not() {
        for code in [
            "08006", "08001", "57P01", "57P02", "57P03", "53100", "53300", "58030", "40001",
            "40P01", "25006", "55P03", "57014",
        ] {
            assert!(pg_sqlstate_unavailable(code), "{code}");
        }
        // Constraint violations, syntax errors, undefined tables, internal errors: bugs.
        for code in [
            "23505", "23503", "42601", "42P01", "XX000", "22P02", "57P04", "",
        ] {
            assert!(!pg_sqlstate_unavailable(code), "{code}");
        }
    }

    #[test]
    fn sqlite_codes_classify_by_their_primary_byte() {
        // SQLITE_IOERR_WRITE (778), SQLITE_READONLY_DBMOVED (1032), SQLITE_BUSY_SNAPSHOT (517).
        for code in [5, 6, 8, 10, 13, 14, 778, 1032, 517] {
            assert!(sqlite_code_unavailable(code), "{code}");
        }
        // SQLITE_ERROR, SQLITE_CORRUPT, SQLITE_CONSTRAINT_UNIQUE (2067), SQLITE_NOTADB.
        for code in [1, 11, 2067, 26] {
            assert!(!sqlite_code_unavailable(code), "{code}");
        }
    }

    async fn pool(url: &str) -> SqlitePool {
        let opts = SqliteConnectOptions::from_str(url)
            .expect("url")
            .create_if_missing(true);
        SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(opts)
            .await
            .expect("open")
    }

    async fn error_of(pool: &SqlitePool, sql: &str) -> StoreError {
        StoreError::Db(
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(pool)
                .await
                .expect_err(sql),
        )
    }

    #[tokio::test]
    async fn a_full_database_and_a_read_only_one_are_unavailable_a_constraint_is_not() {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}/t.db", dir.path().display());
        let rw = pool(&url).await;
        sqlx::query("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
            .execute(&rw)
            .await
            .expect("create");
        sqlx::query("INSERT INTO t (id, v) VALUES (1, 'a')")
            .execute(&rw)
            .await
            .expect("insert");
        let unique = error_of(&rw, "INSERT INTO t (id, v) VALUES (1, 'b')").await;
        assert!(!unique.is_unavailable(), "{unique}");
        let syntax = error_of(&rw, "INSERT INTO nowhere VALUES (1)").await;
        assert!(!syntax.is_unavailable(), "{syntax}");

        // The real SQLITE_FULL: the database may not grow past its current pages.
        sqlx::query("PRAGMA max_page_count = 2")
            .execute(&rw)
            .await
            .expect("pragma");
        let big = "x".repeat(64 * 1024);
        let full = error_of(&rw, &format!("INSERT INTO t (id, v) VALUES (2, '{big}')")).await;
        assert!(full.is_unavailable(), "{full}");
        assert!(full.to_string().contains("full"), "{full}");

        // The real SQLITE_READONLY.
        let ro = pool(&format!("{url}?mode=ro")).await;
        let read_only = error_of(&ro, "INSERT INTO t (id, v) VALUES (3, 'c')").await;
        assert!(read_only.is_unavailable(), "{read_only}");
        assert!(read_only.to_string().contains("readonly"), "{read_only}");
    }
}
