//! Syncing one user: fold the claimed events into the user's state, derive the desired
//! managed groups through the rules, compare with what Domo has, and make the fewest calls.
//!
//! What Domo has: the memberships the service recorded from its own calls, or a live read of
//! the user's groups the first time it sees a user, on every offboarding (an offboarding must
//! not miss a group because the record is stale), and when a job runs again (its worker may
//! have died between a Domo call and the commit that records it).

use std::collections::{BTreeMap, BTreeSet};

use crate::domo::{DomoError, NewUser};
use crate::plan::plan;
use crate::rules::name_key;
use crate::state::{Applied, UserState};
use crate::store::{Claimed, JobOutcome, JobResult, StoreError, UserRow};

use super::Worker;
use super::directory::{DirectoryError, Ensured};
use super::job::Loaded;
use super::notices::{Applied as AppliedChange, offboarding};
use super::recorder::{CallInfo, Recorder};

/// The user's Domo groups as far as the service knows: lower-cased name → (id, name).
type Current = BTreeMap<String, (i64, String)>;

impl Worker {
    pub(super) async fn sync_user(
        &self,
        c: &Claimed,
        email: &str,
        loaded: &[Loaded],
        repair: Option<i64>,
    ) -> Result<(), StoreError> {
        let row = self.store.load_user(email).await?;
        let mut state: UserState = match &row {
            Some(r) => serde_json::from_str(&r.state)
                .map_err(|e| StoreError::Corrupt(format!("user state: {e}")))?,
            None => UserState::default(),
        };
        let mut changed = Vec::with_capacity(loaded.len());
        for l in loaded {
            let tiebreak = format!("{}:{}", l.source, l.event.id);
            let applied = state.apply(&l.event, &tiebreak);
            if applied == Applied::Stale {
                tracing::debug!(event.id = %l.event.id, "event is older than what is applied; it changes nothing");
            }
            changed.push(applied == Applied::Changed);
            if let Some(id) = l.event.user.as_ref().and_then(|u| u.id.as_deref()) {
                self.store.set_identity(&l.source, id, email).await?;
            }
        }
        let last_event = loaded.last().map(|l| l.pk);
        let mut rec = Recorder::new(last_event.or(repair), Some(email.to_owned()));
        let mut user = UserRow {
            user_key: email.to_owned(),
            state: serde_json::to_string(&state).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            domo_user_id: row.as_ref().and_then(|r| r.domo_user_id),
            synced: row.as_ref().is_some_and(|r| r.synced),
            last_event: last_event.or(row.as_ref().and_then(|r| r.last_event)),
            updated_ms: self.now_ms(),
        };
        let desired = state.desired_domo_groups(&self.rules);
        let offboarded = state.is_offboarded();
        let offboarding = offboarding(loaded, &changed, c.attempts() > 1, offboarded);
        let mut applied = AppliedChange {
            email,
            domo_user_id: None,
            added: Vec::new(),
            removed: Vec::new(),
            offboarding,
        };

        // 1. Who is this in Domo?
        let domo_id = match self
            .resolve_user(email, &state, !desired.is_empty(), &mut rec)
            .await
        {
            Ok(Some(id)) => id,
            Ok(None) if desired.is_empty() => {
                // Not in Domo and nothing to grant: nothing to remove either.
                let notices = self.done_notices(c, &applied);
                return self.finish_done(c, user, rec, notices).await;
            }
            Ok(None) => {
                let outcome = self.wait_or_give_up(c, "user not found in Domo");
                return self.finish(c, Some(user), rec, outcome).await;
            }
            Err(e) => {
                let outcome = self.failure_outcome(c, e)?;
                return self.finish(c, Some(user), rec, outcome).await;
            }
        };
        user.domo_user_id = Some(domo_id);
        applied.domo_user_id = Some(domo_id);

        if let Err(e) = self.directory.ensure_groups_loaded(&mut rec).await {
            let outcome = self.failure_outcome(c, e)?;
            return self.finish(c, Some(user), rec, outcome).await;
        }

        // 2. What does Domo have?
        let mut replace = None;
        // A job run again (after a failure, or after its worker died between a Domo call and
        // the commit that records it) cannot trust the recorded memberships: read them live.
        // A reconcile's repair reads them live too: Domo was found to differ from the record.
        // So does a job taken back after a store outage interrupted it.
        let rerun = c.attempts() > 1 || c.resumed || repair.is_some();
        let current: Current = if !user.synced || offboarded || rerun {
            let info = CallInfo {
                domo_user_id: Some(domo_id),
                ..CallInfo::default()
            };
            match rec
                .call("get_user", 200, info, self.domo.get_user(domo_id))
                .await
            {
                Ok(u) if u.deleted == Some(true) => {
                    self.directory.forget_user(email);
                    if desired.is_empty() {
                        let notices = self.done_notices(c, &applied);
                        return self.finish_done(c, user, rec, notices).await;
                    }
                    let outcome = JobOutcome::Dead {
                        reason: "the user is deleted in Domo".into(),
                    };
                    return self.finish(c, Some(user), rec, outcome).await;
                }
                Ok(u) => {
                    let live: Vec<(i64, String)> = match u.groups {
                        Some(groups) => groups
                            .into_iter()
                            .filter_map(|g| {
                                let name = g.name.or_else(|| self.directory.group_name(g.id))?;
                                Some((g.id, name))
                            })
                            .collect(),
                        // Domo left the field out: never fall back to the record (a live read
                        // was asked for because it may be stale); read the members of every
                        // group the plan may touch instead.
                        None => match self.groups_by_members(domo_id, &desired, &mut rec).await {
                            Ok(live) => live,
                            Err(e) => {
                                let outcome = self.failure_outcome(c, e)?;
                                return self.finish(c, Some(user), rec, outcome).await;
                            }
                        },
                    };
                    user.synced = true;
                    replace = Some(live.clone());
                    live.into_iter()
                        .map(|(id, n)| (name_key(&n), (id, n)))
                        .collect()
                }
                Err(e) => {
                    let outcome = self.domo_failure(c, &e);
                    return self.finish(c, Some(user), rec, outcome).await;
                }
            }
        } else {
            self.recorded(email).await?
        };

        // 3. The difference, and the calls.
        let desired_names: BTreeSet<String> =
            desired.iter().map(|d| d.domo_group.clone()).collect();
        let rule_of: BTreeMap<String, usize> = desired
            .iter()
            .map(|d| (name_key(&d.domo_group), d.rule))
            .collect();
        let current_names: BTreeSet<String> = current.values().map(|(_, n)| n.clone()).collect();
        self.directory
            .reload_marks_if_unknown(current_names.iter())
            .await?;
        let p = plan(
            &desired_names,
            &current_names,
            |n| self.directory.is_managed(n),
            |n| self.directory.is_protected(n),
        );
        let mut result = JobResult {
            owner: c.owner.clone(),
            user: None,
            memberships_replace: replace,
            memberships_add: Vec::new(),
            memberships_remove: Vec::new(),
            audit: Vec::new(),
            outcome: JobOutcome::Done,
            notices: Vec::new(),
        };
        let mut refused = Vec::new();
        for name in &p.add {
            let rule = rule_of.get(&name_key(name)).copied();
            let gid = match self
                .directory
                .ensure_group(name, self.settings.dry_run, &mut rec, rule)
                .await
            {
                Ok(Ensured::Exists { id, .. }) => id,
                Ok(Ensured::WouldCreate) => {
                    rec.dry_run(
                        "add_member",
                        CallInfo {
                            rule,
                            group_name: Some(name.clone()),
                            domo_user_id: Some(domo_id),
                            ..CallInfo::default()
                        },
                    );
                    continue;
                }
                Err(DirectoryError::Domo(e))
                    if !e.is_retryable() && !matches!(e, DomoError::Unauthorized { .. }) =>
                {
                    refused.push(format!("create group `{name}`: {e}"));
                    continue;
                }
                Err(e) => {
                    result.outcome = self.failure_outcome(c, e)?;
                    break;
                }
            };
            let info = CallInfo {
                rule,
                group_name: Some(name.clone()),
                domo_group_id: Some(gid),
                domo_user_id: Some(domo_id),
            };
            if self.settings.dry_run {
                rec.dry_run("add_member", info);
                continue;
            }
            match rec
                .call(
                    "add_member",
                    204,
                    info,
                    self.domo.add_user_to_group(gid, domo_id),
                )
                .await
            {
                Ok(()) => {
                    result.memberships_add.push((gid, name.clone()));
                    applied.added.push(name.clone());
                }
                Err(e) if e.is_retryable() || matches!(e, DomoError::Unauthorized { .. }) => {
                    result.outcome = self.domo_failure(c, &e);
                    break;
                }
                Err(e) => refused.push(format!("add to `{name}`: {e}")),
            }
        }
        if result.outcome == JobOutcome::Done {
            for name in &p.remove {
                let Some((gid, _)) = current.get(&name_key(name)).cloned() else {
                    continue;
                };
                let info = CallInfo {
                    rule: None,
                    group_name: Some(name.clone()),
                    domo_group_id: Some(gid),
                    domo_user_id: Some(domo_id),
                };
                if self.settings.dry_run {
                    rec.dry_run("remove_member", info);
                    continue;
                }
                match rec
                    .call(
                        "remove_member",
                        204,
                        info,
                        self.domo.remove_user_from_group(gid, domo_id),
                    )
                    .await
                {
                    Ok(()) => {
                        result.memberships_remove.push(gid);
                        applied.removed.push(name.clone());
                    }
                    Err(e) if e.is_retryable() || matches!(e, DomoError::Unauthorized { .. }) => {
                        result.outcome = self.domo_failure(c, &e);
                        break;
                    }
                    Err(e) => refused.push(format!("remove from `{name}`: {e}")),
                }
            }
        }
        if result.outcome == JobOutcome::Done && !refused.is_empty() {
            result.outcome = JobOutcome::Dead {
                reason: format!("Domo refused: {}", refused.join("; ")),
            };
        }
        tracing::info!(
            user = email,
            added = result.memberships_add.len(),
            removed = result.memberships_remove.len(),
            dry_run = self.settings.dry_run,
            "user synced"
        );
        if result.outcome == JobOutcome::Done {
            result.notices = self.done_notices(c, &applied);
        }
        result.user = Some(user);
        result.audit = rec.entries;
        self.finish_with(c, result).await
    }

    /// The memberships the service recorded for the user.
    async fn recorded(&self, email: &str) -> Result<Current, StoreError> {
        Ok(self
            .store
            .memberships(email)
            .await?
            .into_iter()
            .map(|(id, n)| (name_key(&n), (id, n)))
            .collect())
    }

    /// The user's Domo id, creating the user when configured and there is something to grant.
    async fn resolve_user(
        &self,
        email: &str,
        state: &UserState,
        needed: bool,
        rec: &mut Recorder,
    ) -> Result<Option<i64>, DirectoryError> {
        if let Some(id) = self.directory.user_id(email, rec).await? {
            return Ok(Some(id));
        }
        if !(needed && self.settings.create_missing_users) || self.settings.dry_run {
            return Ok(None);
        }
        let name = state
            .profile()
            .and_then(|p| p.value.name.clone())
            .unwrap_or_else(|| email.to_owned());
        let new = NewUser {
            name: &name,
            email,
            role: &self.settings.new_user_role,
        };
        let created = rec
            .call(
                "create_user",
                201,
                CallInfo::default(),
                self.domo.create_user(&new, self.settings.send_invite),
            )
            .await?;
        self.directory.remember_user(email, created.id).await?;
        tracing::info!(
            user = email,
            domo.user_id = created.id,
            "created a Domo user"
        );
        Ok(Some(created.id))
    }
}
