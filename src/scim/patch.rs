//! PATCH (RFC 7644 §3.5.2) on a resource's stored attributes, including the forms Entra ID and
//! Okta send: `op` in any case (`Replace`), path-less `value` objects whose keys are paths
//! (`"name.givenName"`, `"urn:…:User:department"`), booleans as strings, `add` on a singular
//! attribute (= replace), `replace` of `emails[type eq "work"].value` that matches nothing (the
//! element is created), and `remove` of a multi-valued attribute with a `value` list.
//!
//! Operations apply in order to a copy; the caller validates the result as a whole
//! (`resource::normalize`) and stores it only if every operation succeeded (atomic).
//! Unknown and read-only attributes are ignored (Okta sends `id`, Entra attributes this service
//! does not keep); a group's `members` are not handled here (`members.rs`).

use serde_json::{Map, Value};

use super::ScimError;
use super::filter::{self, CaseExact};
use super::patch_elements::{
    every_element, filtered, is_primary, list_of, object_of, unset_primary,
};
use super::path::{AttrRef, PatchPath};
use super::resource::{Resolved, ResourceKind, coerce};
use super::schema::{Attr, Kind};

/// `add`, `replace` or `remove`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    Add,
    Replace,
    Remove,
}

/// One PATCH operation.
#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    pub kind: OpKind,
    pub path: Option<PatchPath>,
    pub value: Option<Value>,
}

/// Most operations one PATCH may carry.
pub const MAX_OPERATIONS: usize = 1000;

/// Reads a PatchOp body: `Operations` (any case) with `op`, `path` and `value` (any case).
pub fn parse_request(body: &Value) -> Result<Vec<Operation>, ScimError> {
    let ops = filter::get_ci(body, "Operations")
        .and_then(Value::as_array)
        .ok_or_else(|| ScimError::invalid_syntax("a PATCH body needs an `Operations` list"))?;
    if ops.is_empty() {
        return Err(ScimError::invalid_value("`Operations` is empty"));
    }
    if ops.len() > MAX_OPERATIONS {
        return Err(ScimError::too_many(format!(
            "{} operations; at most {MAX_OPERATIONS} per request",
            ops.len()
        )));
    }
    ops.iter()
        .enumerate()
        .map(|(i, op)| {
            let kind = match filter::get_ci(op, "op")
                .and_then(Value::as_str)
                .map(str::to_ascii_lowercase)
            {
                Some(k) if k == "add" => OpKind::Add,
                Some(k) if k == "replace" => OpKind::Replace,
                Some(k) if k == "remove" => OpKind::Remove,
                other => {
                    return Err(ScimError::invalid_value(format!(
                        "Operations[{i}].op must be add, replace or remove, not {other:?}"
                    )));
                }
            };
            let path = match filter::get_ci(op, "path") {
                None | Some(Value::Null) => None,
                Some(Value::String(p)) if p.trim().is_empty() => None,
                Some(Value::String(p)) => Some(PatchPath::parse(p)?),
                Some(_) => {
                    return Err(ScimError::invalid_path(format!(
                        "Operations[{i}].path must be a string"
                    )));
                }
            };
            let value = filter::get_ci(op, "value").cloned();
            Ok(Operation { kind, path, value })
        })
        .collect()
}

/// Applies one operation to `doc`, the stored attributes (extensions under their URN).
pub fn apply(
    kind: ResourceKind,
    doc: &mut Map<String, Value>,
    op: &Operation,
) -> Result<(), ScimError> {
    match &op.path {
        Some(p) => apply_path(kind, doc, op.kind, p, op.value.as_ref()),
        None if op.kind == OpKind::Remove => Err(ScimError::no_target("`remove` needs a `path`")),
        None => {
            let Some(Value::Object(values)) = &op.value else {
                return Err(ScimError::invalid_value(
                    "without a `path`, `value` must be an object of attributes",
                ));
            };
            for (key, value) in values {
                // Keys may be paths (Entra: "name.givenName", URN-qualified names).
                if let Ok(p) = PatchPath::parse(key) {
                    apply_path(kind, doc, op.kind, &p, Some(value))?;
                }
            }
            Ok(())
        }
    }
}

fn apply_path(
    kind: ResourceKind,
    doc: &mut Map<String, Value>,
    op: OpKind,
    p: &PatchPath,
    value: Option<&Value>,
) -> Result<(), ScimError> {
    match kind.resolve(&p.attr) {
        Resolved::ReadOnly | Resolved::Unknown => {
            tracing::debug!(scim.path = %p.attr.name, "PATCH of an attribute not kept; ignored");
            Ok(())
        }
        Resolved::Extension(e) => match (op, value) {
            (OpKind::Remove, _) => {
                doc.remove(e.id);
                Ok(())
            }
            (_, Some(Value::Object(inner))) => {
                for (k, v) in inner {
                    let sub = PatchPath {
                        attr: AttrRef {
                            schema: Some(e.id.to_owned()),
                            name: k.clone(),
                            sub: None,
                        },
                        filter: None,
                        sub_after_filter: None,
                    };
                    apply_path(kind, doc, op, &sub, Some(v))?;
                }
                Ok(())
            }
            _ => Err(ScimError::invalid_value(format!(
                "`{}` takes an object",
                e.id
            ))),
        },
        Resolved::Attr(ext, a) => {
            let Some(urn) = ext.map(|e| e.id) else {
                return edit(doc, a, op, p, value);
            };
            let mut inner = match doc.remove(urn) {
                Some(Value::Object(m)) => m,
                _ => Map::new(),
            };
            let result = edit(&mut inner, a, op, p, value);
            if !inner.is_empty() {
                doc.insert(urn.to_owned(), Value::Object(inner));
            }
            result
        }
    }
}

/// Case rules inside `attr[…]`: the sub-attributes'.
pub(super) struct SubCase(pub(super) &'static Attr);

impl CaseExact for SubCase {
    fn case_exact(&self, attr: &AttrRef, _: Option<&str>) -> bool {
        self.0.sub_attr(&attr.name).is_some_and(|s| s.case_exact)
    }
}

pub(super) fn needs_value(value: Option<&Value>, a: &Attr) -> Result<Value, ScimError> {
    value.cloned().ok_or_else(|| {
        ScimError::invalid_value(format!("the operation on `{}` needs a `value`", a.name))
    })
}

fn edit(
    c: &mut Map<String, Value>,
    a: &'static Attr,
    op: OpKind,
    p: &PatchPath,
    value: Option<&Value>,
) -> Result<(), ScimError> {
    let sub_name = p.attr.sub.as_deref().or(p.sub_after_filter.as_deref());
    let sub = match sub_name {
        None => None,
        Some(_) if a.kind != Kind::Complex => {
            return Err(ScimError::invalid_path(format!(
                "`{}` has no sub-attributes",
                a.name
            )));
        }
        Some(s) => match a.sub_attr(s) {
            Some(sa) => Some(sa),
            None => return Ok(()),
        },
    };
    let result = match (&p.filter, sub) {
        (None, None) => whole(c, a, op, value),
        (None, Some(s)) => every_element(c, a, s, op, value),
        (Some(_), _) if !a.multi => Err(ScimError::invalid_path(format!(
            "`{}` is not multi-valued; it takes no filter",
            a.name
        ))),
        (Some(f), s) => filtered(c, a, f, s, op, value),
    };
    if matches!(c.get(a.name), Some(Value::Array(x)) if x.is_empty())
        || matches!(c.get(a.name), Some(Value::Object(x)) if x.is_empty())
        || matches!(c.get(a.name), Some(Value::Null))
    {
        c.remove(a.name);
    }
    result
}

fn whole(
    c: &mut Map<String, Value>,
    a: &'static Attr,
    op: OpKind,
    value: Option<&Value>,
) -> Result<(), ScimError> {
    match op {
        OpKind::Remove => {
            match value.filter(|v| !v.is_null() && a.multi) {
                // Entra: `remove` with the values to drop.
                Some(v) => remove_values(c, a, v),
                None => {
                    c.remove(a.name);
                }
            }
            Ok(())
        }
        OpKind::Add if a.multi => {
            let new = coerce(a, &needs_value(value, a)?)?;
            let items: Vec<Value> = match new {
                Some(Value::Array(items)) => items,
                _ => Vec::new(),
            };
            let list = list_of(c, a);
            for item in items {
                if !list.contains(&item) {
                    if is_primary(&item) {
                        unset_primary(list);
                    }
                    list.push(item);
                }
            }
            Ok(())
        }
        OpKind::Add | OpKind::Replace if a.kind == Kind::Complex && !a.multi => {
            match coerce(a, &needs_value(value, a)?)? {
                Some(Value::Object(more)) => {
                    let target = object_of(c, a.name);
                    target.extend(more);
                }
                _ if op == OpKind::Replace => {
                    c.remove(a.name);
                }
                _ => {}
            }
            Ok(())
        }
        OpKind::Add | OpKind::Replace => {
            match coerce(a, &needs_value(value, a)?)? {
                Some(v) => c.insert(a.name.to_owned(), v),
                None => c.remove(a.name),
            };
            Ok(())
        }
    }
}

/// Drops the elements whose `value` (or whole value) equals one of `v`'s.
fn remove_values(c: &mut Map<String, Value>, a: &Attr, v: &Value) {
    let gone: Vec<Value> = match v {
        Value::Array(items) => items.clone(),
        single => vec![single.clone()],
    };
    let key = |x: &Value| {
        filter::get_ci(x, "value")
            .cloned()
            .unwrap_or_else(|| x.clone())
    };
    let gone: Vec<Value> = gone.iter().map(key).collect();
    if let Some(Value::Array(items)) = c.get_mut(a.name) {
        items.retain(|i| !gone.contains(&key(i)));
    }
}

#[cfg(test)]
#[path = "patch_tests.rs"]
mod tests;
