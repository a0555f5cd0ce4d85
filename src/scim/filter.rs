//! SCIM filters (RFC 7644 §3.4.2.2): parsing and evaluation on a resource's JSON.
//!
//! Every operator (`eq ne co sw ew pr gt ge lt le`), `and`, `or`, `not`, grouping and value
//! paths (`emails[type eq "work"]`) are supported, plus two forms IdPs send: Entra's
//! `emails[type eq "work"].value eq "x"` and an unquoted value (`externalId eq jyoung`).
//! Attribute names and operators ignore case; string comparisons follow the attribute's
//! `caseExact`. [`index_hints`] names the equality tests the store can answer from an index.

use serde_json::Value;

use super::ScimError;
use super::path::{AttrRef, closing_bracket};

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
    Pr,
}

impl Op {
    fn parse(word: &str) -> Option<Op> {
        Some(match word.to_ascii_lowercase().as_str() {
            "eq" => Op::Eq,
            "ne" => Op::Ne,
            "co" => Op::Co,
            "sw" => Op::Sw,
            "ew" => Op::Ew,
            "gt" => Op::Gt,
            "ge" => Op::Ge,
            "lt" => Op::Lt,
            "le" => Op::Le,
            "pr" => Op::Pr,
            _ => return None,
        })
    }
}

/// A parsed filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    /// `attr op value` (`value` is `Null` for `pr`).
    Compare {
        attr: AttrRef,
        op: Op,
        value: Value,
    },
    /// `attr[filter]`, optionally followed by `.sub op value` (Entra).
    ValuePath {
        attr: AttrRef,
        filter: Box<Filter>,
        then: Option<(String, Op, Value)>,
    },
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Open,
    Close,
    /// `[` … `]` with its raw contents, and what follows the `]` without a space (`.value`).
    Bracket(String, String),
    Str(String),
    Word(String),
}

fn tokenize(text: &str) -> Result<Vec<Token>, ScimError> {
    let mut out = Vec::new();
    let mut i = 0;
    let bytes = text.as_bytes();
    while i < text.len() {
        let c = bytes[i];
        match c {
            b' ' | b'\t' | b'\n' | b'\r' => i += 1,
            b'(' => {
                out.push(Token::Open);
                i += 1;
            }
            b')' => {
                out.push(Token::Close);
                i += 1;
            }
            b'"' => {
                let end = string_end(text, i).ok_or_else(|| bad("a string is never closed"))?;
                let s: String = serde_json::from_str(&text[i..=end])
                    .map_err(|_| bad("a string has an invalid escape"))?;
                out.push(Token::Str(s));
                i = end + 1;
            }
            b'[' => {
                let close = closing_bracket(text, i).ok_or_else(|| bad("`[` is never closed"))?;
                let tail_end = text[close + 1..]
                    .find(|c: char| c.is_whitespace() || c == ')' || c == '(')
                    .map_or(text.len(), |n| close + 1 + n);
                out.push(Token::Bracket(
                    text[i + 1..close].to_owned(),
                    text[close + 1..tail_end].to_owned(),
                ));
                i = tail_end;
            }
            _ => {
                let end = text[i..]
                    .find(|c: char| c.is_whitespace() || "()[\"".contains(c))
                    .map_or(text.len(), |n| i + n);
                out.push(Token::Word(text[i..end].to_owned()));
                i = end;
            }
        }
    }
    Ok(out)
}

/// The index of the `"` closing the string that opens at `start`.
fn string_end(text: &str, start: usize) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in text.char_indices().skip(1 + text[..start].chars().count()) {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return Some(i),
            _ => {}
        }
    }
    None
}

fn bad(detail: impl Into<String>) -> ScimError {
    ScimError::invalid_filter(detail)
}

/// Parses a filter expression.
pub fn parse(text: &str) -> Result<Filter, ScimError> {
    let tokens = tokenize(text)?;
    if tokens.is_empty() {
        return Err(bad("the filter is empty"));
    }
    let mut p = Parser { tokens, pos: 0 };
    let f = p.or()?;
    if p.pos != p.tokens.len() {
        return Err(bad("unexpected text after the end of the filter"));
    }
    Ok(f)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn peek_keyword(&self, kw: &str) -> bool {
        matches!(self.tokens.get(self.pos), Some(Token::Word(w)) if w.eq_ignore_ascii_case(kw))
    }

    fn or(&mut self) -> Result<Filter, ScimError> {
        let mut left = self.and()?;
        while self.peek_keyword("or") {
            self.pos += 1;
            left = Filter::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Filter, ScimError> {
        let mut left = self.unary()?;
        while self.peek_keyword("and") {
            self.pos += 1;
            left = Filter::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Filter, ScimError> {
        if self.peek_keyword("not") && matches!(self.tokens.get(self.pos + 1), Some(Token::Open)) {
            self.pos += 1;
            return Ok(Filter::Not(Box::new(self.unary()?)));
        }
        match self.tokens.get(self.pos).cloned() {
            Some(Token::Open) => {
                self.pos += 1;
                let f = self.or()?;
                if self.tokens.get(self.pos) != Some(&Token::Close) {
                    return Err(bad("`(` is never closed"));
                }
                self.pos += 1;
                Ok(f)
            }
            Some(Token::Word(w)) => {
                self.pos += 1;
                let attr =
                    AttrRef::parse(&w).map_err(|_| bad(format!("`{w}` is not an attribute")))?;
                if let Some(Token::Bracket(inner, tail)) = self.tokens.get(self.pos).cloned() {
                    self.pos += 1;
                    return self.value_path(attr, &inner, &tail);
                }
                let (op, value) = self.comparison(&w)?;
                Ok(Filter::Compare { attr, op, value })
            }
            _ => Err(bad("expected an attribute, `not` or `(`")),
        }
    }

    fn value_path(&mut self, attr: AttrRef, inner: &str, tail: &str) -> Result<Filter, ScimError> {
        if attr.sub.is_some() {
            return Err(bad(
                "a value filter applies to an attribute, not a sub-attribute",
            ));
        }
        let filter = Box::new(parse(inner)?);
        let then = if tail.is_empty() {
            None
        } else {
            let sub = tail
                .strip_prefix('.')
                .filter(|s| {
                    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '$')
                })
                .ok_or_else(|| bad(format!("`{tail}` after `]` is not a sub-attribute")))?;
            let (op, value) = self.comparison(sub)?;
            Some((sub.to_owned(), op, value))
        };
        Ok(Filter::ValuePath { attr, filter, then })
    }

    /// `op value` or `pr` after an attribute.
    fn comparison(&mut self, attr: &str) -> Result<(Op, Value), ScimError> {
        let op = match self.tokens.get(self.pos) {
            Some(Token::Word(w)) => {
                Op::parse(w).ok_or_else(|| bad(format!("`{w}` is not an operator")))?
            }
            _ => return Err(bad(format!("`{attr}` must be followed by an operator"))),
        };
        self.pos += 1;
        if op == Op::Pr {
            return Ok((op, Value::Null));
        }
        let value = match self.tokens.get(self.pos).cloned() {
            Some(Token::Str(s)) => Value::String(s),
            Some(Token::Word(w)) => match w.to_ascii_lowercase().as_str() {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                "null" => Value::Null,
                _ => serde_json::from_str::<serde_json::Number>(&w)
                    .map(Value::Number)
                    .unwrap_or(Value::String(w)),
            },
            _ => return Err(bad(format!("the comparison on `{attr}` has no value"))),
        };
        self.pos += 1;
        Ok((op, value))
    }
}

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

#[cfg(test)]
#[path = "filter_tests.rs"]
mod tests;
