//! SCIM writes of Users (and what group writes share): each runs in one store transaction that
//! locks what it changes, checks uniqueness, writes the view, stamps the events it causes and
//! commits them with the view through the inbox (`Ingestor::commit_with`). A request that
//! changes nothing (a retry) writes nothing and causes no event.

use serde_json::{Map, Value};

use super::events::{Planned, UserFacts, user_write};
use super::patch;
use super::render::{Meta, render};
use super::resource::{ResourceKind, normalize};
use super::{ScimContext, ScimError};
use crate::store::{IngestItem, ScimTx, ScimUserRow, StoreError};

/// How a write computes the new attributes from the stored ones (PUT: ignores them; PATCH:
/// applies its operations); a refusal rolls the transaction back.
pub(super) type Change<'a> =
    dyn Fn(&Map<String, Value>) -> Result<Map<String, Value>, ScimError> + Sync + 'a;

/// A transaction's outcome: the answer, or a refusal (rolled back); `Err` when the store failed.
pub(super) type Attempt<T> = Result<Result<T, ScimError>, StoreError>;

/// Runs an attempt up to three times while PostgreSQL aborts it for a deadlock or a
/// serialisation conflict; maps store failures to SCIM errors (a unique index that refused a
/// concurrent writer's name is a 409).
macro_rules! with_retries {
    ($attempt:expr) => {{
        let mut tries = 0;
        loop {
            tries += 1;
            match $attempt.await {
                Err(e) if e.is_retryable_conflict() && tries < 3 => continue,
                Err(e) if e.is_unique_violation() => {
                    break Err(ScimError::uniqueness(
                        "a concurrent request took this name or email first",
                    ));
                }
                Err(e) => break Err(ScimError::from(e)),
                Ok(r) => break r,
            }
        }
    }};
}
pub(super) use with_retries;

/// A refusal inside a transaction (it rolls back).
macro_rules! refuse {
    ($e:expr) => {
        return Ok(Err($e))
    };
}
pub(super) use refuse;

pub(super) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The stored attributes of a row.
pub(super) fn attrs_of(json: &str) -> Result<Map<String, Value>, StoreError> {
    serde_json::from_str(json).map_err(|e| StoreError::Corrupt(format!("scim attributes: {e}")))
}

pub(super) fn to_json(attrs: &Map<String, Value>) -> String {
    Value::Object(attrs.clone()).to_string()
}

impl ScimContext<'_> {
    /// Stamps planned events and makes them inbox rows. Times come from the per-key clock,
    /// taken in key order (the locking order); events of one key get growing times.
    pub(super) async fn stamp(
        &self,
        tx: &mut ScimTx,
        planned: Vec<Planned>,
    ) -> Result<Vec<IngestItem>, StoreError> {
        let now = chrono::Utc::now();
        let mut ordered: Vec<(Option<String>, Planned)> =
            planned.into_iter().map(|p| (p.key(), p)).collect();
        ordered.sort_by(|a, b| a.0.cmp(&b.0));
        let mut items = Vec::with_capacity(ordered.len());
        for (key, p) in ordered {
            let at = match key {
                Some(k) => {
                    let us = tx.next_stamp(&k, now.timestamp_micros()).await?;
                    chrono::DateTime::from_timestamp_micros(us).unwrap_or(now)
                }
                None => now,
            };
            let ev = p.event(format!("scim_{}", uuid::Uuid::now_v7().simple()), at);
            let mut item =
                crate::ingest::to_item(self.source, crate::sources::Parsed::Event(ev), None);
            item.request_id = self.request_id.clone();
            items.push(item);
        }
        Ok(items)
    }

    /// The served form of a user row.
    pub(super) fn render_user(&self, u: &ScimUserRow, attrs: &Map<String, Value>) -> Value {
        let meta = Meta {
            created_ms: u.created_ms,
            modified_ms: u.modified_ms,
            version: u.version,
        };
        render(ResourceKind::User, &u.id, attrs, None, meta, &self.base)
    }

    /// `POST /Users`.
    pub async fn create_user(&self, body: &Value) -> Result<Value, ScimError> {
        let attrs = normalize(ResourceKind::User, body)?;
        with_retries!(self.create_user_once(&attrs))
    }

    async fn create_user_once(&self, attrs: &Map<String, Value>) -> Attempt<Value> {
        let mut tx = self.store.scim_begin().await?;
        let user_name = attrs
            .get("userName")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if tx.user_name_owner(self.source, user_name).await?.is_some() {
            refuse!(ScimError::uniqueness(format!(
                "userName `{user_name}` is taken"
            )));
        }
        let id = uuid::Uuid::new_v4().to_string();
        let facts = UserFacts::of(&id, attrs);
        if let Err(e) = self.email_free(&mut tx, &facts).await? {
            refuse!(e);
        }
        let now = now_ms();
        let row = self.user_row(id, attrs, &facts, 1, now, now);
        tx.insert_user(self.source, &row).await?;
        let items = self
            .stamp(&mut tx, user_write(None, Some(&facts), &[]))
            .await?;
        self.ingestor.commit_with(self.source, tx, items).await?;
        Ok(Ok(self.render_user(&row, attrs)))
    }

    fn user_row(
        &self,
        id: String,
        attrs: &Map<String, Value>,
        facts: &UserFacts,
        version: i64,
        created_ms: i64,
        modified_ms: i64,
    ) -> ScimUserRow {
        ScimUserRow {
            id,
            user_name: attrs
                .get("userName")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            external_id: attrs
                .get("externalId")
                .and_then(Value::as_str)
                .map(str::to_owned),
            user_key: facts.key(),
            active: facts.active,
            attrs: to_json(attrs),
            version,
            created_ms,
            modified_ms,
        }
    }

    /// An active user's identity email must not be another active user's of the source.
    async fn email_free(&self, tx: &mut ScimTx, facts: &UserFacts) -> Attempt<()> {
        let (true, Some(key)) = (facts.active, facts.key()) else {
            return Ok(Ok(()));
        };
        match tx.active_key_owner(self.source, &key).await? {
            Some(owner) if owner != facts.id => Ok(Err(ScimError::uniqueness(format!(
                "the email `{key}` is already the identity of active user {owner}; two active users \
                 cannot share one Domo account"
            )))),
            _ => Ok(Ok(())),
        }
    }

    /// `PUT /Users/{id}`.
    pub async fn replace_user(&self, id: &str, body: &Value) -> Result<Value, ScimError> {
        let attrs = normalize(ResourceKind::User, body)?;
        let change = |_: &Map<String, Value>| Ok(attrs.clone());
        with_retries!(self.update_user_once(id, &change))
    }

    /// `PATCH /Users/{id}`: every operation applies, or none.
    pub async fn patch_user(&self, id: &str, body: &Value) -> Result<Value, ScimError> {
        let ops = patch::parse_request(body)?;
        let change = |old: &Map<String, Value>| {
            let mut doc = old.clone();
            for op in &ops {
                patch::apply(ResourceKind::User, &mut doc, op)?;
            }
            normalize(ResourceKind::User, &Value::Object(doc))
        };
        with_retries!(self.update_user_once(id, &change))
    }

    async fn update_user_once(&self, id: &str, change: &Change<'_>) -> Attempt<Value> {
        let mut tx = self.store.scim_begin().await?;
        let Some(old) = tx.lock_user(self.source, id).await? else {
            refuse!(ScimError::not_found(format!("no User with id {id}")));
        };
        let old_attrs = attrs_of(&old.attrs)?;
        let attrs = match change(&old_attrs) {
            Ok(a) => a,
            Err(e) => refuse!(e),
        };
        if attrs == old_attrs {
            return Ok(Ok(self.render_user(&old, &old_attrs)));
        }
        let user_name = attrs
            .get("userName")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if let Some(owner) = tx.user_name_owner(self.source, user_name).await?
            && owner != id
        {
            refuse!(ScimError::uniqueness(format!(
                "userName `{user_name}` is taken"
            )));
        }
        let (before, after) = (UserFacts::of(id, &old_attrs), UserFacts::of(id, &attrs));
        if let Err(e) = self.email_free(&mut tx, &after).await? {
            refuse!(e);
        }
        let row = self.user_row(
            id.to_owned(),
            &attrs,
            &after,
            old.version + 1,
            old.created_ms,
            now_ms().max(old.modified_ms),
        );
        tx.update_user(self.source, &row).await?;
        let groups: Vec<String> = tx
            .groups_of_user(self.source, id)
            .await?
            .into_iter()
            .map(|(_, n)| n)
            .collect();
        let items = self
            .stamp(&mut tx, user_write(Some(&before), Some(&after), &groups))
            .await?;
        self.ingestor.commit_with(self.source, tx, items).await?;
        Ok(Ok(self.render_user(&row, &attrs)))
    }

    /// `DELETE /Users/{id}`: an active user is offboarded; the id answers 404 from then on.
    pub async fn delete_user(&self, id: &str) -> Result<(), ScimError> {
        with_retries!(self.delete_user_once(id))
    }

    async fn delete_user_once(&self, id: &str) -> Attempt<()> {
        let mut tx = self.store.scim_begin().await?;
        let Some(old) = tx.lock_user(self.source, id).await? else {
            refuse!(ScimError::not_found(format!("no User with id {id}")));
        };
        let before = UserFacts::of(id, &attrs_of(&old.attrs)?);
        tx.delete_user(self.source, id).await?;
        let items = self
            .stamp(&mut tx, user_write(Some(&before), None, &[]))
            .await?;
        self.ingestor.commit_with(self.source, tx, items).await?;
        Ok(Ok(()))
    }
}
