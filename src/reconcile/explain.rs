//! "Why does Ann still see Sales?": for one user and every managed group, whether the rules
//! want them in it and which event and rule decided, whether Domo has them in it (as the last
//! reconcile read it, or live), and the last Domo call that touched the membership.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use utoipa::ToSchema;

use super::Reconciler;
use super::report::rfc3339;
use crate::rules::name_key;
use crate::state::{Stamp, UserState};
use crate::store::AuditEntry;
use crate::worker::recorder::Recorder;

use super::ReconcileError;

/// The event that decided, as `source:id`, and when it happened.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Decider {
    #[schema(example = "workos:evt_01JD8Q3")]
    pub event: String,
    pub occurred_at: String,
}

/// One managed group for the user.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GroupExplanation {
    pub name: String,
    pub domo_group_id: Option<i64>,
    /// Whether the rules want the user in the group.
    pub should_be_member: bool,
    /// Index (0-based) of the rule that puts the user in it.
    pub rule: Option<usize>,
    /// Why, in words.
    pub reason: String,
    /// The event behind the decision.
    pub decided_by: Option<Decider>,
    /// Whether Domo has the user in it; `null` when not known.
    pub in_domo: Option<bool>,
    /// `live`, `last_run` or `unknown`.
    pub in_domo_source: String,
    /// The latest Domo call on this membership.
    #[schema(value_type = Option<Object>)]
    pub last_call: Option<AuditEntry>,
}

/// The explanation for one user.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Explanation {
    pub email: String,
    pub domo_user_id: Option<i64>,
    pub offboarded: bool,
    /// The reconcile run whose read `in_domo` comes from (when not live).
    pub last_run: Option<i64>,
    pub groups: Vec<GroupExplanation>,
}

fn decider(s: &Stamp) -> Decider {
    Decider {
        event: s.tiebreak.clone(),
        occurred_at: rfc3339(s.at.timestamp_millis()),
    }
}

impl Reconciler {
    /// Explains one user; `None` when the service has never seen them.
    pub async fn explain(
        &self,
        email: &str,
        live: bool,
    ) -> Result<Option<Explanation>, ReconcileError> {
        let Some(row) = self.store.load_user(email).await? else {
            return Ok(None);
        };
        let state: UserState = serde_json::from_str(&row.state)
            .map_err(|e| crate::store::StoreError::Corrupt(format!("user state: {e}")))?;
        let desired: BTreeMap<String, usize> = state
            .desired_domo_groups(&self.rules)
            .into_iter()
            .map(|d| (name_key(&d.domo_group), d.rule))
            .collect();
        let mut groups: Vec<(String, Option<i64>)> = self
            .directory
            .managed_groups()
            .into_iter()
            .map(|(n, id)| (n, Some(id)))
            .collect();
        for d in state.desired_domo_groups(&self.rules) {
            if !groups
                .iter()
                .any(|(n, _)| name_key(n) == name_key(&d.domo_group))
                && !self.directory.is_protected(&d.domo_group)
            {
                groups.push((d.domo_group.clone(), self.directory.group_id(&d.domo_group)));
            }
        }
        groups.sort();
        let mut rec = Recorder::default();
        let uid = match row.domo_user_id {
            Some(id) => Some(id),
            None => self.directory.user_id(email, &mut rec).await?,
        };
        let last_run = self.store.last_completed_run().await?;
        let (in_domo, source): (Option<BTreeSet<i64>>, &str) = match uid {
            Some(id) if live => {
                let u = self.domo.get_user(id).await?;
                let ids = u
                    .groups
                    .unwrap_or_default()
                    .into_iter()
                    .map(|g| g.id)
                    .collect();
                (Some(ids), "live")
            }
            Some(id) if last_run.is_some() => {
                let ids = self
                    .store
                    .observed_groups_of(id)
                    .await?
                    .into_iter()
                    .map(|(g, _)| g);
                (Some(ids.collect()), "last_run")
            }
            _ => (None, "unknown"),
        };
        let observed_groups: BTreeSet<i64> = if source == "last_run" {
            self.store.observed_group_ids().await?.into_iter().collect()
        } else {
            BTreeSet::new()
        };
        let mut out = Vec::new();
        for (name, gid) in groups {
            let rule = desired.get(&name_key(&name)).copied();
            let (reason, decided_by) = self.why(&state, &name, rule);
            let member = match (&in_domo, gid) {
                (Some(set), Some(g)) if source == "live" || observed_groups.contains(&g) => {
                    Some(set.contains(&g))
                }
                (Some(_), None) => Some(false),
                _ => None,
            };
            let last_call = match gid {
                Some(g) => self.store.last_call(email, g).await?,
                None => None,
            };
            out.push(GroupExplanation {
                name,
                domo_group_id: gid,
                should_be_member: rule.is_some(),
                rule,
                reason,
                decided_by,
                in_domo: member,
                in_domo_source: if member.is_some() { source } else { "unknown" }.to_owned(),
                last_call,
            });
        }
        Ok(Some(Explanation {
            email: email.to_owned(),
            domo_user_id: uid,
            offboarded: state.is_offboarded(),
            last_run,
            groups: out,
        }))
    }

    /// The reason for the decision on one group, and the event behind it.
    fn why(
        &self,
        state: &UserState,
        group: &str,
        rule: Option<usize>,
    ) -> (String, Option<Decider>) {
        let key = name_key(group);
        let derives = |idp: &str| {
            self.rules
                .evaluate(&BTreeSet::from([idp.to_owned()]), state.attributes())
                .iter()
                .any(|d| name_key(&d.domo_group) == key)
        };
        if let Some(r) = rule {
            for d in state.deltas().values().filter(|d| d.present) {
                if derives(&d.group) {
                    let why = format!("rule {r}: IdP group `{}` was added", d.group);
                    return (why, Some(decider(&d.stamp)));
                }
            }
            if let Some(snap) = state.groups_snapshot()
                && let Some(g) = snap.value.iter().find(|g| derives(g))
            {
                let why = format!("rule {r}: IdP group `{g}`");
                return (why, Some(decider(&snap.stamp)));
            }
            let why = format!("rule {r}: the user's attributes");
            return (why, state.profile().map(|p| decider(&p.stamp)));
        }
        if state.is_offboarded() {
            return (
                "offboarded".into(),
                state.status().map(|s| decider(&s.stamp)),
            );
        }
        for d in state.deltas().values().filter(|d| !d.present) {
            if derives(&d.group) {
                let why = format!("IdP group `{}` was removed", d.group);
                return (why, Some(decider(&d.stamp)));
            }
        }
        let why = "no rule derives it from the user's IdP groups and attributes".to_owned();
        (why, state.last_applied().map(decider))
    }
}
