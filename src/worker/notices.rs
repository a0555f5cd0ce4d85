//! The notices a job's outcome gives (`event.dead`, `offboarding.completed`,
//! `membership.applied`), as outbox rows written in the job's own commit.

use crate::event::EventType;
use crate::notify::build::{dead, event_ref};
use crate::notify::event::{MembershipApplied, NoticeUser, OffboardingCompleted, rfc3339_micros};
use crate::notify::{Notice, NoticeType};
use crate::store::{Claimed, OutboxItem, RECONCILE_SOURCE};

use super::Worker;
use super::job::Loaded;

/// What a user's job changed, for its notices.
pub(super) struct Applied<'a> {
    pub email: &'a str,
    pub domo_user_id: Option<i64>,
    pub added: Vec<String>,
    pub removed: Vec<String>,
    /// The offboarding this job applied (or applies again after a failure), if the user is
    /// offboarded at its end.
    pub offboarding: Option<&'a Loaded>,
}

impl Worker {
    /// `event.dead` for every event of the claim the dead outcome covers (not those
    /// dead-lettered on their own for an unreadable payload).
    pub(super) fn dead_notices(&self, c: &Claimed, reason: &str) -> Vec<OutboxItem> {
        if !self.notifier.wants(NoticeType::EventDead) {
            return Vec::new();
        }
        let events: Vec<_> = c
            .events
            .iter()
            .filter(|e| {
                e.source == RECONCILE_SOURCE
                    || crate::prometheus::payload_type_label(e.payload.as_deref()).is_some()
            })
            .collect();
        let email = c.job_key.strip_prefix("user:");
        self.notifier
            .items(&dead(&events, email, reason, self.now_ms()))
    }

    /// `offboarding.completed` and `membership.applied` for a user's job that is done.
    pub(super) fn done_notices(&self, c: &Claimed, a: &Applied<'_>) -> Vec<OutboxItem> {
        if self.settings.dry_run {
            return Vec::new();
        }
        let now = self.now_ms();
        let user = NoticeUser {
            email: a.email.to_owned(),
            domo_user_id: a.domo_user_id,
        };
        let mut notices = Vec::new();
        if let Some(l) = a.offboarding
            && self.notifier.wants(NoticeType::OffboardingCompleted)
            && let Some(e) = c.events.iter().find(|e| e.pk == l.pk)
        {
            notices.push(Notice::new(
                NoticeType::OffboardingCompleted,
                now,
                &OffboardingCompleted {
                    user: user.clone(),
                    removed: a.removed.clone(),
                    occurred_at: rfc3339_micros(l.event.occurred_at.timestamp_micros()),
                    event: event_ref(e),
                },
            ));
        }
        if (!a.added.is_empty() || !a.removed.is_empty())
            && self.notifier.wants(NoticeType::MembershipApplied)
        {
            notices.push(Notice::new(
                NoticeType::MembershipApplied,
                now,
                &MembershipApplied {
                    user,
                    added: a.added.clone(),
                    removed: a.removed.clone(),
                    events: c.events.iter().map(event_ref).collect(),
                },
            ));
        }
        self.notifier.items(&notices)
    }
}

/// The offboarding of the job that is in force at its end: a `user.offboarded` event that
/// changed the state (or any, when the job runs again: the first attempt stored the state),
/// and a state that is offboarded.
pub(super) fn offboarding<'a>(
    loaded: &'a [Loaded],
    changed: &[bool],
    rerun: bool,
    offboarded: bool,
) -> Option<&'a Loaded> {
    if !offboarded {
        return None;
    }
    loaded
        .iter()
        .zip(changed)
        .filter(|(l, changed)| {
            l.event.event_type == EventType::UserOffboarded && (**changed || rerun)
        })
        .map(|(l, _)| l)
        .next_back()
}
