//! What Domo has for a user when `GET /v1/users/{id}` leaves out its `groups` (Domo documents
//! the field, but the service must not depend on it): the members of every group a plan may
//! touch, read live.

use std::collections::BTreeSet;

use crate::rules::Derived;

use super::Worker;
use super::directory::DirectoryError;
use super::recorder::{CallInfo, Recorder};

impl Worker {
    /// The user's memberships among the groups a plan may touch: every managed group (with
    /// the marks other replicas stored) and every desired group that exists. Other groups
    /// are never changed, so they need not be known. (id, name) pairs.
    pub(super) async fn groups_by_members(
        &self,
        domo_id: i64,
        desired: &[Derived],
        rec: &mut Recorder,
    ) -> Result<Vec<(i64, String)>, DirectoryError> {
        self.directory.reload_marks().await?;
        let mut candidates = self.directory.managed_groups();
        for d in desired {
            if let Some(id) = self.directory.group_id(&d.domo_group) {
                candidates.push((d.domo_group.clone(), id));
            }
        }
        let mut seen = BTreeSet::new();
        let mut live = Vec::new();
        for (name, id) in candidates {
            if !seen.insert(id) || self.directory.is_protected(&name) {
                continue;
            }
            let info = CallInfo {
                group_name: Some(name.clone()),
                domo_group_id: Some(id),
                domo_user_id: Some(domo_id),
                ..CallInfo::default()
            };
            let members = rec
                .call(
                    "list_group_users",
                    200,
                    info,
                    self.domo.list_all_group_users(id),
                )
                .await?;
            if members.contains(&domo_id) {
                live.push((id, self.directory.group_name(id).unwrap_or(name)));
            }
        }
        tracing::debug!(
            domo.user_id = domo_id,
            groups = live.len(),
            read = seen.len(),
            "Domo did not list the user's groups: read the members of the groups a plan may touch"
        );
        Ok(live)
    }
}
