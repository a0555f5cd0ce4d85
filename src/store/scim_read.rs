//! Reads of the SCIM view (reader pool): a resource by id, candidates for a filter through an
//! index, a page in creation order, and members (all, or only whether given users are).

use std::collections::HashMap;

use super::scim::{
    GroupTuple, ScimGroupRow, ScimMemberRow, ScimUserRow, UserTuple, group_row, name_key, user_row,
};
use super::{Store, StoreError, on_read_pool};

/// How to narrow the rows a list reads, from the filter's indexable equalities.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScimLookup {
    /// Every resource of the source.
    All,
    Id(String),
    /// `userName` / `displayName`, without regard to case.
    Name(String),
    ExternalId(String),
    /// Groups that have this user as a member.
    Member(String),
}

/// Builds the `SELECT … WHERE` of a lookup for a table and its columns (constant texts, so
/// that the SQLite rewrite is cached).
macro_rules! lookup_sql {
    ($cols:expr, $table:literal, $name_col:literal) => {
        [
            concat!("SELECT ", $cols, " FROM ", $table, " WHERE source = $1 ORDER BY pk LIMIT $2 OFFSET $3"),
            concat!("SELECT ", $cols, " FROM ", $table, " WHERE source = $1 AND id = $2 ORDER BY pk"),
            concat!("SELECT ", $cols, " FROM ", $table, " WHERE source = $1 AND ", $name_col, " = $2 ORDER BY pk"),
            concat!("SELECT ", $cols, " FROM ", $table, " WHERE source = $1 AND external_id = $2 ORDER BY pk"),
            concat!("SELECT ", $cols, " FROM ", $table, " t WHERE source = $1 AND EXISTS (SELECT 1 FROM \
                scim_members m WHERE m.source = t.source AND m.group_id = t.id AND m.user_id = $2) ORDER BY pk"),
        ]
    };
}

const USER_SQL: [&str; 5] = lookup_sql!(
    "id, user_name, external_id, user_key, active, attrs, version, created_ms, modified_ms",
    "scim_users",
    "user_name_key"
);
const GROUP_SQL: [&str; 5] = lookup_sql!(
    "id, display_name, external_id, attrs, version, created_ms, modified_ms",
    "scim_groups",
    "display_name_key"
);
const COUNT_USERS: &str = "SELECT COUNT(*) FROM scim_users WHERE source = $1";
const COUNT_GROUPS: &str = "SELECT COUNT(*) FROM scim_groups WHERE source = $1";
const MEMBERS: &str = "SELECT user_id, ref, kind FROM scim_members WHERE source = $1 AND group_id = $2 \
     ORDER BY pk";
const ONE_MEMBER: &str = "SELECT user_id, ref, kind FROM scim_members WHERE source = $1 AND group_id = $2 \
     AND user_id = $3";

/// The value a lookup binds as `$2`, and which of the texts it uses.
fn lookup_arg(l: &ScimLookup) -> (usize, String) {
    match l {
        ScimLookup::All => (0, String::new()),
        ScimLookup::Id(v) => (1, v.clone()),
        ScimLookup::Name(v) => (2, name_key(v)),
        ScimLookup::ExternalId(v) => (3, v.clone()),
        ScimLookup::Member(v) => (4, v.clone()),
    }
}

/// A page: `(offset, limit)`, used with `ScimLookup::All` only.
pub type Page = (i64, i64);

impl Store {
    /// The users a lookup selects (with `All`, the page in creation order).
    pub async fn scim_users(
        &self,
        source: &str,
        lookup: &ScimLookup,
        page: Page,
    ) -> Result<Vec<ScimUserRow>, StoreError> {
        let (which, arg) = lookup_arg(lookup);
        if which == 4 {
            return Ok(Vec::new());
        }
        let rows: Vec<UserTuple> = on_read_pool!(self, pool, sql = USER_SQL[which] => {
            let q = sqlx::query_as(sql).bind(source);
            if which == 0 { q.bind(page.1).bind(page.0) } else { q.bind(arg) }.fetch_all(pool).await?
        });
        Ok(rows.into_iter().map(user_row).collect())
    }

    /// The groups a lookup selects (with `All`, the page in creation order).
    pub async fn scim_groups(
        &self,
        source: &str,
        lookup: &ScimLookup,
        page: Page,
    ) -> Result<Vec<ScimGroupRow>, StoreError> {
        let (which, arg) = lookup_arg(lookup);
        let rows: Vec<GroupTuple> = on_read_pool!(self, pool, sql = GROUP_SQL[which] => {
            let q = sqlx::query_as(sql).bind(source);
            if which == 0 { q.bind(page.1).bind(page.0) } else { q.bind(arg) }.fetch_all(pool).await?
        });
        Ok(rows.into_iter().map(group_row).collect())
    }

    /// How many users a source has.
    pub async fn count_scim_users(&self, source: &str) -> Result<i64, StoreError> {
        on_read_pool!(self, pool, sql = COUNT_USERS => {
            Ok(sqlx::query_scalar(sql).bind(source).fetch_one(pool).await?)
        })
    }

    /// How many groups a source has.
    pub async fn count_scim_groups(&self, source: &str) -> Result<i64, StoreError> {
        on_read_pool!(self, pool, sql = COUNT_GROUPS => {
            Ok(sqlx::query_scalar(sql).bind(source).fetch_one(pool).await?)
        })
    }

    /// The members of each group: all of them in the order added, or with `only`, just those of
    /// the listed users who are members (indexed probes; the list is never read).
    pub async fn scim_members(
        &self,
        source: &str,
        group_ids: &[&str],
        only: Option<&[String]>,
    ) -> Result<HashMap<String, Vec<ScimMemberRow>>, StoreError> {
        let mut out = HashMap::new();
        for gid in group_ids {
            let rows: Vec<(String, Option<String>, Option<String>)> = match only {
                None => on_read_pool!(self, pool, sql = MEMBERS => {
                    sqlx::query_as(sql).bind(source).bind(*gid).fetch_all(pool).await?
                }),
                Some(users) => {
                    let mut rows = Vec::new();
                    for u in users {
                        let row: Option<(String, Option<String>, Option<String>)> = on_read_pool!(self, pool, sql = ONE_MEMBER => {
                            sqlx::query_as(sql).bind(source).bind(*gid).bind(u).fetch_optional(pool).await?
                        });
                        rows.extend(row);
                    }
                    rows
                }
            };
            out.insert(
                (*gid).to_owned(),
                rows.into_iter()
                    .map(|(user_id, reference, kind)| ScimMemberRow {
                        user_id,
                        reference,
                        kind,
                    })
                    .collect(),
            );
        }
        Ok(out)
    }
}
