//! Pulls: the identity provider's own API as the second, authoritative input, beside the
//! pushed webhooks of `sources/`.
//!
//! For each source with a `[sources.pull]` table, a poller (`poller`) runs on every replica;
//! a lease in the store (`pull:<source>`) lets one run at a time, and the schedule is shared
//! through the store (`pull_state`). A run pulls the events the webhooks may have missed
//! (`events`: cursor and page in one commit, through the inbox's ingest path under the
//! source's name, so a pushed and a pulled copy are stored once), and, on its own interval,
//! lists the directory (`directory`: differences become canonical events stamped with the
//! listing's time; removals pass the reconcile caps).
//!
//! Each provider is one connector (`connector::Connector`) in its own module (`okta`, `workos`,
//! `entra`, `bamboohr`), registered in `registry`. Connectors only speak HTTP (`http`: the request
//! budget of `budget`, the provider's 429 headers, retries) and map events through the push
//! adapters' own functions. Nothing here calls Domo: the workers apply what is queued.

pub mod bamboohr;
pub mod budget;
pub mod cli;
pub mod connector;
pub mod directory;
pub mod entra;
pub mod events;
pub mod http;
pub mod jwt;
mod lease;
pub mod okta;
mod poller;
mod registry;
pub mod run;
mod schedule;
pub mod status;
pub mod workos;

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use crate::config::{Provider, SourceConfig};
use crate::reconcile::Limits;
use crate::reload::Live;
use crate::rules::{RuleSet, name_key};
use crate::store::Store;

pub use connector::{Connector, PullError, Step};
pub use registry::is_registered;
pub use run::{PullReport, RunNowError};

/// The pulls of every source: the connectors (rebuilt when a reload changes a source), and
/// what every run needs.
pub struct Pulls {
    store: Store,
    live: Arc<Live>,
    notify: Arc<Notify>,
    rules: Arc<RuleSet>,
    limits: Limits,
    /// Protected Domo groups, lower-cased.
    protected: BTreeSet<String>,
    http: reqwest::Client,
    connectors: Mutex<HashMap<String, Bound>>,
    /// Who wants `reconcile.held` / `reconcile.completed` of directory passes.
    notifier: Arc<crate::notify::build::Notifier>,
    /// Told of every event pull (`source.failing`).
    watch: Arc<crate::notify::source::SourceWatch>,
    /// One per source: wakes its poller on this replica at once (a Graph change notification
    /// made its next event pull due now).
    wakers: Mutex<HashMap<String, Arc<Notify>>>,
}

/// A source's configuration with the connector built from it.
pub(crate) type Bound = (Arc<SourceConfig>, Arc<dyn Connector>);

/// What [`Pulls::new`] takes.
pub struct PullsSettings {
    pub store: Store,
    pub live: Arc<Live>,
    pub notify: Arc<Notify>,
    pub rules: Arc<RuleSet>,
    pub reconcile: crate::config::ReconcileConfig,
    pub notifier: Arc<crate::notify::build::Notifier>,
    pub watch: Arc<crate::notify::source::SourceWatch>,
}

impl Pulls {
    pub fn new(s: PullsSettings) -> Arc<Pulls> {
        let http = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(10))
            .timeout(std::time::Duration::from_secs(60))
            .user_agent(concat!("domo-group-sync/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        Arc::new(Pulls {
            store: s.store,
            live: s.live,
            notify: s.notify,
            rules: s.rules,
            limits: Limits {
                remove_unknown: s.reconcile.remove_unknown,
                max_removals: s.reconcile.max_removals,
                max_removal_share: s.reconcile.max_removal_share,
            },
            protected: s
                .reconcile
                .protected_groups
                .iter()
                .map(|g| name_key(g))
                .collect(),
            http,
            connectors: Mutex::new(HashMap::new()),
            notifier: s.notifier,
            watch: s.watch,
            wakers: Mutex::new(HashMap::new()),
        })
    }

    /// Wakes `source`'s poller on this replica, so that it looks at the shared schedule now
    /// rather than at the end of its sleep. A wake while the poller is busy is kept for its
    /// next sleep. Other replicas see the schedule at their next look.
    pub fn wake(&self, source: &str) {
        self.waker(source).notify_one();
    }

    /// The waker of `source`'s poller.
    fn waker(&self, source: &str) -> Arc<Notify> {
        self.wakers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(source.to_owned())
            .or_default()
            .clone()
    }

    /// What every event pull is reported to (`source.failing`).
    pub fn watch(&self) -> Arc<crate::notify::source::SourceWatch> {
        self.watch.clone()
    }

    /// The configured sources that pull, as configured now.
    pub fn sources(&self) -> Vec<Arc<SourceConfig>> {
        let mut out: Vec<Arc<SourceConfig>> = self
            .live
            .load()
            .sources
            .values()
            .filter(|s| s.pull.is_some())
            .cloned()
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    /// The source's configuration and connector as configured now; the connector is built
    /// again when a reload changed the source (new credentials, budget, address).
    /// `None` when the source does not exist or does not pull.
    pub(crate) fn connector(&self, name: &str) -> Option<Result<Bound, String>> {
        let source = self.live.load().sources.get(name).cloned()?;
        let pull = source.pull.as_ref()?;
        let mut cache = self
            .connectors
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // A reload rebuilds every source; the connector (its budget, its OAuth token) is kept
        // while the source's pull table is the same.
        if let Some((cfg, conn)) = cache.get(name)
            && cfg.pull == source.pull
        {
            let conn = conn.clone();
            cache.insert(name.to_owned(), (source.clone(), conn.clone()));
            return Some(Ok((source, conn)));
        }
        let Some(build) = registry::build_fn(pull.provider) else {
            return Some(Err(format!(
                "the `{}` pull connector is not implemented yet",
                pull.provider.as_str()
            )));
        };
        let budget = budget::Budget::new(pull.budget_share, pull.max_requests_per_minute);
        let http = http::Http::new(self.http.clone(), budget, name);
        Some(build(&source, pull, http).map(|conn| {
            let conn: Arc<dyn Connector> = Arc::from(conn);
            cache.insert(name.to_owned(), (source.clone(), conn.clone()));
            (source, conn)
        }))
    }

    /// The provider of a pulling source.
    pub fn provider_of(&self, name: &str) -> Option<Provider> {
        self.live
            .load()
            .sources
            .get(name)
            .and_then(|s| s.pull.as_ref())
            .map(|p| p.provider)
    }
}

/// The name of a source's pull lease.
pub(crate) fn lease_name(source: &str) -> String {
    format!("pull:{source}")
}
