//! Loading: TOML file → `DGS_*` environment overrides → section-by-section deserialisation →
//! secret references resolved → validated [`Config`]. Every problem is collected and reported
//! together, each naming its key and how to fix it.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::Path;

use serde::de::DeserializeOwned;

use super::raw::{
    RawApi, RawDomo, RawHmac, RawLog, RawRule, RawServer, RawSource, RawStore, RawToken, RawWorker,
    Text,
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

const TOP_LEVEL: [&str; 8] = [
    "server", "store", "domo", "worker", "log", "sources", "rules", "api",
];
const ENV_PREFIX: &str = "DGS_";

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
        Config::parse(ConfigInput {
            toml: text.as_deref(),
            env: &env,
        })
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
        apply_env_overrides(&mut table, input.env, &mut errors);
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
        };
        let mut config = cx.build(&table);
        config.demo = input.toml.is_none();
        if cx.errors.is_empty() {
            Ok(config)
        } else {
            Err(ConfigErrors(cx.errors))
        }
    }
}

/// Applies `DGS_A__B__C=value` as `a.b.c = value`. A numeric segment indexes an array
/// (`DGS_SOURCES__0__SECRETS`). Values are read as TOML scalars or arrays when they parse as
/// such (`true`, `5`, `["a","b"]`), else as strings.
fn apply_env_overrides(
    table: &mut toml::Table,
    env: &BTreeMap<String, String>,
    errors: &mut Vec<String>,
) {
    for (name, value) in env {
        let Some(path) = name.strip_prefix(ENV_PREFIX) else {
            continue;
        };
        if path == "CONFIG" {
            continue; // DGS_CONFIG names the file itself.
        }
        let segments: Vec<String> = path.split("__").map(str::to_lowercase).collect();
        if segments.iter().any(String::is_empty) {
            errors.push(format!(
                "{name}: empty key segment; write levels as DGS_SECTION__KEY"
            ));
            continue;
        }
        let parsed = format!("v = {value}")
            .parse::<toml::Table>()
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or_else(|| toml::Value::String(value.clone()));
        if let Err(e) = set_path(table, &segments, parsed) {
            errors.push(format!("{name}: {e}"));
        }
    }
}

fn set_path(
    table: &mut toml::Table,
    segments: &[String],
    value: toml::Value,
) -> Result<(), String> {
    let (first, rest) = segments.split_first().ok_or("empty key")?;
    if rest.is_empty() {
        table.insert(first.clone(), value);
        return Ok(());
    }
    let child = table
        .entry(first.clone())
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    set_in_value(child, first, rest, value)
}

fn set_in_value(
    node: &mut toml::Value,
    name: &str,
    rest: &[String],
    value: toml::Value,
) -> Result<(), String> {
    match node {
        toml::Value::Table(t) => set_path(t, rest, value),
        toml::Value::Array(items) => {
            let (index, tail) = rest.split_first().ok_or("empty key")?;
            let i: usize = index
                .parse()
                .map_err(|_| format!("`{name}` is a list: the next segment must be an index"))?;
            if i == items.len() {
                items.push(toml::Value::Table(toml::Table::new()));
            }
            let len = items.len();
            let item = items
                .get_mut(i)
                .ok_or_else(|| format!("`{name}` has {len} entries; index {i} is past the end"))?;
            if tail.is_empty() {
                *item = value;
                Ok(())
            } else {
                set_in_value(item, index, tail, value)
            }
        }
        _ => Err(format!("`{name}` is a value, not a section")),
    }
}

/// The validation context: collects errors and resolves secret references.
struct Cx<'a> {
    errors: Vec<String>,
    env: &'a BTreeMap<String, String>,
}

impl Cx<'_> {
    fn err(&mut self, msg: impl Into<String>) {
        self.errors.push(msg.into());
    }

    /// Deserialises one section; a type or unknown-key error is recorded under `path`.
    fn section<T: DeserializeOwned + Default>(&mut self, v: Option<&toml::Value>, path: &str) -> T {
        match v {
            None => T::default(),
            Some(v) => self.item(v, path).unwrap_or_default(),
        }
    }

    fn item<T: DeserializeOwned>(&mut self, v: &toml::Value, path: &str) -> Option<T> {
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
    fn secret(&mut self, raw: &Text, path: &str) -> Option<Secret> {
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
            match std::fs::read_to_string(file) {
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

    fn addr(&mut self, raw: Option<&Text>, default: &str, path: &str) -> SocketAddr {
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

    fn positive(&mut self, v: Option<u64>, default: u64, path: &str) -> u64 {
        match v {
            Some(0) => {
                self.err(format!("{path}: must be at least 1"));
                default
            }
            Some(n) => n,
            None => default,
        }
    }

    fn build(&mut self, t: &toml::Table) -> Config {
        let server: RawServer = self.section(t.get("server"), "server");
        let store: RawStore = self.section(t.get("store"), "store");
        let domo: RawDomo = self.section(t.get("domo"), "domo");
        let worker: RawWorker = self.section(t.get("worker"), "worker");
        let log: RawLog = self.section(t.get("log"), "log");
        let api: RawApi = self.section(t.get("api"), "api");
        let raw_sources: Vec<Option<RawSource>> = self.list(t.get("sources"), "sources");
        let raw_rules: Vec<Option<RawRule>> = self.list(t.get("rules"), "rules");
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
            shutdown_timeout_secs: server.shutdown_timeout_secs.unwrap_or(25),
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
            max_attempts: u32::try_from(self.positive(
                worker.max_attempts.map(u64::from),
                15,
                "worker.max_attempts",
            ))
            .unwrap_or(15),
            backoff_base_ms: self.positive(worker.backoff_base_ms, 500, "worker.backoff_base_ms"),
            backoff_max_secs: self.positive(
                worker.backoff_max_secs,
                600,
                "worker.backoff_max_secs",
            ),
            lease_secs: self.positive(worker.lease_secs, 60, "worker.lease_secs"),
            poll_interval_ms: self.positive(
                worker.poll_interval_ms,
                500,
                "worker.poll_interval_ms",
            ),
        };
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
        Config {
            server,
            store,
            domo,
            worker,
            log,
            sources,
            rules,
            api: ApiConfig { tokens },
            demo: false,
        }
    }

    fn unique<'a>(&mut self, names: impl Iterator<Item = &'a str>, list: &str, key: &str) {
        let mut seen = std::collections::BTreeSet::new();
        for n in names {
            if !seen.insert(n) {
                self.err(format!(
                    "{list}: two entries have {key} `{n}`; each {key} must be unique"
                ));
            }
        }
    }

    fn store(&mut self, s: RawStore) -> StoreConfig {
        let url = s
            .url
            .map_or_else(|| "sqlite://domo-group-sync.db".to_owned(), |t| t.0);
        let url = match self.secret(&Text(url), "store.url") {
            Some(u) => u,
            None => Secret::new("sqlite://domo-group-sync.db"),
        };
        let u = url.expose();
        if !(u.starts_with("sqlite:")
            || u.starts_with("postgres://")
            || u.starts_with("postgresql://"))
        {
            self.err("store.url: must start with sqlite:// (one replica) or postgres:// (several)");
        }
        StoreConfig {
            url,
            group_commit: s.group_commit.unwrap_or(true),
            max_batch: usize::try_from(self.positive(s.max_batch, 256, "store.max_batch"))
                .unwrap_or(256),
            max_connections: u32::try_from(self.positive(
                s.max_connections.map(u64::from),
                8,
                "store.max_connections",
            ))
            .unwrap_or(8),
        }
    }

    fn domo(&mut self, d: RawDomo) -> DomoConfig {
        let base = d
            .api_base
            .map_or_else(|| "https://api.domo.com".to_owned(), |t| t.0);
        let api_base = match url::Url::parse(&base) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => u,
            _ => {
                self.err(format!("domo.api_base: `{base}` is not an http(s) URL"));
                url::Url::parse("https://api.domo.com").expect("a literal URL parses")
            }
        };
        let client_id = d
            .client_id
            .as_ref()
            .and_then(|t| self.secret(t, "domo.client_id"));
        let client_secret = d
            .client_secret
            .as_ref()
            .and_then(|t| self.secret(t, "domo.client_secret"));
        if d.client_id.is_some() != d.client_secret.is_some() {
            self.err(
                "domo: set both client_id and client_secret (or neither, to run the built-in \
                 simulator)",
            );
        }
        let rps = d.requests_per_second.unwrap_or(40.0);
        if !(rps.is_finite() && rps > 0.0) {
            self.err("domo.requests_per_second: must be a number above 0");
        }
        DomoConfig {
            api_base,
            client_id,
            client_secret,
            dry_run: d.dry_run.unwrap_or(false),
            create_missing_users: d.create_missing_users.unwrap_or(false),
            send_invite: d.send_invite.unwrap_or(false),
            new_user_role: d
                .new_user_role
                .map_or_else(|| "Participant".to_owned(), |t| t.0),
            requests_per_second: if rps.is_finite() && rps > 0.0 {
                rps
            } else {
                40.0
            },
            max_in_flight: usize::try_from(self.positive(d.max_in_flight, 8, "domo.max_in_flight"))
                .unwrap_or(8),
            connect_timeout_secs: self.positive(
                d.connect_timeout_secs,
                5,
                "domo.connect_timeout_secs",
            ),
            request_timeout_secs: self.positive(
                d.request_timeout_secs,
                20,
                "domo.request_timeout_secs",
            ),
            user_wait_secs: d.user_wait_secs.unwrap_or(3600),
            sim_listen: self.addr(d.sim_listen.as_ref(), "127.0.0.1:8090", "domo.sim_listen"),
        }
    }

    fn source(&mut self, s: RawSource, i: usize) -> Option<SourceConfig> {
        let path = format!("sources[{i}]");
        let name = s.name.0;
        let ok_name = !name.is_empty()
            && name.len() <= 64
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !ok_name {
            self.err(format!(
                "{path}.name: `{name}` must be 1–64 letters, digits, `-` or `_` (it is a URL path segment)"
            ));
        }
        if s.secrets.is_empty() {
            self.err(format!(
                "{path}.secrets: give at least one secret (inline, env:NAME or file:PATH)"
            ));
        }
        let secrets: Vec<Secret> = s
            .secrets
            .iter()
            .enumerate()
            .filter_map(|(j, t)| self.secret(t, &format!("{path}.secrets[{j}]")))
            .collect();
        for (j, secret) in secrets.iter().enumerate() {
            if let Err(e) = crate::signature::check_secret(s.scheme, secret) {
                self.err(format!("{path}.secrets[{j}]: {e}"));
            }
        }
        let hmac = match (s.scheme, s.hmac) {
            (Scheme::Hmac, Some(h)) => self.hmac(h, &path),
            (Scheme::Hmac, None) => {
                self.err(format!(
                    "{path}.hmac: scheme \"hmac\" needs a [sources.hmac] table with at least `header`"
                ));
                None
            }
            (_, Some(_)) => {
                self.err(format!("{path}.hmac: only allowed with scheme = \"hmac\""));
                None
            }
            (_, None) => None,
        };
        if s.header.is_some() && s.scheme != Scheme::Okta {
            self.err(format!(
                "{path}.header: only used with scheme = \"okta\"; remove it"
            ));
        }
        let tolerance_secs = s
            .tolerance_secs
            .unwrap_or_else(|| crate::signature::default_tolerance_secs(s.scheme));
        Some(SourceConfig {
            name,
            format: s.format,
            scheme: s.scheme,
            secrets,
            tolerance_secs,
            header: s.header.map_or_else(|| "Authorization".to_owned(), |t| t.0),
            hmac,
        })
    }

    fn hmac(&mut self, h: RawHmac, path: &str) -> Option<HmacProfile> {
        let signed = h.signed.unwrap_or(SignedContent::Body);
        if signed != SignedContent::Body && h.timestamp_header.is_none() {
            self.err(format!(
                "{path}.hmac.timestamp_header: required when `signed` includes the timestamp"
            ));
        }
        if signed == SignedContent::IdTimestampBody && h.id_header.is_none() {
            self.err(format!(
                "{path}.hmac.id_header: required with signed = \"id.timestamp.body\""
            ));
        }
        for (key, v) in [
            ("header", Some(&h.header)),
            ("timestamp_header", h.timestamp_header.as_ref()),
            ("id_header", h.id_header.as_ref()),
        ] {
            if let Some(v) = v
                && axum::http::HeaderName::from_bytes(v.0.as_bytes()).is_err()
            {
                self.err(format!(
                    "{path}.hmac.{key}: `{}` is not a valid header name",
                    v.0
                ));
            }
        }
        Some(HmacProfile {
            header: h.header.0,
            algorithm: h.algorithm.unwrap_or(HmacAlgorithm::Sha256),
            encoding: h.encoding.unwrap_or(HmacEncoding::Hex),
            prefix: h.prefix.map(|t| t.0).filter(|p| !p.is_empty()),
            signed,
            timestamp_header: h.timestamp_header.map(|t| t.0),
            id_header: h.id_header.map(|t| t.0),
        })
    }

    fn rule(&mut self, r: RawRule, i: usize) -> Option<RuleConfig> {
        let path = format!("rules[{i}]");
        let when = match (r.when.group, r.when.attribute, r.when.equals) {
            (Some(g), None, None) => RuleMatch::Group(g.0),
            (None, Some(a), Some(e)) => RuleMatch::Attribute {
                name: a.0,
                equals: e.0,
            },
            _ => {
                self.err(format!(
                    "{path}.when: write either {{ group = \"NAME\" }} or {{ attribute = \"NAME\", equals = \"VALUE\" }}"
                ));
                return None;
            }
        };
        Some(RuleConfig {
            when,
            domo_groups: r.domo_groups.into_iter().map(|t| t.0).collect(),
        })
    }

    fn token(&mut self, t: RawToken, i: usize) -> Option<ApiToken> {
        let path = format!("api.tokens[{i}]");
        let mut sha = [0u8; 32];
        // The hash may be a secret reference too (`file:` in Kubernetes), like any secret.
        let hash = self.secret(&t.sha256, &format!("{path}.sha256"))?;
        if hex::decode_to_slice(hash.expose().trim(), &mut sha).is_err() {
            self.err(format!(
                "{path}.sha256: must be 64 hex characters, the SHA-256 of the token \
                 (e.g. printf %s \"$TOKEN\" | sha256sum)"
            ));
            return None;
        }
        if t.scopes.is_empty() {
            self.err(format!(
                "{path}.scopes: give at least one of read, write, admin"
            ));
        }
        Some(ApiToken {
            name: t.name.0,
            sha256: sha,
            scopes: t.scopes,
        })
    }
}
