//! What the store can do for a filter before it is evaluated: the indexable equalities of its
//! top-level `and` (`id`, `userName`/`displayName`, `externalId`, a member), and which of a
//! group's memberships it needs to read.

use serde_json::Value;

use super::filter::{Filter, Op};

/// An equality the store can answer from an index, found among the filter's top-level `and`s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hint {
    Id(String),
    /// `userName` (users) or `displayName` (groups), compared without case.
    Name(String),
    ExternalId(String),
    /// `members eq "u"`, `members.value eq "u"` or `members[value eq "u"]`.
    Member(String),
}

/// The indexable equalities of `filter`'s top-level conjunction; `name_attr` is `userName` or
/// `displayName`.
pub fn index_hints(filter: &Filter, name_attr: &str) -> Vec<Hint> {
    let mut out = Vec::new();
    collect_hints(filter, name_attr, &mut out);
    out
}

fn collect_hints(filter: &Filter, name_attr: &str, out: &mut Vec<Hint>) {
    match filter {
        Filter::And(a, b) => {
            collect_hints(a, name_attr, out);
            collect_hints(b, name_attr, out);
        }
        Filter::Compare {
            attr,
            op: Op::Eq,
            value: Value::String(v),
        } => {
            let sub = attr.sub.as_deref();
            if attr.is_core("id") && sub.is_none() {
                out.push(Hint::Id(v.clone()));
            } else if attr.is_core(name_attr) && sub.is_none() {
                out.push(Hint::Name(v.clone()));
            } else if attr.is_core("externalId") && sub.is_none() {
                out.push(Hint::ExternalId(v.clone()));
            } else if attr.is_core("members") && sub.is_none_or(|s| s.eq_ignore_ascii_case("value"))
            {
                out.push(Hint::Member(v.clone()));
            }
        }
        Filter::ValuePath {
            attr,
            filter,
            then: None,
        } if attr.is_core("members") => {
            if let Filter::Compare {
                attr: inner,
                op: Op::Eq,
                value: Value::String(v),
            } = filter.as_ref()
                && inner.name.eq_ignore_ascii_case("value")
                && inner.sub.is_none()
            {
                out.push(Hint::Member(v.clone()));
            }
        }
        _ => {}
    }
}

/// What the filter needs to know of a group's members: nothing, whether given users are
/// members (equality tests only), or the whole list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberNeed {
    None,
    Values(Vec<String>),
    All,
}

/// See [`MemberNeed`].
pub fn member_need(filter: &Filter) -> MemberNeed {
    fn walk(f: &Filter, values: &mut Vec<String>, all: &mut bool) {
        match f {
            Filter::And(a, b) | Filter::Or(a, b) => {
                walk(a, values, all);
                walk(b, values, all);
            }
            Filter::Not(f) => walk(f, values, all),
            Filter::Compare { attr, op, value } if attr.is_core("members") => {
                match (op, value, attr.sub.as_deref()) {
                    (Op::Eq, Value::String(v), None) => values.push(v.clone()),
                    (Op::Eq, Value::String(v), Some(s)) if s.eq_ignore_ascii_case("value") => {
                        values.push(v.clone());
                    }
                    _ => *all = true,
                }
            }
            Filter::ValuePath { attr, filter, then } if attr.is_core("members") => {
                match (filter.as_ref(), then) {
                    (
                        Filter::Compare {
                            attr: inner,
                            op: Op::Eq,
                            value: Value::String(v),
                        },
                        None,
                    ) if inner.name.eq_ignore_ascii_case("value") => {
                        values.push(v.clone());
                    }
                    _ => *all = true,
                }
            }
            _ => {}
        }
    }
    let (mut values, mut all) = (Vec::new(), false);
    walk(filter, &mut values, &mut all);
    if all {
        MemberNeed::All
    } else if values.is_empty() {
        MemberNeed::None
    } else {
        values.sort();
        values.dedup();
        MemberNeed::Values(values)
    }
}
