//! Domo group name templates: `Sales {location}` takes the user's `location` attribute,
//! `{group}` (in group rules) the matched IdP group's name, and `{{` / `}}` stand for literal
//! braces. A placeholder without a value for this user makes the whole target skipped: a
//! name is never rendered with a blank in it. This module parses and renders; it never
//! decides which rule applies.

use std::collections::BTreeMap;

use super::glob::name_key;

/// The placeholder that stands for the matched IdP group in group rules.
const GROUP_PLACEHOLDER: &str = "group";

/// One piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    /// Text copied as is (escapes already resolved).
    Literal(String),
    /// `{name}`: the user's attribute, by its case-folded name.
    Attribute(String),
    /// `{group}` in a group rule: the matched IdP group's name.
    Group,
}

/// A parsed Domo group name template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

/// The user's attributes by case-folded name, only those with a non-blank value (trimmed).
/// When two names differ only in case, the first in the map's order that has a value wins.
pub type Attributes<'a> = BTreeMap<String, &'a str>;

/// Builds the lookup that [`Template::render`] and attribute rules use.
pub fn attribute_lookup(attributes: &BTreeMap<String, String>) -> Attributes<'_> {
    let mut lookup = Attributes::new();
    for (name, value) in attributes {
        let value = value.trim();
        if !value.is_empty() {
            lookup.entry(name_key(name)).or_insert(value);
        }
    }
    lookup
}

impl Template {
    /// Parses a template. `group_rule` says whether `{group}` is available. The error says
    /// what is wrong (with a 1-based character position) and how to fix it.
    pub fn parse(text: &str, group_rule: bool) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut chars = text.chars().enumerate().peekable();
        while let Some((i, c)) = chars.next() {
            match c {
                '{' if chars.next_if(|&(_, n)| n == '{').is_some() => literal.push('{'),
                '}' if chars.next_if(|&(_, n)| n == '}').is_some() => literal.push('}'),
                '}' => {
                    return Err(format!(
                        "stray `}}` at character {}; write `}}}}` for a literal brace",
                        i + 1
                    ));
                }
                '{' => {
                    let mut name = String::new();
                    loop {
                        match chars.next() {
                            Some((_, '}')) => break,
                            Some((j, '{')) => {
                                return Err(format!(
                                    "`{{` at character {} inside the placeholder opened at \
                                     character {}; placeholders do not nest",
                                    j + 1,
                                    i + 1
                                ));
                            }
                            Some((_, n)) => name.push(n),
                            None => {
                                return Err(format!(
                                    "unclosed `{{` at character {}; close the placeholder \
                                     with `}}` or write `{{{{` for a literal brace",
                                    i + 1
                                ));
                            }
                        }
                    }
                    let key = name_key(&name);
                    if key.is_empty() {
                        return Err(format!(
                            "empty placeholder at character {}; put an attribute name inside \
                             the braces, e.g. `{{department}}`, or write `{{{{` for a literal \
                             brace",
                            i + 1
                        ));
                    }
                    if !literal.is_empty() {
                        parts.push(Part::Literal(std::mem::take(&mut literal)));
                    }
                    if key == GROUP_PLACEHOLDER {
                        if !group_rule {
                            return Err(format!(
                                "`{{group}}` at character {} is only available in rules \
                                 with `when = {{ group = … }}`",
                                i + 1
                            ));
                        }
                        parts.push(Part::Group);
                    } else {
                        parts.push(Part::Attribute(key));
                    }
                }
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            parts.push(Part::Literal(literal));
        }
        Ok(Template { parts })
    }

    /// The fixed name when the template has no placeholder (trimmed; possibly empty).
    pub fn as_static(&self) -> Option<String> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(s) => out.push_str(s),
                Part::Attribute(_) | Part::Group => return None,
            }
        }
        Some(out.trim().to_owned())
    }

    /// Renders the name for one user, or `None` when a placeholder has no value for them or
    /// the trimmed result is empty. `group` is the matched IdP group in a group rule.
    pub fn render(&self, attributes: &Attributes<'_>, group: Option<&str>) -> Option<String> {
        let mut out = String::new();
        for part in &self.parts {
            let piece = match part {
                Part::Literal(s) => s.as_str(),
                Part::Attribute(key) => attributes.get(key).copied()?,
                Part::Group => group.map(str::trim).filter(|g| !g.is_empty())?,
            };
            out.push_str(piece);
        }
        let out = out.trim();
        (!out.is_empty()).then(|| out.to_owned())
    }
}
