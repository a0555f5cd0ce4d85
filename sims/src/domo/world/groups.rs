//! Group operations of the simulated instance: create, rename, (de)activate, delete, and
//! membership, with Domo's rules (reference §3).

use super::{Actor, GroupUpdate, NewGroup, World, unique_key};
use crate::domo::error::SimError;
use crate::domo::model::Group;
use crate::domo::params::Page;

impl World {
    /// A group by id, or 404.
    pub fn group(&self, id: u64) -> Result<&Group, SimError> {
        self.groups
            .get(&id)
            .ok_or_else(|| SimError::not_found(format!("Group {id} not found")))
    }

    /// Every group, in creation order.
    pub fn groups(&self) -> impl Iterator<Item = &Group> {
        self.group_order.iter().filter_map(|id| self.groups.get(id))
    }

    /// One page of groups, in creation order.
    pub fn groups_page(&self, page: Page) -> impl Iterator<Item = &Group> {
        self.groups().skip(page.offset).take(page.limit)
    }

    /// Creates a group; `creator` (the API client's user) becomes its first member.
    pub fn create_group(
        &mut self,
        new: NewGroup,
        creator: Option<u64>,
    ) -> Result<&Group, SimError> {
        let name = new.name.trim().to_owned();
        if name.is_empty() {
            return Err(SimError::bad_request("Group name is required"));
        }
        self.check_name_free(&name, None)?;
        let id = self.new_id();
        let members = creator
            .filter(|id| self.users.contains_key(id))
            .into_iter()
            .collect();
        let group = Group {
            id,
            name,
            active: new.active.unwrap_or(true),
            default: new.default.unwrap_or(false),
            creator_id: creator.unwrap_or_default(),
            members,
        };
        self.group_order.push(id);
        self.group_names.insert(unique_key(&group.name), id);
        Ok(self.groups.entry(id).or_insert(group))
    }

    fn check_name_free(&self, name: &str, except: Option<u64>) -> Result<(), SimError> {
        let holder = self.group_names.get(&unique_key(name)).copied();
        if holder.is_some() && holder != except {
            return Err(SimError::bad_request(format!(
                "A group with the name '{name}' already exists"
            )));
        }
        Ok(())
    }

    /// Changes the fields given in `update`.
    pub fn update_group(&mut self, id: u64, update: GroupUpdate) -> Result<&Group, SimError> {
        self.group(id)?;
        let name = match update.name.map(|n| n.trim().to_owned()) {
            Some(name) if name.is_empty() => {
                return Err(SimError::bad_request("Group name must not be empty"));
            }
            Some(name) => {
                self.check_name_free(&name, Some(id))?;
                Some(name)
            }
            None => None,
        };
        if let Some(name) = &name {
            let old = unique_key(&self.group(id)?.name);
            self.group_names.remove(&old);
            self.group_names.insert(unique_key(name), id);
        }
        let group = self.group_mut(id)?;
        if let Some(name) = name {
            group.name = name;
        }
        if let Some(active) = update.active {
            group.active = active;
        }
        if let Some(default) = update.default {
            group.default = default;
        }
        Ok(group)
    }

    /// Deletes an empty, non-default group.
    pub fn delete_group(&mut self, id: u64) -> Result<(), SimError> {
        let group = self.group(id)?;
        if group.default {
            return Err(SimError::bad_request("The default group cannot be deleted"));
        }
        if !group.members.is_empty() {
            return Err(SimError::bad_request(format!(
                "Unable to delete group {id}: it still has {} users in it",
                group.members.len()
            )));
        }
        if let Some(group) = self.groups.remove(&id) {
            self.group_names.remove(&unique_key(&group.name));
        }
        self.group_order.retain(|g| *g != id);
        Ok(())
    }

    fn group_mut(&mut self, id: u64) -> Result<&mut Group, SimError> {
        self.groups
            .get_mut(&id)
            .ok_or_else(|| SimError::not_found(format!("Group {id} not found")))
    }

    /// Adds a member; a no-op when the user already is one.
    pub fn add_member(
        &mut self,
        group_id: u64,
        user_id: u64,
        actor: Actor,
    ) -> Result<(), SimError> {
        let group = self.group(group_id)?;
        let user = self.user(user_id)?;
        if user.deleted {
            return Err(SimError::bad_request(format!("User {user_id} is deleted")));
        }
        if !group.active && actor == Actor::Api {
            return Err(SimError::bad_request(format!(
                "Unable to add users to inactive group {group_id}"
            )));
        }
        self.group_mut(group_id)?.members.insert(user_id);
        Ok(())
    }

    /// Removes a member; a no-op when the user is not one.
    pub fn remove_member(
        &mut self,
        group_id: u64,
        user_id: u64,
        actor: Actor,
    ) -> Result<(), SimError> {
        let group = self.group(group_id)?;
        self.user(user_id)?;
        if group.default && actor == Actor::Api && group.members.contains(&user_id) {
            return Err(SimError::bad_request(
                "Users cannot be removed from the default group",
            ));
        }
        self.group_mut(group_id)?.members.remove(&user_id);
        Ok(())
    }
}
