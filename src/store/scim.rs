//! The SCIM view (issue 18): each SCIM source's users, groups and memberships as its IdP set
//! them, written by [`ScimTx`] in the same transaction as the inbox rows they cause.
//!
//! Locking (PostgreSQL, several replicas): a writer locks the group row first (`FOR UPDATE`),
//! then user rows in id order, then clock rows in key order, and reads what its events depend
//! on only after taking those locks. Every transaction takes locks in that order, so they
//! cannot deadlock, and two writers touching one user are serialised: the second reads what
//! the first committed. Uniqueness (`userName`, group `displayName`, an active user's email)
//! is enforced by unique indexes, so two replicas cannot both create the same name. SQLite
//! has one writer connection: its transactions are serial anyway.

use super::{Store, StoreError, sqlite_sql};
use crate::store::{IngestItem, IngestOutcome};

/// One stored SCIM user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimUserRow {
    pub id: String,
    pub user_name: String,
    pub external_id: Option<String>,
    /// The lower-cased identity email its events carry, when it has one.
    pub user_key: Option<String>,
    pub active: bool,
    /// The stored attributes, as JSON text.
    pub attrs: String,
    pub version: i64,
    pub created_ms: i64,
    pub modified_ms: i64,
}

/// One stored SCIM group (its members are rows of their own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimGroupRow {
    pub id: String,
    pub display_name: String,
    pub external_id: Option<String>,
    pub attrs: String,
    pub version: i64,
    pub created_ms: i64,
    pub modified_ms: i64,
}

/// A member of a group as the IdP sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimMemberRow {
    pub user_id: String,
    /// `$ref`, when sent.
    pub reference: Option<String>,
    /// `type`, when sent.
    pub kind: Option<String>,
}

pub(super) type UserTuple = (
    String,
    String,
    Option<String>,
    Option<String>,
    i64,
    String,
    i64,
    i64,
    i64,
);
pub(super) type GroupTuple = (String, String, Option<String>, String, i64, i64, i64);

pub(super) fn user_row(t: UserTuple) -> ScimUserRow {
    let (id, user_name, external_id, user_key, active, attrs, version, created_ms, modified_ms) = t;
    ScimUserRow {
        id,
        user_name,
        external_id,
        user_key,
        active: active != 0,
        attrs,
        version,
        created_ms,
        modified_ms,
    }
}

pub(super) fn group_row(t: GroupTuple) -> ScimGroupRow {
    let (id, display_name, external_id, attrs, version, created_ms, modified_ms) = t;
    ScimGroupRow {
        id,
        display_name,
        external_id,
        attrs,
        version,
        created_ms,
        modified_ms,
    }
}

/// An open transaction of a SCIM write. Dropped without [`ScimTx::commit`], it rolls back.
pub enum ScimTx {
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

/// Runs `$body` with `$conn` bound to the transaction's connection and `$sql` to the query in
/// the backend's placeholder style: `$text` for both, or `($sqlite, $pg)` when they differ.
macro_rules! on_tx {
    ($tx:expr, $sql:ident = ($lite:expr, $pg:expr), $conn:ident => $body:expr) => {
        match $tx {
            ScimTx::Sqlite(t) => {
                let $sql = sqlite_sql($lite);
                let $conn = &mut **t;
                $body
            }
            ScimTx::Postgres(t) => {
                let $sql: &'static str = $pg;
                let $conn = &mut **t;
                $body
            }
        }
    };
    ($tx:expr, $sql:ident = $text:expr, $conn:ident => $body:expr) => {
        on_tx!($tx, $sql = ($text, $text), $conn => $body)
    };
}
pub(super) use on_tx;

impl Store {
    /// Opens a write transaction for the SCIM view. SQLite: on the writer connection, and
    /// `BEGIN IMMEDIATE`: a transaction that reads before it writes must hold the write lock
    /// from the start, or another process that wrote meanwhile makes its first write fail at
    /// once (`SQLITE_BUSY_SNAPSHOT`) instead of waiting.
    pub async fn scim_begin(&self) -> Result<ScimTx, StoreError> {
        Ok(match self {
            Store::Sqlite(s) => ScimTx::Sqlite(s.write.begin_with("BEGIN IMMEDIATE").await?),
            Store::Postgres(p) => ScimTx::Postgres(p.pool.begin().await?),
        })
    }
}

const SELECT_USER: &str = "SELECT id, user_name, external_id, user_key, active, attrs, version, \
     created_ms, modified_ms FROM scim_users WHERE source = $1 AND id = $2";
const LOCK_USER: &str = "SELECT id, user_name, external_id, user_key, active, attrs, version, \
     created_ms, modified_ms FROM scim_users WHERE source = $1 AND id = $2 FOR UPDATE";
const INSERT_USER: &str = "INSERT INTO scim_users (source, id, user_name, user_name_key, \
     external_id, user_key, active, attrs, version, created_ms, modified_ms) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";
const UPDATE_USER: &str = "UPDATE scim_users SET user_name = $3, user_name_key = $4, \
     external_id = $5, user_key = $6, active = $7, attrs = $8, version = $9, modified_ms = $10 \
     WHERE source = $1 AND id = $2";
const DELETE_USER: &str = "DELETE FROM scim_users WHERE source = $1 AND id = $2";
const USER_NAME_OWNER: &str = "SELECT id FROM scim_users WHERE source = $1 AND user_name_key = $2";
const ACTIVE_KEY_OWNER: &str =
    "SELECT id FROM scim_users WHERE source = $1 AND user_key = $2 AND active = 1";
const CLOCK_SQLITE: &str = "INSERT INTO scim_clock (user_key, last_us) VALUES ($1, $2) \
     ON CONFLICT (user_key) DO UPDATE SET last_us = MAX(excluded.last_us, scim_clock.last_us + 1) \
     RETURNING last_us";
const CLOCK_PG: &str = "INSERT INTO scim_clock (user_key, last_us) VALUES ($1, $2) \
     ON CONFLICT (user_key) DO UPDATE SET last_us = GREATEST(excluded.last_us, scim_clock.last_us + 1) \
     RETURNING last_us";

/// A lower-cased name, the key of case-insensitive uniqueness.
pub fn name_key(name: &str) -> String {
    name.to_lowercase()
}

impl ScimTx {
    /// Commits the view rows and the inbox rows together.
    pub async fn commit(self) -> Result<(), StoreError> {
        match self {
            ScimTx::Sqlite(t) => t.commit().await?,
            ScimTx::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }

    /// Stores inbox rows in this transaction (see `Store::ingest`).
    pub async fn insert_events(
        &mut self,
        source: &str,
        items: &[IngestItem],
        now_ms: i64,
    ) -> Result<Vec<IngestOutcome>, StoreError> {
        let requests = [(source, items)];
        let mut out = match self {
            ScimTx::Sqlite(t) => super::ingest::insert_sqlite(t, &requests, now_ms).await?,
            ScimTx::Postgres(t) => super::ingest::insert_postgres(t, &requests, now_ms).await?,
        };
        Ok(out.pop().unwrap_or_default())
    }

    /// A user, locked until the transaction ends.
    pub async fn lock_user(
        &mut self,
        source: &str,
        id: &str,
    ) -> Result<Option<ScimUserRow>, StoreError> {
        let row: Option<UserTuple> = on_tx!(self, sql = (SELECT_USER, LOCK_USER), c => {
            sqlx::query_as(sql).bind(source).bind(id).fetch_optional(c).await?
        });
        Ok(row.map(user_row))
    }

    /// Users by id, locked in id order (those that exist).
    pub async fn lock_users(
        &mut self,
        source: &str,
        ids: &[String],
    ) -> Result<Vec<ScimUserRow>, StoreError> {
        let mut sorted: Vec<&String> = ids.iter().collect();
        sorted.sort();
        sorted.dedup();
        let mut out = Vec::with_capacity(sorted.len());
        for id in sorted {
            if let Some(u) = self.lock_user(source, id).await? {
                out.push(u);
            }
        }
        Ok(out)
    }

    /// The id of the user whose userName is `name` (without regard to case), if any.
    pub async fn user_name_owner(
        &mut self,
        source: &str,
        name: &str,
    ) -> Result<Option<String>, StoreError> {
        on_tx!(self, sql = USER_NAME_OWNER, c => {
            Ok(sqlx::query_scalar(sql).bind(source).bind(name_key(name)).fetch_optional(c).await?)
        })
    }

    /// The id of the active user whose identity email is `key`, if any.
    pub async fn active_key_owner(
        &mut self,
        source: &str,
        key: &str,
    ) -> Result<Option<String>, StoreError> {
        on_tx!(self, sql = ACTIVE_KEY_OWNER, c => {
            Ok(sqlx::query_scalar(sql).bind(source).bind(key).fetch_optional(c).await?)
        })
    }

    /// Inserts a new user.
    pub async fn insert_user(&mut self, source: &str, u: &ScimUserRow) -> Result<(), StoreError> {
        on_tx!(self, sql = INSERT_USER, c => {
            sqlx::query(sql).bind(source).bind(&u.id).bind(&u.user_name).bind(name_key(&u.user_name))
                .bind(&u.external_id).bind(&u.user_key).bind(i64::from(u.active)).bind(&u.attrs)
                .bind(u.version).bind(u.created_ms).bind(u.modified_ms).execute(c).await?;
        });
        Ok(())
    }

    /// Rewrites a user (all but its id and creation time).
    pub async fn update_user(&mut self, source: &str, u: &ScimUserRow) -> Result<(), StoreError> {
        on_tx!(self, sql = UPDATE_USER, c => {
            sqlx::query(sql).bind(source).bind(&u.id).bind(&u.user_name).bind(name_key(&u.user_name))
                .bind(&u.external_id).bind(&u.user_key).bind(i64::from(u.active)).bind(&u.attrs)
                .bind(u.version).bind(u.modified_ms).execute(c).await?;
        });
        Ok(())
    }

    /// Deletes a user and (by cascade) its memberships.
    pub async fn delete_user(&mut self, source: &str, id: &str) -> Result<(), StoreError> {
        on_tx!(self, sql = DELETE_USER, c => {
            sqlx::query(sql).bind(source).bind(id).execute(c).await?;
        });
        Ok(())
    }

    /// The next event time for the user `key`, unix microseconds: `now_us`, or one more than
    /// the last one handed out for that key, whichever is greater. The clock row stays locked
    /// until the transaction ends, so the times of one key grow in commit order across
    /// replicas and clocks.
    pub async fn next_stamp(&mut self, key: &str, now_us: i64) -> Result<i64, StoreError> {
        on_tx!(self, sql = (CLOCK_SQLITE, CLOCK_PG), c => {
            Ok(sqlx::query_scalar(sql).bind(key).bind(now_us).fetch_one(c).await?)
        })
    }
}

impl StoreError {
    /// A unique index refused the write (a concurrent writer took the name first).
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, StoreError::Db(sqlx::Error::Database(e)) if e.is_unique_violation())
    }

    /// PostgreSQL gave up on the transaction (deadlock or serialisation); it may be retried.
    pub fn is_retryable_conflict(&self) -> bool {
        matches!(self, StoreError::Db(sqlx::Error::Database(e))
            if matches!(e.code().as_deref(), Some("40001" | "40P01")))
    }
}
