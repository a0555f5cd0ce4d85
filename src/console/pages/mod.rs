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

/// The pull state of a source (issue 13's pull connectors), as the Overview and Sources pages
/// show it. Nothing fills it yet: the pull connectors are being written; their store will
/// give one per source that has `[sources.pull]`, and the pages render the section when it
/// is `Some` (see `sources::pull_state`).
#[derive(Debug, Clone)]
pub struct PullState {
    /// When the last pull ran, in words.
    pub last_pull: String,
    /// `ok`, `failed`, `running`, …
    pub status: String,
    /// The provider cursor or the last error, when there is one.
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
