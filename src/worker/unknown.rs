//! A reconcile's removal of a member the service has never seen (only with
//! `reconcile.remove_unknown`): job key `domo-user:<id>`, payload `{"run", "remove"}`. The
//! Domo API client's own user is never removed.

use serde::Deserialize;

use crate::domo::DomoError;
use crate::store::{Claimed, JobOutcome, StoreError};

use super::Worker;
use super::recorder::{CallInfo, Recorder};

#[derive(Deserialize)]
struct Removal {
    domo_user_id: i64,
    /// (group id, group name)
    remove: Vec<(i64, String)>,
}

impl Worker {
    pub(super) async fn remove_unknown(
        &self,
        c: &Claimed,
        pk: i64,
        payload: Option<&str>,
    ) -> Result<(), StoreError> {
        let mut rec = Recorder::new(Some(pk), None);
        let Some(r) = payload.and_then(|p| serde_json::from_str::<Removal>(p).ok()) else {
            let outcome = JobOutcome::Dead {
                reason: "the stored payload is not a reconcile removal".into(),
            };
            return self.finish(c, None, rec, outcome).await;
        };
        // Never the API client's own user, whatever the plan says (a plan stored before its
        // id was known may list it): Domo makes it a member of every group it creates.
        match self.domo.api_user().await {
            Ok(Some(api_user)) if api_user == r.domo_user_id => {
                tracing::info!(
                    domo.user_id = api_user,
                    "not removing the Domo API client's own user"
                );
                return self.finish(c, None, rec, JobOutcome::Done).await;
            }
            Ok(_) => {}
            Err(e) => {
                let outcome = self.domo_failure(c, &e);
                return self.finish(c, None, rec, outcome).await;
            }
        }
        let mut outcome = JobOutcome::Done;
        let mut refused = Vec::new();
        for (gid, name) in &r.remove {
            // Checked again at apply time: the configuration may have changed since the plan.
            if !self.directory.is_managed(name) || self.directory.is_protected(name) {
                continue;
            }
            let info = CallInfo {
                rule: None,
                group_name: Some(name.clone()),
                domo_group_id: Some(*gid),
                domo_user_id: Some(r.domo_user_id),
            };
            if self.settings.dry_run {
                rec.dry_run("remove_member", info);
                continue;
            }
            let call = self.domo.remove_user_from_group(*gid, r.domo_user_id);
            match rec.call("remove_member", 204, info, call).await {
                Ok(()) => {}
                Err(e) if e.is_retryable() || matches!(e, DomoError::Unauthorized { .. }) => {
                    outcome = self.domo_failure(c, &e);
                    break;
                }
                Err(e) => refused.push(format!("remove from `{name}`: {e}")),
            }
        }
        if outcome == JobOutcome::Done && !refused.is_empty() {
            outcome = JobOutcome::Dead {
                reason: format!("Domo refused: {}", refused.join("; ")),
            };
        }
        self.finish(c, None, rec, outcome).await
    }
}
