//! The outgoing operational events: their types, their bodies, and the envelope every body
//! shares. Pure: no I/O, no clock (callers pass the time).
//!
//! Every body follows Standard Webhooks' recommended shape: `{"type", "timestamp", "data"}`,
//! with `timestamp` the time of the state change (RFC 3339, UTC) and `data` one of the shapes
//! below. The `webhook-id` of a message stays the same across its retries and replays, so a
//! receiver can drop duplicates.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The type of an outgoing event (`subscribers[].events`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
pub enum NoticeType {
    /// A user's Domo memberships changed (off by default: one per applied change).
    #[serde(rename = "membership.applied")]
    MembershipApplied,
    /// An offboarding was applied: the user is in no managed group any more.
    #[serde(rename = "offboarding.completed")]
    OffboardingCompleted,
    /// An event was dead-lettered: it will not be retried without a replay.
    #[serde(rename = "event.dead")]
    EventDead,
    /// A reconcile plan is over the removal cap and waits for approval.
    #[serde(rename = "reconcile.held")]
    ReconcileHeld,
    /// A reconcile run finished (planned, repairs queued, or failed), or a held one was approved.
    #[serde(rename = "reconcile.completed")]
    ReconcileCompleted,
    /// A pull source keeps failing, or lags past the threshold.
    #[serde(rename = "source.failing")]
    SourceFailing,
}

impl NoticeType {
    /// Every type, in the order the documentation lists them.
    pub const ALL: [NoticeType; 6] = [
        NoticeType::MembershipApplied,
        NoticeType::OffboardingCompleted,
        NoticeType::EventDead,
        NoticeType::ReconcileHeld,
        NoticeType::ReconcileCompleted,
        NoticeType::SourceFailing,
    ];

    /// The wire name, e.g. `event.dead`.
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeType::MembershipApplied => "membership.applied",
            NoticeType::OffboardingCompleted => "offboarding.completed",
            NoticeType::EventDead => "event.dead",
            NoticeType::ReconcileHeld => "reconcile.held",
            NoticeType::ReconcileCompleted => "reconcile.completed",
            NoticeType::SourceFailing => "source.failing",
        }
    }

    /// The type of a wire name.
    pub fn parse(s: &str) -> Option<NoticeType> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// Whether a subscriber that lists no `events` gets this type: every type but
    /// `membership.applied`, which is one message per applied change.
    pub fn on_by_default(self) -> bool {
        self != NoticeType::MembershipApplied
    }
}

/// A stored event a notice is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EventRef {
    /// The stored event's number (`GET /api/v1/events/{id}`).
    #[schema(example = 42)]
    pub id: i64,
    /// The source it came from (`api` for the REST API, `reconcile` for a repair).
    #[schema(example = "workos")]
    pub source: String,
    /// The sender's event id.
    #[schema(example = "evt_01JD8Q3")]
    pub event_id: String,
    /// The canonical type (or the repair's kind).
    #[serde(rename = "type")]
    #[schema(example = "user.offboarded")]
    pub event_type: String,
    /// The `x-request-id` of the delivery that brought it, when it came over HTTP.
    pub request_id: Option<String>,
}

/// The user a notice is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NoticeUser {
    #[schema(example = "ada@example.com")]
    pub email: String,
    /// The user's Domo id; `null` when the user has no Domo account the service can find.
    #[schema(example = 871)]
    pub domo_user_id: Option<i64>,
}

/// `membership.applied`: a user's Domo memberships changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MembershipApplied {
    pub user: NoticeUser,
    /// Domo groups the user was added to.
    #[schema(example = json!(["Marketing"]))]
    pub added: Vec<String>,
    /// Domo groups the user was removed from.
    #[schema(example = json!(["Finance"]))]
    pub removed: Vec<String>,
    /// The events the change applied.
    pub events: Vec<EventRef>,
}

/// `offboarding.completed`: an offboarding was applied; the user is in no managed Domo group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OffboardingCompleted {
    pub user: NoticeUser,
    /// The managed groups the user was removed from (empty when the user was in none).
    #[schema(example = json!(["Marketing", "Finance"]))]
    pub removed: Vec<String>,
    /// When the offboarding happened at the sender (RFC 3339).
    #[schema(example = "2026-11-28T10:00:00Z")]
    pub occurred_at: String,
    /// The offboarding event.
    pub event: EventRef,
}

/// `event.dead`: an event was dead-lettered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EventDead {
    pub event: EventRef,
    /// The user's email, when the event names one.
    #[schema(example = "ada@example.com")]
    pub email: Option<String>,
    /// Why it will not be retried.
    #[schema(example = "Domo refused: add to `Marketing`: 403 Forbidden")]
    pub reason: String,
    /// Attempts made.
    #[schema(example = 3)]
    pub attempts: i64,
    /// When the service received it (RFC 3339).
    pub received_at: String,
    /// `POST` here (admin scope) to replay it.
    #[schema(example = "/api/v1/events/42/replay")]
    pub replay_path: String,
}

/// A reconcile run a notice is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RunRef {
    #[schema(example = 7)]
    pub id: i64,
    /// Who started it: an API token's name, `cli` or `schedule`.
    #[schema(example = "schedule")]
    pub started_by: String,
    /// RFC 3339.
    pub started_at: String,
    /// `GET` here (read scope) for the run and its plan.
    #[schema(example = "/api/v1/reconcile/runs/7")]
    pub path: String,
}

/// What a reconcile plan changes, in numbers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DriftTotals {
    /// Memberships to add.
    pub add: usize,
    /// Memberships to remove.
    pub remove: usize,
    /// Members the service has never seen.
    pub unknown: usize,
    /// Groups to create.
    pub create: usize,
}

/// How to approve a held plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Approval {
    #[schema(example = "POST")]
    pub method: String,
    #[schema(example = "/api/v1/reconcile/runs/7/approve")]
    pub path: String,
    /// The full link, when `server.public_url` is set.
    #[schema(example = "https://dgs.example.com/api/v1/reconcile/runs/7/approve")]
    pub url: Option<String>,
}

/// `reconcile.held`: a plan is over the removal cap and waits for approval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReconcileHeld {
    pub run: RunRef,
    pub totals: DriftTotals,
    /// Why it is held.
    #[schema(example = "60 removals exceed reconcile.max_removals = 50")]
    pub reason: String,
    /// Approve with the admin scope.
    pub approve: Approval,
}

/// `reconcile.completed`: a run finished, or a held plan was approved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReconcileCompleted {
    pub run: RunRef,
    /// `planned` (a dry run), `queued` (repairs queued: applied, or approved) or `failed`.
    #[schema(example = "queued")]
    pub status: String,
    /// Whether the run applies its plan.
    pub apply: bool,
    /// `null` for a failed run.
    pub totals: Option<DriftTotals>,
    /// Why it failed.
    pub error: Option<String>,
    /// Who approved a held plan.
    pub approved_by: Option<String>,
}

/// Why a pull source is failing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum FailingReason {
    /// Its pulls keep failing.
    Errors,
    /// It answers, but its data lags behind.
    Lag,
}

/// `source.failing`: a pull source keeps failing, or lags past the threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SourceFailing {
    #[schema(example = "okta")]
    pub source: String,
    pub reason: FailingReason,
    /// The last error (for `errors`).
    #[schema(example = "Okta answered 401: invalid token")]
    pub error: Option<String>,
    /// Failed pulls in a row.
    #[schema(example = 3)]
    pub consecutive_errors: u32,
    /// How far behind the source is, in seconds (for `lag`).
    pub lag_seconds: Option<f64>,
    /// Since when it has been failing or lagging (RFC 3339).
    pub failing_since: String,
    /// The last successful pull (RFC 3339), if any.
    pub last_success: Option<String>,
}

/// The body of every outgoing event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope<T> {
    #[serde(rename = "type")]
    pub kind: NoticeType,
    /// RFC 3339, UTC, milliseconds.
    pub timestamp: String,
    pub data: T,
}

/// A notice ready to store: its type and its body (the envelope as JSON).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub kind: NoticeType,
    pub body: String,
}

impl Notice {
    /// Wraps `data` in the envelope, stamped `at_ms` (unix milliseconds).
    pub fn new<T: Serialize>(kind: NoticeType, at_ms: i64, data: &T) -> Notice {
        let envelope = Envelope {
            kind,
            timestamp: rfc3339_ms(at_ms),
            data,
        };
        // Serialising these plain structs cannot fail; an empty object keeps the type visible.
        let body = serde_json::to_string(&envelope).unwrap_or_else(|_| {
            format!(
                r#"{{"type":"{}","timestamp":"{}","data":{{}}}}"#,
                kind.as_str(),
                rfc3339_ms(at_ms)
            )
        });
        Notice { kind, body }
    }
}

/// Unix milliseconds as RFC 3339 UTC with milliseconds.
pub fn rfc3339_ms(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

/// Unix microseconds (an event's `occurred_at`) as RFC 3339 UTC.
pub fn rfc3339_micros(us: i64) -> String {
    chrono::DateTime::from_timestamp_micros(us)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_round_trips_its_wire_name() {
        for t in NoticeType::ALL {
            assert_eq!(NoticeType::parse(t.as_str()), Some(t));
            let json = serde_json::to_string(&t).expect("serialise");
            assert_eq!(json, format!("\"{}\"", t.as_str()));
        }
        assert_eq!(NoticeType::parse("event.deleted"), None);
        assert!(!NoticeType::MembershipApplied.on_by_default());
        assert!(NoticeType::EventDead.on_by_default());
    }

    #[test]
    fn a_notice_is_the_standard_webhooks_envelope() {
        let n = Notice::new(
            NoticeType::ReconcileHeld,
            1_764_324_000_123,
            &serde_json::json!({"x": 1}),
        );
        let v: serde_json::Value = serde_json::from_str(&n.body).expect("json");
        assert_eq!(v["type"], "reconcile.held");
        assert_eq!(v["timestamp"], "2025-11-28T10:00:00.123Z");
        assert_eq!(v["data"]["x"], 1);
    }
}
