//! The simulated Domo instance: groups, users, memberships and the rules Domo enforces on
//! them (reference §3, §4). Pure state with no HTTP, no clock reads other than timestamps,
//! and no locking: the caller holds the simulator's mutex. Group operations live in
//! `groups.rs`, user operations in `users.rs`.

mod groups;
mod users;

use std::collections::HashMap;

use super::config::SeedUser;
use super::model::{Group, User, UserDetails};

/// Smallest and largest ids handed out: nine- and ten-digit positive integers, like Domo's.
const ID_RANGE: std::ops::RangeInclusive<u64> = 100_000_000..=2_147_483_647;

/// What creating a group asks for.
#[derive(Debug, Clone, Default)]
pub struct NewGroup {
    /// Name (required, unique case-insensitively).
    pub name: String,
    /// Default group flag; false when absent.
    pub default: Option<bool>,
    /// Active flag; true when absent.
    pub active: Option<bool>,
}

/// What updating a group changes; `None` keeps the current value.
#[derive(Debug, Clone, Default)]
pub struct GroupUpdate {
    /// New name.
    pub name: Option<String>,
    /// New active flag.
    pub active: Option<bool>,
    /// New default flag.
    pub default: Option<bool>,
}

/// What creating a user asks for.
#[derive(Debug, Clone, Default)]
pub struct NewUser {
    /// Email (required).
    pub email: String,
    /// Name (required).
    pub name: String,
    /// Role (required, one of the instance's roles).
    pub role: String,
    /// Optional attributes.
    pub details: UserDetails,
}

/// Who asks for a membership change: the API obeys Domo's rules, a hand edit (an admin in
/// the Domo UI, `/_sim/...`) may change default and inactive groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// A Platform API call.
    Api,
    /// A hand edit through the control endpoints.
    Admin,
}

/// The whole simulated instance.
#[derive(Debug)]
pub struct World {
    groups: HashMap<u64, Group>,
    group_order: Vec<u64>,
    /// Lower-cased group name → id, for uniqueness checks.
    group_names: HashMap<String, u64>,
    users: HashMap<u64, User>,
    user_order: Vec<u64>,
    /// Lower-cased email → id, deleted users included.
    user_emails: HashMap<String, u64>,
    rng: fastrand::Rng,
    owner_id: u64,
}

impl World {
    /// A fresh instance: the default group, the API client's own user (an Admin), then the
    /// seed users, all in the default group. Invalid or duplicate seeds are skipped with a
    /// warning (`SimConfig::from_args` rejects them earlier).
    pub fn new(seed: u64, owner_email: &str, seeds: &[SeedUser]) -> Self {
        let mut world = Self {
            groups: HashMap::new(),
            group_order: Vec::new(),
            group_names: HashMap::new(),
            users: HashMap::new(),
            user_order: Vec::new(),
            user_emails: HashMap::new(),
            rng: fastrand::Rng::with_seed(seed),
            owner_id: 0,
        };
        let default = NewGroup {
            name: "Default".to_owned(),
            default: Some(true),
            active: Some(true),
        };
        if let Err(error) = world.create_group(default, None) {
            tracing::warn!(%error, "domo-sim could not create the default group");
        }
        let owner = SeedUser {
            email: owner_email.to_owned(),
            name: "API Client Owner".to_owned(),
            role: "Admin".to_owned(),
        };
        for seed in std::iter::once(&owner).chain(seeds) {
            if let Err(error) = world.create_user(new_user(seed)) {
                tracing::warn!(%error, email = %seed.email, "domo-sim skipped a seed user");
            }
        }
        world.owner_id = world.user_order.first().copied().unwrap_or_default();
        world
    }

    /// The id of the user the API client acts as.
    pub fn owner_id(&self) -> u64 {
        self.owner_id
    }

    fn new_id(&mut self) -> u64 {
        loop {
            let id = self.rng.u64(ID_RANGE);
            if !self.groups.contains_key(&id) && !self.users.contains_key(&id) {
                return id;
            }
        }
    }
}

/// The key under which names and emails are unique: trimmed and lower-cased.
fn unique_key(value: &str) -> String {
    value.trim().to_lowercase()
}

/// The creation request for a seed user.
pub fn new_user(seed: &SeedUser) -> NewUser {
    NewUser {
        email: seed.email.clone(),
        name: seed.name.clone(),
        role: seed.role.clone(),
        details: UserDetails::default(),
    }
}
