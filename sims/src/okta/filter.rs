//! Okta's SCIM-style `filter` and `search` expressions (`eventType eq "x" or target.id sw
//! "00u"`, `status eq "ACTIVE" and lastUpdated gt "2026-01-01T00:00:00.000Z"`): parsing and
//! evaluation against a JSON object. `and` binds tighter than `or`; parentheses group.
//! Attribute paths are dotted; a path through an array (`target.id`) matches when any element
//! does. Comparisons are case-sensitive for `eq` and case-insensitive for `sw`/`co`/`ew`
//! [guess]; `gt`/`ge`/`lt`/`le` compare RFC 3339 times as times, other strings as text.

use chrono::DateTime;
use serde_json::Value;

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Or(Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Compare { path: String, op: Op, value: Value },
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Sw,
    Co,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

impl Op {
    fn parse(word: &str) -> Option<Self> {
        Some(match word.to_ascii_lowercase().as_str() {
            "eq" => Self::Eq,
            "sw" => Self::Sw,
            "co" => Self::Co,
            "ew" => Self::Ew,
            "gt" => Self::Gt,
            "ge" => Self::Ge,
            "lt" => Self::Lt,
            "le" => Self::Le,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Text(String),
    Open,
    Close,
}

fn tokenize(input: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut chars = input.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' | ')' => {
                chars.next();
                tokens.push(if c == '(' { Token::Open } else { Token::Close });
            }
            '"' => {
                chars.next();
                let mut text = String::new();
                loop {
                    match chars.next() {
                        Some('\\') => text.extend(chars.next()),
                        Some('"') => break,
                        Some(c) => text.push(c),
                        None => return Err("unterminated string".to_owned()),
                    }
                }
                tokens.push(Token::Text(text));
            }
            _ => {
                let mut word = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() || c == '(' || c == ')' || c == '"' {
                        break;
                    }
                    word.push(c);
                    chars.next();
                }
                tokens.push(Token::Word(word));
            }
        }
    }
    Ok(tokens)
}

/// Parses an expression; `allowed(path, op)` says which comparisons the endpoint accepts.
pub fn parse(input: &str, allowed: &dyn Fn(&str, Op) -> bool) -> Result<Expr, String> {
    let tokens = tokenize(input)?;
    let mut parser = Parser {
        tokens,
        pos: 0,
        allowed,
    };
    let expr = parser.or()?;
    if parser.pos != parser.tokens.len() {
        return Err(format!("unexpected token at position {}", parser.pos));
    }
    Ok(expr)
}

struct Parser<'a> {
    tokens: Vec<Token>,
    pos: usize,
    allowed: &'a dyn Fn(&str, Op) -> bool,
}

impl Parser<'_> {
    fn keyword(&mut self, word: &str) -> bool {
        match self.tokens.get(self.pos) {
            Some(Token::Word(w)) if w.eq_ignore_ascii_case(word) => {
                self.pos += 1;
                true
            }
            _ => false,
        }
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut left = self.and()?;
        while self.keyword("or") {
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut left = self.atom()?;
        while self.keyword("and") {
            left = Expr::And(Box::new(left), Box::new(self.atom()?));
        }
        Ok(left)
    }

    fn atom(&mut self) -> Result<Expr, String> {
        let token = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        match token {
            Some(Token::Open) => {
                let inner = self.or()?;
                if self.tokens.get(self.pos) != Some(&Token::Close) {
                    return Err("missing `)`".to_owned());
                }
                self.pos += 1;
                Ok(inner)
            }
            Some(Token::Word(path)) => {
                let op = match self.tokens.get(self.pos) {
                    Some(Token::Word(w)) => {
                        Op::parse(w).ok_or_else(|| format!("unknown operator {w:?}"))?
                    }
                    _ => return Err(format!("an operator must follow {path:?}")),
                };
                self.pos += 1;
                let value = match self.tokens.get(self.pos).cloned() {
                    Some(Token::Text(t)) => Value::String(t),
                    Some(Token::Word(w)) if w == "true" || w == "false" => Value::Bool(w == "true"),
                    Some(Token::Word(w)) => w
                        .parse::<f64>()
                        .ok()
                        .and_then(serde_json::Number::from_f64)
                        .map(Value::Number)
                        .ok_or_else(|| format!("a value must be quoted: {w:?}"))?,
                    _ => return Err(format!("a value must follow {path:?}")),
                };
                self.pos += 1;
                if !(self.allowed)(&path, op) {
                    return Err(format!("{path:?} cannot be compared with {op:?}"));
                }
                Ok(Expr::Compare { path, op, value })
            }
            _ => Err("expected an attribute or `(`".to_owned()),
        }
    }
}

impl Expr {
    /// Whether `object` satisfies the expression.
    pub fn matches(&self, object: &Value) -> bool {
        match self {
            Self::Or(a, b) => a.matches(object) || b.matches(object),
            Self::And(a, b) => a.matches(object) && b.matches(object),
            Self::Compare { path, op, value } => {
                let mut found = Vec::new();
                collect(object, &path.split('.').collect::<Vec<_>>(), &mut found);
                found.iter().any(|v| compare(v, *op, value))
            }
        }
    }
}

fn collect<'a>(value: &'a Value, path: &[&str], out: &mut Vec<&'a Value>) {
    match value {
        Value::Array(items) => items.iter().for_each(|v| collect(v, path, out)),
        _ => match path.split_first() {
            None => out.push(value),
            Some((head, rest)) => {
                if let Some(child) = value.get(head) {
                    collect(child, rest, out);
                }
            }
        },
    }
}

fn compare(actual: &Value, op: Op, expected: &Value) -> bool {
    match (actual, expected) {
        (Value::String(a), Value::String(e)) => {
            let (al, el) = (a.to_lowercase(), e.to_lowercase());
            match op {
                Op::Eq => a == e,
                Op::Sw => al.starts_with(&el),
                Op::Co => al.contains(&el),
                Op::Ew => al.ends_with(&el),
                _ => {
                    let ordering = match (
                        DateTime::parse_from_rfc3339(a),
                        DateTime::parse_from_rfc3339(e),
                    ) {
                        (Ok(a), Ok(e)) => a.cmp(&e),
                        _ => a.cmp(e),
                    };
                    match op {
                        Op::Gt => ordering.is_gt(),
                        Op::Ge => ordering.is_ge(),
                        Op::Lt => ordering.is_lt(),
                        _ => ordering.is_le(),
                    }
                }
            }
        }
        _ => op == Op::Eq && actual == expected,
    }
}
