//! Which notices a state change gives, and the outbox rows they become (one per subscriber
//! that wants the type). Pure: callers pass the time and write the rows in their own commit.

use std::sync::Arc;

use tokio::sync::Notify;

use super::event::*;
use crate::config::SubscriberConfig;
use crate::reconcile::ReconcilePlan;
use crate::store::{ClaimedEvent, OutboxItem, RunRow};

/// The configured subscribers, as the writers of notices see them; and a bell that wakes the
/// local delivery lanes after a commit that wrote some.
#[derive(Debug, Default)]
pub struct Notifier {
    subscribers: Vec<(String, Vec<NoticeType>)>,
    public_url: Option<url::Url>,
    /// Rung after a commit that wrote notices (other replicas poll).
    pub bell: Arc<Notify>,
}

impl Notifier {
    /// The `subscribers`; links in bodies start with `public_url` (`server.public_url`) when
    /// set.
    pub fn new(subscribers: &[SubscriberConfig], public_url: Option<&url::Url>) -> Notifier {
        Notifier {
            subscribers: subscribers
                .iter()
                .map(|s| (s.name.clone(), s.events.clone()))
                .collect(),
            public_url: public_url.cloned(),
            bell: Arc::new(Notify::new()),
        }
    }

    /// Whether any subscriber takes `kind` (so a writer can skip building the body).
    pub fn wants(&self, kind: NoticeType) -> bool {
        self.subscribers.iter().any(|(_, e)| e.contains(&kind))
    }

    /// The outbox rows of `notices`: one per notice and subscriber that wants its type, all
    /// rows of one notice sharing its `webhook-id`.
    pub fn items(&self, notices: &[Notice]) -> Vec<OutboxItem> {
        let mut out = Vec::new();
        for n in notices {
            let msg_id = format!("msg_{}", uuid::Uuid::now_v7().simple());
            for (name, events) in &self.subscribers {
                if events.contains(&n.kind) {
                    out.push(OutboxItem {
                        subscriber: name.clone(),
                        msg_id: msg_id.clone(),
                        event_type: n.kind.as_str().to_owned(),
                        body: n.body.clone(),
                    });
                }
            }
        }
        out
    }

    /// Wakes the local lanes (call after the commit).
    pub fn ring(&self) {
        self.bell.notify_waiters();
    }

    /// The full link of a path on the service, when `server.public_url` is set.
    pub fn link(&self, path: &str) -> Option<String> {
        let base = self.public_url.as_ref()?;
        let mut s = base.as_str().trim_end_matches('/').to_owned();
        s.push_str(path);
        Some(s)
    }
}

/// A claimed event as notices name it.
pub fn event_ref(e: &ClaimedEvent) -> EventRef {
    EventRef {
        id: e.pk,
        source: e.source.clone(),
        event_id: e.event_id.clone(),
        event_type: e.event_type.clone(),
        request_id: e.request_id.clone(),
    }
}

/// `event.dead` for each event of a job that was dead-lettered.
pub fn dead(
    events: &[&ClaimedEvent],
    email: Option<&str>,
    reason: &str,
    now_ms: i64,
) -> Vec<Notice> {
    events
        .iter()
        .map(|e| {
            Notice::new(
                NoticeType::EventDead,
                now_ms,
                &EventDead {
                    event: event_ref(e),
                    email: email.map(str::to_owned),
                    reason: reason.to_owned(),
                    attempts: e.attempts,
                    received_at: rfc3339_ms(e.received_ms),
                    replay_path: format!("/api/v1/events/{}/replay", e.pk),
                },
            )
        })
        .collect()
}

fn totals(plan: &ReconcilePlan) -> DriftTotals {
    DriftTotals {
        add: plan.totals.add,
        remove: plan.totals.remove,
        unknown: plan.totals.unknown,
        create: plan.totals.create,
    }
}

fn run_ref(run: &RunRow) -> RunRef {
    RunRef {
        id: run.id,
        started_by: run.started_by.clone(),
        started_at: rfc3339_ms(run.started_ms),
        path: format!("/api/v1/reconcile/runs/{}", run.id),
    }
}

/// The outbox rows of a run (a reconcile, or a source's directory pass) that ends with
/// `status`: none when no subscriber wants its notice.
pub fn run_items(
    n: &Notifier,
    run: &RunRow,
    status: &str,
    plan: Option<&ReconcilePlan>,
    error: Option<&str>,
    now_ms: i64,
) -> Vec<OutboxItem> {
    let kind = if status == "held" {
        NoticeType::ReconcileHeld
    } else {
        NoticeType::ReconcileCompleted
    };
    if !n.wants(kind) {
        return Vec::new();
    }
    n.items(&[reconcile_finished(n, run, status, plan, error, now_ms)])
}

/// The notice a finished reconcile run gives: `reconcile.held` for a held plan, else
/// `reconcile.completed` (planned, queued or failed).
pub fn reconcile_finished(
    n: &Notifier,
    run: &RunRow,
    status: &str,
    plan: Option<&ReconcilePlan>,
    error: Option<&str>,
    now_ms: i64,
) -> Notice {
    if let (Some(plan), "held") = (plan, status) {
        let path = format!("/api/v1/reconcile/runs/{}/approve", run.id);
        return Notice::new(
            NoticeType::ReconcileHeld,
            now_ms,
            &ReconcileHeld {
                run: run_ref(run),
                totals: totals(plan),
                reason: plan.held.clone().unwrap_or_default(),
                approve: Approval {
                    method: "POST".to_owned(),
                    url: n.link(&path),
                    path,
                },
            },
        );
    }
    Notice::new(
        NoticeType::ReconcileCompleted,
        now_ms,
        &ReconcileCompleted {
            run: run_ref(run),
            status: status.to_owned(),
            apply: run.apply,
            totals: plan.map(totals),
            error: error.map(str::to_owned),
            approved_by: run.approved_by.clone(),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Secret, SubscriberKind};

    fn sub(name: &str, events: &[NoticeType]) -> SubscriberConfig {
        SubscriberConfig {
            name: name.to_owned(),
            url: Secret::new("http://127.0.0.1:9/hook"),
            kind: SubscriberKind::Webhook,
            secret: None,
            events: events.to_vec(),
        }
    }

    #[test]
    fn a_notice_goes_to_every_subscriber_that_wants_it_under_one_id() {
        let n = Notifier::new(
            &[
                sub("it", &[NoticeType::EventDead, NoticeType::ReconcileHeld]),
                sub("audit", &[NoticeType::EventDead]),
                sub("ops", &[NoticeType::SourceFailing]),
            ],
            None,
        );
        assert!(n.wants(NoticeType::EventDead));
        assert!(!n.wants(NoticeType::MembershipApplied));
        let items = n.items(&[
            Notice::new(NoticeType::EventDead, 0, &1),
            Notice::new(NoticeType::ReconcileHeld, 0, &2),
        ]);
        let names: Vec<(&str, &str)> = items
            .iter()
            .map(|i| (i.subscriber.as_str(), i.event_type.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                ("it", "event.dead"),
                ("audit", "event.dead"),
                ("it", "reconcile.held")
            ]
        );
        assert_eq!(items[0].msg_id, items[1].msg_id, "one message, one id");
        assert_ne!(items[0].msg_id, items[2].msg_id);
        assert!(items[0].msg_id.starts_with("msg_"));
    }

    #[test]
    fn links_use_the_public_url_when_set() {
        assert_eq!(Notifier::new(&[], None).link("/x"), None);
        let base = url::Url::parse("https://dgs.example.com/").expect("url");
        assert_eq!(
            Notifier::new(&[], Some(&base))
                .link("/api/v1/reconcile/runs/7/approve")
                .as_deref(),
            Some("https://dgs.example.com/api/v1/reconcile/runs/7/approve")
        );
    }
}
