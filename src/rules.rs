//! Rules: which Domo groups a user should be in, given their IdP groups and attributes.
//!
//! [`RuleSet::compile`] turns the `[[rules]]` of the configuration into matchers and
//! templates, reporting every problem at once; [`RuleSet::evaluate`] is a pure function of a
//! user's IdP groups and attributes. This module never reads events, state or Domo.
//!
//! Matching ignores case everywhere (IdPs are inconsistent about it): IdP group names,
//! attribute names and attribute values are compared through [`name_key`], and the derived
//! Domo group names are deduplicated the same way, because Domo group names are unique per
//! instance regardless of case. Names and values are trimmed before they are compared; an
//! attribute whose value is blank counts as absent.

mod glob;
mod template;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::config::{RuleConfig, RuleMatch};

pub use glob::{Glob, name_key};
use template::{Attributes, Template, attribute_lookup};

/// One Domo group a user should be in, and the rule that put it there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Derived {
    /// The Domo group's name, trimmed and non-empty.
    pub domo_group: String,
    /// Index into the configured `rules` of the first rule that derives this group.
    pub rule: usize,
}

/// What a compiled rule matches.
#[derive(Debug, Clone)]
enum Matcher {
    /// Any of the user's IdP groups matching the pattern.
    Group(Glob),
    /// The user's attribute (by folded name) whose value matches the pattern.
    Attribute { key: String, value: Glob },
}

/// One compiled `[[rules]]` entry.
#[derive(Debug, Clone)]
struct Rule {
    matcher: Matcher,
    targets: Vec<Template>,
}

/// The compiled rules, in configuration order (the order decides provenance).
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    rules: Vec<Rule>,
}

impl RuleSet {
    /// Compiles the configured rules, or returns every problem found, each naming the rule as
    /// `rules[i]` (0-based, in file order) and saying how to fix it.
    pub fn compile(rules: &[RuleConfig]) -> Result<RuleSet, Vec<String>> {
        let mut problems = Vec::new();
        let mut compiled = Vec::with_capacity(rules.len());
        for (i, rule) in rules.iter().enumerate() {
            match compile_rule(i, rule) {
                Ok(rule) => compiled.push(rule),
                Err(mut errs) => problems.append(&mut errs),
            }
        }
        if problems.is_empty() {
            Ok(RuleSet { rules: compiled })
        } else {
            Err(problems)
        }
    }

    /// The number of rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// True when there are no rules (then no user is derived into any group).
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The Domo groups the rules derive for a user with these IdP groups and attributes:
    /// sorted by name, one entry per case-insensitive name, each with the first rule (in
    /// configuration order) that derives it; its spelling is that rule's.
    pub fn evaluate(
        &self,
        idp_groups: &BTreeSet<String>,
        attributes: &BTreeMap<String, String>,
    ) -> Vec<Derived> {
        let attrs = attribute_lookup(attributes);
        let mut out: BTreeMap<String, Derived> = BTreeMap::new();
        let mut emit = |domo_group: String, rule: usize| {
            out.entry(name_key(&domo_group))
                .or_insert(Derived { domo_group, rule });
        };
        for (index, rule) in self.rules.iter().enumerate() {
            match &rule.matcher {
                Matcher::Group(pattern) => {
                    for group in idp_groups.iter().filter(|g| pattern.matches(g)) {
                        for name in render_all(&rule.targets, &attrs, Some(group)) {
                            emit(name, index);
                        }
                    }
                }
                Matcher::Attribute { key, value } => {
                    if attrs.get(key).is_some_and(|v| value.matches(v)) {
                        for name in render_all(&rule.targets, &attrs, None) {
                            emit(name, index);
                        }
                    }
                }
            }
        }
        let mut derived: Vec<Derived> = out.into_values().collect();
        derived.sort_by(|a, b| a.domo_group.cmp(&b.domo_group));
        derived
    }

    /// Whether some group rule matches the IdP group `name` (exactly or by glob): the groups
    /// whose members a directory pass reads.
    pub fn maps_group(&self, name: &str) -> bool {
        self.rules
            .iter()
            .any(|r| matches!(&r.matcher, Matcher::Group(p) if p.matches(name)))
    }

    /// The Domo groups named without placeholders: those the rules may put anyone in, known
    /// before any user is seen. One entry per case-insensitive name (the first rule's
    /// spelling). Templated targets are not included: which names they produce depends on
    /// the users.
    pub fn static_targets(&self) -> BTreeSet<String> {
        let mut seen = BTreeMap::new();
        for target in self.rules.iter().flat_map(|r| &r.targets) {
            if let Some(name) = target.as_static() {
                seen.entry(name_key(&name)).or_insert(name);
            }
        }
        seen.into_values().collect()
    }
}

/// Renders every target of one matched rule, skipping those without a value.
fn render_all<'t>(
    targets: &'t [Template],
    attrs: &'t Attributes<'_>,
    group: Option<&'t str>,
) -> impl Iterator<Item = String> + 't {
    targets.iter().filter_map(move |t| t.render(attrs, group))
}

/// Compiles one rule, collecting all of its problems.
fn compile_rule(i: usize, rule: &RuleConfig) -> Result<Rule, Vec<String>> {
    let mut problems = Vec::new();
    let group_rule = matches!(rule.when, RuleMatch::Group(_));
    let matcher = match &rule.when {
        RuleMatch::Group(pattern) => {
            if pattern.trim().is_empty() {
                problems.push(format!(
                    "rules[{i}].when.group is empty: give an IdP group name, or a glob such \
                     as `eng-*`"
                ));
                None
            } else {
                compile_glob(pattern, &format!("rules[{i}].when.group"), &mut problems)
                    .map(Matcher::Group)
            }
        }
        RuleMatch::Attribute { name, equals } => {
            if name.trim().is_empty() {
                problems.push(format!(
                    "rules[{i}].when.attribute is empty: name the user attribute to match, \
                     e.g. `department`"
                ));
            }
            if equals.trim().is_empty() {
                problems.push(format!(
                    "rules[{i}].when.equals is empty: a blank attribute counts as absent and \
                     never matches; give a value, or `*` for any value"
                ));
            }
            let value = compile_glob(equals, &format!("rules[{i}].when.equals"), &mut problems);
            match value {
                Some(value) if !name.trim().is_empty() && !equals.trim().is_empty() => {
                    Some(Matcher::Attribute {
                        key: name_key(name),
                        value,
                    })
                }
                _ => None,
            }
        }
    };
    if rule.domo_groups.is_empty() {
        problems.push(format!(
            "rules[{i}].domo_groups is empty: list at least one Domo group name, e.g. \
             `domo_groups = [\"Marketing\"]`"
        ));
    }
    let mut targets = Vec::with_capacity(rule.domo_groups.len());
    for (j, text) in rule.domo_groups.iter().enumerate() {
        match Template::parse(text, group_rule) {
            Ok(t) if t.as_static().is_some_and(|s| s.is_empty()) => problems.push(format!(
                "rules[{i}].domo_groups[{j}] is empty: give a Domo group name or remove the \
                 entry"
            )),
            Ok(t) => targets.push(t),
            Err(why) => problems.push(format!("rules[{i}].domo_groups[{j}] `{text}`: {why}")),
        }
    }
    match matcher {
        Some(matcher) if problems.is_empty() => Ok(Rule { matcher, targets }),
        _ => Err(problems),
    }
}

/// Compiles a pattern, recording a problem under `field` when it is not a valid glob.
fn compile_glob(pattern: &str, field: &str, problems: &mut Vec<String>) -> Option<Glob> {
    Glob::parse(pattern)
        .map_err(|why| problems.push(format!("{field} `{pattern}` is not a valid glob: {why}")))
        .ok()
}

#[cfg(test)]
mod tests;
