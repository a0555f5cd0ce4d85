//! Microsoft Graph change notifications (`graph`): no signature exists. Graph echoes the
//! `clientState` set on the subscription in every notification, and that value must equal one
//! of the source's live secrets. One POST may carry notifications of several subscriptions
//! (`{"value": [...]}`), so each item is checked on its own: items that match are acted on,
//! the others are dropped, and a body where none matches is refused.
//!
//! Also here: the `validationToken` handshake's token, read from the query string.
//!
//! Pure: the body is parsed here (never by the format adapters: a notification carries no
//! event, it only says that the directory changed), values are hashed with SHA-256 before a
//! constant-time comparison, and nothing is logged.

use std::borrow::Cow;

use serde_json::Value;

use super::{SignatureError, mac};
use crate::config::SourceConfig;

/// The longest `validationToken` echoed, in bytes after decoding; Graph's are far shorter.
pub const MAX_VALIDATION_TOKEN: usize = 1024;

/// The `clientState` Graph accepts at most (characters); a longer secret can never match.
pub const MAX_CLIENT_STATE: usize = 128;

/// One item of a notification body, with only what the service reads. A field of the wrong
/// JSON type reads as absent.
#[derive(Clone, PartialEq, Eq)]
pub struct Notification {
    /// `subscriptionId` (empty when absent): for the log.
    pub subscription_id: String,
    /// `clientState`, compared with the secrets; never logged (see the `Debug` impl).
    client_state: Option<String>,
    /// `changeType`: `created`, `updated`, `deleted` (several, comma-separated).
    pub change_type: Option<String>,
    /// `resource`, e.g. `Users/6f1a…` or `groups/0b2c…`.
    pub resource: Option<String>,
    /// `resourceData."@odata.type"`, e.g. `#Microsoft.Graph.User`.
    pub odata_type: Option<String>,
    /// `lifecycleEvent`, on lifecycle notifications.
    pub lifecycle_event: Option<String>,
}

impl std::fmt::Debug for Notification {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notification")
            .field("subscription_id", &self.subscription_id)
            .field("client_state", &self.client_state.as_ref().map(|_| "***"))
            .field("change_type", &self.change_type)
            .field("resource", &self.resource)
            .field("odata_type", &self.odata_type)
            .field("lifecycle_event", &self.lifecycle_event)
            .finish()
    }
}

/// Why a body is not a notification collection. Messages never quote the body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("the body is not JSON")]
    NotJson,
    #[error("the body is not an object with a `value` array of notifications")]
    NoValue,
    #[error("notification {0} of `value` is not an object")]
    NotAnObject(usize),
}

/// A lifecycle notification's event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifecycle {
    /// The subscription must be reauthorized (its token or access is about to lapse).
    ReauthorizationRequired,
    /// Graph removed the subscription: no more notifications until it is created again.
    SubscriptionRemoved,
    /// Graph dropped notifications: a delta pull catches up.
    Missed,
    /// A value this version does not know.
    Unknown,
}

/// What becomes of one notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Its `clientState` matched no live secret: dropped.
    ClientStateMismatch,
    /// A user or group changed: the next event pull is made due now.
    PullRequested,
    /// Authentic, but not about users or groups: nothing to do.
    Ignored,
    /// A lifecycle notification (`Missed` also asks for a pull).
    Lifecycle(Lifecycle),
}

impl Outcome {
    /// The `outcome` label of `dgs_graph_notifications_total`.
    pub fn label(self) -> &'static str {
        match self {
            Outcome::ClientStateMismatch => "client_state_mismatch",
            Outcome::PullRequested => "pull_requested",
            Outcome::Ignored => "ignored",
            Outcome::Lifecycle(Lifecycle::ReauthorizationRequired) => {
                "lifecycle_reauthorization_required"
            }
            Outcome::Lifecycle(Lifecycle::SubscriptionRemoved) => "lifecycle_subscription_removed",
            Outcome::Lifecycle(Lifecycle::Missed) => "lifecycle_missed",
            Outcome::Lifecycle(Lifecycle::Unknown) => "lifecycle_unknown",
        }
    }

    /// Every label, to start the series at zero.
    pub const LABELS: [&'static str; 7] = [
        "pull_requested",
        "ignored",
        "client_state_mismatch",
        "lifecycle_reauthorization_required",
        "lifecycle_subscription_removed",
        "lifecycle_missed",
        "lifecycle_unknown",
    ];

    /// Whether the source's next event pull should be made due now.
    pub fn requests_pull(self) -> bool {
        matches!(
            self,
            Outcome::PullRequested | Outcome::Lifecycle(Lifecycle::Missed)
        )
    }
}

/// One notification, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    pub subscription_id: String,
    /// The position in `source.secrets` of the secret its `clientState` matched.
    pub secret: Option<usize>,
    pub outcome: Outcome,
}

/// Why a notification POST is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Not a notification collection (400; nothing is checked).
    #[error(transparent)]
    Malformed(#[from] ParseError),
    /// No notification carried a live `clientState` (401), or the source cannot check any;
    /// `dropped` notifications were read.
    #[error("{error}")]
    Unauthenticated {
        error: SignatureError,
        dropped: usize,
    },
}

/// Parses a notification body: `{"value": [{...}, ...]}`.
pub fn parse(body: &[u8]) -> Result<Vec<Notification>, ParseError> {
    let doc: Value = serde_json::from_slice(body).map_err(|_| ParseError::NotJson)?;
    let items = doc
        .get("value")
        .and_then(Value::as_array)
        .ok_or(ParseError::NoValue)?;
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let item = item.as_object().ok_or(ParseError::NotAnObject(i))?;
            let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
            Ok(Notification {
                subscription_id: text(item.get("subscriptionId")).unwrap_or_default(),
                client_state: text(item.get("clientState")),
                change_type: text(item.get("changeType")),
                resource: text(item.get("resource")),
                odata_type: text(item.get("resourceData").and_then(|d| d.get("@odata.type"))),
                lifecycle_event: text(item.get("lifecycleEvent")),
            })
        })
        .collect()
}

/// Parses `body` and checks every notification against `source`'s secrets live at `now`
/// (unix seconds). `Ok` holds one entry per notification, in order, and at least one of them
/// matched; a body where none matched is `Unauthenticated`.
pub fn verify(source: &SourceConfig, body: &[u8], now: i64) -> Result<Vec<Checked>, Refusal> {
    let items = parse(body)?;
    let refuse = |error| Refusal::Unauthenticated {
        error,
        dropped: items.len(),
    };
    if !source.secrets.iter().any(|s| !s.expose().is_empty()) {
        return Err(refuse(SignatureError::Misconfigured(
            "the source has no non-empty secret",
        )));
    }
    if super::usable_secrets(source, now).next().is_none() {
        return Err(refuse(SignatureError::NoLiveSecret));
    }
    let checked: Vec<Checked> = items.iter().map(|n| check(source, n, now)).collect();
    if checked.iter().all(|c| c.secret.is_none()) {
        return Err(refuse(SignatureError::Mismatch));
    }
    Ok(checked)
}

/// Checks one notification: which live secret its `clientState` equals, and what it asks for.
pub fn check(source: &SourceConfig, n: &Notification, now: i64) -> Checked {
    // Every secret is compared, so timing does not say which one matched, nor how many.
    let received = n.client_state.as_deref().unwrap_or_default().as_bytes();
    let matched = super::usable_secrets(source, now).fold(None, |acc, (position, secret)| {
        let equal = mac::ct_eq_hashed(secret.expose().as_bytes(), received);
        acc.or(equal.then_some(position))
    });
    let matched = matched.filter(|_| n.client_state.is_some());
    let outcome = match (matched, n.lifecycle_event.as_deref()) {
        (None, _) => Outcome::ClientStateMismatch,
        (Some(_), Some(event)) => Outcome::Lifecycle(lifecycle(event)),
        (Some(_), None) if is_directory(n) => Outcome::PullRequested,
        (Some(_), None) => Outcome::Ignored,
    };
    Checked {
        subscription_id: n.subscription_id.clone(),
        secret: matched,
        outcome,
    }
}

/// Whether a notification is about a user or a group: its `resource` starts with `users` or
/// `groups` (any case, with or without a leading `/`), or its `resourceData` says
/// `#Microsoft.Graph.User` / `Group`.
pub fn is_directory(n: &Notification) -> bool {
    let by_resource = n.resource.as_deref().is_some_and(|r| {
        let first = r
            .trim_start_matches('/')
            .split(['/', '(', '?'])
            .next()
            .unwrap_or_default();
        first.eq_ignore_ascii_case("users") || first.eq_ignore_ascii_case("groups")
    });
    let by_type = n.odata_type.as_deref().is_some_and(|t| {
        t.eq_ignore_ascii_case("#microsoft.graph.user")
            || t.eq_ignore_ascii_case("#microsoft.graph.group")
    });
    by_resource || by_type
}

fn lifecycle(event: &str) -> Lifecycle {
    match event {
        e if e.eq_ignore_ascii_case("reauthorizationRequired") => {
            Lifecycle::ReauthorizationRequired
        }
        e if e.eq_ignore_ascii_case("subscriptionRemoved") => Lifecycle::SubscriptionRemoved,
        e if e.eq_ignore_ascii_case("missed") => Lifecycle::Missed,
        _ => Lifecycle::Unknown,
    }
}

/// The `validationToken` of a raw query string, URL-decoded: `None` when the query has none.
/// Graph sends it on subscription creation and expects it back verbatim as `text/plain`.
pub fn validation_token(raw_query: Option<&str>) -> Option<Cow<'_, str>> {
    let query = raw_query?;
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "validationToken")
        .map(|(_, v)| v)
}

/// Checks a secret is usable as a `clientState`: Graph takes at most 128 characters.
pub(super) fn check_secret(value: &str) -> Result<(), String> {
    if value.chars().count() > MAX_CLIENT_STATE {
        return Err(format!(
            "a Graph subscription's clientState is at most {MAX_CLIENT_STATE} characters; this \
             secret is longer and could never match"
        ));
    }
    Ok(())
}
