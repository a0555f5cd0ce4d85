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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ConfigInput, SourceSecret};

    fn config(secret: &str, not_after: Option<&str>) -> Config {
        let lifecycle = not_after.map_or(String::new(), |t| format!(", not_after = {t}"));
        let toml = format!(
            "[[sources]]\nname = \"gh\"\nformat = \"canonical\"\nscheme = \"github\"\n\
             secrets = [{{ value = \"{secret}\", name = \"n\"{lifecycle} }}]\n"
        );
        Config::parse(ConfigInput {
            toml: Some(&toml),
            env: &Default::default(),
        })
        .expect("valid")
    }

    #[test]
    fn a_snapshot_taken_before_a_swap_keeps_the_old_configuration() {
        let live = Live::new(Snapshot::from_config(&config("old", None)));
        let in_flight = live.load();
        live.store(Snapshot::from_config(&config("new", None)));
        let secret = |s: &Snapshot| s.sources["gh"].secrets[0].expose().to_owned();
        assert_eq!(secret(&in_flight), "old");
        assert_eq!(secret(&live.load()), "new");
    }

    #[test]
    fn secrets_close_to_expiry_are_warned_about_once() {
        let c = config("s", Some("2026-12-10T00:00:00Z"));
        let snapshot = Snapshot::from_config(&c);
        let not_after = 1_796_860_800;
        assert_eq!(
            snapshot.sources["gh"].secrets[0],
            SourceSecret {
                not_after: Some(not_after),
                name: Some("n".into()),
                ..SourceSecret::new("s")
            }
        );
        let window = i64::try_from(snapshot.expiry_warning_secs).expect("fits");
        let mut warned = std::collections::HashSet::new();
        // Outside the window, inside it (once), and after expiry (no longer live).
        assert_eq!(
            super::super::expiry_warnings(&snapshot, not_after - window - 1, Some(&mut warned)),
            0
        );
        assert_eq!(
            super::super::expiry_warnings(&snapshot, not_after - 60, Some(&mut warned)),
            1
        );
        assert_eq!(warned.len(), 1);
        assert_eq!(
            super::super::expiry_warnings(&snapshot, not_after - 30, Some(&mut warned)),
            1
        );
        assert_eq!(warned.len(), 1);
        assert_eq!(super::super::expiry_warnings(&snapshot, not_after, None), 0);
    }
}
