//! The Directory Sync listing: every directory of the API key's environment, each one's users
//! (with their `state`) and groups, and the members of the groups the rules map, walking groups
//! to members (`/directory_users?group=`; the users' deprecated `groups` array is not read).

use std::collections::BTreeMap;

use serde_json::Value;

use super::events::List;
use super::{KEY, LIMIT, Workos};
use crate::pull::connector::{
    GroupFilter, ListedGroup, ListedUser, Listing, Progress, PullError, Step,
};
use crate::rules::name_key;
use crate::sources::workos::{user_email, user_is_active, user_name};

/// A guard against a provider whose cursors never end.
const MAX_PAGES: usize = 100_000;
/// Directory states whose users can be trusted to be complete (`linked` is the older name).
const USABLE: [&str; 2] = ["linked", "active"];

pub(super) async fn listing(
    workos: &Workos,
    groups: &GroupFilter,
    progress: &Progress<'_>,
) -> Listing {
    let mut found = Found::default();
    let mut listing = Listing::default();
    let problem = match read(workos, groups, progress, &mut found, &mut listing.requests).await {
        Ok(unusable) => unusable,
        Err(e) => Some(e.to_string()),
    };
    match problem {
        None => listing.complete = true,
        Some(p) => {
            tracing::warn!(problem = %p, "the WorkOS directory listing is incomplete");
            listing.problem = Some(p);
        }
    }
    listing.users = found.users.into_values().collect();
    listing.groups = found.groups.into_values().collect();
    listing
}

/// What the listing read so far: users by id, groups by name key (a name in several
/// directories is one IdP group to the rules: its members are merged).
#[derive(Default)]
struct Found {
    users: BTreeMap<String, ListedUser>,
    groups: BTreeMap<String, ListedGroup>,
}

impl Found {
    /// Records a directory user; returns its id.
    fn user(&mut self, u: &Value) -> Option<String> {
        let id = u.get("id").and_then(Value::as_str)?.to_owned();
        self.users.entry(id.clone()).or_insert_with(|| ListedUser {
            id: id.clone(),
            email: user_email(u),
            name: user_name(u),
            active: user_is_active(u),
        });
        Some(id)
    }
}

/// Reads every list; `Ok(Some(why))` when everything was read but a directory's state says its
/// users may not all be there.
async fn read(
    workos: &Workos,
    filter: &GroupFilter,
    progress: &Progress<'_>,
    found: &mut Found,
    requests: &mut u64,
) -> Result<Option<String>, PullError> {
    let mut directories: Vec<(String, String)> = Vec::new();
    let mut unusable: Option<String> = None;
    let pager = Pager { workos, progress };
    pager
        .all("directories", &[], KEY, "directories", requests, |page| {
            for d in page {
                let Some(id) = d.get("id").and_then(Value::as_str) else {
                    continue;
                };
                let name = d.get("name").and_then(Value::as_str).unwrap_or(id);
                let state = d.get("state").and_then(Value::as_str).unwrap_or("");
                if !USABLE.iter().any(|s| s.eq_ignore_ascii_case(state)) {
                    unusable.get_or_insert_with(|| {
                        format!("directory `{name}` ({id}) is `{state}`: its users may not all be listed")
                    });
                }
                directories.push((id.to_owned(), name.to_owned()));
            }
        })
        .await?;
    for (dir, name) in &directories {
        let users = workos.users_bucket(dir);
        let what = format!("users of {name}");
        pager
            .all(
                "directory_users",
                &[("directory", dir)],
                &users,
                &what,
                requests,
                |page| {
                    for u in page {
                        found.user(u);
                    }
                },
            )
            .await?;
        let mut wanted: Vec<(String, String)> = Vec::new();
        let what = format!("groups of {name}");
        pager
            .all(
                "directory_groups",
                &[("directory", dir)],
                KEY,
                &what,
                requests,
                |page| {
                    for g in page {
                        let id = g.get("id").and_then(Value::as_str);
                        let name = g.get("name").and_then(Value::as_str);
                        if let (Some(id), Some(name)) = (id, name)
                            && filter.wants(name)
                        {
                            wanted.push((id.to_owned(), name.to_owned()));
                        }
                    }
                },
            )
            .await?;
        for (gid, group) in wanted {
            let what = format!("members of {group}");
            let mut members = Vec::new();
            pager
                .all(
                    "directory_users",
                    &[("group", &gid)],
                    &users,
                    &what,
                    requests,
                    |page| {
                        for u in page {
                            members.extend(found.user(u));
                        }
                    },
                )
                .await?;
            let entry = found
                .groups
                .entry(name_key(&group))
                .or_insert_with(|| ListedGroup {
                    name: group.clone(),
                    members: Vec::new(),
                });
            entry.members.extend(members);
        }
    }
    // With an unusable directory everything was read (additions still apply), but nobody is
    // removed.
    Ok(unusable)
}

/// Reads WorkOS lists page by page.
struct Pager<'a> {
    workos: &'a Workos,
    progress: &'a Progress<'a>,
}

impl Pager<'_> {
    /// Every page of `GET path?params`, following `list_metadata.after` until it is null;
    /// each page's `data` goes to `each`.
    async fn all(
        &self,
        path: &str,
        params: &[(&str, &str)],
        bucket: &str,
        what: &str,
        requests: &mut u64,
        mut each: impl FnMut(&[Value]),
    ) -> Result<(), PullError> {
        let mut after: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut url = self.workos.endpoint(path)?;
            {
                let mut q = url.query_pairs_mut();
                q.extend_pairs(params).append_pair("limit", LIMIT);
                if let Some(a) = &after {
                    q.append_pair("after", a);
                }
            }
            *requests += 1;
            let answer = self
                .workos
                .get(&url, bucket, self.progress)
                .await
                .map_err(|e| e.in_listing(what))?;
            let page: List = answer.json().map_err(|e| e.in_listing(what))?;
            (self.progress)(Step::Page {
                what: what.to_owned(),
                items: page.data.len(),
            });
            each(&page.data);
            match page.list_metadata.after {
                None => return Ok(()),
                Some(next) if after.as_ref() == Some(&next) || page.data.is_empty() => {
                    return Err(PullError::BadResponse(format!(
                        "{what}: the `after` cursor does not move on"
                    )));
                }
                Some(next) => after = Some(next),
            }
        }
        Err(PullError::BadResponse(format!(
            "{what}: more than {MAX_PAGES} pages; giving up"
        )))
    }
}
