//! The directory pass: list the provider's users and the members of the groups the rules map,
//! compare with the stored state (`diff`, pure), and turn every difference into canonical
//! events stamped with the listing's time, queued under the source's name like any event.
//!
//! A pass runs on its own schedule (`directory_interval_secs`), after a cursor reset, on
//! request (`POST /api/v1/sources/{name}/pull?full=true`, `domo-group-sync pull --full`), and
//! as the first step of every reconcile run. On its own it is recorded as a reconcile run
//! whose `scope` is the source: its plan lists the drift and the events; its removals pass
//! the reconcile caps (`caps`), and a pass over them is `held` until approved through
//! `POST /api/v1/reconcile/runs/{id}/approve`, like any held run. Only a complete listing
//! may remove anyone.

mod caps;
pub mod diff;

use std::collections::BTreeMap;

use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::event::CanonicalEvent;
use crate::reconcile::{ReconcilePlan, RunRecord, RunReport};
use crate::sources::Parsed;
use crate::state::UserState;
use crate::store::StoreError;

use super::Pulls;
use super::connector::{Connector, GroupFilter, Progress};
pub use diff::{Known, MemberChange};

/// What one source's directory pass found, as a reconcile plan shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DirectoryDrift {
    /// The source listed.
    pub source: String,
    /// When the listing started (RFC 3339): the events' `occurred_at`.
    pub listed_at: String,
    /// Whether every page was read. A partial listing only adds.
    pub complete: bool,
    /// Why the listing is partial.
    pub problem: Option<String>,
    pub users_listed: usize,
    pub groups_listed: usize,
    /// Requests made to the provider.
    pub requests: u64,
    /// Users to offboard (deactivated, suspended, deleted or absent).
    pub offboard: Vec<String>,
    pub add: Vec<MemberChange>,
    pub remove: Vec<MemberChange>,
    /// Removals not made because the listing is partial.
    pub withheld_removals: usize,
    /// Listed members the service cannot name (no email).
    pub no_email: usize,
    /// Domo memberships these events take away, as the service knows them.
    pub domo_removals: usize,
    /// The events queued when the plan is applied (or approved), under the source's name.
    pub events: Vec<CanonicalEvent>,
}

impl DirectoryDrift {
    /// A source that could not be listed at all (`problem` says why): an incomplete,
    /// empty listing, listed now.
    pub fn unlisted(source: &str, problem: String) -> DirectoryDrift {
        DirectoryDrift {
            source: source.to_owned(),
            listed_at: crate::reconcile::rfc3339(Utc::now().timestamp_millis()),
            complete: false,
            problem: Some(problem),
            users_listed: 0,
            groups_listed: 0,
            requests: 0,
            offboard: Vec::new(),
            add: Vec::new(),
            remove: Vec::new(),
            withheld_removals: 0,
            no_email: 0,
            domo_removals: 0,
            events: Vec::new(),
        }
    }

    /// Removals the pass makes (offboardings and member removals).
    pub fn removals(&self) -> usize {
        self.offboard.len() + self.remove.len()
    }

    /// One line for the terminal: what was listed and what the pass changes.
    pub fn summary(&self) -> String {
        format!(
            "{} user(s), {} mapped group(s) listed{}: {} to offboard, {} to add, {} to remove, {} removal(s) withheld",
            self.users_listed,
            self.groups_listed,
            if self.complete { "" } else { " (INCOMPLETE)" },
            self.offboard.len(),
            self.add.len(),
            self.remove.len(),
            self.withheld_removals
        )
    }
}

impl Pulls {
    /// Lists `source`'s directory and compares it with the stored state; writes nothing.
    /// Also returns the users compared (for the caps).
    pub(crate) async fn survey(
        &self,
        source: &str,
        connector: &dyn Connector,
        progress: &Progress<'_>,
    ) -> Result<(DirectoryDrift, Vec<Known>), StoreError> {
        let listed_at = Utc::now();
        let filter = GroupFilter::new(self.rules.clone());
        let listing = connector.directory(&filter, progress).await;
        let known = self.known(source).await?;
        let pass = listed_at.timestamp_millis().to_string();
        let rules = self.rules.clone();
        let d = diff::diff(&listing, &known, &|g| rules.maps_group(g), listed_at, &pass);
        let removals = caps::removals(&known, &d.events, &self.rules, &self.protected);
        let drift = DirectoryDrift {
            source: source.to_owned(),
            listed_at: crate::reconcile::rfc3339(listed_at.timestamp_millis()),
            complete: listing.complete,
            problem: listing.problem.clone(),
            users_listed: listing.users.len(),
            groups_listed: listing.groups.len(),
            requests: listing.requests,
            offboard: d.offboard,
            add: d.add,
            remove: d.remove,
            withheld_removals: d.withheld,
            no_email: d.no_email,
            domo_removals: removals.total,
            events: d.events,
        };
        tracing::info!(
            pull.source = source,
            complete = drift.complete,
            users = drift.users_listed,
            groups = drift.groups_listed,
            offboard = drift.offboard.len(),
            add = drift.add.len(),
            remove = drift.remove.len(),
            withheld = drift.withheld_removals,
            "directory listed"
        );
        if let Some(p) = &drift.problem {
            tracing::warn!(pull.source = source, problem = %p,
                "the directory listing is incomplete: only additions are made");
        }
        record_drift(source, &drift, false);
        Ok((drift, known))
    }

    /// The directory step of a reconcile run: every pulling source surveyed, in name order. A
    /// source whose connector cannot be built shows as an incomplete listing.
    pub async fn survey_all(
        &self,
        progress: &Progress<'_>,
    ) -> Result<Vec<DirectoryDrift>, StoreError> {
        let mut out = Vec::new();
        for source in self.sources() {
            match self.connector(&source.name) {
                None => {}
                Some(Ok((_, connector))) => {
                    out.push(
                        self.survey(&source.name, connector.as_ref(), progress)
                            .await?
                            .0,
                    );
                }
                Some(Err(e)) => out.push(DirectoryDrift::unlisted(&source.name, e)),
            }
        }
        Ok(out)
    }

    /// A directory pass of `source` on its own, recorded as a reconcile run scoped to the
    /// source. Call while holding the source's pull lease.
    pub(crate) async fn directory_pass(
        &self,
        source: &str,
        connector: &dyn Connector,
        started_by: &str,
        apply: bool,
        progress: &Progress<'_>,
    ) -> Result<RunReport, StoreError> {
        let now = Utc::now().timestamp_millis();
        let interrupted = self.store.fail_interrupted_passes(source, now).await?;
        if interrupted > 0 {
            tracing::warn!(
                pull.source = source,
                passes = interrupted,
                "marked directory passes interrupted by a stop as failed"
            );
        }
        let run = RunRecord::start(
            &self.store,
            &self.notifier,
            started_by,
            apply,
            Some(source),
            now,
        )
        .await?;
        let id = run.id();
        let (drift, known) = match self.survey(source, connector, progress).await {
            Ok(found) => found,
            Err(e) => {
                if let Err(f) = run.finish("failed", None, Some(&e.to_string())).await {
                    tracing::warn!(error = %f, run = id, "could not record the failed pass");
                }
                return Err(e);
            }
        };
        let removals = caps::removals(&known, &drift.events, &self.rules, &self.protected);
        let held = caps::over_cap(source, &removals, &self.limits);
        let plan = ReconcilePlan::directory_only(vec![drift], held);
        let status = if !apply {
            "planned"
        } else if plan.held.is_some() {
            "held"
        } else {
            self.queue_drift(&plan.directory).await?;
            "queued"
        };
        if let (Some(why), Some(d)) = (&plan.held, plan.directory.first()) {
            tracing::warn!(pull.source = source, run = id, reason = %why,
                "directory pass held for approval (POST /api/v1/reconcile/runs/{{id}}/approve)");
            metrics::counter!(crate::prometheus::DIRECTORY_DRIFT,
                "source" => source.to_owned(), "kind" => "held")
            .increment(d.removals() as u64);
        }
        run.finish(status, Some(&plan), None).await?;
        run.report().await
    }

    /// Queues the events of `drifts`, each under its source, in one commit.
    pub(crate) async fn queue_drift(&self, drifts: &[DirectoryDrift]) -> Result<(), StoreError> {
        queue_drift(&self.store, drifts).await?;
        self.notify.notify_waiters();
        Ok(())
    }

    /// Every stored user, with this source's id for them.
    async fn known(&self, source: &str) -> Result<Vec<Known>, StoreError> {
        let mut ids: BTreeMap<String, String> = BTreeMap::new();
        for (idp_id, user_key) in self.store.identities_of(source).await? {
            ids.insert(user_key, idp_id);
        }
        let mut out = Vec::new();
        for (user_key, state, _) in self.store.seen_users().await? {
            let state: UserState = serde_json::from_str(&state)
                .map_err(|e| StoreError::Corrupt(format!("user state of {user_key}: {e}")))?;
            out.push(Known {
                idp_id: ids.get(&user_key).cloned(),
                user_key,
                state,
            });
        }
        Ok(out)
    }
}

/// The inbox rows of `drifts`' events, per source (their ids make queueing a plan twice, an
/// approval retried, harmless).
pub fn drift_items(drifts: &[DirectoryDrift]) -> Vec<(String, Vec<crate::store::IngestItem>)> {
    drifts
        .iter()
        .filter(|d| !d.events.is_empty())
        .map(|d| {
            let items = d
                .events
                .iter()
                .map(|e| crate::ingest::to_item(&d.source, Parsed::Event(e.clone()), None))
                .collect();
            (d.source.clone(), items)
        })
        .collect()
}

/// Stores the events of `drifts` (each under its source) in one commit.
async fn queue_drift(
    store: &crate::store::Store,
    drifts: &[DirectoryDrift],
) -> Result<(), StoreError> {
    let items = drift_items(drifts);
    if items.is_empty() {
        return Ok(());
    }
    let requests: Vec<(&str, &[crate::store::IngestItem])> = items
        .iter()
        .map(|(s, i)| (s.as_str(), i.as_slice()))
        .collect();
    store
        .ingest(&requests, Utc::now().timestamp_millis())
        .await?;
    record_queued(drifts);
    Ok(())
}

/// Counts the events of `drifts` as queued (`dgs_directory_drift_total{kind="queued"}`).
pub fn record_queued(drifts: &[DirectoryDrift]) {
    for d in drifts {
        record_drift(&d.source, d, true);
    }
}

/// `dgs_directory_drift_total`: what a pass found (`offboard`, `add`, `remove`, `withheld`),
/// counted when found; `queued` counts the events queued when applied.
fn record_drift(source: &str, d: &DirectoryDrift, queued: bool) {
    let counts: &[(&'static str, usize)] = if queued {
        &[("queued", d.events.len())]
    } else {
        &[
            ("offboard", d.offboard.len()),
            ("add", d.add.len()),
            ("remove", d.remove.len()),
            ("withheld", d.withheld_removals),
        ]
    };
    for (kind, n) in counts {
        metrics::counter!(crate::prometheus::DIRECTORY_DRIFT,
            "source" => source.to_owned(), "kind" => *kind)
        .increment(*n as u64);
    }
}

#[cfg(test)]
mod tests {
    use super::DirectoryDrift;

    #[test]
    fn a_drift_summary_counts_what_was_listed_and_marks_an_incomplete_listing() {
        let mut d = DirectoryDrift {
            complete: true,
            problem: None,
            users_listed: 12,
            groups_listed: 3,
            offboard: vec!["ada@example.com".into(), "bob@example.com".into()],
            ..DirectoryDrift::unlisted("okta", String::new())
        };
        assert_eq!(
            d.summary(),
            "12 user(s), 3 mapped group(s) listed: 2 to offboard, 0 to add, 0 to remove, \
             0 removal(s) withheld"
        );
        d.complete = false;
        d.withheld_removals = 4;
        assert_eq!(
            d.summary(),
            "12 user(s), 3 mapped group(s) listed (INCOMPLETE): 2 to offboard, 0 to add, \
             0 to remove, 4 removal(s) withheld"
        );
    }
}
