//! The two resource types and how a request's JSON becomes the stored attributes.
//!
//! Lenient on input (RFC 7644 §3.12's robustness and what IdPs send): attribute names ignore
//! case, read-only attributes (`id`, `meta`, `groups`, `schemas`) and unknown ones (Okta's
//! `password`, Entra's `addresses`) are ignored, booleans may be strings (`"False"`), numbers
//! become strings, `null` and `[]` mean unassigned, extension attributes may come nested under
//! their URN or URN-qualified at the top level. The result holds canonical names only, so it
//! is echoed back exactly. Strict where it matters: `userName` and a group's `displayName` are
//! required, must not be blank, and must not begin or end with whitespace.

use serde_json::{Map, Value};

use super::ScimError;
use super::filter::CaseExact;
use super::path::AttrRef;
use super::schema::{self, Attr, Kind, Mutability, Schema};

/// Users or Groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceKind {
    User,
    Group,
}

/// `externalId`: a common attribute (RFC 7643 §3.1), set by the client, compared with case.
pub static EXTERNAL_ID: Attr = Attr {
    case_exact: true,
    ..schema::string(
        "externalId",
        "The client's own identifier for the resource.",
    )
};

impl ResourceKind {
    /// The core schema.
    pub fn core(self) -> &'static Schema {
        match self {
            ResourceKind::User => &schema::USER,
            ResourceKind::Group => &schema::GROUP,
        }
    }
    /// The schema extensions.
    pub fn extensions(self) -> &'static [&'static Schema] {
        static USER_EXT: [&Schema; 1] = [&schema::ENTERPRISE];
        match self {
            ResourceKind::User => &USER_EXT,
            ResourceKind::Group => &[],
        }
    }
    /// `User` or `Group`.
    pub fn name(self) -> &'static str {
        self.core().name
    }
    /// `Users` or `Groups`.
    pub fn endpoint(self) -> &'static str {
        match self {
            ResourceKind::User => "Users",
            ResourceKind::Group => "Groups",
        }
    }
    /// The attribute that names a resource uniquely: `userName` or `displayName`.
    pub fn name_attr(self) -> &'static str {
        match self {
            ResourceKind::User => "userName",
            ResourceKind::Group => "displayName",
        }
    }

    /// What an attribute reference designates.
    pub fn resolve(self, r: &AttrRef) -> Resolved {
        let core = self.core();
        let ext = match r.schema.as_deref() {
            None => None,
            Some(urn) if urn.eq_ignore_ascii_case(core.id) => None,
            Some(urn) => match self
                .extensions()
                .iter()
                .find(|e| e.id.eq_ignore_ascii_case(urn))
            {
                Some(e) => Some(*e),
                None => return Resolved::Unknown,
            },
        };
        match ext {
            Some(e) if r.name.is_empty() => Resolved::Extension(e),
            Some(e) => e
                .attr(&r.name)
                .map_or(Resolved::Unknown, |a| Resolved::Attr(Some(e), a)),
            None => {
                if r.name.eq_ignore_ascii_case("externalId") {
                    return Resolved::Attr(None, &EXTERNAL_ID);
                }
                if ["id", "meta", "schemas"]
                    .iter()
                    .any(|n| r.name.eq_ignore_ascii_case(n))
                {
                    return Resolved::ReadOnly;
                }
                match core.attr(&r.name) {
                    Some(a) if a.mutability == Mutability::ReadOnly => Resolved::ReadOnly,
                    Some(a) => Resolved::Attr(None, a),
                    None => Resolved::Unknown,
                }
            }
        }
    }
}

/// See [`ResourceKind::resolve`].
#[derive(Debug, Clone, Copy)]
pub enum Resolved {
    /// An attribute of the core schema (`None`) or of an extension.
    Attr(Option<&'static Schema>, &'static Attr),
    /// A whole extension (`urn:…:enterprise:2.0:User`).
    Extension(&'static Schema),
    /// Read-only (ignored in requests).
    ReadOnly,
    /// Not served (ignored in requests).
    Unknown,
}

impl CaseExact for ResourceKind {
    fn case_exact(&self, attr: &AttrRef, sub: Option<&str>) -> bool {
        if attr.is_core("id") {
            return true;
        }
        match self.resolve(attr) {
            Resolved::Attr(_, a) => match sub {
                Some(s) => a.sub_attr(s).is_some_and(|s| s.case_exact),
                None => a.case_exact,
            },
            _ => false,
        }
    }
}

/// Turns a request's resource JSON into the attributes to store (see the module docs).
/// A group's `members` are left to the caller.
pub fn normalize(kind: ResourceKind, raw: &Value) -> Result<Map<String, Value>, ScimError> {
    let Some(obj) = raw.as_object() else {
        return Err(ScimError::invalid_syntax("the body must be a JSON object"));
    };
    let mut out = Map::new();
    for (key, value) in obj {
        let Ok(r) = AttrRef::parse(key) else { continue };
        if r.sub.is_some() {
            continue;
        }
        match kind.resolve(&r) {
            Resolved::Attr(ext, a) => {
                let container = match ext {
                    None => &mut out,
                    Some(e) => ext_object(&mut out, e),
                };
                set_coerced(container, a, value)?;
            }
            Resolved::Extension(e) => {
                let Some(inner) = value.as_object() else {
                    if value.is_null() {
                        continue;
                    }
                    return Err(ScimError::invalid_value(format!(
                        "`{}` must be an object",
                        e.id
                    )));
                };
                for (k, v) in inner {
                    if let Some(a) = e.attr(k).filter(|a| a.mutability != Mutability::ReadOnly) {
                        set_coerced(ext_object(&mut out, e), a, v)?;
                    }
                }
            }
            Resolved::ReadOnly | Resolved::Unknown => {}
        }
    }
    // A group's members are rows of their own (`members.rs`), never stored attributes.
    if kind == ResourceKind::Group {
        out.remove("members");
    }
    out.retain(|_, v| !matches!(v, Value::Object(m) if m.is_empty()));
    for a in kind.core().attrs.iter().filter(|a| a.required) {
        if !out.contains_key(a.name) {
            return Err(ScimError::invalid_value(format!(
                "`{}` is required",
                a.name
            )));
        }
    }
    if let Some(Value::String(name)) = out.get(kind.name_attr()) {
        check_name(kind.name_attr(), name)?;
    }
    one_primary(&out)?;
    Ok(out)
}

/// The extension's object in `out`, created when missing.
fn ext_object<'a>(out: &'a mut Map<String, Value>, e: &Schema) -> &'a mut Map<String, Value> {
    let v = out
        .entry(e.id.to_owned())
        .or_insert_with(|| Value::Object(Map::new()));
    if !v.is_object() {
        *v = Value::Object(Map::new());
    }
    match v {
        Value::Object(m) => m,
        _ => unreachable!("just made an object"),
    }
}

fn set_coerced(
    container: &mut Map<String, Value>,
    a: &Attr,
    value: &Value,
) -> Result<(), ScimError> {
    match coerce(a, value)? {
        Some(v) => container.insert(a.name.to_owned(), v),
        None => container.remove(a.name),
    };
    Ok(())
}

/// The userName / displayName policy: not blank, no whitespace at either end, no control
/// characters. Stored and echoed as sent; compared without regard to case.
pub fn check_name(attr: &str, name: &str) -> Result<(), ScimError> {
    if name.trim().is_empty() {
        return Err(ScimError::invalid_value(format!(
            "`{attr}` must not be empty"
        )));
    }
    if name.trim() != name {
        return Err(ScimError::invalid_value(format!(
            "`{attr}` must not begin or end with whitespace; send `{}`",
            name.trim()
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(ScimError::invalid_value(format!(
            "`{attr}` must not contain control characters"
        )));
    }
    Ok(())
}

/// `primary: true` may appear at most once per multi-valued attribute (RFC 7643 §2.4).
fn one_primary(out: &Map<String, Value>) -> Result<(), ScimError> {
    for (name, v) in out {
        if let Value::Array(items) = v {
            let primaries = items
                .iter()
                .filter(|i| i.get("primary") == Some(&Value::Bool(true)))
                .count();
            if primaries > 1 {
                return Err(ScimError::invalid_value(format!(
                    "`{name}` has {primaries} values with `primary: true`; at most one may be primary"
                )));
            }
        }
    }
    Ok(())
}

/// A value as the attribute's type, or `None` for unassigned (`null`, `[]`, `{}`).
pub fn coerce(a: &Attr, v: &Value) -> Result<Option<Value>, ScimError> {
    if v.is_null() {
        return Ok(None);
    }
    if a.multi {
        let items: Vec<&Value> = match v {
            Value::Array(items) => items.iter().collect(),
            single => vec![single],
        };
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            if let Some(c) = coerce_one(a, item)? {
                out.push(c);
            }
        }
        return Ok((!out.is_empty()).then_some(Value::Array(out)));
    }
    if v.is_array() {
        return Err(ScimError::invalid_value(format!(
            "`{}` takes a single value, not a list",
            a.name
        )));
    }
    coerce_one(a, v)
}

fn coerce_one(a: &Attr, v: &Value) -> Result<Option<Value>, ScimError> {
    let wrong =
        || ScimError::invalid_value(format!("`{}` has a value of the wrong type: {v}", a.name));
    Ok(match (a.kind, v) {
        (_, Value::Null) => None,
        (Kind::Complex, Value::Object(m)) => {
            let mut out = Map::new();
            for (k, sv) in m {
                let Some(sub) = a.sub_attr(k) else { continue };
                if sub.mutability == Mutability::ReadOnly {
                    continue;
                }
                if let Some(c) = coerce_one(sub, sv)? {
                    out.insert(sub.name.to_owned(), c);
                }
            }
            (!out.is_empty()).then_some(Value::Object(out))
        }
        // `emails: ["a@b"]`: the value of a complex attribute that has one.
        (Kind::Complex, single) if a.sub_attr("value").is_some() && !single.is_array() => {
            let value = a
                .sub_attr("value")
                .map(|s| coerce_one(s, single))
                .transpose()?
                .flatten();
            value.map(|v| serde_json::json!({ "value": v }))
        }
        (Kind::Complex, _) => return Err(wrong()),
        (Kind::Boolean, Value::Bool(b)) => Some(Value::Bool(*b)),
        (Kind::Boolean, Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
            "true" => Some(Value::Bool(true)),
            "false" => Some(Value::Bool(false)),
            _ => return Err(wrong()),
        },
        (Kind::String | Kind::Reference | Kind::DateTime, Value::String(s)) => {
            Some(Value::String(s.clone()))
        }
        (Kind::String | Kind::Reference, Value::Number(n)) => Some(Value::String(n.to_string())),
        (Kind::String, Value::Bool(b)) => Some(Value::String(b.to_string())),
        (Kind::Integer, Value::Number(n)) if n.is_i64() => Some(Value::Number(n.clone())),
        _ => return Err(wrong()),
    })
}

#[cfg(test)]
#[path = "resource_tests.rs"]
mod tests;
