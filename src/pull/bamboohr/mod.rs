//! The BambooHR connector (`reference/backfill.md` §4): changed employees for missed events,
//! and the employee listing for the directory pass. BambooHR has no groups: rules map the
//! employees' attributes (department, division, location, job title), so a pass here only
//! offboards.
//!
//! - Events: `GET v1/employees/changed?since=` (the `+` of the offset sent as `%2B`), then, for
//!   each employee inserted or updated, `GET v1/employees/{id}?fields=…`; each change becomes
//!   the item a webhook would carry, `{id, action, timestamp: lastChanged, fields}`, mapped by
//!   the webhook adapter's own function, so the attributes and the termination rule (status
//!   Inactive, employment status Terminated, a termination date reached) are the webhook's and
//!   the dedup id is `{employee id}:{lastChanged}` (`backfill.md` §7.2). A deleted employee is
//!   an offboarding. The next `since` is `latest` minus 5 minutes (whole-second stamps, many
//!   ties); changes read again in that overlap are skipped without a request (the cursor keeps
//!   the ones already stored). At most 200 employees a page. A new source (or a reset cursor)
//!   starts 15 minutes back. The cursor never expires: BambooHR keeps changes from 2011 on.
//! - Future-dated terminations: a termination date after the change that set it is kept in
//!   the cursor, and the first poll on or after that date reads the employee again and, if the
//!   date still stands, stores the offboarding the date implies (stamped at the date's start,
//!   id `{employee id}:{date}T00:00:00+00:00`): reaching a date is no change BambooHR lists.
//!   The directory pass sees it too (it reads every termination date against today).
//! - Directory: every employee BambooHR lists as changed since 2011-06-04 (the day before its
//!   data starts: each employee ever, Active and Inactive, deleted ones marked so), then each
//!   one's fields. The `employees/directory` endpoint is not used: it lists Active employees
//!   only, may hide people and can be switched off. So a pass costs one request per employee.
//! - Auth: HTTP Basic, the API key as the user name and `x` as the password. 401 is a refused
//!   key; 403 a key without permission, or BambooHR's lockout after repeated bad keys (the
//!   poller backs off). Throttling is 503 (rarely 429) with `Retry-After`, waited out.

mod changed;
mod cursor;
mod directory;

use std::time::Duration;

use base64::Engine as _;

use crate::config::{PullConfig, SourceConfig};

use super::connector::{
    BoxFuture, Connector, EventPage, GroupFilter, Listing, Progress, PullError,
};
use super::http::{Answer, Http};

/// The one bucket: BambooHR publishes no limits (`max_requests_per_minute` caps a source).
const BUCKET: &str = "api";
/// The fields read for each employee: the webhook adapter's names for the email, the name,
/// the termination rule and the attributes.
const FIELDS: &str = "firstName,lastName,workEmail,status,employmentHistoryStatus,\
                      terminationDate,department,division,location,jobTitle";

/// The BambooHR connector of one source.
pub struct Bamboohr {
    http: Http,
    /// `api_base` with a trailing slash and without a trailing `v1/`, so that `v1/…` joins
    /// under it.
    base: url::Url,
    /// `Basic base64(key:x)`.
    auth: crate::config::Secret,
}

/// Builds the connector (registered in `super::registry`).
pub fn build(
    _source: &SourceConfig,
    pull: &PullConfig,
    http: Http,
) -> Result<Box<dyn Connector>, String> {
    Ok(Box::new(Bamboohr::new(pull, http)?))
}

impl Bamboohr {
    fn new(pull: &PullConfig, http: Http) -> Result<Bamboohr, String> {
        let mut base = pull.api_base.clone();
        let path = base.path().trim_end_matches('/');
        let path = path.strip_suffix("/v1").unwrap_or(path);
        let path = format!("{path}/");
        base.set_path(&path);
        let key = pull
            .token
            .as_ref()
            .ok_or("BambooHR needs `token` (the API key)")?;
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{}:x", key.expose()));
        Ok(Bamboohr {
            http,
            base,
            auth: crate::config::Secret::new(format!("Basic {basic}")),
        })
    }

    /// An endpoint under `api_base` (`v1/employees/changed`).
    fn endpoint(&self, path: &str) -> Result<url::Url, PullError> {
        self.base
            .join(path)
            .map_err(|e| PullError::BadResponse(format!("cannot build the URL of {path}: {e}")))
    }

    /// `GET url` with the API key.
    async fn get(&self, url: &url::Url, progress: &Progress<'_>) -> Result<Answer, PullError> {
        match self
            .http
            .get(url, self.auth.expose(), BUCKET, progress)
            .await
        {
            Err(PullError::Unauthorized(why)) if why.starts_with("403") => {
                Err(PullError::Unauthorized(format!(
                    "{why} (the key lacks a permission, or BambooHR locked the company out for a \
                     while after repeated bad keys)"
                )))
            }
            other => other,
        }
    }

    /// The employee's fields, or `None` when BambooHR no longer has them (404).
    async fn fields(
        &self,
        id: &str,
        progress: &Progress<'_>,
    ) -> Result<Option<serde_json::Value>, PullError> {
        let mut url = self.endpoint("v1/employees/")?;
        url.path_segments_mut()
            .map_err(|()| PullError::BadResponse("api_base cannot take a path".into()))?
            .pop_if_empty()
            .push(id);
        url.query_pairs_mut().append_pair("fields", FIELDS);
        match self.get(&url, progress).await {
            Ok(answer) => Ok(Some(answer.json()?)),
            Err(PullError::Provider { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

impl Connector for Bamboohr {
    fn events<'a>(
        &'a self,
        cursor: Option<&'a str>,
        progress: &'a Progress<'a>,
    ) -> BoxFuture<'a, Result<EventPage, PullError>> {
        Box::pin(changed::page(self, cursor, chrono::Utc::now(), progress))
    }

    fn directory<'a>(
        &'a self,
        _groups: &'a GroupFilter,
        progress: &'a Progress<'a>,
    ) -> BoxFuture<'a, Listing> {
        Box::pin(directory::listing(self, chrono::Utc::now(), progress))
    }

    fn cursor_ttl(&self) -> Option<Duration> {
        None
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_directory;
#[cfg(test)]
mod tests_due;
