//! SCIM groups and memberships in a write transaction (see `scim.rs` for the locking order).

use super::scim::{GroupTuple, ScimGroupRow, ScimMemberRow, ScimTx, group_row, name_key, on_tx};
use super::{StoreError, sqlite_sql};

const SELECT_GROUP: &str = "SELECT id, display_name, external_id, attrs, version, created_ms, \
     modified_ms FROM scim_groups WHERE source = $1 AND id = $2";
const LOCK_GROUP: &str = "SELECT id, display_name, external_id, attrs, version, created_ms, \
     modified_ms FROM scim_groups WHERE source = $1 AND id = $2 FOR UPDATE";
const INSERT_GROUP: &str = "INSERT INTO scim_groups (source, id, display_name, display_name_key, \
     external_id, attrs, version, created_ms, modified_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
const UPDATE_GROUP: &str = "UPDATE scim_groups SET display_name = $3, display_name_key = $4, \
     external_id = $5, attrs = $6, version = $7, modified_ms = $8 WHERE source = $1 AND id = $2";
const DELETE_GROUP: &str = "DELETE FROM scim_groups WHERE source = $1 AND id = $2";
const GROUP_NAME_OWNER: &str =
    "SELECT id FROM scim_groups WHERE source = $1 AND display_name_key = $2";
const MEMBERS: &str = "SELECT user_id, ref, kind FROM scim_members WHERE source = $1 AND group_id = $2 \
     ORDER BY pk";
const IS_MEMBER: &str =
    "SELECT COUNT(*) FROM scim_members WHERE source = $1 AND group_id = $2 AND user_id = $3";
const ADD_MEMBER: &str = "INSERT INTO scim_members (source, group_id, user_id, ref, kind) \
     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (source, group_id, user_id) DO NOTHING";
const REMOVE_MEMBER: &str =
    "DELETE FROM scim_members WHERE source = $1 AND group_id = $2 AND user_id = $3";
const GROUPS_OF_USER: &str = "SELECT g.id, g.display_name FROM scim_members m \
     JOIN scim_groups g ON g.source = m.source AND g.id = m.group_id \
     WHERE m.source = $1 AND m.user_id = $2 ORDER BY g.display_name_key";

impl ScimTx {
    /// A group, locked until the transaction ends.
    pub async fn lock_group(
        &mut self,
        source: &str,
        id: &str,
    ) -> Result<Option<ScimGroupRow>, StoreError> {
        let row: Option<GroupTuple> = on_tx!(self, sql = (SELECT_GROUP, LOCK_GROUP), c => {
            sqlx::query_as(sql).bind(source).bind(id).fetch_optional(c).await?
        });
        Ok(row.map(group_row))
    }

    /// The id of the group whose displayName is `name` (without regard to case), if any.
    pub async fn group_name_owner(
        &mut self,
        source: &str,
        name: &str,
    ) -> Result<Option<String>, StoreError> {
        on_tx!(self, sql = GROUP_NAME_OWNER, c => {
            Ok(sqlx::query_scalar(sql).bind(source).bind(name_key(name)).fetch_optional(c).await?)
        })
    }

    /// Inserts a new group.
    pub async fn insert_group(&mut self, source: &str, g: &ScimGroupRow) -> Result<(), StoreError> {
        on_tx!(self, sql = INSERT_GROUP, c => {
            sqlx::query(sql).bind(source).bind(&g.id).bind(&g.display_name).bind(name_key(&g.display_name))
                .bind(&g.external_id).bind(&g.attrs).bind(g.version).bind(g.created_ms)
                .bind(g.modified_ms).execute(c).await?;
        });
        Ok(())
    }

    /// Rewrites a group (all but its id, creation time and members).
    pub async fn update_group(&mut self, source: &str, g: &ScimGroupRow) -> Result<(), StoreError> {
        on_tx!(self, sql = UPDATE_GROUP, c => {
            sqlx::query(sql).bind(source).bind(&g.id).bind(&g.display_name).bind(name_key(&g.display_name))
                .bind(&g.external_id).bind(&g.attrs).bind(g.version).bind(g.modified_ms)
                .execute(c).await?;
        });
        Ok(())
    }

    /// Deletes a group and (by cascade) its memberships.
    pub async fn delete_group(&mut self, source: &str, id: &str) -> Result<(), StoreError> {
        on_tx!(self, sql = DELETE_GROUP, c => {
            sqlx::query(sql).bind(source).bind(id).execute(c).await?;
        });
        Ok(())
    }

    /// Every member of a group, in the order they were added.
    pub async fn members(
        &mut self,
        source: &str,
        group_id: &str,
    ) -> Result<Vec<ScimMemberRow>, StoreError> {
        let rows: Vec<(String, Option<String>, Option<String>)> = on_tx!(self, sql = MEMBERS, c => {
            sqlx::query_as(sql).bind(source).bind(group_id).fetch_all(c).await?
        });
        Ok(rows
            .into_iter()
            .map(|(user_id, reference, kind)| ScimMemberRow {
                user_id,
                reference,
                kind,
            })
            .collect())
    }

    /// Which of `user_ids` are members of the group (one indexed probe each, never the list).
    pub async fn which_members(
        &mut self,
        source: &str,
        group_id: &str,
        user_ids: &[String],
    ) -> Result<Vec<String>, StoreError> {
        let mut out = Vec::new();
        for id in user_ids {
            let n: i64 = on_tx!(self, sql = IS_MEMBER, c => {
                sqlx::query_scalar(sql).bind(source).bind(group_id).bind(id).fetch_one(c).await?
            });
            if n > 0 {
                out.push(id.clone());
            }
        }
        Ok(out)
    }

    /// Adds members (an existing membership is kept as it is).
    pub async fn add_members(
        &mut self,
        source: &str,
        group_id: &str,
        members: &[ScimMemberRow],
    ) -> Result<(), StoreError> {
        for m in members {
            on_tx!(self, sql = ADD_MEMBER, c => {
                sqlx::query(sql).bind(source).bind(group_id).bind(&m.user_id).bind(&m.reference)
                    .bind(&m.kind).execute(c).await?;
            });
        }
        Ok(())
    }

    /// Removes members (an absent one is no error).
    pub async fn remove_members(
        &mut self,
        source: &str,
        group_id: &str,
        user_ids: &[String],
    ) -> Result<(), StoreError> {
        for id in user_ids {
            on_tx!(self, sql = REMOVE_MEMBER, c => {
                sqlx::query(sql).bind(source).bind(group_id).bind(id).execute(c).await?;
            });
        }
        Ok(())
    }

    /// The groups a user is in: (id, displayName), by name.
    pub async fn groups_of_user(
        &mut self,
        source: &str,
        user_id: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        on_tx!(self, sql = GROUPS_OF_USER, c => {
            Ok(sqlx::query_as(sql).bind(source).bind(user_id).fetch_all(c).await?)
        })
    }
}
