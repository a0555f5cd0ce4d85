//! PATCH edits of the elements of an attribute: a sub-attribute of every element, the elements
//! a value filter selects (creating the one an `eq` filter describes when none matches, as
//! Entra expects), and the at-most-one `primary` rule.

use serde_json::{Map, Value};

use super::ScimError;
use super::filter::{self, Filter, Op};
use super::patch::{OpKind, SubCase, needs_value};
use super::resource::coerce;
use super::schema::Attr;

pub(super) fn every_element(
    c: &mut Map<String, Value>,
    a: &'static Attr,
    s: &'static Attr,
    op: OpKind,
    value: Option<&Value>,
) -> Result<(), ScimError> {
    let new = match op {
        OpKind::Remove => None,
        _ => coerce(s, &needs_value(value, a)?)?,
    };
    if !a.multi {
        let target = object_of(c, a.name);
        match new {
            Some(v) => target.insert(s.name.to_owned(), v),
            None => target.remove(s.name),
        };
        return Ok(());
    }
    let list = list_of(c, a);
    if list.is_empty() {
        if let Some(v) = new {
            list.push(Value::Object(Map::from_iter([(s.name.to_owned(), v)])));
        }
        return Ok(());
    }
    for item in list.iter_mut() {
        if let Some(m) = item.as_object_mut() {
            match &new {
                Some(v) => m.insert(s.name.to_owned(), v.clone()),
                None => m.remove(s.name),
            };
        }
    }
    list.retain(|i| i.as_object().is_some_and(|m| !m.is_empty()));
    Ok(())
}

pub(super) fn filtered(
    c: &mut Map<String, Value>,
    a: &'static Attr,
    f: &Filter,
    s: Option<&'static Attr>,
    op: OpKind,
    value: Option<&Value>,
) -> Result<(), ScimError> {
    let case = SubCase(a);
    let list = list_of(c, a);
    let hits: Vec<usize> = (0..list.len())
        .filter(|&i| filter::matches(f, &list[i], &case))
        .collect();
    if op == OpKind::Remove {
        match s {
            None => {
                let mut i = 0;
                list.retain(|_| {
                    i += 1;
                    !hits.contains(&(i - 1))
                });
            }
            Some(s) => {
                for &i in &hits {
                    if let Some(m) = list[i].as_object_mut() {
                        m.remove(s.name);
                    }
                }
                list.retain(|i| i.as_object().is_some_and(|m| !m.is_empty()));
            }
        }
        return Ok(());
    }
    let raw = needs_value(value, a)?;
    let element_value =
        |existing: Option<&Map<String, Value>>| -> Result<Map<String, Value>, ScimError> {
            let mut m = if op == OpKind::Add || s.is_some() {
                existing.cloned().unwrap_or_default()
            } else {
                Map::new()
            };
            match s {
                Some(s) => match coerce(s, &raw)? {
                    Some(v) => {
                        m.insert(s.name.to_owned(), v);
                    }
                    None => {
                        m.remove(s.name);
                    }
                },
                None => {
                    if let Some(Value::Object(more)) =
                        super::resource::coerce(&Attr { multi: false, ..*a }, &raw)?
                    {
                        m.extend(more);
                    }
                }
            }
            Ok(m)
        };
    if hits.is_empty() {
        // Nothing matched: create the element the filter describes (Entra replaces
        // `emails[type eq "work"].value` on users that have no work email yet).
        let Some(mut base) = eq_constraints(a, f) else {
            return Err(ScimError::no_target(format!(
                "no value of `{}` matches the filter",
                a.name
            )));
        };
        base.extend(element_value(None)?);
        let item = Value::Object(base);
        if is_primary(&item) {
            unset_primary(list);
        }
        list.push(item);
        return Ok(());
    }
    let becomes_primary = s.is_some_and(|s| s.name == "primary") && raw_is_true(&raw);
    if becomes_primary {
        unset_primary(list);
    }
    for i in hits {
        let updated = element_value(list[i].as_object())?;
        list[i] = Value::Object(updated);
    }
    Ok(())
}

fn raw_is_true(v: &Value) -> bool {
    matches!(v, Value::Bool(true)) || v.as_str().is_some_and(|s| s.eq_ignore_ascii_case("true"))
}

/// The sub-attribute values a filter made only of `sub eq value` joined by `and` requires.
fn eq_constraints(a: &'static Attr, f: &Filter) -> Option<Map<String, Value>> {
    match f {
        Filter::And(x, y) => {
            let mut m = eq_constraints(a, x)?;
            m.extend(eq_constraints(a, y)?);
            Some(m)
        }
        Filter::Compare {
            attr,
            op: Op::Eq,
            value,
        } if attr.sub.is_none() && attr.schema.is_none() => {
            let s = a.sub_attr(&attr.name)?;
            let v = coerce(s, value).ok()??;
            Some(Map::from_iter([(s.name.to_owned(), v)]))
        }
        _ => None,
    }
}

pub(super) fn is_primary(v: &Value) -> bool {
    v.get("primary") == Some(&Value::Bool(true))
}

pub(super) fn unset_primary(list: &mut [Value]) {
    for i in list {
        if let Some(m) = i.as_object_mut()
            && m.get("primary") == Some(&Value::Bool(true))
        {
            m.insert("primary".into(), Value::Bool(false));
        }
    }
}

/// The attribute's list in `c`, created (or replacing a non-list) when needed.
pub(super) fn list_of<'a>(c: &'a mut Map<String, Value>, a: &Attr) -> &'a mut Vec<Value> {
    let v = c
        .entry(a.name.to_owned())
        .or_insert_with(|| Value::Array(Vec::new()));
    if !v.is_array() {
        *v = Value::Array(Vec::new());
    }
    match v {
        Value::Array(items) => items,
        _ => unreachable!("just made a list"),
    }
}

/// The attribute's object in `c`, created when needed.
pub(super) fn object_of<'a>(
    c: &'a mut Map<String, Value>,
    name: &str,
) -> &'a mut Map<String, Value> {
    let v = c
        .entry(name.to_owned())
        .or_insert_with(|| Value::Object(Map::new()));
    if !v.is_object() {
        *v = Value::Object(Map::new());
    }
    match v {
        Value::Object(m) => m,
        _ => unreachable!("just made an object"),
    }
}
