//! The simulator's shared mutable state (`Shared`, behind one `std::sync::Mutex` that is never
//! held across an await) and the serialisable views of it that tests read: [`SimState`]
//! (`GET /_sim/state`) and [`RequestRecord`] (`GET /_sim/requests`).

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

use super::auth::Tokens;
use super::faults::Faults;
use super::world::World;
pub use crate::shared::CallCount;

/// How many request records are kept; older ones are dropped first.
pub const REQUEST_LOG_CAPACITY: usize = 100_000;

/// Everything that changes while the simulator runs.
#[derive(Debug)]
pub struct Shared {
    /// Groups, users, memberships.
    pub world: World,
    /// Issued tokens.
    pub tokens: Tokens,
    /// Faults in force.
    pub faults: Faults,
    /// Generator for fault draws, apart from the id generator so that faults do not shift ids.
    pub fault_rng: fastrand::Rng,
    /// Per-route counters, keyed `"<METHOD> <route template>"`.
    pub calls: BTreeMap<String, CallCount>,
    /// The most recent API requests, oldest first.
    pub requests: VecDeque<RequestRecord>,
    /// Tokens issued since start (or the last counter reset).
    pub tokens_issued: u64,
}

impl Shared {
    /// Counts a request on arrival.
    pub fn count_arrival(&mut self, route: &str) {
        self.calls.entry(route.to_owned()).or_default().total += 1;
    }

    /// Records how a request ended: counts a 2xx, and appends to the bounded request log.
    pub fn record_outcome(&mut self, route: &str, record: RequestRecord) {
        let effective = record.applied_status.unwrap_or(record.status);
        if (200..300).contains(&effective) {
            self.calls.entry(route.to_owned()).or_default().ok += 1;
        }
        if self.requests.len() >= REQUEST_LOG_CAPACITY {
            self.requests.pop_front();
        }
        self.requests.push_back(record);
    }

    /// Clears call counters, the request log and the issued-token count.
    pub fn reset_counters(&mut self) {
        self.calls.clear();
        self.requests.clear();
        self.tokens_issued = 0;
    }

    /// The view served at `GET /_sim/state`.
    pub fn snapshot(&self) -> SimState {
        SimState {
            groups: self
                .world
                .groups()
                .map(|g| SimGroup {
                    id: g.id,
                    name: g.name.clone(),
                    active: g.active,
                    default: g.default,
                    members: g.members.iter().copied().collect(),
                    member_emails: g
                        .members
                        .iter()
                        .map(|id| {
                            self.world
                                .user(*id)
                                .ok()
                                .map_or_else(|| format!("(unknown user {id})"), |u| u.email.clone())
                        })
                        .collect(),
                })
                .collect(),
            users: self
                .world
                .users()
                .map(|u| SimUser {
                    id: u.id,
                    email: u.email.clone(),
                    name: u.name.clone(),
                    role: u.role.clone(),
                    deleted: u.deleted,
                })
                .collect(),
            calls: self.calls.clone(),
            tokens_issued: self.tokens_issued,
        }
    }
}

/// The simulator's state, for assertions (`GET /_sim/state`, [`Simulator::snapshot`]).
///
/// [`Simulator::snapshot`]: super::Simulator::snapshot
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimState {
    /// Every group, in creation order.
    pub groups: Vec<SimGroup>,
    /// Every user, deleted ones included, in creation order.
    pub users: Vec<SimUser>,
    /// Requests per `"<METHOD> <route template>"`, e.g. `"PUT /v1/groups/{id}/users/{id}"`.
    pub calls: BTreeMap<String, CallCount>,
    /// Tokens issued since start or the last counter reset.
    pub tokens_issued: u64,
}

impl SimState {
    /// The group with this exact name.
    pub fn group_named(&self, name: &str) -> Option<&SimGroup> {
        self.groups.iter().find(|g| g.name == name)
    }

    /// The user with this email, compared case-insensitively.
    pub fn user_with_email(&self, email: &str) -> Option<&SimUser> {
        self.users
            .iter()
            .find(|u| u.email.eq_ignore_ascii_case(email))
    }

    /// The counters of one route key, zero when it was never called.
    pub fn calls_to(&self, key: &str) -> CallCount {
        self.calls.get(key).copied().unwrap_or_default()
    }
}

/// A group as the state view shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimGroup {
    /// Domo group id.
    pub id: u64,
    /// Name.
    pub name: String,
    /// Active flag.
    pub active: bool,
    /// Default-group flag.
    pub default: bool,
    /// Member user ids, ascending.
    pub members: Vec<u64>,
    /// The members' emails, in the order of `members`, so that a person reading the state
    /// sees who is in the group.
    #[serde(default)]
    pub member_emails: Vec<String>,
}

/// A user as the state view shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimUser {
    /// Domo user id.
    pub id: u64,
    /// Email.
    pub email: String,
    /// Name.
    pub name: String,
    /// Role.
    pub role: String,
    /// True once deleted (until revived).
    pub deleted: bool,
}

/// One API request in the log (`GET /_sim/requests`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestRecord {
    /// When the request arrived, in milliseconds since the simulator started.
    pub at_ms: u64,
    /// When the answer was sent (or the connection dropped), same clock; at least `at_ms`.
    pub done_ms: u64,
    /// HTTP method.
    pub method: String,
    /// Route template, e.g. `/v1/groups/{id}/users/{id}`, or `(unmatched)`.
    pub route: String,
    /// Answer status; 0 when the connection was dropped without an answer.
    pub status: u16,
    /// The `Retry-After` seconds sent with a 429, if any.
    pub retry_after_secs: Option<u64>,
    /// For a write applied and then dropped before its answer (`status` 0): the status the
    /// answer would have had.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied_status: Option<u16>,
}
