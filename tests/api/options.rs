//! How a test app is configured: `Options` and the config text `spawn_app_with` writes from
//! them (sources of every scheme, the given rules, the API tokens).

use std::net::SocketAddr;

use crate::helpers::{CLERK_SECRET, GITHUB_SECRET, OKTA_SECRET, SW_OLD_SECRET, SW_SECRET};
use crate::tokens::api_tokens_toml;

/// The default rules: two exact IdP groups, a glob, and an attribute rule with a template.
pub const DEFAULT_RULES: &str = r#"
[[rules]]
when = { group = "Marketing" }
domo_groups = ["Marketing"]

[[rules]]
when = { group = "Finance" }
domo_groups = ["Finance"]

[[rules]]
when = { group = "eng-*" }
domo_groups = ["Engineering"]

[[rules]]
when = { attribute = "department", equals = "Sales" }
domo_groups = ["Sales", "Sales {location}"]
"#;

/// How to start a test app.
pub struct Options {
    /// Users the simulator starts with (emails); names are derived.
    pub users: Vec<String>,
    /// `[[rules]]` TOML.
    pub rules: String,
    /// Extra TOML appended to the generated config (e.g. a `[domo]` override is not possible,
    /// use the fields below).
    pub dry_run: bool,
    pub create_missing_users: bool,
    pub group_commit: bool,
    pub max_body_bytes: usize,
    pub worker_concurrency: usize,
    pub max_attempts: u32,
    pub user_wait_secs: u64,
    pub token_ttl_secs: u64,
    /// `server.request_timeout_secs`.
    pub request_timeout_secs: u64,
    /// `server.header_read_timeout_ms`.
    pub header_read_timeout_ms: u64,
    /// The store URL; `spawn_app_with` sets it to a fresh database of the pass's backend.
    pub store_url: Option<String>,
    /// Lines added to `[server]` (e.g. `trusted_proxies = [...]`).
    pub server_extra: String,
    /// TOML appended to the generated config (whole sections: `[console]`, `[reconcile]`,
    /// more `[[sources]]`).
    pub extra_toml: String,
    /// Write the config to `config.toml` in the app's folder and load it from there (so that
    /// a reload re-reads it), instead of parsing the text.
    pub config_file: bool,
    /// Add the SCIM source `scim` (bearer `crate::scim::SCIM_TOKEN`).
    pub scim: bool,
    /// The body of the `okta` source's `[sources.pull]` table (without the header); none by
    /// default.
    pub okta_pull: Option<String>,
    /// Changes the parsed configuration before the app is built (a source the loader would
    /// refuse in this build, e.g. a `graph` source before the Entra connector exists).
    pub adjust: Option<fn(&mut domo_group_sync::config::Config)>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            users: ["ada@example.com", "grace@example.com", "alan@example.com"]
                .map(str::to_owned)
                .to_vec(),
            rules: DEFAULT_RULES.to_owned(),
            dry_run: false,
            create_missing_users: false,
            group_commit: true,
            max_body_bytes: 65_536,
            worker_concurrency: 4,
            max_attempts: 6,
            user_wait_secs: 2,
            token_ttl_secs: 3600,
            request_timeout_secs: 10,
            header_read_timeout_ms: 10_000,
            store_url: None,
            server_extra: String::new(),
            extra_toml: String::new(),
            config_file: false,
            scim: false,
            okta_pull: None,
            adjust: None,
        }
    }
}

/// The config text the harness uses (sources of every scheme, the given rules).
pub fn config_toml(dir: &std::path::Path, sim: SocketAddr, o: &Options) -> String {
    format!(
        r#"
[server]
listen = "127.0.0.1:0"
max_body_bytes = {max_body}
request_timeout_secs = {request_timeout}
header_read_timeout_ms = {header_read_timeout}
{server_extra}

[store]
url = "{db}"
group_commit = {group_commit}

[domo]
api_base = "http://{sim}"
client_id = "sim-client"
client_secret = "sim-secret"
dry_run = {dry_run}
create_missing_users = {create_missing}
requests_per_second = 2000
max_in_flight = 16
request_timeout_secs = 5
user_wait_secs = {user_wait}

[worker]
concurrency = {concurrency}
max_attempts = {max_attempts}
backoff_base_ms = 50
backoff_max_secs = 2
lease_secs = 10
poll_interval_ms = 50

[[sources]]
name = "sw"
format = "canonical"
scheme = "standard-webhooks"
secrets = ["{SW_SECRET}", "{SW_OLD_SECRET}"]

[[sources]]
name = "gh"
format = "canonical"
scheme = "github"
secrets = ["{GITHUB_SECRET}"]

[[sources]]
name = "okta"
format = "okta"
scheme = "okta"
secrets = ["{OKTA_SECRET}"]
{okta_pull}

[[sources]]
name = "clerk"
format = "clerk"
scheme = "svix"
secrets = ["{CLERK_SECRET}"]

{scim}

{rules}

{api_tokens}

{extra_toml}
"#,
        scim = if o.scim {
            crate::scim::source_toml("scim")
        } else {
            String::new()
        },
        max_body = o.max_body_bytes,
        db = o
            .store_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", dir.join("test.db").display())),
        group_commit = o.group_commit,
        dry_run = o.dry_run,
        create_missing = o.create_missing_users,
        user_wait = o.user_wait_secs,
        concurrency = o.worker_concurrency,
        max_attempts = o.max_attempts,
        request_timeout = o.request_timeout_secs,
        header_read_timeout = o.header_read_timeout_ms,
        rules = o.rules,
        server_extra = o.server_extra,
        api_tokens = api_tokens_toml(),
        okta_pull = o
            .okta_pull
            .as_deref()
            .map_or_else(String::new, |body| format!("[sources.pull]\n{body}\n")),
        extra_toml = o.extra_toml,
    )
}
