//! User operations of the simulated instance: create (or revive), list, retrieve, delete
//! (reference §4).

use std::collections::BTreeSet;

use chrono::Utc;

use super::{NewUser, World, unique_key};
use crate::domo::error::SimError;
use crate::domo::model::{ROLES, User};
use crate::domo::params::Page;

impl World {
    /// A user by id (deleted ones included), or 404.
    pub fn user(&self, id: u64) -> Result<&User, SimError> {
        self.users
            .get(&id)
            .ok_or_else(|| SimError::not_found(format!("User {id} not found")))
    }

    /// Every user, deleted ones included, in creation order.
    pub fn users(&self) -> impl Iterator<Item = &User> {
        self.user_order.iter().filter_map(|id| self.users.get(id))
    }

    /// One page of the users that are not deleted, in creation order.
    pub fn users_page(&self, page: Page) -> impl Iterator<Item = &User> {
        self.users()
            .filter(|u| !u.deleted)
            .skip(page.offset)
            .take(page.limit)
    }

    /// The `(id, name)` of every group the user is in, in group creation order.
    pub fn groups_of(&self, user_id: u64) -> Vec<(u64, String)> {
        self.groups()
            .filter(|g| g.members.contains(&user_id))
            .map(|g| (g.id, g.name.clone()))
            .collect()
    }

    /// Checks a new user against the instance and the other users of the same batch;
    /// returns the id of a deleted user with that email (to revive), if any.
    fn check_new_user(&self, new: &NewUser) -> Result<Option<u64>, SimError> {
        if new.name.trim().is_empty() {
            return Err(SimError::bad_request("User name is required"));
        }
        let email = new.email.trim();
        if email.is_empty() || !email.contains('@') {
            return Err(SimError::bad_request(format!(
                "A valid email is required, got '{email}'"
            )));
        }
        if !ROLES.contains(&new.role.as_str()) {
            return Err(SimError::bad_request(format!(
                "Invalid role '{}'; expected one of {}",
                new.role,
                ROLES.join(", ")
            )));
        }
        let existing = self.user_emails.get(&unique_key(email));
        match existing.and_then(|id| self.users.get(id)) {
            Some(user) if user.deleted => Ok(Some(user.id)),
            Some(_) => Err(SimError::bad_request(format!(
                "A user with the email '{email}' already exists"
            ))),
            None => Ok(None),
        }
    }

    /// Creates a user (or revives a deleted one with the same email) and puts them in every
    /// default group. Returns the user's id.
    pub fn create_user(&mut self, new: NewUser) -> Result<u64, SimError> {
        let revive = self.check_new_user(&new)?;
        let now = Utc::now();
        let id = match revive {
            Some(id) => {
                let user = self
                    .users
                    .get_mut(&id)
                    .ok_or_else(|| SimError::not_found(format!("User {id} not found")))?;
                user.deleted = false;
                user.name = new.name.trim().to_owned();
                user.role = new.role;
                user.details = new.details;
                user.updated_at = now;
                id
            }
            None => {
                let id = self.new_id();
                let user = User {
                    id,
                    email: new.email.trim().to_owned(),
                    name: new.name.trim().to_owned(),
                    role: new.role,
                    details: new.details,
                    deleted: false,
                    created_at: now,
                    updated_at: now,
                };
                self.user_emails.insert(unique_key(&user.email), id);
                self.users.insert(id, user);
                self.user_order.push(id);
                id
            }
        };
        for group in self.groups.values_mut().filter(|g| g.default) {
            group.members.insert(id);
        }
        Ok(id)
    }

    /// Creates several users, all or none: every entry is checked (also against the others)
    /// before any is created.
    pub fn create_users(&mut self, batch: Vec<NewUser>) -> Result<Vec<u64>, SimError> {
        let mut seen = BTreeSet::new();
        for new in &batch {
            self.check_new_user(new)?;
            if !seen.insert(unique_key(&new.email)) {
                return Err(SimError::bad_request(format!(
                    "The email '{}' appears twice",
                    new.email.trim()
                )));
            }
        }
        batch.into_iter().map(|new| self.create_user(new)).collect()
    }

    /// Marks a user deleted and takes them out of every group.
    pub fn delete_user(&mut self, id: u64) -> Result<(), SimError> {
        let user = self
            .users
            .get_mut(&id)
            .ok_or_else(|| SimError::not_found(format!("User {id} not found")))?;
        user.deleted = true;
        user.updated_at = Utc::now();
        for group in self.groups.values_mut() {
            group.members.remove(&id);
        }
        Ok(())
    }
}
