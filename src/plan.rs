//! The membership plan: the fewest group changes that take one user's Domo groups from what
//! they are to what the rules want.
//!
//! Group names are compared case-insensitively (through [`name_key`]): Domo group names are
//! unique per instance regardless of case, and IdPs and configs spell them inconsistently.
//! The plan never touches a protected group (Domo's default group, configured protected
//! groups) and never removes a group the service does not manage. This module is pure: it
//! resolves no ids and calls nothing.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::rules::name_key;

/// Group names to add the user to and to remove them from, each sorted by name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// Groups the user should join, spelled as desired.
    pub add: Vec<String>,
    /// Groups the user should leave, spelled as they are in Domo.
    pub remove: Vec<String>,
}

impl Plan {
    /// True when nothing needs to change.
    pub fn is_empty(&self) -> bool {
        self.add.is_empty() && self.remove.is_empty()
    }
}

/// Plans the change from `current` (the user's Domo groups) to `desired`.
///
/// - `add` = `desired` − `current`, leaving out protected groups and blank names;
/// - `remove` = (`current` ∩ managed) − `desired`, leaving out protected groups.
///
/// `is_managed` and `is_protected` receive names as spelled in `desired` and `current`, and
/// should themselves compare case-insensitively (e.g. through [`name_key`]). Names that
/// differ only in case count once.
pub fn plan(
    desired: &BTreeSet<String>,
    current: &BTreeSet<String>,
    is_managed: impl Fn(&str) -> bool,
    is_protected: impl Fn(&str) -> bool,
) -> Plan {
    let current_keys: BTreeSet<String> = current.iter().map(|g| name_key(g)).collect();
    let mut desired_by_key: BTreeMap<String, &String> = BTreeMap::new();
    for name in desired {
        desired_by_key.entry(name_key(name)).or_insert(name);
    }

    let mut add: Vec<String> = desired_by_key
        .iter()
        .filter(|(key, name)| {
            !key.is_empty() && !current_keys.contains(*key) && !is_protected(name)
        })
        .map(|(_, name)| name.trim().to_owned())
        .collect();
    add.sort();

    let mut removed_keys = BTreeSet::new();
    let mut remove: Vec<String> = current
        .iter()
        .filter(|name| {
            let key = name_key(name);
            !desired_by_key.contains_key(&key)
                && is_managed(name)
                && !is_protected(name)
                && removed_keys.insert(key)
        })
        .cloned()
        .collect();
    remove.sort();

    Plan { add, remove }
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
