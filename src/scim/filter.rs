//! SCIM filters (RFC 7644 §3.4.2.2): parsing and evaluation on a resource's JSON.
//!
//! Every operator (`eq ne co sw ew pr gt ge lt le`), `and`, `or`, `not`, grouping and value
//! paths (`emails[type eq "work"]`) are supported, plus two forms IdPs send: Entra's
//! `emails[type eq "work"].value eq "x"` and an unquoted value (`externalId eq jyoung`).
//! Attribute names and operators ignore case; string comparisons follow the attribute's
//! `caseExact` (`evaluate.rs`); [`index_hints`] names the equality tests the store can answer
//! from an index (`hints.rs`).

use serde_json::Value;

use super::ScimError;
use super::path::{AttrRef, closing_bracket};

pub use super::evaluate::{CaseExact, get_ci, matches};
pub use super::hints::{Hint, MemberNeed, index_hints, member_need};

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

#[cfg(test)]
#[path = "filter_tests.rs"]
mod tests;
