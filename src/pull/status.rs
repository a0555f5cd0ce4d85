//! A source's pull as `GET /api/v1/sources` shows it: configuration (never a credential) and
//! the state of its runs from `pull_state`.

use serde::Serialize;
use utoipa::ToSchema;

use crate::config::PullConfig;
use crate::reconcile::rfc3339;
use crate::store::PullStateRow;

/// The pull of one source.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PullStatus {
    /// `okta`, `workos`, `entra` or `bamboohr`.
    #[schema(example = "okta")]
    pub provider: String,
    /// The provider's API root.
    #[schema(example = "https://acme.okta.com/")]
    pub api_base: String,
    /// `token` (a static API token) or `oauth` (client credentials / service app).
    pub auth: String,
    pub interval_secs: u64,
    pub directory_interval_secs: u64,
    /// Seconds since the cursor was last read successfully; `null` before the first read (or
    /// after a reset).
    pub cursor_age_secs: Option<i64>,
    /// Now minus the newest pulled event's time, in seconds.
    pub lag_secs: Option<i64>,
    /// Events read so far (stored, duplicate or ignored).
    pub events_pulled: i64,
    pub last_success_at: Option<String>,
    /// The last error, and when; it stays shown after later successes (compare the times).
    pub last_error: Option<String>,
    pub last_error_at: Option<String>,
    /// Failed event pulls in a row (the backoff).
    pub failures: i64,
    /// When the next event pull is due.
    pub next_run_at: Option<String>,
    pub last_directory_at: Option<String>,
    /// Why the last directory pass was incomplete or failed.
    pub directory_error: Option<String>,
    /// When the next directory pass is due (`null`: only with a reconcile run or on request).
    pub next_directory_at: Option<String>,
    /// Whether a run holds the source's lease now (here or on another replica).
    pub running: bool,
}

/// The status of a source's pull from its configuration, its stored row and whether its lease
/// is held at `now_ms`.
pub fn view(
    pull: &PullConfig,
    row: Option<&PullStateRow>,
    running: bool,
    now_ms: i64,
) -> PullStatus {
    let default = PullStateRow::default();
    let r = row.unwrap_or(&default);
    let secs_since = |ms: i64| (now_ms - ms).max(0) / 1000;
    PullStatus {
        provider: pull.provider.as_str().to_owned(),
        api_base: pull.api_base.to_string(),
        auth: if pull.token.is_some() {
            "token"
        } else {
            "oauth"
        }
        .to_owned(),
        interval_secs: pull.interval_secs,
        directory_interval_secs: pull.directory_interval_secs,
        cursor_age_secs: r.cursor_ms.map(secs_since),
        lag_secs: r.newest_event_us.map(|us| secs_since(us / 1000)),
        events_pulled: r.events_pulled,
        last_success_at: r.last_success_ms.map(rfc3339),
        last_error: r.last_error.clone(),
        last_error_at: r.last_error_ms.map(rfc3339),
        failures: r.failures,
        next_run_at: r
            .next_run_ms
            .filter(|_| pull.interval_secs > 0)
            .map(rfc3339),
        last_directory_at: r.last_directory_ms.map(rfc3339),
        directory_error: r.directory_error.clone(),
        next_directory_at: r.next_directory_ms.map(rfc3339),
        running,
    }
}
