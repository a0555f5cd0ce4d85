//! SCIM reads: a resource by id, and lists with a filter, `startIndex`/`count` and
//! `attributes`/`excludedAttributes`, answered from the SCIM view.
//!
//! A filter's indexable equality (`id`, `userName`/`displayName`, `externalId`, a member) picks
//! the candidate rows; the whole filter is then evaluated on them. Without a filter the page is
//! read in SQL. A group's members are read only when the answer or the filter needs them, and
//! a membership test (`members[value eq "u"]`) probes one row per user named.

use serde_json::{Value, json};

use super::filter::{self, Filter, Hint, MemberNeed};
use super::members;
use super::render::{self, Meta, project, wants_members};
use super::resource::ResourceKind;
use super::schema::LIST_URN;
use super::write::attrs_of;
use super::{MAX_RESULTS, ScimContext, ScimError};
use crate::store::{ScimGroupRow, ScimLookup, ScimUserRow};

/// A list request's parameters (query string or `.search` body).
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub filter: Option<String>,
    pub start_index: Option<i64>,
    pub count: Option<i64>,
    pub attributes: Option<String>,
    pub excluded_attributes: Option<String>,
}

/// A stored row of either kind.
enum Row {
    User(ScimUserRow),
    Group(ScimGroupRow),
}

impl Row {
    fn id(&self) -> &str {
        match self {
            Row::User(u) => &u.id,
            Row::Group(g) => &g.id,
        }
    }
}

/// The lookup for the most selective hint.
fn lookup(hints: &[Hint]) -> ScimLookup {
    let pick = |f: fn(&Hint) -> Option<ScimLookup>| hints.iter().find_map(f);
    pick(|h| matches!(h, Hint::Id(_)).then(|| ScimLookup::Id(value(h))))
        .or_else(|| pick(|h| matches!(h, Hint::Name(_)).then(|| ScimLookup::Name(value(h)))))
        .or_else(|| {
            pick(|h| matches!(h, Hint::ExternalId(_)).then(|| ScimLookup::ExternalId(value(h))))
        })
        .or_else(|| pick(|h| matches!(h, Hint::Member(_)).then(|| ScimLookup::Member(value(h)))))
        .unwrap_or(ScimLookup::All)
}

fn value(h: &Hint) -> String {
    match h {
        Hint::Id(v) | Hint::Name(v) | Hint::ExternalId(v) | Hint::Member(v) => v.clone(),
    }
}

impl ScimContext<'_> {
    /// `GET /{Users|Groups}/{id}`.
    pub async fn get(
        &self,
        kind: ResourceKind,
        id: &str,
        attributes: Option<&str>,
        excluded: Option<&str>,
    ) -> Result<Value, ScimError> {
        let (attributes, excluded) = (
            render::attribute_list(attributes)?,
            render::attribute_list(excluded)?,
        );
        let rows = self
            .rows(kind, &ScimLookup::Id(id.to_owned()), (0, 1))
            .await?;
        let Some(row) = rows.into_iter().next() else {
            return Err(ScimError::not_found(format!(
                "no {} with id {id}",
                kind.name()
            )));
        };
        let need = if wants_members(&attributes, &excluded) {
            MemberNeed::All
        } else {
            MemberNeed::None
        };
        let mut v = self
            .render_rows(kind, vec![row], &need)
            .await?
            .pop()
            .unwrap_or(Value::Null);
        project(kind, &mut v, &attributes, &excluded);
        Ok(v)
    }

    async fn rows(
        &self,
        kind: ResourceKind,
        l: &ScimLookup,
        page: (i64, i64),
    ) -> Result<Vec<Row>, ScimError> {
        Ok(match kind {
            ResourceKind::User => self
                .store
                .scim_users(self.source, l, page)
                .await?
                .into_iter()
                .map(Row::User)
                .collect(),
            ResourceKind::Group => self
                .store
                .scim_groups(self.source, l, page)
                .await?
                .into_iter()
                .map(Row::Group)
                .collect(),
        })
    }

    /// Serves rows; groups get the members `need` says (all, or only the users named).
    async fn render_rows(
        &self,
        kind: ResourceKind,
        rows: Vec<Row>,
        need: &MemberNeed,
    ) -> Result<Vec<Value>, ScimError> {
        let ids: Vec<&str> = rows.iter().map(Row::id).collect();
        let mut members = match (kind, need) {
            (ResourceKind::Group, MemberNeed::All) => {
                Some(self.store.scim_members(self.source, &ids, None).await?)
            }
            (ResourceKind::Group, MemberNeed::Values(users)) => Some(
                self.store
                    .scim_members(self.source, &ids, Some(users))
                    .await?,
            ),
            _ => None,
        };
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            out.push(match row {
                Row::User(u) => self.render_user(&u, &attrs_of(&u.attrs)?),
                Row::Group(g) => {
                    let list = members.as_mut().map(|m| {
                        m.remove(&g.id)
                            .unwrap_or_default()
                            .iter()
                            .map(members::member_json)
                            .collect()
                    });
                    let meta = Meta {
                        created_ms: g.created_ms,
                        modified_ms: g.modified_ms,
                        version: g.version,
                    };
                    render::render(kind, &g.id, &attrs_of(&g.attrs)?, list, meta, &self.base)
                }
            });
        }
        Ok(out)
    }

    /// `GET /{Users|Groups}` and `POST /{Users|Groups}/.search`: a ListResponse.
    pub async fn list(&self, kind: ResourceKind, q: &ListQuery) -> Result<Value, ScimError> {
        let attributes = render::attribute_list(q.attributes.as_deref())?;
        let excluded = render::attribute_list(q.excluded_attributes.as_deref())?;
        let filter = q
            .filter
            .as_deref()
            .filter(|f| !f.trim().is_empty())
            .map(filter::parse)
            .transpose()?;
        // RFC 7644 §3.4.2.4: startIndex < 1 means 1; a negative count means 0.
        let start = q.start_index.unwrap_or(1).max(1);
        let count = q.count.unwrap_or(MAX_RESULTS).clamp(0, MAX_RESULTS);
        let wanted = wants_members(&attributes, &excluded);
        let (total, mut page) = match &filter {
            None => {
                let total = match kind {
                    ResourceKind::User => self.store.count_scim_users(self.source).await?,
                    ResourceKind::Group => self.store.count_scim_groups(self.source).await?,
                };
                let rows = if count == 0 {
                    Vec::new()
                } else {
                    self.rows(kind, &ScimLookup::All, (start - 1, count))
                        .await?
                };
                let need = if wanted {
                    MemberNeed::All
                } else {
                    MemberNeed::None
                };
                (total, self.render_rows(kind, rows, &need).await?)
            }
            Some(f) => self.filtered(kind, f, start, count, wanted).await?,
        };
        for v in &mut page {
            project(kind, v, &attributes, &excluded);
        }
        Ok(json!({
            "schemas": [LIST_URN],
            "totalResults": total,
            "startIndex": start,
            "itemsPerPage": page.len(),
            "Resources": page,
        }))
    }

    /// The matching resources' count and the requested page of them.
    async fn filtered(
        &self,
        kind: ResourceKind,
        f: &Filter,
        start: i64,
        count: i64,
        wanted: bool,
    ) -> Result<(i64, Vec<Value>), ScimError> {
        let l = lookup(&filter::index_hints(f, kind.name_attr()));
        let rows = self.rows(kind, &l, (0, i64::MAX)).await?;
        let need = if kind == ResourceKind::Group {
            filter::member_need(f)
        } else {
            MemberNeed::None
        };
        let rendered = self.render_rows(kind, rows, &need).await?;
        let matching: Vec<Value> = rendered
            .into_iter()
            .filter(|v| filter::matches(f, v, &kind))
            .collect();
        let total = i64::try_from(matching.len()).unwrap_or(i64::MAX);
        let skip = usize::try_from(start - 1).unwrap_or(usize::MAX);
        let take = usize::try_from(count).unwrap_or(0);
        let page: Vec<Value> = matching.into_iter().skip(skip).take(take).collect();
        // The members shown are the whole list, whatever part the filter read (the projection
        // drops them when they are not wanted).
        if kind == ResourceKind::Group && wanted && need != MemberNeed::All {
            let ids: Vec<String> = page
                .iter()
                .filter_map(|v| v["id"].as_str().map(str::to_owned))
                .collect();
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                let rows = self.rows(kind, &ScimLookup::Id(id), (0, 1)).await?;
                out.extend(self.render_rows(kind, rows, &MemberNeed::All).await?);
            }
            return Ok((total, out));
        }
        Ok((total, page))
    }
}

/// `attributes` / `excludedAttributes` given as JSON arrays (`.search`), as the query text.
pub fn join_list(v: Option<&Value>) -> Option<String> {
    let items = v?.as_array()?;
    let names: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
    (!names.is_empty()).then(|| names.join(","))
}
