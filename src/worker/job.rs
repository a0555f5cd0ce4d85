//! One claimed job, by kind of key: `user:<email>` (sync the user), `group:<name>` (make sure
//! the mapped Domo groups exist), `id:<source>:<sender id>` (find the user's email, then move
//! the events to that user's lane).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use tracing::Instrument;

use crate::domo::DomoError;
use crate::event::CanonicalEvent;
use crate::notify::NoticeType;
use crate::notify::build::dead;
use crate::store::{Claimed, JobOutcome, JobResult, RECONCILE_SOURCE, StoreError};

use super::Worker;
use super::directory::DirectoryError;
use super::recorder::Recorder;

/// A claimed event with its parsed payload.
pub(super) struct Loaded {
    pub pk: i64,
    pub source: String,
    pub event: CanonicalEvent,
}

impl Worker {
    /// Works a claimed job to one of done / retry later / dead.
    pub(super) async fn work(&self, c: Claimed) -> Result<(), StoreError> {
        // The delivering requests' ids and the events' ids, so one search over the logs finds
        // the webhook, this job and its Domo calls.
        let mut request_ids: Vec<&str> = c
            .events
            .iter()
            .filter_map(|e| e.request_id.as_deref())
            .collect();
        request_ids.sort_unstable();
        request_ids.dedup();
        let event_ids: Vec<&str> = c.events.iter().map(|e| e.event_id.as_str()).collect();
        let mut sources: Vec<&str> = c.events.iter().map(|e| e.source.as_str()).collect();
        sources.sort_unstable();
        sources.dedup();
        // The key names the user's email: on the span (logs and traces) only the key's kind,
        // and the email only with `telemetry.include_email`.
        let kind = c.job_key.split(':').next().unwrap_or("");
        let span = tracing::info_span!(
            "job",
            otel.kind = "consumer",
            job.kind = kind,
            job.events = c.events.len(),
            job.attempt = c.attempts(),
            event.ids = %event_ids.join(","),
            request.id = %request_ids.join(","),
            source = %sources.join(","),
            user.email = tracing::field::Empty,
        );
        if self.settings.trace_email
            && let Some(email) = c.job_key.strip_prefix("user:")
        {
            span.record("user.email", email);
        }
        // The job continues the trace of the request that delivered its (first) event, across
        // the queue, and links to the others'.
        crate::telemetry::continue_traces(
            &span,
            c.events.iter().filter_map(|e| e.trace_context.as_deref()),
        );
        self.work_in_span(c).instrument(span).await
    }

    async fn work_in_span(&self, c: Claimed) -> Result<(), StoreError> {
        let mut loaded = Vec::with_capacity(c.events.len());
        let mut repair: Option<(i64, Option<String>)> = None;
        for e in &c.events {
            if e.source == RECONCILE_SOURCE {
                // A repair a reconcile queued: no state to fold, the user's groups are read live.
                repair = Some((e.pk, e.payload.clone()));
                continue;
            }
            match e
                .payload
                .as_deref()
                .map(serde_json::from_str::<CanonicalEvent>)
            {
                Some(Ok(event)) => loaded.push(Loaded {
                    pk: e.pk,
                    source: e.source.clone(),
                    event,
                }),
                _ => {
                    let reason = "the stored payload is not a canonical event";
                    tracing::error!(event.pk = e.pk, reason, "dead-lettering an event");
                    let notices = if self.notifier.wants(NoticeType::EventDead) {
                        let email = c.job_key.strip_prefix("user:");
                        self.notifier
                            .items(&dead(&[e], email, reason, self.now_ms()))
                    } else {
                        Vec::new()
                    };
                    self.store
                        .dead_event(&c.owner, e.pk, reason, &notices, self.now_ms())
                        .await?;
                    if !notices.is_empty() {
                        self.notifier.ring();
                    }
                    crate::prometheus::record_job(
                        [(e.source.as_str(), "other")],
                        &JobOutcome::Dead {
                            reason: reason.to_owned(),
                        },
                    );
                }
            }
        }
        if loaded.is_empty() && repair.is_none() {
            return Ok(());
        }
        if let Some(email) = c.job_key.strip_prefix("user:") {
            let email = email.to_owned();
            self.sync_user(&c, &email, &loaded, repair.map(|r| r.0))
                .await
        } else if c.job_key.starts_with("domo-user:") {
            let (pk, payload) = repair.unwrap_or_default();
            self.remove_unknown(&c, pk, payload.as_deref()).await
        } else if loaded.is_empty() {
            self.finish(&c, None, Recorder::default(), JobOutcome::Done)
                .await
        } else if c.job_key.starts_with("group:") {
            self.ensure_groups(&c, &loaded).await
        } else {
            self.resolve_identity(&c, &loaded).await
        }
    }

    /// `group.created`: the Domo groups the rules map this IdP group to must exist.
    async fn ensure_groups(&self, c: &Claimed, loaded: &[Loaded]) -> Result<(), StoreError> {
        let mut rec = Recorder::new(loaded.last().map(|l| l.pk), None);
        let mut failure = None;
        'events: for l in loaded {
            for group in l.event.groups.iter().flatten() {
                let idp = BTreeSet::from([group.clone()]);
                for d in self.rules.evaluate(&idp, &BTreeMap::new()) {
                    if self.directory.is_protected(&d.domo_group) {
                        continue;
                    }
                    let r = self
                        .directory
                        .ensure_group(&d.domo_group, self.settings.dry_run, &mut rec, Some(d.rule))
                        .await;
                    if let Err(e) = r {
                        failure = Some(e);
                        break 'events;
                    }
                }
            }
        }
        let outcome = match failure {
            None => JobOutcome::Done,
            Some(e) => self.failure_outcome(c, e)?,
        };
        self.finish(c, None, rec, outcome).await
    }

    /// An event that named its user only by the sender's id: move it to the user's lane once an
    /// earlier event has told us the email; wait for that, then dead-letter.
    async fn resolve_identity(&self, c: &Claimed, loaded: &[Loaded]) -> Result<(), StoreError> {
        let Some(l) = loaded.first() else {
            return Ok(());
        };
        let idp_id = l
            .event
            .user
            .as_ref()
            .and_then(|u| u.id.clone())
            .unwrap_or_default();
        if let Some(email) = self.store.find_identity(&l.source, &idp_id).await? {
            self.store
                .rekey_claim(&c.owner, &format!("user:{email}"), &email, self.now_ms())
                .await?;
            self.notify.notify_waiters();
            return Ok(());
        }
        let outcome = self.wait_or_give_up(
            c,
            &format!(
                "no earlier event from `{}` names the email of user id `{idp_id}`",
                l.source
            ),
        );
        self.finish(c, None, Recorder::default(), outcome).await
    }

    /// Retry later while the wait for a user lasts, then dead-letter with the reason.
    pub(super) fn wait_or_give_up(&self, c: &Claimed, reason: &str) -> JobOutcome {
        let waited = Duration::from_millis(
            u64::try_from(self.now_ms() - c.first_received_ms()).unwrap_or(0),
        );
        if waited >= self.settings.user_wait {
            JobOutcome::Dead {
                reason: reason.to_owned(),
            }
        } else {
            let attempts = u32::try_from(c.attempts()).unwrap_or(u32::MAX);
            // Waiting is not failing: back off, but keep polling at least every minute.
            let delay = self
                .settings
                .retry
                .delay(attempts, None, fastrand::f64())
                .min(Duration::from_secs(60));
            JobOutcome::Retry {
                run_at_ms: self.now_ms() + millis(delay),
                error: reason.to_owned(),
            }
        }
    }

    /// The outcome after a failed Domo call: retry (with backoff, never before `Retry-After`)
    /// while attempts remain and the error is transient; else dead with the reason. A store
    /// failure is returned as is: it is not Domo's, and counts no attempt (an unavailable
    /// store interrupts the job, which its worker takes back once the store answers).
    pub(super) fn failure_outcome(
        &self,
        c: &Claimed,
        e: DirectoryError,
    ) -> Result<JobOutcome, StoreError> {
        match e {
            DirectoryError::Store(s) => Err(s),
            DirectoryError::Domo(d) => Ok(self.domo_failure(c, &d)),
        }
    }

    pub(super) fn domo_failure(&self, c: &Claimed, e: &DomoError) -> JobOutcome {
        let attempts = u32::try_from(c.attempts()).unwrap_or(u32::MAX);
        // 401 after a token refresh usually means revoked credentials: retry, an operator
        // may fix them, but within the attempt budget.
        let transient = e.is_retryable() || matches!(e, DomoError::Unauthorized { .. });
        if transient && self.settings.retry.may_retry(attempts) {
            let delay = self
                .settings
                .retry
                .delay(attempts, e.retry_after(), fastrand::f64());
            tracing::info!(error = %e, retry_in_ms = millis(delay), "Domo call failed; will retry");
            JobOutcome::Retry {
                run_at_ms: self.now_ms() + millis(delay),
                error: e.to_string(),
            }
        } else if transient {
            JobOutcome::Dead {
                reason: format!("gave up after {attempts} attempts: {e}"),
            }
        } else {
            JobOutcome::Dead {
                reason: format!("Domo refused: {e}"),
            }
        }
    }

    pub(super) async fn finish(
        &self,
        c: &Claimed,
        user: Option<crate::store::UserRow>,
        rec: Recorder,
        outcome: JobOutcome,
    ) -> Result<(), StoreError> {
        self.finish_with(
            c,
            JobResult {
                owner: c.owner.clone(),
                user,
                memberships_replace: None,
                memberships_add: Vec::new(),
                memberships_remove: Vec::new(),
                audit: rec.entries,
                outcome,
                notices: Vec::new(),
            },
        )
        .await
    }

    /// A user's job done, with its notices.
    pub(super) async fn finish_done(
        &self,
        c: &Claimed,
        user: crate::store::UserRow,
        rec: Recorder,
        notices: Vec<crate::store::OutboxItem>,
    ) -> Result<(), StoreError> {
        self.finish_with(
            c,
            JobResult {
                owner: c.owner.clone(),
                user: Some(user),
                memberships_replace: None,
                memberships_add: Vec::new(),
                memberships_remove: Vec::new(),
                audit: rec.entries,
                outcome: JobOutcome::Done,
                notices,
            },
        )
        .await
    }

    pub(super) async fn finish_with(
        &self,
        c: &Claimed,
        mut result: JobResult,
    ) -> Result<(), StoreError> {
        if let JobOutcome::Dead { reason } = &result.outcome {
            let notices = self.dead_notices(c, reason);
            result.notices.extend(notices);
        }
        match &result.outcome {
            JobOutcome::Done => tracing::debug!("job done"),
            JobOutcome::Retry { error, .. } => tracing::debug!(error, "job will retry"),
            JobOutcome::Dead { reason } => {
                tracing::warn!(job.key = %c.job_key, reason, "job dead-lettered")
            }
        }
        let touched = self.store.finish_job(&result, self.now_ms()).await?;
        if touched > 0 && !result.notices.is_empty() {
            self.notifier.ring();
        }
        if touched == 0 {
            tracing::warn!(job.key = %c.job_key, "lease was lost before the job finished; another worker has it");
        } else {
            // Events whose payload could not be read were dead-lettered (and counted) already.
            let events = c.events.iter().filter_map(|e| {
                crate::prometheus::payload_type_label(e.payload.as_deref())
                    .map(|t| (e.source.as_str(), t))
            });
            crate::prometheus::record_job(events, &result.outcome);
        }
        Ok(())
    }
}

pub(super) fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}
