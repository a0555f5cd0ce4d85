//! One module per page. Each handler takes the signed-in user first (so nothing is read for
//! a visitor who is not), reads through the API's shared functions, and renders a template.

pub mod dead_letters;
pub mod events;
pub mod filters;
pub mod overview;
pub mod reconcile;
pub mod sources;
pub mod users;

use serde::Deserialize;

/// The pull state of a source that has `[sources.pull]`, as the Overview and Sources pages
/// show it (`sources::pull_state` makes it from the status `GET /api/v1/sources` lists); the
/// pages render the section when it is `Some`.
#[derive(Debug, Clone)]
pub struct PullState {
    /// When the last successful pull ran, in words (`never` before the first).
    pub last_pull: String,
    /// `running`, `failing`, `ok` or `not run yet`.
    pub status: String,
    /// The failures in a row with the last error, how old the newest pulled event is, and
    /// how many events were pulled.
    pub detail: Option<String>,
    /// The last full directory pass, in words.
    pub last_directory_pass: Option<String>,
}

/// A query whose blank fields mean "any".
pub(crate) fn given(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// `?live=1`: the page refreshes itself.
#[derive(Debug, Default, Deserialize)]
pub struct LiveQuery {
    pub live: Option<String>,
}

impl LiveQuery {
    pub fn on(&self) -> bool {
        matches!(self.live.as_deref(), Some("1" | "on" | "true"))
    }
}
