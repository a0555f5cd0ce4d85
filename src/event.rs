//! The canonical event: what every format adapter produces and what the worker consumes.
//!
//! The JSON shape is a public contract (DESIGN.md, "Canonical event"): the `canonical` source
//! format and `POST /api/v1/events` take it as is, and the store keeps it as JSON.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What happened. The wire names are the dotted strings of DESIGN.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub enum EventType {
    /// A user joined: their managed Domo groups become exactly what the rules derive.
    #[serde(rename = "user.onboarded")]
    UserOnboarded,
    /// A user changed: same meaning as onboarded (a full snapshot).
    #[serde(rename = "user.updated")]
    UserUpdated,
    /// A user left: removed from every managed group.
    #[serde(rename = "user.offboarded")]
    UserOffboarded,
    /// An IdP group appeared: the mapped Domo groups must exist.
    #[serde(rename = "group.created")]
    GroupCreated,
    /// A user joined the listed IdP group(s) (a delta).
    #[serde(rename = "group.member_added")]
    GroupMemberAdded,
    /// A user left the listed IdP group(s) (a delta).
    #[serde(rename = "group.member_removed")]
    GroupMemberRemoved,
}

impl EventType {
    /// The dotted wire name, e.g. `user.onboarded`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UserOnboarded => "user.onboarded",
            Self::UserUpdated => "user.updated",
            Self::UserOffboarded => "user.offboarded",
            Self::GroupCreated => "group.created",
            Self::GroupMemberAdded => "group.member_added",
            Self::GroupMemberRemoved => "group.member_removed",
        }
    }

    /// Every type, in wire-name order of DESIGN.md.
    pub const ALL: [EventType; 6] = [
        Self::UserOnboarded,
        Self::UserUpdated,
        Self::UserOffboarded,
        Self::GroupCreated,
        Self::GroupMemberAdded,
        Self::GroupMemberRemoved,
    ];

    /// Parses a dotted wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// Snapshots replace the user's whole desired state; deltas change one group.
    pub fn is_snapshot(self) -> bool {
        matches!(
            self,
            Self::UserOnboarded | Self::UserUpdated | Self::UserOffboarded
        )
    }

    /// Whether the event concerns one user (everything but `group.created`).
    pub fn needs_user(self) -> bool {
        !matches!(self, Self::GroupCreated)
    }
}

/// The user an event is about. `email` is the key that ties a user to a Domo account.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
pub struct EventUser {
    /// Primary email; compared case-insensitively.
    #[schema(
        example = "ada@example.com",
        pattern = r"^[^@\s]+@[^@\s]+$",
        max_length = 320
    )]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The sender's own id for the user (informational).
    #[schema(example = "00u1a2b3")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Display name, used when a Domo user is created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Attributes the rules can match and template from (department, location, …).
    #[schema(example = json!({"department": "Sales", "location": "Paris"}))]
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
}

/// One event in the canonical shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "id": "evt_01JD8Q3",
    "type": "user.onboarded",
    "occurred_at": "2026-11-28T10:00:00Z",
    "user": {"email": "ada@example.com", "name": "Ada Lovelace", "attributes": {"department": "Sales"}},
    "groups": ["Marketing"]
}))]
pub struct CanonicalEvent {
    /// The sender's unique id: with the source name, the dedup key.
    #[schema(example = "evt_01JD8Q3", pattern = r"\S", max_length = 256)]
    pub id: String,
    /// What happened.
    #[serde(rename = "type")]
    pub event_type: EventType,
    /// When it happened at the sender (RFC 3339 with a zone): the order key ("latest
    /// wins"). An event older than the last one applied for the user changes nothing.
    #[schema(example = "2026-11-28T10:00:00Z")]
    pub occurred_at: DateTime<Utc>,
    /// The user concerned; required for every type but `group.created`. `user.onboarded` and
    /// `user.updated` need `user.email`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<EventUser>,
    /// IdP group names: the full list for onboarded/updated (absent = "not stated, keep what
    /// is known", `[]` = "in no group"), the changed ones for member_*, the new group for
    /// `group.created`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = json!(["Marketing"]))]
    pub groups: Option<Vec<String>>,
}

/// Why an event cannot be accepted although it parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("`id` must not be empty")]
    EmptyId,
    #[error("`id` is longer than 256 characters")]
    IdTooLong,
    #[error("`{0}` events need `user.email`")]
    MissingEmail(&'static str),
    #[error("`{0}` events need `user.email` or `user.id`")]
    MissingUser(&'static str),
    #[error("`user.email` `{0}` is not an email address")]
    BadEmail(String),
    #[error("`{0}` events need at least one entry in `groups`")]
    MissingGroups(&'static str),
    #[error("group names must not be empty")]
    EmptyGroupName,
}

impl CanonicalEvent {
    /// The lower-cased email that keys per-user state and ordering, if the event has a user.
    pub fn user_key(&self) -> Option<String> {
        self.user
            .as_ref()
            .and_then(|u| u.email.as_deref())
            .map(normalize_email)
    }

    /// Onboarded and updated snapshots must carry an email; the rest may name the user by id.
    pub fn requires_email(&self) -> bool {
        matches!(
            self.event_type,
            EventType::UserOnboarded | EventType::UserUpdated
        )
    }

    /// Checks the rules every accepted event must meet, whatever its format.
    pub fn validate(&self) -> Result<(), EventError> {
        if self.id.trim().is_empty() {
            return Err(EventError::EmptyId);
        }
        if self.id.len() > 256 {
            return Err(EventError::IdTooLong);
        }
        let kind = self.event_type.as_str();
        if self.event_type.needs_user() {
            let user = self.user.as_ref();
            let email = user.and_then(|u| u.email.as_deref());
            let id = user
                .and_then(|u| u.id.as_deref())
                .filter(|i| !i.trim().is_empty());
            match (email, id) {
                (Some(email), _) if !looks_like_email(email) => {
                    return Err(EventError::BadEmail(email.to_owned()));
                }
                (Some(_), _) => {}
                // Onboarding needs the email: it is how the Domo account is found or made.
                (None, _) if self.requires_email() => return Err(EventError::MissingEmail(kind)),
                // Offboarding and membership deltas may name the user by the sender's id
                // alone (Clerk's `user.deleted`); the worker resolves it to an email.
                (None, Some(_)) => {}
                (None, None) => return Err(EventError::MissingUser(kind)),
            }
        }
        let needs_groups = matches!(
            self.event_type,
            EventType::GroupCreated | EventType::GroupMemberAdded | EventType::GroupMemberRemoved
        );
        let groups = self.groups.as_deref().unwrap_or_default();
        if needs_groups && groups.is_empty() {
            return Err(EventError::MissingGroups(kind));
        }
        if groups.iter().any(|g| g.trim().is_empty()) {
            return Err(EventError::EmptyGroupName);
        }
        Ok(())
    }
}

/// Lower-cases and trims an email so that one person has one key.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

fn looks_like_email(s: &str) -> bool {
    let s = s.trim();
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty() && !domain.is_empty() && !domain.contains('@') && s.len() <= 320
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_event_round_trips_through_its_wire_shape() {
        let json = r#"{"id":"evt_1","type":"user.onboarded","occurred_at":"2026-11-28T10:00:00Z",
            "user":{"email":"Ada@Example.com","name":"Ada","attributes":{"department":"Sales"}},
            "groups":["Marketing"]}"#;
        let ev: CanonicalEvent = serde_json::from_str(json).expect("parses");
        assert_eq!(ev.event_type, EventType::UserOnboarded);
        assert_eq!(ev.user_key().as_deref(), Some("ada@example.com"));
        assert!(ev.validate().is_ok());
        let back: CanonicalEvent =
            serde_json::from_str(&serde_json::to_string(&ev).expect("serializes")).expect("parses");
        assert_eq!(back, ev);
    }

    #[test]
    fn member_events_without_groups_or_email_are_invalid() {
        let mut ev: CanonicalEvent = serde_json::from_str(
            r#"{"id":"e","type":"group.member_added","occurred_at":"2026-11-28T10:00:00Z","user":{"email":"a@b.c"}}"#,
        )
        .expect("parses");
        assert_eq!(
            ev.validate(),
            Err(EventError::MissingGroups("group.member_added"))
        );
        ev.groups = Some(vec!["G".into()]);
        assert!(ev.validate().is_ok());
        ev.user = None;
        assert_eq!(
            ev.validate(),
            Err(EventError::MissingUser("group.member_added"))
        );
        ev.user = Some(EventUser {
            id: Some("user_1".into()),
            ..EventUser::default()
        });
        assert!(ev.validate().is_ok(), "a delta may name the user by id");
        ev.event_type = EventType::UserOnboarded;
        assert_eq!(
            ev.validate(),
            Err(EventError::MissingEmail("user.onboarded"))
        );
    }

    #[test]
    fn unknown_type_and_unknown_fields_are_rejected() {
        assert!(
            serde_json::from_str::<CanonicalEvent>(
                r#"{"id":"e","type":"user.exploded","occurred_at":"2026-11-28T10:00:00Z"}"#
            )
            .is_err()
        );
        assert!(serde_json::from_str::<CanonicalEvent>(
            r#"{"id":"e","type":"group.created","occurred_at":"2026-11-28T10:00:00Z","groups":["x"],"extra":1}"#
        )
        .is_err());
    }
}
