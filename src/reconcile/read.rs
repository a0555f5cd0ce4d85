//! The reading half of a run: each pulling source's directory (its drift, as events on the
//! stored state), then Domo's side against the state with that drift applied: every seen user's
//! desired groups and Domo id, and the members of every managed or wanted group (paged). What
//! it reads is planned by `plan::plan_run` (pure); nothing is changed here.

use std::collections::{BTreeSet, HashMap};

use super::plan::{GroupRead, SeenUser, plan_run};
use super::{Limits, Progress, ReconcileError, ReconcilePlan, Reconciler};
use crate::rules::name_key;
use crate::state::UserState;
use crate::store::StoreError;
use crate::worker::recorder::Recorder;

impl Reconciler {
    /// Reads both sides and plans the run `run`.
    pub(super) async fn plan(
        &self,
        run: i64,
        progress: &(dyn Fn(Progress) + Send + Sync),
    ) -> Result<ReconcilePlan, ReconcileError> {
        // 1. The IdP side: each pulling source's directory, as events on the stored state.
        let drifts = match &self.pulls {
            Some(pulls) => pulls.survey_all(&|s| progress(Progress::Pull(s))).await?,
            None => Vec::new(),
        };
        let mut drift_of: HashMap<&str, Vec<(&str, &crate::event::CanonicalEvent)>> =
            HashMap::new();
        for d in &drifts {
            for e in &d.events {
                if let Some(email) = e.user.as_ref().and_then(|u| u.email.as_deref()) {
                    drift_of
                        .entry(email)
                        .or_default()
                        .push((d.source.as_str(), e));
                }
            }
        }
        // 2. The Domo side, against the state with the drift applied.
        // Reads are not audited: the audit log is for calls made on behalf of events.
        let mut rec = Recorder::default();
        self.directory.refresh_groups(true, &mut rec).await?;
        let mut users = Vec::new();
        let mut wanted = BTreeSet::new();
        for (email, state, domo_id) in self.store.seen_users().await? {
            let mut state: UserState = serde_json::from_str(&state)
                .map_err(|e| StoreError::Corrupt(format!("user state of {email}: {e}")))?;
            for (source, e) in drift_of.get(email.as_str()).into_iter().flatten() {
                state.apply(e, &format!("{source}:{}", e.id));
            }
            let desired: BTreeSet<String> = state
                .desired_domo_groups(&self.rules)
                .into_iter()
                .map(|d| d.domo_group)
                .filter(|g| !self.directory.is_protected(g))
                .collect();
            // Even a user who should be in no group is looked up: a member the service knows
            // must not count as unknown (one user list per run at most, on a cache miss).
            let domo_user_id = match domo_id {
                Some(id) => Some(id),
                None => self.directory.user_id(&email, &mut rec).await?,
            };
            wanted.extend(desired.iter().cloned());
            users.push(SeenUser {
                email,
                domo_user_id,
                desired,
            });
        }
        let mut targets = self.directory.managed_groups();
        let mut missing = BTreeSet::new();
        for name in &wanted {
            if targets.iter().any(|(n, _)| name_key(n) == name_key(name)) {
                continue;
            }
            match self.directory.group_id(name) {
                Some(id) => targets.push((name.clone(), id)),
                None => {
                    missing.insert(name.clone());
                }
            }
        }
        let mut read = Vec::with_capacity(targets.len());
        let of = targets.len();
        for (done, (name, id)) in targets.into_iter().enumerate() {
            let members: BTreeSet<i64> = self
                .domo
                .list_all_group_users(id)
                .await?
                .into_iter()
                .collect();
            progress(Progress::GroupRead {
                name: name.clone(),
                members: members.len(),
                done: done + 1,
                of,
            });
            read.push(GroupRead { name, id, members });
        }
        let observed: Vec<(i64, Vec<i64>)> = read
            .iter()
            .map(|g| (g.id, g.members.iter().copied().collect()))
            .collect();
        self.store.replace_observed(run, &observed).await?;
        let limits = Limits {
            remove_unknown: self.settings.remove_unknown,
            max_removals: self.settings.max_removals,
            max_removal_share: self.settings.max_removal_share,
        };
        // Domo makes the API client's own user a member of every group the client creates:
        // it is never removed, nor reported unknown.
        let api_user = self.domo.api_user().await?;
        let mut plan = plan_run(&read, &missing, &users, &limits, api_user);
        plan.directory = drifts;
        Ok(plan)
    }
}
