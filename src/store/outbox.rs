//! The outbox of outgoing operational events: one row per notice and subscriber, written in
//! the same transaction as the state change it reports (`finish_job`, `finish_run`, …), then
//! worked by the subscriber's delivery lane: one delivery at a time per subscriber across
//! replicas, under a lease row named `notify:<subscriber>` (on PostgreSQL on the database's
//! clock, as job leases are).

use sqlx::Connection;

use super::{Store, StoreError, on_pool, on_read_pool};

/// A notice to store for one subscriber.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxItem {
    pub subscriber: String,
    /// The `webhook-id`: the same for every attempt and replay of this message.
    pub msg_id: String,
    pub event_type: String,
    pub body: String,
}

/// A stored message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    pub id: i64,
    pub subscriber: String,
    pub msg_id: String,
    pub event_type: String,
    pub body: String,
    /// `pending`, `delivered` or `dead`.
    pub status: String,
    pub attempts: i64,
    pub next_ms: i64,
    pub created_ms: i64,
    pub updated_ms: i64,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub delivered_ms: Option<i64>,
}

type Tuple = (
    i64,
    String,
    String,
    String,
    String,
    String,
    i64,
    i64,
    i64,
    i64,
    Option<i64>,
    Option<String>,
    Option<i64>,
);

fn to_row(t: Tuple) -> OutboxRow {
    OutboxRow {
        id: t.0,
        subscriber: t.1,
        msg_id: t.2,
        event_type: t.3,
        body: t.4,
        status: t.5,
        attempts: t.6,
        next_ms: t.7,
        created_ms: t.8,
        updated_ms: t.9,
        last_status: t.10,
        last_error: t.11,
        delivered_ms: t.12,
    }
}

/// How a delivery attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptOutcome {
    Delivered {
        status: i64,
    },
    Retry {
        next_ms: i64,
        status: Option<i64>,
        error: String,
    },
    Dead {
        status: Option<i64>,
        error: String,
    },
}

/// Which messages to list.
#[derive(Debug, Clone, Default)]
pub struct OutboxFilter {
    pub subscriber: Option<String>,
    pub status: Option<String>,
    pub event_type: Option<String>,
    /// Only ids below this (the cursor of the previous page).
    pub before_id: Option<i64>,
}

/// Messages by subscriber and status, with the creation time of the oldest pending one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxCount {
    pub subscriber: String,
    pub status: String,
    pub count: i64,
    pub oldest_created_ms: Option<i64>,
}

/// The insert of one message (also used inside other modules' transactions).
pub(super) const INSERT_OUTBOX: &str = "INSERT INTO outbox (subscriber, msg_id, event_type, \
     body, status, attempts, next_ms, created_ms, updated_ms) \
     VALUES ($1, $2, $3, $4, 'pending', 0, $5, $5, $5)";

const COLUMNS: &str = "id, subscriber, msg_id, event_type, body, status, attempts, next_ms, \
     created_ms, updated_ms, last_status, last_error, delivered_ms";

const LEASE_SQLITE: &str = "INSERT INTO leases (name, owner, until_ms) VALUES ($1, $2, $4 + $3) \
     ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, until_ms = excluded.until_ms \
     WHERE leases.owner = excluded.owner OR leases.until_ms < $4";
const LEASE_PG: &str = "INSERT INTO leases (name, owner, until_ms) \
     VALUES ($1, $2, (EXTRACT(EPOCH FROM now()) * 1000)::bigint + $3) \
     ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, until_ms = excluded.until_ms \
     WHERE leases.owner = excluded.owner \
       OR leases.until_ms < (EXTRACT(EPOCH FROM now()) * 1000)::bigint";

/// The lease row of a subscriber's lane.
pub fn lane_lease(subscriber: &str) -> String {
    format!("notify:{subscriber}")
}

/// Runs `$body` once per backend inside one transaction bound to `$tx`, committing after it.
macro_rules! in_tx_impl {
    ($store:expr, $tx:ident => $body:expr) => {
        match $store {
            Store::Sqlite(s) => {
                let mut conn = s.write.acquire().await?;
                let mut $tx = conn.begin().await?;
                let out = $body;
                $tx.commit().await?;
                out
            }
            Store::Postgres(p) => {
                let mut $tx = p.pool.begin().await?;
                let out = $body;
                $tx.commit().await?;
                out
            }
        }
    };
}

pub(super) use in_tx_impl as in_tx;

impl Store {
    /// Stores notices in a transaction of their own (for state changes that commit elsewhere,
    /// or have none: a pull source's failure).
    pub async fn write_notices(&self, items: &[OutboxItem], now_ms: i64) -> Result<(), StoreError> {
        if items.is_empty() {
            return Ok(());
        }
        let sql = self.sql(INSERT_OUTBOX);
        in_tx!(self, tx => {
            for it in items {
                sqlx::query(sql).bind(&it.subscriber).bind(&it.msg_id).bind(&it.event_type)
                    .bind(&it.body).bind(now_ms).execute(&mut *tx).await?;
            }
        });
        Ok(())
    }

    /// Starts the next delivery of a subscriber's lane: takes (or renews) the lane's lease for
    /// `owner` for `lease_ms`, then takes the oldest due pending message, counts the attempt
    /// and sets it due again at `retry_at(attempts)` (so a crash mid-delivery retries it then).
    /// `None` when another replica holds the lane or nothing is due. One transaction.
    pub async fn outbox_start_attempt(
        &self,
        subscriber: &str,
        owner: &str,
        lease_ms: i64,
        now_ms: i64,
        retry_at: impl Fn(i64) -> i64,
    ) -> Result<Option<OutboxRow>, StoreError> {
        let lease = lane_lease(subscriber);
        let pick = self.sql(
            "SELECT id, subscriber, msg_id, event_type, body, status, attempts, next_ms, \
             created_ms, updated_ms, last_status, last_error, delivered_ms FROM outbox \
             WHERE subscriber = $1 AND status = 'pending' AND next_ms <= $2 \
             ORDER BY next_ms, id LIMIT 1",
        );
        let mark = self.sql(
            "UPDATE outbox SET attempts = attempts + 1, next_ms = $2, updated_ms = $3 \
             WHERE id = $1 AND status = 'pending'",
        );
        let held = in_tx!(self, tx => {
            let held = match self {
                Store::Sqlite(_) => sqlx::query(super::sqlite_sql(LEASE_SQLITE))
                    .bind(&lease).bind(owner).bind(lease_ms).bind(now_ms)
                    .execute(&mut *tx).await?.rows_affected(),
                Store::Postgres(_) => sqlx::query(LEASE_PG)
                    .bind(&lease).bind(owner).bind(lease_ms)
                    .execute(&mut *tx).await?.rows_affected(),
            };
            if held == 0 {
                None
            } else {
                let row: Option<Tuple> = sqlx::query_as(pick).bind(subscriber).bind(now_ms)
                    .fetch_optional(&mut *tx).await?;
                match row.map(to_row) {
                    Some(mut r) => {
                        r.attempts += 1;
                        r.next_ms = retry_at(r.attempts);
                        sqlx::query(mark).bind(r.id).bind(r.next_ms).bind(now_ms)
                            .execute(&mut *tx).await?;
                        Some(Some(r))
                    }
                    None => Some(None),
                }
            }
        });
        Ok(held.flatten())
    }

    /// Gives the subscriber's lane back (only if `owner` holds it).
    pub async fn outbox_release_lane(
        &self,
        subscriber: &str,
        owner: &str,
    ) -> Result<(), StoreError> {
        self.release_lease(&lane_lease(subscriber), owner).await
    }

    /// Records how an attempt ended.
    pub async fn outbox_finish(
        &self,
        id: i64,
        outcome: &AttemptOutcome,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        match outcome {
            AttemptOutcome::Delivered { status } => {
                on_pool!(self, pool, sql = "UPDATE outbox SET status = 'delivered', last_status = $2, \
                    last_error = NULL, delivered_ms = $3, updated_ms = $3 WHERE id = $1" => {
                    sqlx::query(sql).bind(id).bind(status).bind(now_ms).execute(pool).await?;
                });
            }
            AttemptOutcome::Retry {
                next_ms,
                status,
                error,
            } => {
                on_pool!(self, pool, sql = "UPDATE outbox SET next_ms = $2, last_status = $3, \
                    last_error = $4, updated_ms = $5 WHERE id = $1 AND status = 'pending'" => {
                    sqlx::query(sql).bind(id).bind(next_ms).bind(status).bind(error).bind(now_ms)
                        .execute(pool).await?;
                });
            }
            AttemptOutcome::Dead { status, error } => {
                on_pool!(self, pool, sql = "UPDATE outbox SET status = 'dead', last_status = $2, \
                    last_error = $3, updated_ms = $4 WHERE id = $1" => {
                    sqlx::query(sql).bind(id).bind(status).bind(error).bind(now_ms)
                        .execute(pool).await?;
                });
            }
        }
        Ok(())
    }

    /// When the subscriber's next pending message is due (`None`: nothing pending).
    pub async fn outbox_next_due(&self, subscriber: &str) -> Result<Option<i64>, StoreError> {
        on_read_pool!(self, pool, sql = "SELECT MIN(next_ms) FROM outbox \
            WHERE subscriber = $1 AND status = 'pending'" => {
            Ok(sqlx::query_scalar(sql).bind(subscriber).fetch_one(pool).await?)
        })
    }

    /// One message.
    pub async fn outbox_get(&self, id: i64) -> Result<Option<OutboxRow>, StoreError> {
        static SQL: std::sync::LazyLock<&'static str> = std::sync::LazyLock::new(|| {
            Box::leak(format!("SELECT {COLUMNS} FROM outbox WHERE id = $1").into_boxed_str())
        });
        let sql = self.sql(*SQL);
        let row: Option<Tuple> = match self {
            Store::Sqlite(s) => sqlx::query_as(sql).bind(id).fetch_optional(&s.read).await?,
            Store::Postgres(p) => sqlx::query_as(sql).bind(id).fetch_optional(&p.pool).await?,
        };
        Ok(row.map(to_row))
    }

    /// Messages, newest first, `limit` at most.
    pub async fn outbox_list(
        &self,
        f: &OutboxFilter,
        limit: i64,
    ) -> Result<Vec<OutboxRow>, StoreError> {
        static SQL: std::sync::LazyLock<&'static str> = std::sync::LazyLock::new(|| {
            Box::leak(
                format!(
                    "SELECT {COLUMNS} FROM outbox WHERE ($1 IS NULL OR subscriber = $1) \
                     AND ($2 IS NULL OR status = $2) AND ($3 IS NULL OR event_type = $3) \
                     AND ($4 IS NULL OR id < $4) ORDER BY id DESC LIMIT $5"
                )
                .into_boxed_str(),
            )
        });
        let sql = self.sql(*SQL);
        macro_rules! run {
            ($pool:expr) => {
                sqlx::query_as(sql)
                    .bind(&f.subscriber)
                    .bind(&f.status)
                    .bind(&f.event_type)
                    .bind(f.before_id)
                    .bind(limit)
                    .fetch_all($pool)
                    .await?
            };
        }
        let rows: Vec<Tuple> = match self {
            Store::Sqlite(s) => run!(&s.read),
            Store::Postgres(p) => run!(&p.pool),
        };
        Ok(rows.into_iter().map(to_row).collect())
    }

    /// Sends a dead or delivered message again: pending, due now, attempts from zero, the
    /// same `webhook-id`. `false` when there is no such message or it is still pending.
    pub async fn outbox_replay(&self, id: i64, now_ms: i64) -> Result<bool, StoreError> {
        on_pool!(self, pool, sql = "UPDATE outbox SET status = 'pending', attempts = 0, \
            next_ms = $2, last_error = NULL, last_status = NULL, delivered_ms = NULL, \
            updated_ms = $2 WHERE id = $1 AND status IN ('dead', 'delivered')" => {
            Ok(sqlx::query(sql).bind(id).bind(now_ms).execute(pool).await?.rows_affected() == 1)
        })
    }

    /// Replays every dead message of a subscriber created at or after `since_ms`; how many.
    pub async fn outbox_replay_dead(
        &self,
        subscriber: &str,
        since_ms: i64,
        now_ms: i64,
    ) -> Result<u64, StoreError> {
        on_pool!(self, pool, sql = "UPDATE outbox SET status = 'pending', attempts = 0, \
            next_ms = $3, last_error = NULL, last_status = NULL, updated_ms = $3 \
            WHERE subscriber = $1 AND status = 'dead' AND created_ms >= $2" => {
            Ok(sqlx::query(sql).bind(subscriber).bind(since_ms).bind(now_ms).execute(pool).await?
                .rows_affected())
        })
    }

    /// Counts by subscriber and status, for metrics and the API.
    pub async fn outbox_counts(&self) -> Result<Vec<OutboxCount>, StoreError> {
        let rows: Vec<(String, String, i64, Option<i64>)> = on_read_pool!(self, pool,
            sql = "SELECT subscriber, status, COUNT(*), MIN(created_ms) FROM outbox \
                GROUP BY subscriber, status ORDER BY subscriber, status" => {
            sqlx::query_as(sql).fetch_all(pool).await?
        });
        Ok(rows
            .into_iter()
            .map(|(subscriber, status, count, oldest)| OutboxCount {
                oldest_created_ms: (status == "pending").then_some(oldest).flatten(),
                subscriber,
                status,
                count,
            })
            .collect())
    }
}
