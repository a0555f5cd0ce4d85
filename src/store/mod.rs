//! The durable store: the inbox/job queue, per-user state, Domo caches and the audit log.
//!
//! `Store` is an enum over the two backends, picked by the URL scheme: SQLite (one replica,
//! WAL with `synchronous=FULL`) and PostgreSQL (several replicas). Queries are written once in
//! PostgreSQL's `$N` placeholder style; for SQLite they are rewritten to `?N` once and cached.
//! The store never calls Domo and never reads the clock: callers pass `now`.

mod console;
mod error;
mod events;
mod finish;
mod ingest;
mod jobs;
mod leases;
mod migrate;
mod outbox;
mod outbox_bounds;
mod pull;
mod reconcile;
mod scim;
mod scim_groups;
mod scim_read;
mod sessions;
mod source_health;
mod stats;
mod users;

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::config::StoreConfig;

pub use console::{LastDelivery, ReasonGroup, RecentCall};
pub use error::StoreError;
pub use events::{EventFilter, EventRow};
pub use finish::{JobOutcome, JobResult};
pub use ingest::{IngestItem, IngestOutcome, IngestSession, IngestStatus};
pub use jobs::{Claimed, ClaimedEvent};
pub use outbox::{AttemptOutcome, OutboxCount, OutboxFilter, OutboxItem, OutboxRow, lane_lease};
pub use pull::{CursorWrite, Fence, PullStateRow};
pub use reconcile::{RECONCILE_SOURCE, RunRow, SeenUserRow};
pub use scim::{ScimGroupRow, ScimMemberRow, ScimTx, ScimUserRow};
pub use scim_read::{Page, ScimLookup};
pub use sessions::SessionRow;
pub use source_health::SourceHealthRow;
pub use users::{AuditEntry, DomoGroupRow, UserRow};

/// SQLite: one writer connection (SQLite has one writer anyway; this avoids busy retries) and
/// a pool of readers.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    write: SqlitePool,
    read: SqlitePool,
    /// Set while the writer runs a relaxed transaction (`synchronous = NORMAL`); the pool
    /// puts `FULL` back when the connection returns, however the transaction ended.
    relaxed: Arc<AtomicBool>,
}

impl SqliteStore {
    /// The writer connection with `synchronous = NORMAL`: its commits are not fsynced (a
    /// later fsynced commit, or the next checkpoint, makes them durable). For bookkeeping that
    /// can be redone after a power loss, never for what a client is told is stored.
    /// `synchronous = FULL` comes back when the connection returns to the pool, also when the
    /// caller is cancelled half-way (see `connect`).
    pub(crate) async fn relaxed_writer(
        &self,
    ) -> Result<sqlx::pool::PoolConnection<sqlx::Sqlite>, StoreError> {
        let mut conn = self.write.acquire().await?;
        self.relaxed.store(true, Ordering::SeqCst);
        sqlx::query("PRAGMA synchronous = NORMAL")
            .execute(&mut *conn)
            .await?;
        Ok(conn)
    }
}

/// PostgreSQL: one pool shared by every task of this replica.
#[derive(Clone, Debug)]
pub struct PgStore {
    pool: PgPool,
}

/// The store. Cheap to clone.
#[derive(Clone, Debug)]
pub enum Store {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

/// Runs `$body` with `$pool` bound to the backend's pool (`write` or `read`: SQLite has a
/// single writer connection and a pool of readers; PostgreSQL one pool) and `$sql` to the query
/// text in that backend's placeholder style. The body is compiled once per backend.
macro_rules! on_pool_in {
    ($store:expr, $which:ident, $pool:ident, $sql:ident = $text:expr => $body:expr) => {
        match $store {
            $crate::store::Store::Sqlite(s) => {
                let $pool = &s.$which;
                let $sql = $crate::store::sqlite_sql($text);
                $body
            }
            $crate::store::Store::Postgres(p) => {
                let $pool = &p.pool;
                let $sql: &'static str = $text;
                $body
            }
        }
    };
}
/// `on_pool_in!` with the writer pool.
macro_rules! on_pool {
    ($store:expr, $pool:ident, $sql:ident = $text:expr => $body:expr) => {
        $crate::store::on_pool_in!($store, write, $pool, $sql = $text => $body)
    };
}
/// `on_pool_in!` with the reader pool, for queries that only read.
macro_rules! on_read_pool {
    ($store:expr, $pool:ident, $sql:ident = $text:expr => $body:expr) => {
        $crate::store::on_pool_in!($store, read, $pool, $sql = $text => $body)
    };
}
pub(crate) use {on_pool, on_pool_in, on_read_pool};

/// Rewrites `$N` placeholders to SQLite's `?N` (which binds by number, whatever the order of
/// appearance). Query texts must not contain `$` elsewhere. The result is cached per query text, so each literal is converted once.
pub(crate) fn sqlite_sql(pg: &'static str) -> &'static str {
    static CACHE: LazyLock<Mutex<HashMap<(usize, usize), &'static str>>> =
        LazyLock::new(|| Mutex::new(HashMap::new()));
    let key = (pg.as_ptr() as usize, pg.len());
    let mut cache = CACHE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    cache
        .entry(key)
        .or_insert_with(|| Box::leak(pg.replace('$', "?").into_boxed_str()))
}

/// How long a caller waits for a pooled connection before the store counts as unavailable.
/// While PostgreSQL is down, every acquire tries to connect again (the pool backs off between
/// refused attempts) until this bound, so it is also how long a request waits for its 503:
/// short enough for senders' timeouts and the HTTP request timeout, long enough for the
/// single SQLite writer under load.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// WAL pages after which the SQLite writer checkpoints by itself (64 MB): a backstop only.
const WRITER_CHECKPOINT_PAGES: &str = "16384";

/// Every pool's `after_release`: whether the connection may be handed out again. Not if it
/// still counts an open transaction once a rollback queued by a dropped transaction has run:
/// the database rolled the transaction back by itself (SQLite does when a commit fails on a
/// full disk) and sqlx, whose own rollback then failed, did not notice. Its next
/// "transaction" would be a savepoint, and its "commit" might commit nothing while the service
/// acknowledges it. Such a connection is closed (the pool opens a fresh one). The usual
/// release costs no round trip: only a connection that counts a transaction is pinged (which
/// runs the queued rollback first).
async fn no_transaction_left<C: sqlx::Connection>(conn: &mut C) -> Result<bool, sqlx::Error> {
    if !conn.is_in_transaction() {
        return Ok(true);
    }
    conn.ping().await?;
    if conn.is_in_transaction() {
        tracing::warn!(
            "a database connection lost track of its transaction after a failure: closed, not reused"
        );
        return Ok(false);
    }
    Ok(true)
}

impl Store {
    /// Connects to the database named by `config.url` (not yet migrated).
    pub async fn connect(config: &StoreConfig) -> Result<Store, StoreError> {
        let url = config.url.expose();
        if url.starts_with("sqlite:") {
            let memory = url.contains(":memory:") || url.contains("mode=memory");
            let opts = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
                // Checkpoints run in the background (`checkpoint_loop`): left to the writer,
                // each 1,000-page checkpoint copies the WAL into the database file and fsyncs
                // it inside a commit, stalling every waiting ingest (p99 150 ms at 1,000 req/s
                // in BENCHMARKS.md). The writer still checkpoints past 64 MB, which bounds the
                // WAL if the background task falls behind or is not running (tests, tools).
                .pragma("wal_autocheckpoint", WRITER_CHECKPOINT_PAGES);
            let relaxed = Arc::new(AtomicBool::new(false));
            let flag = relaxed.clone();
            let write = SqlitePoolOptions::new()
                .max_connections(1)
                .acquire_timeout(ACQUIRE_TIMEOUT)
                .after_release(move |conn, _| {
                    let flag = flag.clone();
                    Box::pin(async move {
                        if flag.swap(false, Ordering::SeqCst) {
                            // On failure the pool closes the connection; its replacement
                            // opens with the options' `synchronous = FULL`.
                            sqlx::query("PRAGMA synchronous = FULL")
                                .execute(&mut *conn)
                                .await?;
                        }
                        no_transaction_left(conn).await
                    })
                })
                .connect_with(opts.clone())
                .await?;
            let read = if memory {
                write.clone()
            } else {
                SqlitePoolOptions::new()
                    .max_connections(config.max_connections.max(1))
                    .acquire_timeout(ACQUIRE_TIMEOUT)
                    .after_release(|conn, _| Box::pin(no_transaction_left(conn)))
                    .connect_with(opts)
                    .await?
            };
            Ok(Store::Sqlite(SqliteStore {
                write,
                read,
                relaxed,
            }))
        } else {
            let opts = PgConnectOptions::from_str(url)?;
            let pool = PgPoolOptions::new()
                .max_connections(config.max_connections.max(2))
                .acquire_timeout(ACQUIRE_TIMEOUT)
                .after_release(|conn, _| Box::pin(no_transaction_left(conn)))
                .connect_with(opts)
                .await?;
            Ok(Store::Postgres(PgStore { pool }))
        }
    }

    /// Copies the SQLite WAL into the database file every 250 ms from a read connection
    /// (`PASSIVE`: it never blocks the writer, which keeps appending meanwhile), until `token`
    /// is cancelled. Nothing to do on PostgreSQL.
    pub async fn checkpoint_loop(self, token: tokio_util::sync::CancellationToken) {
        let Store::Sqlite(s) = self else { return };
        loop {
            tokio::select! {
                () = token.cancelled() => return,
                () = tokio::time::sleep(Duration::from_millis(250)) => {}
            }
            if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                .execute(&s.read)
                .await
            {
                tracing::debug!(error = %e, "background WAL checkpoint failed");
            }
        }
    }

    /// Connects and brings the schema up to date.
    pub async fn open(config: &StoreConfig) -> Result<Store, StoreError> {
        let store = Store::connect(config).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// A query text in this backend's placeholder style.
    pub(crate) fn sql(&self, pg: &'static str) -> &'static str {
        match self {
            Store::Sqlite(_) => sqlite_sql(pg),
            Store::Postgres(_) => pg,
        }
    }

    /// `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        match self {
            Store::Sqlite(_) => "sqlite",
            Store::Postgres(_) => "postgres",
        }
    }

    /// A cheap round trip (a read).
    pub async fn ping(&self) -> Result<(), StoreError> {
        on_read_pool!(self, pool, sql = "SELECT 1" => {
            sqlx::query(sql).execute(pool).await?;
        });
        Ok(())
    }

    /// Proves the store can commit now, for readiness: one tiny durable write (the time of the
    /// probe in `meta`). A read is not enough: a full disk or a read-only database still
    /// answers reads while every ingest fails.
    pub async fn probe_commit(&self, now_ms: i64) -> Result<(), StoreError> {
        on_pool!(self, pool, sql = "INSERT INTO meta (key, value) VALUES ('readiness_probe', $1) \
            ON CONFLICT (key) DO UPDATE SET value = excluded.value" => {
            sqlx::query(sql).bind(now_ms.to_string()).execute(pool).await?;
        });
        Ok(())
    }

    /// Reads a meta value, or stores `value` under `key` if none is there, and returns the
    /// value that is stored (so concurrent callers agree).
    pub async fn meta_get_or_insert(&self, key: &str, value: &str) -> Result<String, StoreError> {
        on_pool!(self, pool, sql = "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING" => {
            sqlx::query(sql).bind(key).bind(value).execute(pool).await?;
        });
        let v: String = on_pool!(self, pool, sql = "SELECT value FROM meta WHERE key = $1" => {
            sqlx::query_scalar(sql).bind(key).fetch_one(pool).await?
        });
        Ok(v)
    }

    /// Closes the pools, waiting for connections to be returned.
    pub async fn close(&self) {
        match self {
            Store::Sqlite(s) => {
                s.write.close().await;
                s.read.close().await;
            }
            Store::Postgres(p) => p.pool.close().await,
        }
    }
}

#[cfg(test)]
mod tests;
