//! Resources as served: the stored attributes plus `schemas`, `id`, `members` and `meta`, then
//! `attributes` / `excludedAttributes` (RFC 7644 §3.4.2.5) applied.

use serde_json::{Map, Value, json};

use super::ScimError;
use super::filter::get_ci;
use super::path::AttrRef;
use super::resource::{Resolved, ResourceKind};

/// `meta` of a stored resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meta {
    pub created_ms: i64,
    pub modified_ms: i64,
    pub version: i64,
}

/// RFC 3339 in UTC with milliseconds, the one form every timestamp is written in (so that
/// they also compare as strings).
pub fn timestamp(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The resource as served. `base` is the absolute URL of `/scim/{source}/v2`; `members` is
/// set for a group when they were read.
pub fn render(
    kind: ResourceKind,
    id: &str,
    attrs: &Map<String, Value>,
    members: Option<Vec<Value>>,
    meta: Meta,
    base: &str,
) -> Value {
    let mut out = Map::new();
    out.insert("schemas".into(), Value::Array(Vec::new()));
    out.insert("id".into(), json!(id));
    for (k, v) in attrs {
        out.insert(k.clone(), v.clone());
    }
    if let Some(m) = members.filter(|m| !m.is_empty()) {
        out.insert("members".into(), Value::Array(m));
    }
    out.insert(
        "meta".into(),
        json!({
            "resourceType": kind.name(),
            "created": timestamp(meta.created_ms),
            "lastModified": timestamp(meta.modified_ms),
            "location": format!("{base}/{}/{id}", kind.endpoint()),
            "version": format!("W/\"{}\"", meta.version),
        }),
    );
    let mut v = Value::Object(out);
    set_schemas(kind, &mut v);
    v
}

/// `schemas`: the core schema, and each extension whose object is present.
fn set_schemas(kind: ResourceKind, v: &mut Value) {
    let Some(obj) = v.as_object_mut() else { return };
    let mut schemas = vec![json!(kind.core().id)];
    for e in kind.extensions() {
        if obj
            .get(e.id)
            .is_some_and(|x| x.as_object().is_some_and(|m| !m.is_empty()))
        {
            schemas.push(json!(e.id));
        }
    }
    obj.insert("schemas".into(), Value::Array(schemas));
}

/// Parses `attributes` / `excludedAttributes`: comma-separated attribute paths.
pub fn attribute_list(text: Option<&str>) -> Result<Vec<AttrRef>, ScimError> {
    text.map_or(Ok(Vec::new()), |t| {
        t.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| AttrRef::parse(s).map_err(|e| ScimError::invalid_value(e.detail)))
            .collect()
    })
}

/// Whether a projection keeps `members` (so that they need to be read at all).
pub fn wants_members(attributes: &[AttrRef], excluded: &[AttrRef]) -> bool {
    if !attributes.is_empty() {
        attributes.iter().any(|a| a.is_core("members"))
    } else {
        !excluded
            .iter()
            .any(|a| a.is_core("members") && a.sub.is_none())
    }
}

/// Applies `attributes` (keep these, plus `id` and `schemas`) or, when it is empty,
/// `excludedAttributes` (drop these, never `id`).
pub fn project(kind: ResourceKind, v: &mut Value, attributes: &[AttrRef], excluded: &[AttrRef]) {
    if !attributes.is_empty() {
        let mut kept = Map::new();
        for key in ["schemas", "id"] {
            if let Some(x) = v.get(key) {
                kept.insert(key.into(), x.clone());
            }
        }
        let mut keep = Value::Object(kept);
        for a in attributes {
            copy(kind, v, &mut keep, a);
        }
        *v = keep;
    } else {
        for a in excluded {
            if !a.is_core("id") {
                remove(kind, v, a);
            }
        }
    }
    set_schemas(kind, v);
}

/// Where an attribute lives in the served JSON: its container key (an extension URN, or none
/// for the top level) and its canonical name.
fn location(kind: ResourceKind, a: &AttrRef) -> Option<(Option<&'static str>, String)> {
    match kind.resolve(a) {
        Resolved::Attr(ext, attr) => Some((ext.map(|e| e.id), attr.name.to_owned())),
        Resolved::Extension(e) => Some((None, e.id.to_owned())),
        Resolved::ReadOnly | Resolved::Unknown => {
            // `meta`, `members` of a user's view, or nothing: keep the name as written.
            let known = ["meta", "members"]
                .iter()
                .find(|n| a.name.eq_ignore_ascii_case(n))?;
            Some((None, (*known).to_owned()))
        }
    }
}

fn copy(kind: ResourceKind, from: &Value, to: &mut Value, a: &AttrRef) {
    let Some((container, name)) = location(kind, a) else {
        return;
    };
    let src = match container {
        Some(urn) => from.get(urn),
        None => Some(from),
    };
    let Some(value) = src.and_then(|s| s.get(&name)) else {
        return;
    };
    let picked = match &a.sub {
        None => value.clone(),
        Some(sub) => match value {
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .filter_map(|i| get_ci(i, sub).map(|x| sub_only(i, sub, x)))
                    .collect(),
            ),
            other => match get_ci(other, sub) {
                Some(x) => sub_only(other, sub, x),
                None => return,
            },
        },
    };
    let dest: &mut Value = match container {
        Some(urn) => {
            let Some(obj) = to.as_object_mut() else {
                return;
            };
            obj.entry(urn.to_owned())
                .or_insert_with(|| Value::Object(Map::new()))
        }
        None => to,
    };
    if let Some(d) = dest.as_object_mut() {
        match (d.get_mut(&name), picked) {
            (Some(Value::Object(existing)), Value::Object(more)) => existing.extend(more),
            (_, p) => {
                d.insert(name, p);
            }
        }
    }
}

/// `{sub: value}` with the sub-attribute's stored spelling.
fn sub_only(obj: &Value, sub: &str, x: &Value) -> Value {
    let key = obj
        .as_object()
        .and_then(|m| m.keys().find(|k| k.eq_ignore_ascii_case(sub)).cloned())
        .unwrap_or_else(|| sub.to_owned());
    json!({ key: x })
}

fn remove(kind: ResourceKind, v: &mut Value, a: &AttrRef) {
    let Some((container, name)) = location(kind, a) else {
        return;
    };
    let holder = match container {
        Some(urn) => v.get_mut(urn),
        None => Some(&mut *v),
    };
    let Some(Value::Object(holder)) = holder else {
        return;
    };
    match &a.sub {
        None => {
            holder.remove(&name);
        }
        Some(sub) => match holder.get_mut(&name) {
            Some(Value::Array(items)) => {
                for i in items.iter_mut() {
                    if let Some(m) = i.as_object_mut() {
                        m.retain(|k, _| !k.eq_ignore_ascii_case(sub));
                    }
                }
            }
            Some(Value::Object(m)) => m.retain(|k, _| !k.eq_ignore_ascii_case(sub)),
            _ => {}
        },
    }
    if let Some(obj) = v.as_object_mut() {
        obj.retain(|k, x| !(k.starts_with("urn:") && x.as_object().is_some_and(Map::is_empty)));
    }
}
