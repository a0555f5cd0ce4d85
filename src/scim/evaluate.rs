//! Evaluating a parsed filter on a resource's JSON as served: attribute names ignore case,
//! string comparisons follow the attribute's `caseExact`, a multi-valued complex attribute
//! compares its elements' `value`, and booleans also compare with `"true"`/`"false"` strings.

use serde_json::Value;

use super::filter::{Filter, Op};
use super::path::AttrRef;

/// Whether string values of an attribute compare with case: `case_exact(attr, sub)`.
pub trait CaseExact {
    fn case_exact(&self, attr: &AttrRef, sub: Option<&str>) -> bool;
}

/// The object's value under `key`, ignoring the key's case.
pub fn get_ci<'a>(obj: &'a Value, key: &str) -> Option<&'a Value> {
    let map = obj.as_object()?;
    map.get(key).or_else(|| {
        map.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// The values an attribute reference names in a resource: the attribute (in its extension when
/// qualified, or in any extension when not found at the top), then the sub-attribute of it or of
/// every element. A multi-valued complex attribute without a sub-attribute yields its elements'
/// `value` (RFC 7644 §3.4.2.2).
fn values<'a>(resource: &'a Value, attr: &AttrRef) -> Vec<&'a Value> {
    let top = match attr.schema.as_deref() {
        Some(urn) if !attr.is_core(&attr.name) => {
            get_ci(resource, urn).and_then(|ext| get_ci(ext, &attr.name))
        }
        _ => get_ci(resource, &attr.name).or_else(|| {
            resource.as_object().and_then(|m| {
                m.iter()
                    .filter(|(k, _)| k.starts_with("urn:"))
                    .find_map(|(_, ext)| get_ci(ext, &attr.name))
            })
        }),
    };
    let Some(top) = top else { return Vec::new() };
    let elements: Vec<&Value> = match top {
        Value::Array(items) => items.iter().collect(),
        v => vec![v],
    };
    match &attr.sub {
        Some(sub) => elements
            .into_iter()
            .filter_map(|e| get_ci(e, sub))
            .collect(),
        None => elements
            .into_iter()
            .map(|e| {
                if e.is_object() {
                    get_ci(e, "value").unwrap_or(e)
                } else {
                    e
                }
            })
            .collect(),
    }
}

fn fold(s: &str, exact: bool) -> String {
    if exact {
        s.to_owned()
    } else {
        s.to_lowercase()
    }
}

fn compare(actual: &Value, op: Op, expected: &Value, exact: bool) -> bool {
    use std::cmp::Ordering;
    let ordering = match (actual, expected) {
        (Value::String(a), Value::String(b)) => {
            let (a, b) = (fold(a, exact), fold(b, exact));
            match op {
                Op::Co => return a.contains(&b),
                Op::Sw => return a.starts_with(&b),
                Op::Ew => return a.ends_with(&b),
                _ => match (
                    chrono::DateTime::parse_from_rfc3339(&a),
                    chrono::DateTime::parse_from_rfc3339(&b),
                ) {
                    (Ok(x), Ok(y)) => x.cmp(&y),
                    _ => a.cmp(&b),
                },
            }
        }
        (Value::Bool(a), Value::Bool(b)) => a.cmp(b),
        // A boolean compared with "true"/"false" (IdPs send strings).
        (Value::Bool(a), Value::String(b)) => match b.to_ascii_lowercase().as_str() {
            "true" => a.cmp(&true),
            "false" => a.cmp(&false),
            _ => return false,
        },
        (Value::Number(a), Value::Number(b)) => match (a.as_f64(), b.as_f64()) {
            (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
            _ => return false,
        },
        _ => return false,
    };
    match op {
        Op::Eq => ordering == Ordering::Equal,
        Op::Ne => ordering != Ordering::Equal,
        Op::Gt => ordering == Ordering::Greater,
        Op::Ge => ordering != Ordering::Less,
        Op::Lt => ordering == Ordering::Less,
        Op::Le => ordering != Ordering::Greater,
        Op::Co | Op::Sw | Op::Ew | Op::Pr => false,
    }
}

fn present(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        _ => true,
    }
}

fn test(found: &[&Value], op: Op, value: &Value, exact: bool) -> bool {
    match op {
        Op::Pr => found.iter().any(|v| present(v)),
        // `ne` holds when no value equals (also when the attribute is absent).
        Op::Ne => !found.iter().any(|v| compare(v, Op::Eq, value, exact)),
        _ => found.iter().any(|v| compare(v, op, value, exact)),
    }
}

/// Whether `resource` (its JSON as served) matches `filter`.
pub fn matches(filter: &Filter, resource: &Value, cx: &dyn CaseExact) -> bool {
    match filter {
        Filter::And(a, b) => matches(a, resource, cx) && matches(b, resource, cx),
        Filter::Or(a, b) => matches(a, resource, cx) || matches(b, resource, cx),
        Filter::Not(f) => !matches(f, resource, cx),
        Filter::Compare { attr, op, value } => {
            let exact = cx.case_exact(attr, attr.sub.as_deref());
            test(&values(resource, attr), *op, value, exact)
        }
        Filter::ValuePath { attr, filter, then } => {
            let whole = AttrRef {
                sub: None,
                ..attr.clone()
            };
            let scoped = Scoped { cx, parent: attr };
            let elements: Vec<&Value> = match element_list(resource, &whole) {
                Some(items) => items,
                None => return false,
            };
            elements.into_iter().any(|e| {
                matches(filter, e, &scoped)
                    && then.as_ref().is_none_or(|(sub, op, value)| {
                        let exact = cx.case_exact(attr, Some(sub));
                        test(
                            &get_ci(e, sub).into_iter().collect::<Vec<_>>(),
                            *op,
                            value,
                            exact,
                        )
                    })
            })
        }
    }
}

/// The elements of a (multi-valued) attribute.
fn element_list<'a>(resource: &'a Value, attr: &AttrRef) -> Option<Vec<&'a Value>> {
    let top = match attr.schema.as_deref() {
        Some(urn) if !attr.is_core(&attr.name) => {
            get_ci(resource, urn).and_then(|ext| get_ci(ext, &attr.name))
        }
        _ => get_ci(resource, &attr.name),
    }?;
    Some(match top {
        Value::Array(items) => items.iter().collect(),
        v => vec![v],
    })
}

/// Inside `attr[…]`, names are the attribute's sub-attributes.
struct Scoped<'a> {
    cx: &'a dyn CaseExact,
    parent: &'a AttrRef,
}

impl CaseExact for Scoped<'_> {
    fn case_exact(&self, attr: &AttrRef, _sub: Option<&str>) -> bool {
        self.cx.case_exact(self.parent, Some(&attr.name))
    }
}
