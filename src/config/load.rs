//! Loading: TOML file → `DGS_*` environment overrides → section-by-section deserialisation →
//! secret references resolved → validated [`Config`]. Every problem is collected and reported
//! together, each naming its key and how to fix it.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::Path;

use serde::de::DeserializeOwned;

use super::raw::{
    RawApi, RawConsole, RawDomo, RawLog, RawNotify, RawReconcile, RawRule, RawSecrets, RawServer,
    RawSource, RawStore, RawSubscriber, RawTelemetry, RawToken, RawWorker, Text,
};
use super::types::*;

/// Every problem found in a configuration, in the order found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<String>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        writeln!(
            f,
            "{n} problem{} in the configuration:",
            if n == 1 { "" } else { "s" }
        )?;
        for p in &self.0 {
            writeln!(f, "  - {p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

const TOP_LEVEL: [&str; 14] = [
    "server",
    "store",
    "domo",
    "worker",
    "log",
    "sources",
    "rules",
    "api",
    "reconcile",
    "secrets",
    "console",
    "subscribers",
    "notify",
    "telemetry",
];

/// Where the configuration comes from: the file's text (if any) and the environment.
pub struct ConfigInput<'a> {
    /// The TOML text, or `None` to run on defaults.
    pub toml: Option<&'a str>,
    /// Environment variables (name, value); `DGS_*` override keys, and `env:NAME` secrets read here.
    pub env: &'a BTreeMap<String, String>,
}

impl Config {
    /// Loads from an optional file path and the process environment.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigErrors> {
        let env: BTreeMap<String, String> = std::env::vars().collect();
        let text = match path {
            Some(p) => Some(std::fs::read_to_string(p).map_err(|e| {
                ConfigErrors(vec![format!(
                    "cannot read config file {}: {e}",
                    p.display()
                )])
            })?),
            None => None,
        };
        let mut config = Config::parse(ConfigInput {
            toml: text.as_deref(),
            env: &env,
        })?;
        config.file = path.map(Path::to_path_buf);
        config.text = None;
        Ok(config)
    }

    /// Parses and validates configuration text plus environment overrides.
    pub fn parse(input: ConfigInput<'_>) -> Result<Config, ConfigErrors> {
        let mut errors = Vec::new();
        let mut table = match input.toml {
            Some(text) => match text.parse::<toml::Table>() {
                Ok(t) => t,
                Err(e) => {
                    return Err(ConfigErrors(vec![format!(
                        "the file is not valid TOML: {}",
                        e.to_string().trim()
                    )]));
                }
            },
            None => toml::Table::new(),
        };
        super::env::apply_env_overrides(&mut table, input.env, &mut errors);
        for key in table.keys() {
            if !TOP_LEVEL.contains(&key.as_str()) {
                errors.push(format!(
                    "unknown key `{key}`: expected one of {}",
                    TOP_LEVEL.join(", ")
                ));
            }
        }
        let mut cx = Cx {
            errors,
            env: input.env,
            watched: Vec::new(),
        };
        let mut config = cx.build(&table);
        config.demo = input.toml.is_none();
        config.text = input.toml.map(Secret::new);
        config.watched = std::mem::take(&mut cx.watched);
        if cx.errors.is_empty() {
            Ok(config)
        } else {
            Err(ConfigErrors(cx.errors))
        }
    }
}

/// The validation context: collects errors and resolves secret references.
pub(super) struct Cx<'a> {
    pub(super) errors: Vec<String>,
    env: &'a BTreeMap<String, String>,
    /// The `file:` references read so far, with what they held.
    watched: Vec<WatchedFile>,
}

impl Cx<'_> {
    pub(super) fn err(&mut self, msg: impl Into<String>) {
        self.errors.push(msg.into());
    }

    /// Deserialises one section; a type or unknown-key error is recorded under `path`.
    fn section<T: DeserializeOwned + Default>(&mut self, v: Option<&toml::Value>, path: &str) -> T {
        match v {
            None => T::default(),
            Some(v) => self.item(v, path).unwrap_or_default(),
        }
    }

    pub(super) fn item<T: DeserializeOwned>(&mut self, v: &toml::Value, path: &str) -> Option<T> {
        match v.clone().try_into::<T>() {
            Ok(t) => Some(t),
            Err(e) => {
                self.err(format!("{path}: {}", e.to_string().trim()));
                None
            }
        }
    }

    fn list<T: DeserializeOwned>(&mut self, v: Option<&toml::Value>, path: &str) -> Vec<Option<T>> {
        match v {
            None => Vec::new(),
            Some(toml::Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, it)| self.item(it, &format!("{path}[{i}]")))
                .collect(),
            Some(_) => {
                self.err(format!(
                    "{path}: must be a list of tables, written [[{path}]]"
                ));
                Vec::new()
            }
        }
    }

    /// Resolves a secret written inline, as `env:NAME`, or as `file:PATH`.
    pub(super) fn secret(&mut self, raw: &Text, path: &str) -> Option<Secret> {
        let s = raw.0.as_str();
        if let Some(name) = s.strip_prefix("env:") {
            match self.env.get(name) {
                Some(v) if !v.is_empty() => Some(Secret::new(v.clone())),
                _ => {
                    self.err(format!(
                        "{path}: environment variable {name} is not set (or empty); export it, or \
                         give the value inline or as file:PATH"
                    ));
                    None
                }
            }
        } else if let Some(file) = s.strip_prefix("file:") {
            let read = std::fs::read_to_string(file);
            self.watched.push(WatchedFile {
                path: file.into(),
                digest: read
                    .as_ref()
                    .ok()
                    .map(|v| crate::config::digest(v.as_bytes())),
            });
            match read {
                Ok(v) if !v.trim().is_empty() => {
                    Some(Secret::new(v.trim_end_matches(['\n', '\r']).to_owned()))
                }
                Ok(_) => {
                    self.err(format!("{path}: file {file} is empty"));
                    None
                }
                Err(e) => {
                    self.err(format!("{path}: cannot read file {file}: {e}"));
                    None
                }
            }
        } else if s.is_empty() {
            self.err(format!("{path}: must not be empty"));
            None
        } else {
            Some(Secret::new(s.to_owned()))
        }
    }

    pub(super) fn addr(&mut self, raw: Option<&Text>, default: &str, path: &str) -> SocketAddr {
        let s = raw.map_or(default, |t| t.0.as_str());
        s.parse().unwrap_or_else(|_| {
            self.err(format!(
                "{path}: `{s}` is not an address; write IP:PORT, e.g. {default}"
            ));
            default
                .parse()
                .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
        })
    }

    /// `server.public_url`: an http(s) origin, no path, query or fragment.
    fn public_url(&mut self, raw: Option<&Text>) -> Option<url::Url> {
        let text = raw?.0.trim();
        match url::Url::parse(text) {
            Ok(u)
                if matches!(u.scheme(), "http" | "https")
                    && u.host().is_some()
                    && u.path().trim_end_matches('/').is_empty()
                    && u.query().is_none()
                    && u.fragment().is_none() =>
            {
                Some(u)
            }
            _ => {
                self.err(format!(
                    "server.public_url: `{text}` must be the http(s) origin clients use, e.g. \
                     https://dgs.example.com (no path)"
                ));
                None
            }
        }
    }

    /// A count or duration that must be at least 1 (`default` when absent or refused).
    pub(super) fn positive<T: PartialEq + Default>(
        &mut self,
        v: Option<T>,
        default: T,
        path: &str,
    ) -> T {
        match v {
            Some(n) if n == T::default() => {
                self.err(format!("{path}: must be at least 1"));
                default
            }
            Some(n) => n,
            None => default,
        }
    }

    /// `worker.test_clock_offset_ms`: at most a day either way.
    fn clock_offset(&mut self, v: Option<i64>) -> i64 {
        const DAY_MS: i64 = 86_400_000;
        match v {
            Some(n) if !(-DAY_MS..=DAY_MS).contains(&n) => {
                self.err(format!(
                    "worker.test_clock_offset_ms: must be within a day ({DAY_MS} ms) either way, got {n}"
                ));
                0
            }
            Some(n) => n,
            None => 0,
        }
    }

    fn build(&mut self, t: &toml::Table) -> Config {
        let server: RawServer = self.section(t.get("server"), "server");
        let store: RawStore = self.section(t.get("store"), "store");
        let domo: RawDomo = self.section(t.get("domo"), "domo");
        let worker: RawWorker = self.section(t.get("worker"), "worker");
        let log: RawLog = self.section(t.get("log"), "log");
        let api: RawApi = self.section(t.get("api"), "api");
        let reconcile: RawReconcile = self.section(t.get("reconcile"), "reconcile");
        let secrets: RawSecrets = self.section(t.get("secrets"), "secrets");
        let console: RawConsole = self.section(t.get("console"), "console");
        let raw_sources: Vec<Option<RawSource>> = self.list(t.get("sources"), "sources");
        let raw_rules: Vec<Option<RawRule>> = self.list(t.get("rules"), "rules");
        let raw_subscribers: Vec<Option<RawSubscriber>> =
            self.list(t.get("subscribers"), "subscribers");
        let notify: RawNotify = self.section(t.get("notify"), "notify");
        let telemetry: RawTelemetry = self.section(t.get("telemetry"), "telemetry");
        let tokens_value = toml::Value::Array(api.tokens);
        let raw_tokens: Vec<Option<RawToken>> = self.list(Some(&tokens_value), "api.tokens");

        let server = ServerConfig {
            listen: self.addr(server.listen.as_ref(), "127.0.0.1:8080", "server.listen"),
            max_body_bytes: usize::try_from(self.positive(
                server.max_body_bytes,
                1_048_576,
                "server.max_body_bytes",
            ))
            .unwrap_or(usize::MAX),
            request_timeout_secs: self.positive(
                server.request_timeout_secs,
                30,
                "server.request_timeout_secs",
            ),
            header_read_timeout_ms: self.positive(
                server.header_read_timeout_ms,
                10_000,
                "server.header_read_timeout_ms",
            ),
            shutdown_timeout_secs: server.shutdown_timeout_secs.unwrap_or(25),
            trusted_proxies: self.cidrs(server.trusted_proxies, "server.trusted_proxies"),
            client_ip_header: server.client_ip_header.unwrap_or_default(),
            public_url: self.public_url(server.public_url.as_ref()),
        };
        let d = SecretsConfig::default();
        let secrets = SecretsConfig {
            poll_interval_ms: secrets.poll_interval_ms.unwrap_or(d.poll_interval_ms),
            expiry_warning_secs: secrets.expiry_warning_secs.unwrap_or(d.expiry_warning_secs),
        };
        let store = self.store(store);
        let domo = self.domo(domo);
        let worker = WorkerConfig {
            concurrency: usize::try_from(self.positive(
                worker.concurrency,
                8,
                "worker.concurrency",
            ))
            .unwrap_or(8),
            max_attempts: self.positive(worker.max_attempts, 15, "worker.max_attempts"),
            backoff_base_ms: self.positive(worker.backoff_base_ms, 500, "worker.backoff_base_ms"),
            backoff_max_secs: self.positive(
                worker.backoff_max_secs,
                600,
                "worker.backoff_max_secs",
            ),
            lease_secs: self.positive(worker.lease_secs, 10, "worker.lease_secs"),
            test_clock_offset_ms: self.clock_offset(worker.test_clock_offset_ms),
            poll_interval_ms: self.positive(
                worker.poll_interval_ms,
                500,
                "worker.poll_interval_ms",
            ),
        };
        let reconcile = self.reconcile(reconcile);
        let console = self.console(console);
        let log = LogConfig {
            format: log.format.unwrap_or(LogFormat::Compact),
            level: log.level.map_or_else(|| "info".to_owned(), |t| t.0),
        };
        let sources = raw_sources
            .into_iter()
            .enumerate()
            .filter_map(|(i, s)| s.and_then(|s| self.source(s, i)))
            .collect::<Vec<_>>();
        self.unique(sources.iter().map(|s| s.name.as_str()), "sources", "name");
        let rules: Vec<RuleConfig> = raw_rules
            .into_iter()
            .enumerate()
            .filter_map(|(i, r)| r.and_then(|r| self.rule(r, i)))
            .collect();
        if let Err(problems) = crate::rules::RuleSet::compile(&rules) {
            self.errors.extend(problems);
        }
        let tokens = raw_tokens
            .into_iter()
            .enumerate()
            .filter_map(|(i, t)| t.and_then(|t| self.token(t, i)))
            .collect::<Vec<_>>();
        self.unique(tokens.iter().map(|t| t.name.as_str()), "api.tokens", "name");
        let subscribers = raw_subscribers
            .into_iter()
            .enumerate()
            .filter_map(|(i, s)| s.and_then(|s| self.subscriber(s, i)))
            .collect::<Vec<_>>();
        self.unique(
            subscribers.iter().map(|s| s.name.as_str()),
            "subscribers",
            "name",
        );
        let notify = self.notify(notify);
        Config {
            server,
            store,
            domo,
            worker,
            log,
            sources,
            rules,
            api: ApiConfig { tokens },
            reconcile,
            secrets,
            console,
            subscribers,
            notify,
            telemetry: TelemetryConfig {
                include_email: telemetry.include_email.unwrap_or(false),
            },
            demo: false,
            file: None,
            text: None,
            watched: Vec::new(),
        }
    }

    pub(super) fn unique<'a>(
        &mut self,
        names: impl Iterator<Item = &'a str>,
        list: &str,
        key: &str,
    ) {
        let mut seen = std::collections::BTreeSet::new();
        for n in names {
            if !seen.insert(n) {
                self.err(format!(
                    "{list}: two entries have {key} `{n}`; each {key} must be unique"
                ));
            }
        }
    }
}
