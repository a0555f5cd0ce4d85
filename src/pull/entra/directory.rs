//! The directory listing: every user with `accountEnabled`, the groups, and the members of the
//! groups the rules map, 999 a page, following `@odata.nextLink`.

use std::collections::BTreeMap;

use serde_json::Value;

use super::Entra;
use super::map::{user_email, user_enabled};
use crate::pull::connector::{
    GroupFilter, ListedGroup, ListedUser, Listing, Progress, PullError, Step,
};
use crate::rules::name_key;

/// Graph's largest page for these lists.
const TOP: &str = "999";
/// A guard against links that never end.
const MAX_PAGES: usize = 100_000;
const USERS: &str = "id,userPrincipalName,mail,displayName,accountEnabled";

pub(super) async fn listing(
    entra: &Entra,
    groups: &GroupFilter,
    progress: &Progress<'_>,
) -> Listing {
    let mut listing = Listing::default();
    let mut found = Found::default();
    match read(entra, groups, progress, &mut found, &mut listing.requests).await {
        Ok(()) => listing.complete = true,
        Err(e) => {
            tracing::warn!(problem = %e, "the Entra directory listing is incomplete");
            listing.problem = Some(e.to_string());
        }
    }
    listing.users = found.users.into_values().collect();
    listing.groups = found.groups.into_values().collect();
    listing
}

/// Users by id, groups by name key (two groups with one name are one IdP group to the rules).
#[derive(Default)]
struct Found {
    users: BTreeMap<String, ListedUser>,
    groups: BTreeMap<String, ListedGroup>,
}

/// A listed user, from a `GET /users` item.
pub(super) fn listed_user(u: &Value) -> Option<ListedUser> {
    let id = u.get("id").and_then(Value::as_str)?.to_owned();
    Some(ListedUser {
        id,
        email: user_email(u),
        name: u
            .get("displayName")
            .and_then(Value::as_str)
            .map(str::to_owned),
        active: user_enabled(u),
    })
}

async fn read(
    entra: &Entra,
    filter: &GroupFilter,
    progress: &Progress<'_>,
    found: &mut Found,
    requests: &mut u64,
) -> Result<(), PullError> {
    let pager = Pager { entra, progress };
    pager
        .all("v1.0/users", USERS, "users", requests, |page| {
            for u in page {
                if let Some(user) = listed_user(u) {
                    found.users.insert(user.id.clone(), user);
                }
            }
        })
        .await?;
    let mut wanted: Vec<(String, String)> = Vec::new();
    pager
        .all(
            "v1.0/groups",
            "id,displayName",
            "groups",
            requests,
            |page| {
                for g in page {
                    let id = g.get("id").and_then(Value::as_str);
                    let name = g.get("displayName").and_then(Value::as_str);
                    if let (Some(id), Some(name)) = (id, name)
                        && filter.wants(name)
                    {
                        wanted.push((id.to_owned(), name.to_owned()));
                    }
                }
            },
        )
        .await?;
    for (id, name) in wanted {
        let mut members = Vec::new();
        let path = format!("v1.0/groups/{id}/members");
        let what = format!("members of {name}");
        pager
            .all(&path, "id", &what, requests, |page| {
                members.extend(
                    page.iter()
                        .filter(|m| {
                            m.get("@odata.type")
                                .and_then(Value::as_str)
                                .is_none_or(|t| t == "#microsoft.graph.user")
                        })
                        .filter_map(|m| m.get("id").and_then(Value::as_str))
                        .map(str::to_owned),
                );
            })
            .await?;
        found
            .groups
            .entry(name_key(&name))
            .or_insert_with(|| ListedGroup {
                name: name.clone(),
                members: Vec::new(),
            })
            .members
            .extend(members);
    }
    Ok(())
}

/// Reads Graph collections page by page.
struct Pager<'a> {
    entra: &'a Entra,
    progress: &'a Progress<'a>,
}

impl Pager<'_> {
    /// Every page of `GET path?$select=…&$top=999`, following `@odata.nextLink`; each page's
    /// `value` goes to `each`.
    async fn all(
        &self,
        path: &str,
        select: &str,
        what: &str,
        requests: &mut u64,
        mut each: impl FnMut(&[Value]),
    ) -> Result<(), PullError> {
        let mut url = self.entra.endpoint(path)?;
        url.set_query(Some(&format!("$select={select}&$top={TOP}")));
        for _ in 0..MAX_PAGES {
            *requests += 1;
            let answer = self
                .entra
                .get(&url, self.progress)
                .await
                .map_err(|e| e.in_listing(what))?;
            let body: Value = answer.json().map_err(|e| e.in_listing(what))?;
            let page = body
                .get("value")
                .and_then(Value::as_array)
                .ok_or_else(|| PullError::BadResponse(format!("{what}: a page without `value`")))?;
            (self.progress)(Step::Page {
                what: what.to_owned(),
                items: page.len(),
            });
            each(page);
            match body.get("@odata.nextLink").and_then(Value::as_str) {
                None => return Ok(()),
                Some(next) => {
                    let next = self
                        .entra
                        .link(next, "nextLink")
                        .map_err(|e| e.in_listing(what))?;
                    if next == url {
                        return Err(PullError::BadResponse(format!(
                            "{what}: the nextLink does not move on"
                        )));
                    }
                    url = next;
                }
            }
        }
        Err(PullError::BadResponse(format!(
            "{what}: more than {MAX_PAGES} pages; giving up"
        )))
    }
}
