//! The Okta directory listing: users (active ones, then `DEPROVISIONED` ones, which the plain
//! list omits), groups, and the members of the groups the rules map, walking groups to
//! members (`backfill.md` §1.2: the per-user walk does not finish for large orgs).

use std::collections::BTreeMap;

use serde_json::Value;

use super::Okta;
use crate::pull::connector::{
    GroupFilter, ListedGroup, ListedUser, Listing, Progress, PullError, Step,
};
use crate::sources::okta::login_email;

/// Page size for users and members (Okta's maximum "for most orgs", and its recommendation).
const LIMIT: &str = "200";
/// A guard against a provider whose `next` links never end.
const MAX_PAGES: usize = 100_000;

/// Statuses that count as offboarded.
const OFFBOARDED: [&str; 2] = ["DEPROVISIONED", "SUSPENDED"];

pub(super) async fn listing(okta: &Okta, groups: &GroupFilter, progress: &Progress<'_>) -> Listing {
    let mut users: BTreeMap<String, ListedUser> = BTreeMap::new();
    let mut listing = Listing::default();
    match read(okta, groups, progress, &mut users, &mut listing).await {
        Ok(()) => listing.complete = true,
        Err(e) => {
            tracing::warn!(error = %e, "the Okta directory listing is incomplete");
            listing.problem = Some(e.to_string());
        }
    }
    listing.users = users.into_values().collect();
    listing
}

async fn read(
    okta: &Okta,
    filter: &GroupFilter,
    progress: &Progress<'_>,
    users: &mut BTreeMap<String, ListedUser>,
    listing: &mut Listing,
) -> Result<(), PullError> {
    // The plain list omits `DEPROVISIONED` users: they are asked for apart.
    for (filter, what) in [
        (None, "users"),
        (Some("status eq \"DEPROVISIONED\""), "deprovisioned users"),
    ] {
        let mut url = okta.endpoint("api/v1/users")?;
        if let Some(f) = filter {
            url.query_pairs_mut().append_pair("filter", f);
        }
        url.query_pairs_mut().append_pair("limit", LIMIT);
        pages(
            okta,
            url,
            "users",
            what,
            progress,
            &mut listing.requests,
            |page| {
                for u in page {
                    add_user(users, u);
                }
            },
        )
        .await?;
    }
    let mut wanted: Vec<(String, String)> = Vec::new();
    let mut url = okta.endpoint("api/v1/groups")?;
    url.query_pairs_mut().append_pair("limit", LIMIT);
    pages(
        okta,
        url,
        "groups",
        "groups",
        progress,
        &mut listing.requests,
        |page| {
            for g in page {
                let id = g.get("id").and_then(Value::as_str);
                let name = g.pointer("/profile/name").and_then(Value::as_str);
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
        let mut url = okta.endpoint(&format!("api/v1/groups/{id}/users"))?;
        url.query_pairs_mut().append_pair("limit", LIMIT);
        let mut members = Vec::new();
        let what = format!("members of {name}");
        pages(
            okta,
            url,
            "groups",
            &what,
            progress,
            &mut listing.requests,
            |page| {
                for u in page {
                    if let Some(id) = add_user(users, u) {
                        members.push(id);
                    }
                }
            },
        )
        .await?;
        listing.groups.push(ListedGroup { name, members });
    }
    Ok(())
}

/// Records a user object; returns its id.
fn add_user(users: &mut BTreeMap<String, ListedUser>, u: &Value) -> Option<String> {
    let id = u.get("id").and_then(Value::as_str)?.to_owned();
    let status = u.get("status").and_then(Value::as_str).unwrap_or("");
    let profile = |k: &str| u.pointer(&format!("/profile/{k}")).and_then(Value::as_str);
    let name = [profile("firstName"), profile("lastName")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    users.entry(id.clone()).or_insert_with(|| ListedUser {
        id: id.clone(),
        email: profile("login").and_then(login_email),
        name: (!name.trim().is_empty()).then(|| name.trim().to_owned()),
        active: !OFFBOARDED.contains(&status),
    });
    Some(id)
}

/// Reads every page from `first` on, following `next` links; each page's array goes to `each`.
async fn pages(
    okta: &Okta,
    first: url::Url,
    bucket: &str,
    what: &str,
    progress: &Progress<'_>,
    requests: &mut u64,
    mut each: impl FnMut(&[Value]),
) -> Result<(), PullError> {
    let mut url = first;
    for _ in 0..MAX_PAGES {
        *requests += 1;
        let answer = okta
            .get(&url, bucket, progress)
            .await
            .map_err(|e| e.in_listing(what))?;
        let page: Vec<Value> = answer.json().map_err(|e| e.in_listing(what))?;
        progress(Step::Page {
            what: what.to_owned(),
            items: page.len(),
        });
        each(&page);
        match answer.next_link() {
            None => return Ok(()),
            Some(next) => {
                url = url::Url::parse(&next).map_err(|_| {
                    PullError::BadResponse(format!("{what}: a `next` link is not a URL"))
                })?;
            }
        }
    }
    Err(PullError::BadResponse(format!(
        "{what}: more than {MAX_PAGES} pages; giving up"
    )))
}
