//! SCIM writes of Groups: create, replace, PATCH (members in batches), delete. The group row is
//! locked first, then the users whose membership changes, in id order (see `store::scim`).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::events::{Planned, UserFacts, member_changes};
use super::members::{self, Member, MemberOp};
use super::patch;
use super::render::{Meta, render};
use super::resource::{ResourceKind, normalize};
use super::write::{Attempt, Change, attrs_of, now_ms, refuse, to_json, with_retries};
use super::{ScimContext, ScimError};
use crate::store::{ScimGroupRow, ScimTx, StoreError};

/// The `members` of a request body, if it has the key (`null` and `[]` mean none).
fn body_members(body: &Value) -> Result<Option<Vec<Member>>, ScimError> {
    super::filter::get_ci(body, "members")
        .map(members::parse_members)
        .transpose()
}

fn display_name(attrs: &Map<String, Value>) -> String {
    attrs
        .get("displayName")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

impl ScimContext<'_> {
    fn render_group(
        &self,
        g: &ScimGroupRow,
        attrs: &Map<String, Value>,
        members: Option<&[Member]>,
    ) -> Value {
        let meta = Meta {
            created_ms: g.created_ms,
            modified_ms: g.modified_ms,
            version: g.version,
        };
        let members = members.map(|m| m.iter().map(members::member_json).collect());
        render(ResourceKind::Group, &g.id, attrs, members, meta, &self.base)
    }

    /// `POST /Groups`, with or without members.
    pub async fn create_group(&self, body: &Value) -> Result<Value, ScimError> {
        let attrs = normalize(ResourceKind::Group, body)?;
        let list = body_members(body)?.unwrap_or_default();
        with_retries!(self.create_group_once(&attrs, &list))
    }

    async fn create_group_once(
        &self,
        attrs: &Map<String, Value>,
        list: &[Member],
    ) -> Attempt<Value> {
        let mut tx = self.store.scim_begin().await?;
        let name = display_name(attrs);
        if tx.group_name_owner(self.source, &name).await?.is_some() {
            refuse!(ScimError::uniqueness(format!(
                "displayName `{name}` is taken"
            )));
        }
        let now = now_ms();
        let row = ScimGroupRow {
            id: uuid::Uuid::new_v4().to_string(),
            display_name: name.clone(),
            external_id: attrs
                .get("externalId")
                .and_then(Value::as_str)
                .map(str::to_owned),
            attrs: to_json(attrs),
            version: 1,
            created_ms: now,
            modified_ms: now,
        };
        tx.insert_group(self.source, &row).await?;
        let users = match self.member_users(&mut tx, list, &[]).await? {
            Ok(u) => u,
            Err(e) => refuse!(e),
        };
        tx.add_members(self.source, &row.id, list).await?;
        let added: Vec<UserFacts> = list
            .iter()
            .filter_map(|m| users.get(&m.user_id).cloned())
            .collect();
        let mut planned = vec![Planned::GroupCreated { name: name.clone() }];
        planned.extend(member_changes(&name, &added, &[]));
        let items = self.stamp(&mut tx, planned).await?;
        self.ingestor.commit_with(self.source, tx, items).await?;
        Ok(Ok(self.render_group(&row, attrs, Some(list))))
    }

    /// Locks the users of `added` and `others` (id order) and returns their facts; a member
    /// that is not a user of this source is refused, naming its id.
    async fn member_users(
        &self,
        tx: &mut ScimTx,
        added: &[Member],
        others: &[String],
    ) -> Attempt<BTreeMap<String, UserFacts>> {
        let mut ids: Vec<String> = added.iter().map(|m| m.user_id.clone()).collect();
        ids.extend(others.iter().cloned());
        let rows = tx.lock_users(self.source, &ids).await?;
        let mut facts = BTreeMap::new();
        for r in rows {
            facts.insert(r.id.clone(), UserFacts::of(&r.id, &attrs_of(&r.attrs)?));
        }
        let unknown: Vec<&str> = added
            .iter()
            .map(|m| m.user_id.as_str())
            .filter(|id| !facts.contains_key(*id))
            .collect();
        if !unknown.is_empty() {
            return Ok(Err(ScimError::invalid_value(format!(
                "not Users of this source, so they cannot be members: {}",
                unknown.join(", ")
            ))));
        }
        Ok(Ok(facts))
    }

    /// `PUT /Groups/{id}`: `members` absent keeps the members, `[]` clears them.
    pub async fn replace_group(&self, id: &str, body: &Value) -> Result<Value, ScimError> {
        let attrs = normalize(ResourceKind::Group, body)?;
        let ops: Vec<MemberOp> = match body_members(body)? {
            None => Vec::new(),
            Some(list) if list.is_empty() => vec![MemberOp::Clear],
            Some(list) => vec![MemberOp::Replace(list)],
        };
        let change = |_: &Map<String, Value>| Ok(attrs.clone());
        let (row, attrs) = with_retries!(self.update_group_once(id, &change, &ops))?;
        let members = self.store.scim_members(self.source, &[id], None).await?;
        Ok(self.render_group(&row, &attrs, members.get(id).map(Vec::as_slice)))
    }

    /// `PATCH /Groups/{id}`: answered without a body (204), as Entra advises for groups.
    pub async fn patch_group(&self, id: &str, body: &Value) -> Result<(), ScimError> {
        let (rest, ops) = members::split(patch::parse_request(body)?)?;
        let change = |old: &Map<String, Value>| {
            let mut doc = old.clone();
            for op in &rest {
                patch::apply(ResourceKind::Group, &mut doc, op)?;
            }
            normalize(ResourceKind::Group, &Value::Object(doc))
        };
        with_retries!(self.update_group_once(id, &change, &ops)).map(|_| ())
    }

    /// Changes a group's attributes and members; returns its row and attributes now.
    async fn update_group_once(
        &self,
        id: &str,
        change: &Change<'_>,
        ops: &[MemberOp],
    ) -> Attempt<(ScimGroupRow, Map<String, Value>)> {
        let mut tx = self.store.scim_begin().await?;
        let Some(old) = tx.lock_group(self.source, id).await? else {
            refuse!(ScimError::not_found(format!("no Group with id {id}")));
        };
        let old_attrs = attrs_of(&old.attrs)?;
        let attrs = match change(&old_attrs) {
            Ok(a) => a,
            Err(e) => refuse!(e),
        };
        let (old_name, name) = (old.display_name.clone(), display_name(&attrs));
        let renamed = name != old_name;
        if renamed
            && let Some(owner) = tx.group_name_owner(self.source, &name).await?
            && owner != id
        {
            refuse!(ScimError::uniqueness(format!(
                "displayName `{name}` is taken"
            )));
        }
        // The current members: all of them when an operation (or a rename) needs the list,
        // else only whether the users named are members.
        let whole = renamed || members::needs_all(ops);
        let current: Vec<Member> = if whole {
            tx.members(self.source, id).await?
        } else {
            let named = members::mentioned(ops);
            tx.which_members(self.source, id, &named)
                .await?
                .into_iter()
                .map(|user_id| Member {
                    user_id,
                    reference: None,
                    kind: None,
                })
                .collect()
        };
        let (added, removed) = members::diff(&current, ops);
        let mut others = removed.clone();
        if renamed {
            others.extend(current.iter().map(|m| m.user_id.clone()));
        }
        let users = match self.member_users(&mut tx, &added, &others).await? {
            Ok(u) => u,
            Err(e) => refuse!(e),
        };
        // A removed member deleted meanwhile is gone already (its memberships went with it).
        let removed: Vec<String> = removed
            .into_iter()
            .filter(|r| users.contains_key(r))
            .collect();
        if attrs == old_attrs && added.is_empty() && removed.is_empty() {
            return Ok(Ok((old, old_attrs)));
        }
        tx.add_members(self.source, id, &added).await?;
        tx.remove_members(self.source, id, &removed).await?;
        let row = ScimGroupRow {
            display_name: name.clone(),
            external_id: attrs
                .get("externalId")
                .and_then(Value::as_str)
                .map(str::to_owned),
            attrs: to_json(&attrs),
            version: old.version + 1,
            modified_ms: now_ms().max(old.modified_ms),
            ..old
        };
        tx.update_group(self.source, &row).await?;
        let planned = if renamed {
            self.member_snapshots(&mut tx, &users).await?
        } else {
            let facts = |ids: Vec<&String>| -> Vec<UserFacts> {
                ids.into_iter()
                    .filter_map(|i| users.get(i).cloned())
                    .collect()
            };
            member_changes(
                &name,
                &facts(added.iter().map(|m| &m.user_id).collect()),
                &facts(removed.iter().collect()),
            )
        };
        let items = self.stamp(&mut tx, planned).await?;
        self.ingestor.commit_with(self.source, tx, items).await?;
        Ok(Ok((row, attrs)))
    }

    /// After a rename: a snapshot of each active member (old and new) with its groups now.
    async fn member_snapshots(
        &self,
        tx: &mut ScimTx,
        users: &BTreeMap<String, UserFacts>,
    ) -> Result<Vec<Planned>, StoreError> {
        let mut out = Vec::new();
        for (id, facts) in users.iter().filter(|(_, f)| f.active && f.key().is_some()) {
            let groups = tx
                .groups_of_user(self.source, id)
                .await?
                .into_iter()
                .map(|(_, n)| n)
                .collect();
            out.push(Planned::Snapshot {
                facts: facts.clone(),
                groups,
                fresh: false,
            });
        }
        Ok(out)
    }

    /// `DELETE /Groups/{id}`: its active members are removed from it (the Domo group stays).
    pub async fn delete_group(&self, id: &str) -> Result<(), ScimError> {
        with_retries!(self.delete_group_once(id))
    }

    async fn delete_group_once(&self, id: &str) -> Attempt<()> {
        let mut tx = self.store.scim_begin().await?;
        let Some(old) = tx.lock_group(self.source, id).await? else {
            refuse!(ScimError::not_found(format!("no Group with id {id}")));
        };
        let ids: Vec<String> = tx
            .members(self.source, id)
            .await?
            .into_iter()
            .map(|m| m.user_id)
            .collect();
        let users = match self.member_users(&mut tx, &[], &ids).await? {
            Ok(u) => u,
            Err(e) => refuse!(e),
        };
        tx.delete_group(self.source, id).await?;
        let removed: Vec<UserFacts> = users.into_values().collect();
        let items = self
            .stamp(&mut tx, member_changes(&old.display_name, &[], &removed))
            .await?;
        self.ingestor.commit_with(self.source, tx, items).await?;
        Ok(Ok(()))
    }
}
