//! The connector interface: what one provider's pull connector implements, and the types it
//! hands back. A connector knows its provider's HTTP API and nothing else: no store, no
//! schedule, no lease. It maps events through the same adapter functions as the push side
//! (`crate::sources`), so a pulled event and its pushed copy become the same canonical event
//! with the same dedup id.
//!
//! Adding a provider: a module under `src/pull/` with a `build` function of type [`Build`],
//! and one line in [`super::registry`].

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::config::{PullConfig, SourceConfig};
use crate::rules::RuleSet;
use crate::sources::Parsed;

use super::http::Http;

/// A boxed future, so that [`Connector`] stays object safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Builds a source's connector from its configuration and the HTTP client the poller gives
/// it (which applies the source's request budget and the provider's 429 headers). The error
/// says what is wrong with the configuration.
pub type Build = fn(&SourceConfig, &PullConfig, Http) -> Result<Box<dyn Connector>, String>;

/// One provider's pull: the event feed and the directory listing.
pub trait Connector: Send + Sync {
    /// Reads the page of events after `cursor`: an opaque string this connector returned in
    /// an earlier [`EventPage::cursor`], stored verbatim; `None` starts where the provider's
    /// feed should start for a new source (or after a reset). A cursor the provider no longer
    /// honours is [`PullError::CursorExpired`]: the poller then resets it and runs a full
    /// directory pass.
    fn events<'a>(
        &'a self,
        cursor: Option<&'a str>,
        progress: &'a Progress<'a>,
    ) -> BoxFuture<'a, Result<EventPage, PullError>>;

    /// Lists the provider's users with their state, and the members of every group `groups`
    /// wants. Never fails as a whole: a page that cannot be read ends the listing with
    /// `complete = false` and the reason in `problem` (a partial listing may only add).
    fn directory<'a>(
        &'a self,
        groups: &'a GroupFilter,
        progress: &'a Progress<'a>,
    ) -> BoxFuture<'a, Listing>;

    /// How long a cursor stays usable after it was last read (the provider's retention:
    /// Okta 90 days, WorkOS 30, Graph delta tokens 7); `None` when it never expires by age.
    /// An older cursor is treated as expired without asking the provider.
    fn cursor_ttl(&self) -> Option<Duration>;
}

/// One page of the event feed.
#[derive(Debug, Clone, Default)]
pub struct EventPage {
    /// The page's events, mapped (events the service does not act on are `Parsed::Ignored`,
    /// as on the push side, so that they are recorded and deduplicated too).
    pub items: Vec<Parsed>,
    /// The newest event time on the page (`published`, `created_at`, …), for the lag.
    pub newest: Option<DateTime<Utc>>,
    /// The cursor to store with this page's events (in the same commit); `None` keeps the
    /// one stored.
    pub cursor: Option<String>,
    /// Whether another page should be read now (false: caught up, e.g. Okta's empty page).
    pub more: bool,
    /// Items of a known type that could not be mapped; they are in `items` as ignored and
    /// counted as errors (reason `unmappable`) so that an operator sees them.
    pub unmappable: usize,
    /// The page holds a change whose consequences the feed does not list (Entra: a group
    /// deleted, whose members are not named): the run follows with a directory pass.
    pub directory_due: bool,
}

/// A user as the provider's directory lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedUser {
    /// The provider's id for the user (the same as the push side's `user.id`).
    pub id: String,
    /// The email (Okta: the login, as the event hook adapter takes it) when it is one.
    pub email: Option<String>,
    /// Display name.
    pub name: Option<String>,
    /// False when the provider says the user is deactivated, suspended or deleted.
    pub active: bool,
}

/// A group the rules map, with its members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedGroup {
    /// The IdP group's name (what the rules match).
    pub name: String,
    /// Member user ids.
    pub members: Vec<String>,
}

/// What a directory listing found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing {
    /// Every user read (members of mapped groups included, whatever their state).
    pub users: Vec<ListedUser>,
    /// Every mapped group read, with its members.
    pub groups: Vec<ListedGroup>,
    /// True only when every page of every list was read: only then may the pass remove.
    pub complete: bool,
    /// Why the listing is incomplete.
    pub problem: Option<String>,
    /// Requests made.
    pub requests: u64,
}

/// Which IdP groups a directory pass lists: the groups a `[[rules]]` entry matches by name
/// (exactly or by glob).
#[derive(Clone)]
pub struct GroupFilter {
    rules: Arc<RuleSet>,
}

impl GroupFilter {
    pub fn new(rules: Arc<RuleSet>) -> Self {
        GroupFilter { rules }
    }

    /// Whether members of the group named `name` matter.
    pub fn wants(&self, name: &str) -> bool {
        self.rules.maps_group(name)
    }
}

/// Progress reports for the terminal (`domo-group-sync pull`); the service passes a no-op.
pub type Progress<'a> = dyn Fn(Step) + Send + Sync + 'a;

/// One step of a pull, as reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A page of `what` (`events`, `users`, `groups`, `members of <group>`) with `items`.
    Page { what: String, items: usize },
    /// Waiting before the next request (rate limit, budget or retry).
    Waiting { secs: u64, why: String },
}

/// Why a pull (or one request of it) failed. Messages never contain a credential.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PullError {
    /// The provider no longer honours the stored cursor (retention passed, unknown token).
    #[error("the cursor is no longer valid: {0}")]
    CursorExpired(String),
    /// 429 (or the budget) asks for a wait longer than a run waits.
    #[error("rate limited for {} s", wait.as_secs())]
    RateLimited { wait: Duration },
    /// 401/403: the credentials are refused or lack a scope.
    #[error("the provider refused the credentials: {0}")]
    Unauthorized(String),
    /// Any other HTTP failure (5xx after retries, an unexpected 4xx).
    #[error("the provider answered {status}: {detail}")]
    Provider { status: u16, detail: String },
    /// No answer: connection refused or dropped, timeout.
    #[error("no answer from the provider: {0}")]
    Network(String),
    /// An answer that cannot be read.
    #[error("unreadable answer: {0}")]
    BadResponse(String),
    /// The store failed (the page is not committed; it is read again next time).
    #[error("store: {0}")]
    Store(String),
    /// Another replica took the source's lease: this run stopped without writing.
    #[error("the pull lease was lost to another replica")]
    LeaseLost,
}

impl PullError {
    /// The `reason` label of `dgs_pull_errors_total`.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::CursorExpired(_) => "cursor_expired",
            Self::RateLimited { .. } => "rate_limited",
            Self::Unauthorized(_) => "unauthorized",
            Self::Provider { status, .. } if *status >= 500 => "server_error",
            Self::Provider { .. } => "client_error",
            Self::Network(_) => "network",
            Self::BadResponse(_) => "bad_response",
            Self::Store(_) => "store",
            Self::LeaseLost => "lease_lost",
        }
    }

    /// The same error, naming the list whose page failed (`users: …`).
    pub fn in_listing(self, what: &str) -> PullError {
        match self {
            Self::BadResponse(m) => Self::BadResponse(format!("{what}: {m}")),
            Self::Provider { status, detail } => Self::Provider {
                status,
                detail: format!("{what}: {detail}"),
            },
            Self::Network(m) => Self::Network(format!("{what}: {m}")),
            other => other,
        }
    }
}

impl From<crate::store::StoreError> for PullError {
    fn from(e: crate::store::StoreError) -> Self {
        PullError::Store(e.to_string())
    }
}
