//! The pull state of each source (`pull_state`): its cursor, the schedule the replicas share
//! and how the last runs went. A page's events and its cursor are written together by
//! `IngestSession::ingest_pulled` (`ingest.rs`), fenced by the source's pull lease.

use super::{Store, StoreError, on_pool, on_read_pool};

/// One source's row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PullStateRow {
    pub source: String,
    /// The provider's cursor, verbatim.
    pub cursor: Option<String>,
    /// When the cursor was last read successfully (unix ms).
    pub cursor_ms: Option<i64>,
    /// `occurred_at` of the newest event pulled (unix µs).
    pub newest_event_us: Option<i64>,
    /// Events read so far: stored, duplicate or ignored.
    pub events_pulled: i64,
    pub last_run_ms: Option<i64>,
    pub last_success_ms: Option<i64>,
    pub last_error: Option<String>,
    pub last_error_ms: Option<i64>,
    /// Consecutive failed event pulls.
    pub failures: i64,
    pub next_run_ms: Option<i64>,
    pub last_directory_ms: Option<i64>,
    pub directory_error: Option<String>,
    pub next_directory_ms: Option<i64>,
}

type Tuple = (
    String,
    Option<String>,
    Option<i64>,
    Option<i64>,
    i64,
    Option<i64>,
    Option<i64>,
    Option<String>,
    Option<i64>,
    i64,
    Option<i64>,
    Option<i64>,
    Option<String>,
    Option<i64>,
);

fn row(t: Tuple) -> PullStateRow {
    PullStateRow {
        source: t.0,
        cursor: t.1,
        cursor_ms: t.2,
        newest_event_us: t.3,
        events_pulled: t.4,
        last_run_ms: t.5,
        last_success_ms: t.6,
        last_error: t.7,
        last_error_ms: t.8,
        failures: t.9,
        next_run_ms: t.10,
        last_directory_ms: t.11,
        directory_error: t.12,
        next_directory_ms: t.13,
    }
}

/// What a page writes with its events (`IngestSession::ingest_pulled`).
#[derive(Debug, Clone, Default)]
pub struct CursorWrite {
    /// The new cursor; `None` keeps the stored one.
    pub cursor: Option<String>,
    /// The newest event time on the page (unix µs), if any.
    pub newest_us: Option<i64>,
    /// Events read on the page.
    pub read: i64,
}

/// The lease that must still be held for a write to count: `(name, owner)`.
#[derive(Debug, Clone)]
pub struct Fence {
    pub lease: String,
    pub owner: String,
}

/// The fenced cursor update, in `$N` style: `$1` source, `$2` cursor (NULL keeps), `$3` now,
/// `$4` newest µs (NULL keeps), `$5` events read, `$6` lease name, `$7` owner.
pub(super) const CURSOR_UPDATE: &str = "UPDATE pull_state SET cursor = COALESCE($2, cursor), \
     cursor_ms = $3, events_pulled = events_pulled + $5, updated_ms = $3, \
     newest_event_us = CASE WHEN $4 IS NULL THEN newest_event_us \
       WHEN newest_event_us IS NULL OR newest_event_us < $4 THEN $4 ELSE newest_event_us END \
     WHERE source = $1 AND EXISTS (SELECT 1 FROM leases WHERE name = $6 AND owner = $7)";

const COLUMNS: &str = "SELECT source, cursor, cursor_ms, newest_event_us, events_pulled, \
     last_run_ms, last_success_ms, last_error, last_error_ms, failures, next_run_ms, \
     last_directory_ms, directory_error, next_directory_ms FROM pull_state";

impl Store {
    /// The row of `source`, if it was ever pulled.
    pub async fn pull_state(&self, source: &str) -> Result<Option<PullStateRow>, StoreError> {
        static SQL: std::sync::LazyLock<&'static str> = std::sync::LazyLock::new(|| {
            Box::leak(format!("{COLUMNS} WHERE source = $1").into_boxed_str())
        });
        let sql = self.sql(*SQL);
        let t: Option<Tuple> = match self {
            Store::Sqlite(s) => {
                sqlx::query_as(sql)
                    .bind(source)
                    .fetch_optional(&s.read)
                    .await?
            }
            Store::Postgres(p) => {
                sqlx::query_as(sql)
                    .bind(source)
                    .fetch_optional(&p.pool)
                    .await?
            }
        };
        Ok(t.map(row))
    }

    /// Every source's row.
    pub async fn pull_states(&self) -> Result<Vec<PullStateRow>, StoreError> {
        static SQL: std::sync::LazyLock<&'static str> = std::sync::LazyLock::new(|| {
            Box::leak(format!("{COLUMNS} ORDER BY source").into_boxed_str())
        });
        let sql = self.sql(*SQL);
        let rows: Vec<Tuple> = match self {
            Store::Sqlite(s) => sqlx::query_as(sql).fetch_all(&s.read).await?,
            Store::Postgres(p) => sqlx::query_as(sql).fetch_all(&p.pool).await?,
        };
        Ok(rows.into_iter().map(row).collect())
    }

    /// Creates the row of `source` if there is none.
    pub async fn ensure_pull_state(&self, source: &str, now_ms: i64) -> Result<(), StoreError> {
        on_pool!(self, pool, sql = "INSERT INTO pull_state (source, updated_ms) VALUES ($1, $2) \
            ON CONFLICT (source) DO NOTHING" => {
            sqlx::query(sql).bind(source).bind(now_ms).execute(pool).await?;
        });
        Ok(())
    }

    /// Makes the next event pull of `source` due at `now_ms` (a Graph change notification),
    /// creating its row if there is none. Committed when this returns, so an acknowledged
    /// notification is never lost.
    ///
    /// The schedule is set to `now_ms` even when it was already due: a run in progress
    /// (which started before `now_ms`) then sees, when it records its end, that a change came
    /// in after it began, and leaves the next run due (see [`Store::record_pull_run`]). After
    /// failed pulls the backoff stands: the provider is not hammered, and the delta cursor
    /// catches the change up when the backoff ends.
    pub async fn request_event_pull(&self, source: &str, now_ms: i64) -> Result<(), StoreError> {
        on_pool!(self, pool, sql = "INSERT INTO pull_state (source, updated_ms, next_run_ms) \
            VALUES ($1, $2, $2) ON CONFLICT (source) DO UPDATE SET \
            next_run_ms = CASE WHEN pull_state.failures > 0 THEN pull_state.next_run_ms \
              ELSE $2 END, \
            updated_ms = $2" => {
            sqlx::query(sql).bind(source).bind(now_ms).execute(pool).await?;
        });
        Ok(())
    }

    /// Records the end of an event pull that started at `started_ms`: success (clears the
    /// error and the failure count) or the error, and when the next one is due. After a
    /// success, a pull asked for while the run went on ([`Store::request_event_pull`] after
    /// `started_ms`, so due by `now_ms`) stays due.
    pub async fn record_pull_run(
        &self,
        source: &str,
        error: Option<&str>,
        next_run_ms: i64,
        started_ms: i64,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        match error {
            None => on_pool!(self, pool, sql = "UPDATE pull_state SET last_run_ms = $2, \
                last_success_ms = $2, failures = 0, \
                next_run_ms = CASE WHEN next_run_ms > $4 AND next_run_ms <= $2 THEN next_run_ms \
                  ELSE $3 END, \
                updated_ms = $2 WHERE source = $1" => {
                sqlx::query(sql).bind(source).bind(now_ms).bind(next_run_ms).bind(started_ms)
                    .execute(pool).await?;
            }),
            Some(e) => on_pool!(self, pool, sql = "UPDATE pull_state SET last_run_ms = $2, \
                last_error = $3, last_error_ms = $2, failures = failures + 1, next_run_ms = $4, \
                updated_ms = $2 WHERE source = $1" => {
                sqlx::query(sql).bind(source).bind(now_ms).bind(e).bind(next_run_ms)
                    .execute(pool).await?;
            }),
        }
        Ok(())
    }

    /// Records the end of a directory pass and when the next one is due.
    pub async fn record_directory_pass(
        &self,
        source: &str,
        error: Option<&str>,
        next_ms: Option<i64>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        on_pool!(self, pool, sql = "UPDATE pull_state SET last_directory_ms = $2, \
            directory_error = $3, next_directory_ms = $4, updated_ms = $2 WHERE source = $1" => {
            sqlx::query(sql).bind(source).bind(now_ms).bind(error).bind(next_ms)
                .execute(pool).await?;
        });
        Ok(())
    }

    /// Asks for a directory pass of `source` at `at_ms` (after a cursor reset).
    pub async fn schedule_directory_pass(
        &self,
        source: &str,
        at_ms: i64,
    ) -> Result<(), StoreError> {
        on_pool!(self, pool, sql = "UPDATE pull_state SET next_directory_ms = $2 WHERE source = $1" => {
            sqlx::query(sql).bind(source).bind(at_ms).execute(pool).await?;
        });
        Ok(())
    }

    /// Forgets the cursor of `source` (it expired), if `fence` still holds; true when done.
    pub async fn reset_pull_cursor(
        &self,
        source: &str,
        fence: &Fence,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        on_pool!(self, pool, sql = "UPDATE pull_state SET cursor = NULL, cursor_ms = NULL, updated_ms = $2 \
            WHERE source = $1 AND EXISTS (SELECT 1 FROM leases WHERE name = $3 AND owner = $4)" => {
            let n = sqlx::query(sql).bind(source).bind(now_ms).bind(&fence.lease).bind(&fence.owner)
                .execute(pool).await?.rows_affected();
            Ok(n == 1)
        })
    }

    /// Sets the cursor of `source` and when it was last read (an operator's repair, and tests).
    pub async fn set_pull_cursor(
        &self,
        source: &str,
        cursor: Option<&str>,
        cursor_ms: Option<i64>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        self.ensure_pull_state(source, now_ms).await?;
        on_pool!(self, pool, sql = "UPDATE pull_state SET cursor = $2, cursor_ms = $3, updated_ms = $4 \
            WHERE source = $1" => {
            sqlx::query(sql).bind(source).bind(cursor).bind(cursor_ms).bind(now_ms)
                .execute(pool).await?;
        });
        Ok(())
    }

    /// Extends a lease `owner` holds until `until_ms`; false when it no longer holds it.
    pub async fn renew_named_lease(
        &self,
        name: &str,
        owner: &str,
        until_ms: i64,
    ) -> Result<bool, StoreError> {
        on_pool!(self, pool, sql = "UPDATE leases SET until_ms = $3 WHERE name = $1 AND owner = $2" => {
            let n = sqlx::query(sql).bind(name).bind(owner).bind(until_ms).execute(pool).await?
                .rows_affected();
            Ok(n == 1)
        })
    }

    /// Every (sender id, user key) pair recorded for `source`.
    pub async fn identities_of(&self, source: &str) -> Result<Vec<(String, String)>, StoreError> {
        on_read_pool!(self, pool, sql = "SELECT idp_id, user_key FROM identities WHERE source = $1 \
            ORDER BY idp_id" => {
            Ok(sqlx::query_as(sql).bind(source).fetch_all(pool).await?)
        })
    }

    /// Who holds the named lease, and until when, if anyone does.
    pub async fn lease_holder(&self, name: &str) -> Result<Option<(String, i64)>, StoreError> {
        on_read_pool!(self, pool, sql = "SELECT owner, until_ms FROM leases WHERE name = $1" => {
            Ok(sqlx::query_as(sql).bind(name).fetch_optional(pool).await?)
        })
    }
}
