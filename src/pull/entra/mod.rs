//! The Microsoft Entra ID connector (`reference/backfill.md` §5): Microsoft Graph delta queries
//! for missed changes, and Graph's listings for the directory pass. Entra sends no signed
//! lifecycle webhooks, so for an `entra` source this is the only input.
//!
//! - Events: delta rounds. A round reads `GET /v1.0/users/delta?$select=id,userPrincipalName,
//!   mail,displayName,accountEnabled,department,jobTitle,officeLocation,companyName`, then
//!   `GET /v1.0/groups/delta?$select=displayName,members`, following `@odata.nextLink` until
//!   each answers its `@odata.deltaLink`; the next round starts from those. The stored cursor is
//!   a small JSON document (`cursor`): both deltaLinks (verbatim URLs, which must be on
//!   `api_base`'s origin), and the displayName of every group seen (a group item after the first
//!   round may lack it). **A deltaLink is stored only when a round completes**: the pages of a
//!   round store no cursor, and the round's progress (its `nextLink`s) is kept in memory keyed
//!   by the stored cursor it started from, so the poller's next call goes on with it. A lost
//!   lease, a crash or a reload restarts the round from the stored deltaLinks; its events are
//!   then read again with the same ids (`entra:` + a hash of the round's starting cursor, the
//!   object and the mapped content), so they are stored once. A new source stores first an
//!   "epoch" cursor without deltaLinks (no request), so that a restarted first round has a
//!   starting cursor too; `$deltatoken=latest` is not used: the first round lists every user
//!   and every group's members (the first sync).
//! - Mapping (`map`, pure): a user with `accountEnabled: false`, or `@removed` (`changed`:
//!   soft-deleted, `deleted`: gone), is offboarded (a removed one by id alone: the worker
//!   resolves the id); another user is a `user.updated` snapshot (email: `mail`, else the
//!   `userPrincipalName` when it is an address and not a guest's `#EXT#` one; attributes
//!   `department`, `job_title`, `location` (officeLocation) and `company` (companyName); the
//!   groups kept), and a user without an email is recorded as ignored and counted unmappable.
//!   `members@delta` users become `group.member_added` / `member_removed` (a big group spans
//!   several items with the same id: each adds its entries). A group new to the cursor after the
//!   first round is a `group.created`. A deleted group's members are not listed, and a renamed
//!   group's members keep the old name: both ask for a directory pass at once.
//! - Time: Graph's delta items carry no timestamps; every event of a round is stamped with the
//!   time the round started, so a later change (the next round, a directory pass) wins.
//! - Expiry: a 410 (`syncStateNotFound`, with `Location`) or a 4xx whose code is
//!   `syncStateNotFound` or `resyncRequired`, a cursor that cannot be read or whose links left
//!   `api_base`, and a cursor not read for 7 days (Graph's delta token lifetime) are expired:
//!   the poller resets it and runs a full directory pass.
//! - Directory: `GET /v1.0/users?$select=id,userPrincipalName,mail,displayName,accountEnabled`,
//!   `GET /v1.0/groups?$select=id,displayName`, and for each group the rules map
//!   `GET /v1.0/groups/{id}/members?$select=id`; 999 a page (`$top`), `@odata.nextLink`
//!   paging. A disabled user is offboarded; a deleted one is absent.
//! - Auth: the client-credentials grant at `{login_base}/{tenant}/oauth2/v2.0/token` with
//!   `scope=https://graph.microsoft.com/.default`, by `client_secret` or by a certificate
//!   (`private_key`, a `private_key_jwt` assertion whose header carries the `x5t` of the
//!   certificate given in the same PEM); the token is kept until two minutes before it expires
//!   and fetched again once on a 401.
//! - Budget: Graph throttles per app and tenant per 10 s (3,500 resource units for the
//!   smallest tenants; a listing page costs 1 to 2 units with `$select`), without advertising the
//!   limit: 1,000 requests per 10 s is declared as a bucket of which the source takes
//!   `budget_share`; a 429's or 503's `Retry-After` is waited out.
//!
//! Guesses: a disabled account shows up as an update with `accountEnabled: false` [INF]; the
//! `syncStateNotFound` body of a 4xx is recognised in the error text.

mod auth;
mod cursor;
mod delta;
mod directory;
mod map;

use std::sync::Mutex;
use std::time::Duration;

use crate::config::{PullConfig, SourceConfig};

use super::connector::{
    BoxFuture, Connector, EventPage, GroupFilter, Listing, Progress, PullError,
};
use super::http::{Answer, Http};
use auth::Auth;

/// Graph's directory delta tokens last 7 days.
const TOKEN_LIFETIME: Duration = Duration::from_secs(7 * 86_400);
/// The bucket of every Graph request, and the limit declared for it.
const GRAPH: &str = "graph";
const GRAPH_LIMIT: (u64, Duration) = (1_000, Duration::from_secs(10));

/// The Entra connector of one source.
pub struct Entra {
    http: Http,
    /// `api_base` with a trailing slash, so that endpoints join under it.
    base: url::Url,
    auth: Auth,
    /// The round in progress, if a run stopped in the middle of one.
    round: Mutex<Option<delta::Round>>,
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
    http.declare_limit(GRAPH, GRAPH_LIMIT.0, GRAPH_LIMIT.1);
    Ok(Box::new(Entra {
        http,
        base,
        auth,
        round: Mutex::new(None),
    }))
}

impl Entra {
    /// An endpoint under `api_base` (`v1.0/users`).
    fn endpoint(&self, path: &str) -> Result<url::Url, PullError> {
        self.base
            .join(path)
            .map_err(|e| PullError::BadResponse(format!("cannot build the URL of {path}: {e}")))
    }

    /// Whether `url` is on `api_base`'s origin (scheme, host and port).
    fn on_origin(&self, url: &url::Url) -> bool {
        url.origin() == self.base.origin()
    }

    /// A link from an answer (`@odata.nextLink`, `@odata.deltaLink`), checked to be on
    /// `api_base`: the token is never sent anywhere else.
    fn link(&self, text: &str, what: &str) -> Result<url::Url, PullError> {
        let url = url::Url::parse(text)
            .map_err(|_| PullError::BadResponse(format!("the {what} is not a URL")))?;
        if !self.on_origin(&url) {
            return Err(PullError::BadResponse(format!(
                "the {what} leaves api_base ({})",
                url.origin().ascii_serialization()
            )));
        }
        Ok(url)
    }

    /// `GET url` with the access token; on a 401, once more with a fresh token (it may have
    /// been revoked or expired early).
    async fn get(&self, url: &url::Url, progress: &Progress<'_>) -> Result<Answer, PullError> {
        if !self.on_origin(url) {
            return Err(PullError::BadResponse(format!(
                "refusing to follow a link off api_base ({})",
                url.origin().ascii_serialization()
            )));
        }
        let header = self.auth.header(&self.http, progress).await?;
        match self.http.get(url, &header, GRAPH, progress).await {
            Err(PullError::Unauthorized(why)) if why.starts_with("401") => {
                tracing::info!(reason = %why, "Graph refused the access token; fetching a new one");
                self.auth.forget().await;
                let header = self.auth.header(&self.http, progress).await?;
                self.http.get(url, &header, GRAPH, progress).await
            }
            other => other,
        }
    }
}

impl Connector for Entra {
    fn events<'a>(
        &'a self,
        cursor: Option<&'a str>,
        progress: &'a Progress<'a>,
    ) -> BoxFuture<'a, Result<EventPage, PullError>> {
        Box::pin(delta::page(self, cursor, progress))
    }

    fn directory<'a>(
        &'a self,
        groups: &'a GroupFilter,
        progress: &'a Progress<'a>,
    ) -> BoxFuture<'a, Listing> {
        Box::pin(directory::listing(self, groups, progress))
    }

    fn cursor_ttl(&self) -> Option<Duration> {
        Some(TOKEN_LIFETIME)
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_map;
