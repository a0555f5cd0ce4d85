//! `Live`: the current [`Snapshot`], swapped whole. Readers take an `Arc` under a read lock
//! held only for the clone, so a swap never waits for a request and a request never sees half
//! of a reload.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::config::{ApiToken, ClientIpHeader, Config, SourceConfig};
use crate::net::Cidr;

/// The part of the configuration a reload replaces.
#[derive(Debug)]
pub struct Snapshot {
    /// Webhook sources by name.
    pub sources: HashMap<String, Arc<SourceConfig>>,
    /// `[[api.tokens]]`.
    pub api_tokens: Arc<[ApiToken]>,
    /// `server.trusted_proxies`.
    pub trusted_proxies: Vec<Cidr>,
    /// `server.client_ip_header`.
    pub client_ip_header: ClientIpHeader,
    /// `secrets.expiry_warning_secs`.
    pub expiry_warning_secs: u64,
}

impl Snapshot {
    /// The reloadable part of `config`.
    pub fn from_config(config: &Config) -> Snapshot {
        Snapshot {
            sources: config
                .sources
                .iter()
                .map(|s| (s.name.clone(), Arc::new(s.clone())))
                .collect(),
            api_tokens: config.api.tokens.clone().into(),
            trusted_proxies: config.server.trusted_proxies.clone(),
            client_ip_header: config.server.client_ip_header,
            expiry_warning_secs: config.secrets.expiry_warning_secs,
        }
    }
}

/// The snapshot in force.
#[derive(Debug)]
pub struct Live(RwLock<Arc<Snapshot>>);

impl Live {
    pub fn new(snapshot: Snapshot) -> Self {
        Live(RwLock::new(Arc::new(snapshot)))
    }

    /// The current snapshot; keep it for the whole request.
    pub fn load(&self) -> Arc<Snapshot> {
        match self.0.read() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Puts `snapshot` in force for requests that start from now on.
    pub fn store(&self, snapshot: Snapshot) {
        let next = Arc::new(snapshot);
        match self.0.write() {
            Ok(mut g) => *g = next,
            Err(poisoned) => *poisoned.into_inner() = next,
        }
    }
}
