//! The WorkOS connector (`reference/backfill.md` §2): the Events API for missed events, and the
//! Directory Sync listings for the directory pass.
//!
//! - Events: `GET /events` with `events=` the types the webhook adapter maps (comma-joined, as
//!   WorkOS's SDKs send them), 100 a page, read forward with `after`: the cursor is the id of
//!   the last event stored. The server returns oldest first whatever `order` says (`asc` is
//!   sent anyway). WorkOS says the event ids are those of the webhook bodies, and each element
//!   is the webhook body itself, so every event is mapped by the webhook adapter's own function
//!   and a pulled copy of a pushed event is stored once. A new source (or a reset cursor)
//!   starts 15 minutes back (`range_start`, which WorkOS does not combine with `after`); what
//!   came before is the directory pass's job. A cursor not read for 30 days (the Events API's
//!   retention) counts as expired, as does one WorkOS refuses (4xx on `after`).
//! - Directory: `GET /directories`, then for each directory `GET /directory_users?directory=`
//!   (every user with its `state`), `GET /directory_groups?directory=`, and for each group the
//!   rules map `GET /directory_users?group=`; 100 a page, `after` paging until
//!   `list_metadata.after` is null. The users' deprecated `groups` array is not read. A user
//!   whose `state` is not `active` (`inactive`, `suspended`) counts as offboarded, as in the
//!   webhook adapter; a deleted user is absent. A directory that is not `linked` (or `active`)
//!   makes the listing incomplete: its users cannot be trusted to be all there.
//! - Auth: `Authorization: Bearer <API key>`.
//! - Budget: WorkOS documents, without advertising them in headers, 6,000 requests a minute
//!   per API key and 4 a second per directory on `/directory_users`: both are declared as
//!   budget buckets (of which the source takes `budget_share`); 429's `Retry-After` is waited out.

mod directory;
mod events;

use std::time::Duration;

use crate::config::{PullConfig, SourceConfig};

use super::connector::{
    BoxFuture, Connector, EventPage, GroupFilter, Listing, Progress, PullError,
};
use super::http::{Answer, Http};

/// The Events API's retention: a cursor not read for longer may have skipped events.
const RETENTION: Duration = Duration::from_secs(30 * 86_400);
/// The per-API-key bucket, and its documented limit.
const KEY: &str = "key";
const KEY_LIMIT: (u64, Duration) = (6_000, Duration::from_secs(60));
/// The per-directory limit of `/directory_users`.
const USERS_LIMIT: (u64, Duration) = (4, Duration::from_secs(1));
/// Page size: WorkOS's maximum for every list.
const LIMIT: &str = "100";

/// The WorkOS connector of one source.
pub struct Workos {
    http: Http,
    /// `api_base` with a trailing slash, so that endpoints join under it.
    base: url::Url,
    /// `Bearer <API key>`.
    auth: crate::config::Secret,
}

/// Builds the connector (registered in `super::registry`).
pub fn build(
    _source: &SourceConfig,
    pull: &PullConfig,
    http: Http,
) -> Result<Box<dyn Connector>, String> {
    let mut base = pull.api_base.clone();
    if !base.path().ends_with('/') {
        let path = format!("{}/", base.path());
        base.set_path(&path);
    }
    let key = pull
        .token
        .as_ref()
        .ok_or("WorkOS needs `token` (the API key)")?;
    http.declare_limit(KEY, KEY_LIMIT.0, KEY_LIMIT.1);
    Ok(Box::new(Workos {
        http,
        base,
        auth: crate::config::Secret::new(format!("Bearer {}", key.expose())),
    }))
}

impl Workos {
    /// An endpoint under `api_base` (`events`).
    fn endpoint(&self, path: &str) -> Result<url::Url, PullError> {
        self.base
            .join(path)
            .map_err(|e| PullError::BadResponse(format!("cannot build the URL of {path}: {e}")))
    }

    /// `GET url` with the API key.
    async fn get(
        &self,
        url: &url::Url,
        bucket: &str,
        progress: &Progress<'_>,
    ) -> Result<Answer, PullError> {
        self.http
            .get(url, self.auth.expose(), bucket, progress)
            .await
    }

    /// The buckets of a `/directory_users` request in `directory`: the key's and the
    /// directory's own.
    fn users_bucket(&self, directory: &str) -> String {
        let own = format!("directory_users:{directory}");
        self.http.declare_limit(&own, USERS_LIMIT.0, USERS_LIMIT.1);
        format!("{KEY}+{own}")
    }
}

impl Connector for Workos {
    fn events<'a>(
        &'a self,
        cursor: Option<&'a str>,
        progress: &'a Progress<'a>,
    ) -> BoxFuture<'a, Result<EventPage, PullError>> {
        Box::pin(events::page(self, cursor, progress))
    }

    fn directory<'a>(
        &'a self,
        groups: &'a GroupFilter,
        progress: &'a Progress<'a>,
    ) -> BoxFuture<'a, Listing> {
        Box::pin(directory::listing(self, groups, progress))
    }

    fn cursor_ttl(&self) -> Option<Duration> {
        Some(RETENTION)
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_directory;
