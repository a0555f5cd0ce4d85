//! The Okta connector (`reference/backfill.md` §1): System Log polling for missed events, and
//! the users and group-members listings for the directory pass.
//!
//! - Events: `GET /api/v1/logs` as a *polling* request (no `until`, ascending), filtered to the
//!   event types the hook adapter maps, 1,000 a page. The cursor is the whole `next` URL,
//!   stored verbatim and never rebuilt (its `after` is opaque); the feed is read until an
//!   empty page. A new source (or one whose cursor was reset) starts 15 minutes back; what
//!   happened before is the directory pass's job. A 400 on a stored cursor, or a cursor older
//!   than the 90-day retention, is an expired cursor.
//! - Directory: `GET /api/v1/users` (which omits `DEPROVISIONED` users, so they are listed
//!   again with `filter=status eq "DEPROVISIONED"`), `GET /api/v1/groups`, and
//!   `GET /api/v1/groups/{id}/users` for each group the rules map; 200 a page, `Link` paging.
//!   `DEPROVISIONED` and `SUSPENDED` users count as offboarded.
//! - Auth: `SSWS <token>`, or an OAuth service app: a `private_key_jwt` client assertion for a
//!   one-hour bearer token with the scopes `okta.logs.read okta.users.read okta.groups.read`,
//!   fetched again on a 401.
//! - Every URL followed (a stored cursor, a `next` link) must be on `api_base`'s origin: the
//!   credentials are never sent anywhere else.

mod auth;
mod directory;
mod log;

use std::time::Duration;

use crate::config::{PullConfig, SourceConfig};

use super::connector::{
    BoxFuture, Connector, EventPage, GroupFilter, Listing, Progress, PullError,
};
use super::http::{Answer, Http};
use auth::Auth;

/// Okta's System Log retention: a cursor not read for longer may have skipped events.
const RETENTION: Duration = Duration::from_secs(90 * 86_400);

/// The Okta connector of one source.
pub struct Okta {
    http: Http,
    /// `api_base` with a trailing slash, so that endpoints join under it.
    base: url::Url,
    auth: Auth,
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
    let auth = Auth::from_config(pull)?;
    Ok(Box::new(Okta { http, base, auth }))
}

impl Okta {
    /// An endpoint under `api_base` (`api/v1/logs`).
    fn endpoint(&self, path: &str) -> Result<url::Url, PullError> {
        self.base
            .join(path)
            .map_err(|e| PullError::BadResponse(format!("cannot build the URL of {path}: {e}")))
    }

    /// Whether `url` is on `api_base`'s origin (scheme, host and port).
    fn on_origin(&self, url: &url::Url) -> bool {
        url.origin() == self.base.origin()
    }

    /// `GET url` with the source's credentials; on a 401 with OAuth, once more with a fresh
    /// token (it may have been revoked or expired early).
    async fn get(
        &self,
        url: &url::Url,
        bucket: &str,
        progress: &Progress<'_>,
    ) -> Result<Answer, PullError> {
        if !self.on_origin(url) {
            return Err(PullError::BadResponse(format!(
                "refusing to follow a link off api_base ({})",
                url.origin().ascii_serialization()
            )));
        }
        let header = self.auth.header(self, progress).await?;
        match self.http.get(url, &header, bucket, progress).await {
            Err(PullError::Unauthorized(why)) if self.auth.is_oauth() => {
                tracing::info!(reason = %why, "Okta refused the access token; fetching a new one");
                self.auth.forget().await;
                let header = self.auth.header(self, progress).await?;
                self.http.get(url, &header, bucket, progress).await
            }
            other => other,
        }
    }
}

impl Connector for Okta {
    fn events<'a>(
        &'a self,
        cursor: Option<&'a str>,
        progress: &'a Progress<'a>,
    ) -> BoxFuture<'a, Result<EventPage, PullError>> {
        Box::pin(log::page(self, cursor, progress))
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
