//! Configuration that changes while the service runs: the sources (their secrets, lifecycles
//! and address allowlists, and their `[sources.pull]` tables: the pollers follow the snapshot,
//! start and stop with it, and rebuild a source's connector when its pull table changed, e.g.
//! a rotated API token or private key), the API tokens, the trusted proxies.
//!
//! Handlers read one [`Snapshot`] per request from [`Live`] and keep it to the end, so a
//! request in flight finishes with the configuration it started with. A reload (SIGHUP,
//! `POST /api/v1/admin/reload`, or a `file:` secret whose content changed) re-reads the whole
//! file, validates it as `check-config` does, and swaps the snapshot only when it is valid: a
//! broken file changes nothing, its problems are logged, and the failure is counted. Other
//! sections (store, Domo, workers, rules, listen address) take effect at the next restart.

mod snapshot;
mod watch;

pub use snapshot::{Live, Snapshot};
pub use watch::{expiry_warnings, watch};

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::config::{Config, ConfigErrors, WatchedFile};

/// What started a reload (a metric label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// `SIGHUP`.
    Signal,
    /// `POST /api/v1/admin/reload`.
    Api,
    /// A `file:` secret reads differently.
    File,
}

impl Trigger {
    /// The metric label: `sighup`, `api` or `file`.
    pub fn label(self) -> &'static str {
        match self {
            Trigger::Signal => "sighup",
            Trigger::Api => "api",
            Trigger::File => "file",
        }
    }
}

/// What a successful reload put in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reloaded {
    pub sources: usize,
    pub api_tokens: usize,
}

/// Re-reads the configuration file and swaps the live snapshot.
pub struct Reloader {
    live: Arc<Live>,
    /// The file the service started from, else the text it was given (`None`: defaults and
    /// the environment only).
    file: Option<PathBuf>,
    text: Option<crate::config::Secret>,
    /// Sources the service added itself (the demo source): kept across reloads (a reload of a
    /// demo sees no sources of its own, as at start).
    added: Vec<crate::config::SourceConfig>,
    /// API tokens the service added itself (the demo's admin token): kept across reloads.
    added_tokens: Vec<crate::config::ApiToken>,
    /// The `file:` secrets of the configuration in place, as read.
    watched: Mutex<Vec<WatchedFile>>,
    /// Serialises reloads (a signal and an API call at once).
    running: tokio::sync::Mutex<()>,
}

impl Reloader {
    /// A reloader for the configuration `config` (already in `live`).
    pub fn new(live: Arc<Live>, config: &Config, added: Vec<crate::config::SourceConfig>) -> Self {
        Reloader {
            live,
            file: config.file.clone(),
            text: config.text.clone(),
            added,
            added_tokens: Vec::new(),
            watched: Mutex::new(config.watched.clone()),
            running: tokio::sync::Mutex::new(()),
        }
    }

    /// Keeps `tokens` (added by the service itself) in every reloaded configuration.
    pub fn with_added_tokens(mut self, tokens: Vec<crate::config::ApiToken>) -> Self {
        self.added_tokens = tokens;
        self
    }

    /// The live snapshot.
    pub fn live(&self) -> &Arc<Live> {
        &self.live
    }

    /// The `file:` secrets being watched.
    pub fn watched(&self) -> Vec<WatchedFile> {
        self.watched.lock().map(|w| w.clone()).unwrap_or_default()
    }

    /// Reloads: on success the new snapshot is in place; on failure nothing changed and every
    /// problem is logged (and returned). Either way the outcome is counted in
    /// `dgs_config_reloads_total{trigger, result}`.
    pub async fn reload(&self, trigger: Trigger) -> Result<Reloaded, ConfigErrors> {
        let _one_at_a_time = self.running.lock().await;
        let (file, text) = (self.file.clone(), self.text.clone());
        let loaded = tokio::task::spawn_blocking(move || match file {
            Some(path) => Config::load(Some(&path)),
            None => {
                let env: std::collections::BTreeMap<String, String> = std::env::vars().collect();
                Config::parse(crate::config::ConfigInput {
                    toml: text.as_ref().map(crate::config::Secret::expose),
                    env: &env,
                })
            }
        })
        .await
        .unwrap_or_else(|e| Err(ConfigErrors(vec![format!("the reload failed: {e}")])));
        let result = match loaded {
            Ok(mut config) => {
                config.sources.extend(self.added.iter().cloned());
                config.api.tokens.extend(self.added_tokens.iter().cloned());
                let snapshot = Snapshot::from_config(&config);
                let done = Reloaded {
                    sources: snapshot.sources.len(),
                    api_tokens: snapshot.api_tokens.len(),
                };
                if let Ok(mut w) = self.watched.lock() {
                    *w = config.watched.clone();
                }
                self.live.store(snapshot);
                expiry_warnings(&self.live.load(), chrono::Utc::now().timestamp(), None);
                tracing::info!(
                    trigger = trigger.label(),
                    sources = done.sources,
                    api_tokens = done.api_tokens,
                    "configuration reloaded (sources, API tokens, trusted proxies); other \
                     sections take effect at the next restart"
                );
                Ok(done)
            }
            Err(errors) => {
                // The same text check-config prints, one problem per line.
                tracing::error!(
                    trigger = trigger.label(),
                    problems = errors.0.len(),
                    "configuration reload refused, the running configuration is unchanged:\n{errors}"
                );
                Err(errors)
            }
        };
        let label = if result.is_ok() { "ok" } else { "failed" };
        metrics::counter!(crate::prometheus::CONFIG_RELOADS,
            "trigger" => trigger.label(), "result" => label)
        .increment(1);
        result
    }
}
