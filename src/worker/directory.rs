//! What the service knows of Domo's groups and users: name → group id, email → user id, which
//! groups are managed or protected. Kept in memory, persisted in the store (warm restarts), and
//! refreshed from Domo's paged lists on a miss, at most once per `min_refresh`.
//!
//! A missing group is created under a lock, after looking it up by name again, so two workers
//! (or, on PostgreSQL, two replicas: an advisory lock) never create it twice.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::domo::{DomoClient, DomoError};
use crate::rules::name_key;
use crate::store::{Store, StoreError};

use super::recorder::{CallInfo, Recorder};

#[derive(Debug, Clone)]
struct GroupInfo {
    id: i64,
    name: String,
    managed: bool,
    is_default: bool,
}

/// Why a directory lookup failed.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    #[error(transparent)]
    Domo(#[from] DomoError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Domo groups and users as the service knows them.
pub struct Directory {
    store: Store,
    domo: DomoClient,
    groups: Mutex<HashMap<String, GroupInfo>>,
    users: Mutex<HashMap<String, i64>>,
    groups_refreshed: tokio::sync::Mutex<Option<Instant>>,
    users_refreshed: tokio::sync::Mutex<Option<Instant>>,
    create_lock: tokio::sync::Mutex<()>,
    static_targets: BTreeSet<String>,
    protected: BTreeSet<String>,
    min_refresh: Duration,
}

/// The result of making sure a group exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ensured {
    /// The group exists with this id (`created` if this call made it).
    Exists { id: i64, created: bool },
    /// Dry run: the group does not exist and was not created.
    WouldCreate,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Directory {
    /// Loads what the store remembers. `static_targets` are the rules' fixed group names
    /// (managed by definition); `protected` names are never changed.
    pub async fn load(
        store: Store,
        domo: DomoClient,
        static_targets: BTreeSet<String>,
        protected: BTreeSet<String>,
        min_refresh: Duration,
    ) -> Result<Self, StoreError> {
        let groups = store
            .domo_groups()
            .await?
            .into_iter()
            .map(|g| {
                let info = GroupInfo {
                    id: g.domo_id,
                    name: g.name.clone(),
                    managed: g.managed,
                    is_default: g.is_default,
                };
                (name_key(&g.name), info)
            })
            .collect();
        let users = store.domo_users_all().await?.into_iter().collect();
        Ok(Directory {
            store,
            domo,
            groups: Mutex::new(groups),
            users: Mutex::new(users),
            groups_refreshed: tokio::sync::Mutex::new(None),
            users_refreshed: tokio::sync::Mutex::new(None),
            create_lock: tokio::sync::Mutex::new(()),
            static_targets: static_targets.iter().map(|n| name_key(n)).collect(),
            protected: protected.iter().map(|n| name_key(n)).collect(),
            min_refresh,
        })
    }

    /// Whether the service may change membership of this group: a rule names it, or the
    /// service created or used it for a rule before. Protected groups never are.
    pub fn is_managed(&self, name: &str) -> bool {
        let key = name_key(name);
        if self.is_protected(name) {
            return false;
        }
        self.static_targets.contains(&key)
            || lock(&self.groups).get(&key).is_some_and(|g| g.managed)
    }

    /// Takes up the managed marks that other replicas stored, when one of `names` is not
    /// known here as managed or protected: a group another replica created (or used for a
    /// rule) is managed by this one too, so an offboarding here removes the user from it.
    pub async fn reload_marks_if_unknown<'a>(
        &self,
        mut names: impl Iterator<Item = &'a String>,
    ) -> Result<(), StoreError> {
        if !names.any(|n| !self.is_managed(n) && !self.is_protected(n)) {
            return Ok(());
        }
        self.reload_marks().await
    }

    /// Takes up the managed marks that other replicas stored.
    pub async fn reload_marks(&self) -> Result<(), StoreError> {
        let rows = self.store.domo_groups().await?;
        let mut groups = lock(&self.groups);
        for g in rows.into_iter().filter(|g| g.managed) {
            let e = groups
                .entry(name_key(&g.name))
                .or_insert_with(|| GroupInfo {
                    id: g.domo_id,
                    name: g.name.clone(),
                    managed: true,
                    is_default: g.is_default,
                });
            e.managed = true;
        }
        Ok(())
    }

    /// Domo's default group and configured protected groups.
    pub fn is_protected(&self, name: &str) -> bool {
        let key = name_key(name);
        self.protected.contains(&key) || lock(&self.groups).get(&key).is_some_and(|g| g.is_default)
    }

    /// Every group the service manages that exists in Domo: (name, id), protected left out.
    pub fn managed_groups(&self) -> Vec<(String, i64)> {
        let mut out: Vec<(String, i64)> = lock(&self.groups)
            .iter()
            .filter(|(key, g)| {
                (g.managed || self.static_targets.contains(*key))
                    && !g.is_default
                    && !self.protected.contains(*key)
            })
            .map(|(_, g)| (g.name.clone(), g.id))
            .collect();
        out.sort();
        out
    }

    /// Whether a group id is the default group.
    pub fn is_default_id(&self, id: i64) -> bool {
        lock(&self.groups)
            .values()
            .any(|g| g.id == id && g.is_default)
    }

    /// The cached id of a group.
    pub fn group_id(&self, name: &str) -> Option<i64> {
        lock(&self.groups).get(&name_key(name)).map(|g| g.id)
    }

    /// The cached name of a group id.
    pub fn group_name(&self, id: i64) -> Option<String> {
        lock(&self.groups)
            .values()
            .find(|g| g.id == id)
            .map(|g| g.name.clone())
    }

    /// Loads the group list once per process, so the default group is known before the first
    /// plan (a live read of a user's groups does not say which one is the default).
    pub async fn ensure_groups_loaded(&self, rec: &mut Recorder) -> Result<(), DirectoryError> {
        if self.groups_refreshed.lock().await.is_some() {
            return Ok(());
        }
        self.refresh_groups(true, rec).await
    }

    /// Reloads the group list from Domo unless it was reloaded less than `min_refresh` ago
    /// (`force` ignores that).
    pub async fn refresh_groups(
        &self,
        force: bool,
        rec: &mut Recorder,
    ) -> Result<(), DirectoryError> {
        let mut last = self.groups_refreshed.lock().await;
        if !force && last.is_some_and(|t| t.elapsed() < self.min_refresh) {
            return Ok(());
        }
        let list = rec
            .call(
                "list_groups",
                200,
                CallInfo::default(),
                self.domo.list_all_groups(),
            )
            .await?;
        let rows: Vec<(String, i64, bool)> = list
            .into_iter()
            .filter(|g| g.deleted != Some(true))
            .filter_map(|g| g.name.map(|n| (n, g.id, g.default == Some(true))))
            .collect();
        self.store
            .upsert_domo_groups(&rows, chrono::Utc::now().timestamp_millis())
            .await?;
        {
            let mut groups = lock(&self.groups);
            for (name, id, is_default) in rows {
                let e = groups.entry(name_key(&name)).or_insert_with(|| GroupInfo {
                    id,
                    name: name.clone(),
                    managed: false,
                    is_default,
                });
                e.id = id;
                e.name = name;
                e.is_default = is_default;
            }
        }
        *last = Some(Instant::now());
        Ok(())
    }

    /// Makes sure a group of this name exists in Domo, creating it once if it does not (never
    /// in dry run), and records it as managed.
    pub async fn ensure_group(
        &self,
        name: &str,
        dry_run: bool,
        rec: &mut Recorder,
        rule: Option<usize>,
    ) -> Result<Ensured, DirectoryError> {
        if let Some(id) = self.group_id(name) {
            self.mark_managed(name, id, false).await?;
            return Ok(Ensured::Exists { id, created: false });
        }
        self.refresh_groups(false, rec).await?;
        if let Some(id) = self.group_id(name) {
            self.mark_managed(name, id, false).await?;
            return Ok(Ensured::Exists { id, created: false });
        }
        if dry_run {
            rec.dry_run(
                "create_group",
                CallInfo {
                    rule,
                    group_name: Some(name.to_owned()),
                    ..CallInfo::default()
                },
            );
            return Ok(Ensured::WouldCreate);
        }
        // One creator at a time in this process; across replicas, a store-level lock.
        let _guard = self.create_lock.lock().await;
        // Another task of this process may have created it while we waited for the lock.
        if let Some(id) = self.group_id(name) {
            self.mark_managed(name, id, false).await?;
            return Ok(Ensured::Exists { id, created: false });
        }
        let _store_lock = self.store.lock_group_creation(&name_key(name)).await?;
        self.refresh_groups(true, rec).await?;
        if let Some(id) = self.group_id(name) {
            self.mark_managed(name, id, false).await?;
            return Ok(Ensured::Exists { id, created: false });
        }
        let info = CallInfo {
            rule,
            group_name: Some(name.to_owned()),
            ..CallInfo::default()
        };
        match rec
            .call("create_group", 201, info, self.domo.create_group(name))
            .await
        {
            Ok(g) => {
                self.remember_group(name, g.id, true).await?;
                tracing::info!(
                    domo.group = name,
                    domo.group_id = g.id,
                    "created a Domo group"
                );
                Ok(Ensured::Exists {
                    id: g.id,
                    created: true,
                })
            }
            // Domo answers 400 to a duplicate name: someone made it meanwhile. Look again.
            Err(DomoError::Rejected { status: 400, .. }) => {
                self.refresh_groups(true, rec).await?;
                match self.group_id(name) {
                    Some(id) => {
                        self.mark_managed(name, id, false).await?;
                        Ok(Ensured::Exists { id, created: false })
                    }
                    None => Err(DomoError::Rejected {
                        status: 400,
                        message: format!("Domo refused to create group `{name}`"),
                    }
                    .into()),
                }
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn mark_managed(&self, name: &str, id: i64, created: bool) -> Result<(), StoreError> {
        let already = lock(&self.groups)
            .get(&name_key(name))
            .is_some_and(|g| g.managed && !created);
        if already {
            return Ok(());
        }
        self.remember_group(name, id, created).await
    }

    async fn remember_group(&self, name: &str, id: i64, created: bool) -> Result<(), StoreError> {
        self.store
            .mark_group(name, id, created, chrono::Utc::now().timestamp_millis())
            .await?;
        let mut groups = lock(&self.groups);
        let e = groups.entry(name_key(name)).or_insert_with(|| GroupInfo {
            id,
            name: name.to_owned(),
            managed: true,
            is_default: false,
        });
        e.id = id;
        e.managed = true;
        Ok(())
    }

    /// The Domo user id of an email: from the cache, else from a fresh user list (at most once
    /// per `min_refresh`).
    pub async fn user_id(
        &self,
        email: &str,
        rec: &mut Recorder,
    ) -> Result<Option<i64>, DirectoryError> {
        if let Some(id) = lock(&self.users).get(email) {
            return Ok(Some(*id));
        }
        {
            let mut last = self.users_refreshed.lock().await;
            if let Some(id) = lock(&self.users).get(email) {
                return Ok(Some(*id)); // another task refreshed while we waited
            }
            if last.is_none_or(|t| t.elapsed() >= self.min_refresh) {
                let list = rec
                    .call(
                        "list_users",
                        200,
                        CallInfo::default(),
                        self.domo.list_all_users(),
                    )
                    .await?;
                let pairs: Vec<(String, i64)> = list
                    .into_iter()
                    .filter(|u| u.deleted != Some(true))
                    .filter_map(|u| u.email.map(|e| (crate::event::normalize_email(&e), u.id)))
                    .collect();
                self.store
                    .upsert_domo_users(&pairs, chrono::Utc::now().timestamp_millis())
                    .await?;
                lock(&self.users).extend(pairs);
                *last = Some(Instant::now());
            }
        }
        Ok(lock(&self.users).get(email).copied())
    }

    /// Records a user the service created.
    pub async fn remember_user(&self, email: &str, id: i64) -> Result<(), StoreError> {
        self.store
            .upsert_domo_users(
                &[(email.to_owned(), id)],
                chrono::Utc::now().timestamp_millis(),
            )
            .await?;
        lock(&self.users).insert(email.to_owned(), id);
        Ok(())
    }

    /// Forgets a user id (Domo says the user is deleted).
    pub fn forget_user(&self, email: &str) {
        lock(&self.users).remove(email);
    }
}
