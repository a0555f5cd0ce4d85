//! A group's `members` in PATCH, PUT and POST: the forms IdPs send, turned into the members
//! added and removed, reading the current list only when an operation needs it.
//!
//! - add: `{"op":"Add","path":"members","value":[{"value":"<id>"}]}` (Entra sends `$ref:
//!   null`, Okta `display`), in batches;
//! - remove, RFC form: `path: members[value eq "<id>"]` (Okta, Entra with the flag), also
//!   `or`-ed; Entra's default: `path: members` with a `value` list; without a value: all;
//! - replace: `path: members` with the whole list (Okta's full push), or `[]`.
//!
//! Adds and removes by id touch only the ids named, so a batch on a group of 10,000 members
//! reads 100 memberships, not 10,000. A member must be a User of the same source.

use serde_json::{Value, json};

use super::ScimError;
use super::filter::{self, Filter, Op};
use super::patch::{OpKind, Operation};
use super::path::PatchPath;
use crate::store::ScimMemberRow;

/// One member as sent: its user id, and `$ref` / `type` when given (echoed back as sent).
pub type Member = ScimMemberRow;

/// One operation on the member list.
#[derive(Debug, Clone, PartialEq)]
pub enum MemberOp {
    Add(Vec<Member>),
    Remove(Vec<String>),
    Clear,
    Replace(Vec<Member>),
    /// `remove` with a filter other than `value eq` (needs the whole list).
    RemoveWhere(Filter),
}

/// Reads member values: objects with `value` (and optionally `$ref`, `type`; `display` is
/// ignored), or bare ids.
pub fn parse_members(v: &Value) -> Result<Vec<Member>, ScimError> {
    let items: Vec<&Value> = match v {
        Value::Null => Vec::new(),
        Value::Array(items) => items.iter().collect(),
        single => vec![single],
    };
    let mut out: Vec<Member> = Vec::with_capacity(items.len());
    for item in items {
        let m = match item {
            Value::String(id) => Member {
                user_id: id.clone(),
                reference: None,
                kind: None,
            },
            Value::Object(_) => {
                let id = filter::get_ci(item, "value")
                    .and_then(Value::as_str)
                    .filter(|s| !s.trim().is_empty())
                    .ok_or_else(|| {
                        ScimError::invalid_value(format!(
                            "a member needs a `value` (the user's id): {item}"
                        ))
                    })?;
                let text = |k: &str| {
                    filter::get_ci(item, k)
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                };
                let kind = text("type");
                if kind
                    .as_deref()
                    .is_some_and(|k| !k.eq_ignore_ascii_case("User"))
                {
                    return Err(ScimError::invalid_value(format!(
                        "member `{id}` has type {kind:?}: only Users can be members (no nested groups)"
                    )));
                }
                Member {
                    user_id: id.to_owned(),
                    reference: text("$ref"),
                    kind,
                }
            }
            other => {
                return Err(ScimError::invalid_value(format!(
                    "a member must be an object, not {other}"
                )));
            }
        };
        if !out.iter().any(|x| x.user_id == m.user_id) {
            out.push(m);
        }
    }
    Ok(out)
}

/// The ids of `value eq "…"` tests joined by `or`, if the filter is only that.
fn value_ids(f: &Filter) -> Option<Vec<String>> {
    match f {
        Filter::Or(a, b) => {
            let mut ids = value_ids(a)?;
            ids.extend(value_ids(b)?);
            Some(ids)
        }
        Filter::Compare {
            attr,
            op: Op::Eq,
            value: Value::String(id),
        } if attr.name.eq_ignore_ascii_case("value") && attr.sub.is_none() => {
            Some(vec![id.clone()])
        }
        _ => None,
    }
}

/// The member operation of a PATCH operation whose path is `members` (or `members[…]`).
pub fn member_op(
    kind: OpKind,
    path: &PatchPath,
    value: Option<&Value>,
) -> Result<MemberOp, ScimError> {
    if path.attr.sub.is_some() || path.sub_after_filter.is_some() {
        return Err(ScimError::invalid_path(
            "members are added and removed whole; no sub-attribute path",
        ));
    }
    Ok(match (kind, &path.filter) {
        (OpKind::Add, None) => {
            MemberOp::Add(parse_members(value.ok_or_else(|| {
                ScimError::invalid_value("`add` of members needs a `value`")
            })?)?)
        }
        (OpKind::Replace, None) => match value.map(parse_members).transpose()? {
            Some(list) if !list.is_empty() => MemberOp::Replace(list),
            _ => MemberOp::Clear,
        },
        (OpKind::Remove, None) => match value.filter(|v| !v.is_null()) {
            Some(v) => MemberOp::Remove(parse_members(v)?.into_iter().map(|m| m.user_id).collect()),
            None => MemberOp::Clear,
        },
        (OpKind::Remove, Some(f)) => match value_ids(f) {
            Some(ids) => MemberOp::Remove(ids),
            None => MemberOp::RemoveWhere(f.clone()),
        },
        (_, Some(_)) => {
            return Err(ScimError::invalid_path(
                "a filter on `members` is supported with `remove` only; add or replace whole members",
            ));
        }
    })
}

/// Splits a group PATCH: the operations on `members` (including a `members` key of a
/// path-less value object) and the rest.
pub fn split(ops: Vec<Operation>) -> Result<(Vec<Operation>, Vec<MemberOp>), ScimError> {
    let mut rest = Vec::new();
    let mut members = Vec::new();
    for op in ops {
        match &op.path {
            Some(p) if p.attr.is_core("members") => {
                members.push(member_op(op.kind, p, op.value.as_ref())?)
            }
            Some(_) => rest.push(op),
            None => {
                let mut op = op;
                if let Some(Value::Object(values)) = &mut op.value
                    && let Some(key) = values
                        .keys()
                        .find(|k| k.eq_ignore_ascii_case("members"))
                        .cloned()
                {
                    let v = values.remove(&key);
                    let path = PatchPath::parse("members")?;
                    members.push(member_op(op.kind, &path, v.as_ref())?);
                }
                rest.push(op);
            }
        }
    }
    Ok((rest, members))
}

/// Whether applying `ops` needs the group's whole member list.
pub fn needs_all(ops: &[MemberOp]) -> bool {
    ops.iter().any(|o| {
        matches!(
            o,
            MemberOp::Clear | MemberOp::Replace(_) | MemberOp::RemoveWhere(_)
        )
    })
}

/// The user ids `ops` add or remove by id.
pub fn mentioned(ops: &[MemberOp]) -> Vec<String> {
    let mut ids: Vec<String> = ops
        .iter()
        .flat_map(|o| match o {
            MemberOp::Add(m) | MemberOp::Replace(m) => {
                m.iter().map(|m| m.user_id.clone()).collect()
            }
            MemberOp::Remove(ids) => ids.clone(),
            MemberOp::Clear | MemberOp::RemoveWhere(_) => Vec::new(),
        })
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

/// The members `ops` add and the ids they remove, given `current`: the whole list when
/// [`needs_all`], else at least the current members among [`mentioned`].
pub fn diff(current: &[Member], ops: &[MemberOp]) -> (Vec<Member>, Vec<String>) {
    let mut list: Vec<Member> = current.to_vec();
    for op in ops {
        match op {
            MemberOp::Add(ms) => {
                for m in ms {
                    if !list.iter().any(|x| x.user_id == m.user_id) {
                        list.push(m.clone());
                    }
                }
            }
            MemberOp::Remove(ids) => list.retain(|x| !ids.contains(&x.user_id)),
            MemberOp::Clear => list.clear(),
            MemberOp::Replace(ms) => {
                let kept: Vec<Member> = ms
                    .iter()
                    .map(|m| {
                        list.iter()
                            .find(|x| x.user_id == m.user_id)
                            .cloned()
                            .unwrap_or_else(|| m.clone())
                    })
                    .collect();
                list = kept;
            }
            MemberOp::RemoveWhere(f) => {
                let case = MemberCase;
                list.retain(|x| !filter::matches(f, &member_json(x), &case));
            }
        }
    }
    let added = list
        .iter()
        .filter(|m| !current.iter().any(|c| c.user_id == m.user_id))
        .cloned()
        .collect();
    let removed = current
        .iter()
        .filter(|c| !list.iter().any(|m| m.user_id == c.user_id))
        .map(|c| c.user_id.clone())
        .collect();
    (added, removed)
}

/// A member as served: `value`, and `$ref` / `type` when they were sent.
pub fn member_json(m: &Member) -> Value {
    let mut v = json!({ "value": m.user_id });
    if let Some(r) = &m.reference {
        v["$ref"] = json!(r);
    }
    if let Some(k) = &m.kind {
        v["type"] = json!(k);
    }
    v
}

/// Member ids compare with case; `type` without.
struct MemberCase;

impl filter::CaseExact for MemberCase {
    fn case_exact(&self, attr: &super::path::AttrRef, _: Option<&str>) -> bool {
        !attr.name.eq_ignore_ascii_case("type")
    }
}

#[cfg(test)]
#[path = "members_tests.rs"]
mod tests;
