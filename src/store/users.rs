//! Per-user state, sender identities, Domo caches (groups, users), known memberships and the
//! audit log. A job's results are written by `finish_job` (`finish.rs`).

use super::{Store, StoreError, on_pool, on_read_pool};

/// A user's stored row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRow {
    pub user_key: String,
    /// The `UserState` as JSON.
    pub state: String,
    pub domo_user_id: Option<i64>,
    /// The memberships rows were read from Domo at least once.
    pub synced: bool,
    pub last_event: Option<i64>,
    pub updated_ms: i64,
}

/// A Domo group the service knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomoGroupRow {
    pub name: String,
    pub domo_id: i64,
    pub managed: bool,
    pub created: bool,
    pub is_default: bool,
}

/// One Domo call made for an event.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuditEntry {
    pub at_ms: i64,
    pub event: Option<i64>,
    pub user_key: Option<String>,
    /// Index of the rule that asked for this group, when one did.
    pub rule: Option<i64>,
    /// `create_group`, `add_member`, `remove_member`, `get_user`, `create_user`, …
    pub op: String,
    pub group_name: Option<String>,
    pub domo_group_id: Option<i64>,
    pub domo_user_id: Option<i64>,
    pub http_status: Option<i64>,
    /// `ok`, `error` or `dry_run`.
    pub outcome: String,
    pub error: Option<String>,
    pub duration_ms: i64,
}

impl Store {
    /// The stored row of a user.
    pub async fn load_user(&self, user_key: &str) -> Result<Option<UserRow>, StoreError> {
        on_read_pool!(self, pool, sql = "SELECT user_key, state, domo_user_id, synced, last_event, updated_ms \
            FROM user_states WHERE user_key = $1" => {
            let row: Option<UserTuple> =
                sqlx::query_as(sql).bind(user_key).fetch_optional(pool).await?;
            Ok(row.map(|(user_key, state, domo_user_id, synced, last_event, updated_ms)| UserRow {
                user_key, state, domo_user_id, synced: synced != 0, last_event, updated_ms,
            }))
        })
    }

    /// Records that `idp_id` at `source` is the user `user_key`.
    pub async fn set_identity(
        &self,
        source: &str,
        idp_id: &str,
        user_key: &str,
    ) -> Result<(), StoreError> {
        on_pool!(self, pool, sql = "INSERT INTO identities (source, idp_id, user_key) VALUES ($1, $2, $3) \
            ON CONFLICT (source, idp_id) DO UPDATE SET user_key = excluded.user_key" => {
            sqlx::query(sql).bind(source).bind(idp_id).bind(user_key).execute(pool).await?;
        });
        Ok(())
    }

    /// The email a sender's user id belongs to, if an earlier event told us.
    pub async fn find_identity(
        &self,
        source: &str,
        idp_id: &str,
    ) -> Result<Option<String>, StoreError> {
        on_read_pool!(self, pool, sql = "SELECT user_key FROM identities WHERE source = $1 AND idp_id = $2" => {
            Ok(sqlx::query_scalar(sql).bind(source).bind(idp_id).fetch_optional(pool).await?)
        })
    }

    /// The Domo groups the service believes the user is in: (group id, name).
    pub async fn memberships(&self, user_key: &str) -> Result<Vec<(i64, String)>, StoreError> {
        on_read_pool!(self, pool, sql = "SELECT domo_group_id, group_name FROM memberships WHERE user_key = $1 \
            ORDER BY group_name" => {
            Ok(sqlx::query_as(sql).bind(user_key).fetch_all(pool).await?)
        })
    }

    /// Every known Domo group.
    pub async fn domo_groups(&self) -> Result<Vec<DomoGroupRow>, StoreError> {
        on_read_pool!(self, pool, sql = "SELECT name, domo_id, managed, created, is_default FROM domo_groups \
            ORDER BY name_key" => {
            let rows: Vec<(String, i64, i64, i64, i64)> = sqlx::query_as(sql).fetch_all(pool).await?;
            Ok(rows.into_iter().map(|(name, domo_id, managed, created, is_default)| DomoGroupRow {
                name, domo_id, managed: managed != 0, created: created != 0, is_default: is_default != 0,
            }).collect())
        })
    }

    /// Stores groups read from Domo (name, id, default flag), keeping the managed/created marks.
    pub async fn upsert_domo_groups(
        &self,
        groups: &[(String, i64, bool)],
        now_ms: i64,
    ) -> Result<(), StoreError> {
        on_pool!(self, pool, sql = "INSERT INTO domo_groups (name_key, name, domo_id, is_default, updated_ms) \
            VALUES ($1, $2, $3, $4, $5) ON CONFLICT (name_key) DO UPDATE SET name = excluded.name, \
            domo_id = excluded.domo_id, is_default = excluded.is_default, updated_ms = excluded.updated_ms" => {
            // In key order, so replicas refreshing at once lock rows in one order (no deadlock).
            let mut sorted: Vec<_> = groups.iter().map(|(n, id, d)| (n.to_lowercase(), n, id, d)).collect();
            sorted.sort();
            sorted.dedup_by(|a, b| a.0 == b.0);
            let mut tx = pool.begin().await?;
            for (key, name, id, is_default) in sorted {
                sqlx::query(sql).bind(key).bind(name).bind(id).bind(i64::from(*is_default))
                    .bind(now_ms).execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Records a group as managed (and, with `created`, as created by the service).
    pub async fn mark_group(
        &self,
        name: &str,
        domo_id: i64,
        created: bool,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        on_pool!(self, pool, sql = "INSERT INTO domo_groups (name_key, name, domo_id, managed, created, updated_ms) \
            VALUES ($1, $2, $3, 1, $4, $5) ON CONFLICT (name_key) DO UPDATE SET domo_id = excluded.domo_id, \
            managed = 1, created = CASE WHEN excluded.created = 1 THEN 1 ELSE domo_groups.created END, updated_ms = excluded.updated_ms" => {
            sqlx::query(sql).bind(name.to_lowercase()).bind(name).bind(domo_id).bind(i64::from(created))
                .bind(now_ms).execute(pool).await?;
        });
        Ok(())
    }

    /// Stores email → Domo user id pairs read from Domo.
    pub async fn upsert_domo_users(
        &self,
        users: &[(String, i64)],
        now_ms: i64,
    ) -> Result<(), StoreError> {
        on_pool!(self, pool, sql = "INSERT INTO domo_users (email_key, domo_id, updated_ms) VALUES ($1, $2, $3) \
            ON CONFLICT (email_key) DO UPDATE SET domo_id = excluded.domo_id, updated_ms = excluded.updated_ms" => {
            // In key order, so replicas refreshing at once lock rows in one order (no deadlock).
            let mut sorted: Vec<&(String, i64)> = users.iter().collect();
            sorted.sort();
            sorted.dedup_by(|a, b| a.0 == b.0);
            let mut tx = pool.begin().await?;
            for (email, id) in sorted {
                sqlx::query(sql).bind(email).bind(id).bind(now_ms).execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// The Domo user id cached for an email.
    pub async fn domo_user_id(&self, email_key: &str) -> Result<Option<i64>, StoreError> {
        on_read_pool!(self, pool, sql = "SELECT domo_id FROM domo_users WHERE email_key = $1" => {
            Ok(sqlx::query_scalar(sql).bind(email_key).fetch_optional(pool).await?)
        })
    }

    /// The audit entries of one event, oldest first.
    pub async fn audit_for_event(&self, event_pk: i64) -> Result<Vec<AuditEntry>, StoreError> {
        on_read_pool!(self, pool, sql = "SELECT at_ms, event, user_key, rule, op, group_name, domo_group_id, \
            domo_user_id, http_status, outcome, error, duration_ms FROM audit WHERE event = $1 ORDER BY id" => {
            let rows: Vec<AuditTuple> = sqlx::query_as(sql).bind(event_pk).fetch_all(pool).await?;
            Ok(rows.into_iter().map(audit_from_tuple).collect())
        })
    }
}

/// A `user_states` row as selected.
type UserTuple = (String, String, Option<i64>, i64, Option<i64>, i64);

type AuditTuple = (
    i64,
    Option<i64>,
    Option<String>,
    Option<i64>,
    String,
    Option<String>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    String,
    Option<String>,
    i64,
);

fn audit_from_tuple(t: AuditTuple) -> AuditEntry {
    let (
        at_ms,
        event,
        user_key,
        rule,
        op,
        group_name,
        domo_group_id,
        domo_user_id,
        http_status,
        outcome,
        error,
        duration_ms,
    ) = t;
    AuditEntry {
        at_ms,
        event,
        user_key,
        rule,
        op,
        group_name,
        domo_group_id,
        domo_user_id,
        http_status,
        outcome,
        error,
        duration_ms,
    }
}

/// Held while a group is created; dropping it releases the lock.
pub struct GroupCreationLock {
    _pg: Option<sqlx::Transaction<'static, sqlx::Postgres>>,
}

impl Store {
    /// Every cached email → Domo user id pair.
    pub async fn domo_users_all(&self) -> Result<Vec<(String, i64)>, StoreError> {
        on_read_pool!(self, pool, sql = "SELECT email_key, domo_id FROM domo_users" => {
            Ok(sqlx::query_as(sql).fetch_all(pool).await?)
        })
    }

    /// Serialises group creation for one name across replicas. SQLite runs one replica, whose
    /// in-process lock suffices; PostgreSQL takes a transaction-scoped advisory lock that is
    /// released when the guard drops (the transaction rolls back).
    pub async fn lock_group_creation(
        &self,
        name_key: &str,
    ) -> Result<GroupCreationLock, StoreError> {
        match self {
            Store::Sqlite(_) => Ok(GroupCreationLock { _pg: None }),
            Store::Postgres(p) => {
                let mut tx = p.pool.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
                    .bind(super::jobs::LOCK_CLASS_GROUP)
                    .bind(name_key)
                    .execute(&mut *tx)
                    .await?;
                Ok(GroupCreationLock { _pg: Some(tx) })
            }
        }
    }
}
