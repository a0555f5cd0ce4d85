//! The typed configuration. Every field's doc comment names its TOML key; the environment
//! variable is `DGS_` + the key path in upper case with `__` between levels.

use std::fmt;
use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

/// A secret value, already resolved from `inline`, `env:NAME` or `file:PATH`.
/// Its `Debug` and `Display` never print the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a resolved secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    /// The secret itself; call only where the value is used, never to log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// One secret of a source or one API token hash, with its optional lifecycle: it verifies
/// only from `not_before` (inclusive) until `not_after` (exclusive), both unix seconds.
/// Written as a plain string (always live) or as a table
/// `{ value = "file:/run/secrets/new", name = "2026-12", not_before = 2026-12-01T00:00:00Z }`.
///
/// It dereferences to its [`Secret`] value, so code that only signs or compares reads it as one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceSecret {
    /// `value`: the secret (inline, `env:NAME` or `file:PATH`, resolved).
    pub value: Secret,
    /// `name`: a label for logs and metrics; without one the secret's position is used.
    pub name: Option<String>,
    /// `not_before`: unix seconds from which it verifies; `None` = always.
    pub not_before: Option<i64>,
    /// `not_after`: unix seconds from which it no longer verifies; `None` = never expires.
    pub not_after: Option<i64>,
}

impl SourceSecret {
    /// A secret without a name or lifecycle (the plain-string form).
    pub fn new(value: impl Into<String>) -> Self {
        Secret::new(value).into()
    }

    /// Whether it may verify at `now` (unix seconds).
    pub fn live_at(&self, now: i64) -> bool {
        self.not_before.is_none_or(|t| now >= t) && self.not_after.is_none_or(|t| now < t)
    }

    /// The label logs and metrics use: its `name`, else its position in the list. Never the
    /// value.
    pub fn label(&self, position: usize) -> String {
        self.name.clone().unwrap_or_else(|| position.to_string())
    }
}

impl From<Secret> for SourceSecret {
    fn from(value: Secret) -> Self {
        SourceSecret {
            value,
            name: None,
            not_before: None,
            not_after: None,
        }
    }
}

impl std::ops::Deref for SourceSecret {
    type Target = Secret;
    fn deref(&self) -> &Secret {
        &self.value
    }
}

/// The whole configuration file (DESIGN.md, "Configuration").
#[derive(Debug, Clone)]
pub struct Config {
    pub server: ServerConfig,
    pub store: StoreConfig,
    pub domo: DomoConfig,
    pub worker: WorkerConfig,
    pub log: LogConfig,
    pub sources: Vec<SourceConfig>,
    pub rules: Vec<RuleConfig>,
    pub api: ApiConfig,
    pub reconcile: ReconcileConfig,
    /// `[secrets]`: how `file:` secrets are watched and expiry is announced.
    pub secrets: SecretsConfig,
    /// `[console]`: the operators' pages at `/console`.
    pub console: ConsoleConfig,
    /// `[[subscribers]]`: where outgoing operational events go.
    pub subscribers: Vec<SubscriberConfig>,
    /// `[notify]`: how they are delivered.
    pub notify: NotifyConfig,
    /// `[telemetry]`: what traces may carry.
    pub telemetry: TelemetryConfig,
    /// True when no file was given: `serve` then adds a demo source and a demo rule.
    pub demo: bool,
    /// The file this was loaded from (`None` for text or defaults): what a reload re-reads.
    pub file: Option<std::path::PathBuf>,
    /// The text this was parsed from when there is no file (a reload parses it again, with
    /// `file:` secrets read afresh). Kept as a `Secret`: it may hold inline secrets.
    pub text: Option<Secret>,
    /// Every `file:` reference resolved while loading, with the SHA-256 of the content read:
    /// the watcher reloads when one of them reads differently.
    pub watched: Vec<WatchedFile>,
}

/// A `file:` secret as read at load time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchedFile {
    pub path: std::path::PathBuf,
    /// SHA-256 of the bytes read (`None` when it could not be read).
    pub digest: Option<[u8; 32]>,
}

/// `[secrets]`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretsConfig {
    /// `secrets.poll_interval_ms`: how often `file:` secrets are re-read (their content, so
    /// that Kubernetes' symlink swaps are seen); 0 = never. Default 10000.
    pub poll_interval_ms: u64,
    /// `secrets.expiry_warning_secs`: a secret or token whose `not_after` is closer than this
    /// is warned about in the log; default 1209600 (14 days).
    pub expiry_warning_secs: u64,
}

impl Default for SecretsConfig {
    fn default() -> Self {
        SecretsConfig {
            poll_interval_ms: 10_000,
            expiry_warning_secs: 14 * 86_400,
        }
    }
}

/// `[server]`
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// `server.listen`: address to bind; default `127.0.0.1:8080`.
    pub listen: SocketAddr,
    /// `server.max_body_bytes`: largest request body accepted; default 1 MiB.
    pub max_body_bytes: usize,
    /// `server.request_timeout_secs`: a request that takes longer (including a slow body) is
    /// answered 408; default 30.
    pub request_timeout_secs: u64,
    /// `server.header_read_timeout_ms`: a client must send a whole request head within this
    /// time, or its connection is closed (slowloris); it also bounds how long an idle
    /// keep-alive connection stays open. Default 10000.
    pub header_read_timeout_ms: u64,
    /// `server.shutdown_timeout_secs`: bound on the graceful drain; default 25.
    pub shutdown_timeout_secs: u64,
    /// `server.trusted_proxies`: CIDRs of the reverse proxies whose forwarding header is
    /// believed; default none (the direct peer is the client).
    pub trusted_proxies: Vec<crate::net::Cidr>,
    /// `server.client_ip_header`: which header those proxies write, `x-forwarded-for`
    /// (default) or `forwarded` (RFC 7239). Only that one is read.
    pub client_ip_header: ClientIpHeader,
    /// `server.public_url`: the origin clients reach the service at (`https://dgs.example.com`),
    /// for the absolute URLs SCIM answers carry (`meta.location`, `Location`); default none:
    /// `http://` + the request's `Host`.
    pub public_url: Option<url::Url>,
}

/// `server.client_ip_header`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum ClientIpHeader {
    #[default]
    XForwardedFor,
    Forwarded,
}

/// `[store]`
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// `store.url`: `sqlite://PATH` (one replica) or `postgres://…` (several); default
    /// `sqlite://domo-group-sync.db`.
    pub url: Secret,
    /// `store.group_commit`: share one commit between concurrent ingests; default true.
    pub group_commit: bool,
    /// `store.max_batch`: most requests one group commit takes; default 256.
    pub max_batch: usize,
    /// `store.max_connections`: pool size; default 8.
    pub max_connections: u32,
}

/// `[domo]`
#[derive(Debug, Clone)]
pub struct DomoConfig {
    /// `domo.api_base`: default `https://api.domo.com`.
    pub api_base: url::Url,
    /// `domo.client_id`: OAuth client id. With `client_secret` unset too, `serve` runs an
    /// in-process simulator instead of calling Domo.
    pub client_id: Option<Secret>,
    /// `domo.client_secret`.
    pub client_secret: Option<Secret>,
    /// `domo.dry_run`: plan and record every operation, call nothing that writes.
    pub dry_run: bool,
    /// `domo.create_missing_users`: create a Domo user for an unknown email; default false
    /// (wait for the user to appear, then dead-letter).
    pub create_missing_users: bool,
    /// `domo.send_invite`: with `create_missing_users`, ask Domo to email an invite.
    pub send_invite: bool,
    /// `domo.new_user_role`: the role of users the service creates; default `Participant`.
    pub new_user_role: String,
    /// `domo.requests_per_second`: client-side rate limit; default 40.
    pub requests_per_second: f64,
    /// `domo.max_in_flight`: bound on concurrent requests to Domo; default 8.
    pub max_in_flight: usize,
    /// `domo.connect_timeout_secs`: default 5.
    pub connect_timeout_secs: u64,
    /// `domo.request_timeout_secs`: default 20.
    pub request_timeout_secs: u64,
    /// `domo.user_wait_secs`: how long an unknown email is waited for before the job is
    /// dead-lettered with "user not found in Domo"; default 3600.
    pub user_wait_secs: u64,
    /// `domo.sim_listen`: where the in-process simulator listens when no credentials are
    /// set; default `127.0.0.1:8090`.
    pub sim_listen: SocketAddr,
}

impl DomoConfig {
    /// True when no Domo credentials are configured (the in-process simulator is used).
    pub fn uses_simulator(&self) -> bool {
        self.client_id.is_none() && self.client_secret.is_none()
    }
}

/// `[worker]`
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// `worker.concurrency`: jobs (users) worked at once; default 8.
    pub concurrency: usize,
    /// `worker.max_attempts`: attempts before a job is dead-lettered; default 15.
    pub max_attempts: u32,
    /// `worker.backoff_base_ms`: first retry delay; default 500.
    pub backoff_base_ms: u64,
    /// `worker.backoff_max_secs`: cap on one retry delay; default 600.
    pub backoff_max_secs: u64,
    /// `worker.lease_secs`: how long a claimed job is held without renewal before another
    /// worker may take it over; renewed every third of it while the job runs; default 10.
    pub lease_secs: u64,
    /// `worker.test_clock_offset_ms`: TESTS ONLY. Shifts this replica's clock (as the worker
    /// reads it) by this many milliseconds, to prove that leases do not rest on it; default 0.
    pub test_clock_offset_ms: i64,
    /// `worker.poll_interval_ms`: how often an idle worker looks for due jobs; default 500.
    pub poll_interval_ms: u64,
}

/// `[log]`
#[derive(Debug, Clone)]
pub struct LogConfig {
    /// `log.format`: `compact` (people) or `json` (production); default `compact`.
    pub format: LogFormat,
    /// `log.level`: an `EnvFilter` directive; `RUST_LOG` wins when set; default `info`.
    pub level: String,
}

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Compact,
    Json,
}

/// The payload shapes the service understands (`sources[].format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Canonical,
    Workos,
    Okta,
    Clerk,
    Bamboohr,
    /// A SCIM 2.0 source: served at `/scim/{name}/v2`, not at `/webhooks/{name}`.
    Scim,
    /// Microsoft Entra ID: pulled (`[sources.pull]`, Graph delta queries), with Graph change
    /// notifications (`scheme = "graph"`) to make the next pull prompt, or `scheme = "none"`.
    Entra,
}

/// The signature schemes (`sources[].scheme`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scheme {
    StandardWebhooks,
    Svix,
    Github,
    Stripe,
    Workos,
    Bamboohr,
    Okta,
    Hmac,
    /// SCIM bearer tokens: `secrets` are the SHA-256 (hex) of the tokens the IdP sends.
    Scim,
    /// `none`: the source has no webhook; it only pulls (`[sources.pull]`).
    #[serde(rename = "none")]
    PullOnly,
    /// Microsoft Graph change notifications (`format = "entra"` with `[sources.pull]`): the
    /// `secrets` are the accepted `clientState` values; a notification makes the next event
    /// pull due now.
    Graph,
}

/// `sources[].hmac.algorithm`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HmacAlgorithm {
    Sha256,
    Sha512,
}

/// `sources[].hmac.encoding`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HmacEncoding {
    Hex,
    Base64,
}

/// `sources[].hmac.signed`: which bytes the generic profile signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum SignedContent {
    /// The raw body only.
    #[serde(rename = "body")]
    Body,
    /// `{timestamp}.{body}`
    #[serde(rename = "timestamp.body")]
    TimestampBody,
    /// `{id}.{timestamp}.{body}`
    #[serde(rename = "id.timestamp.body")]
    IdTimestampBody,
}

/// `[sources.hmac]`: the generic HMAC profile for senders without a named scheme.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HmacProfile {
    /// `header`: the header that carries the signature (required).
    pub header: String,
    /// `algorithm`: `sha256` (default) or `sha512`.
    pub algorithm: HmacAlgorithm,
    /// `encoding`: `hex` (default) or `base64`.
    pub encoding: HmacEncoding,
    /// `prefix`: stripped from the header value before decoding, e.g. `sha256=`.
    pub prefix: Option<String>,
    /// `signed`: `body` (default), `timestamp.body` or `id.timestamp.body`.
    pub signed: SignedContent,
    /// `timestamp_header`: required when the timestamp is signed; unix seconds.
    pub timestamp_header: Option<String>,
    /// `id_header`: required with `id.timestamp.body`.
    pub id_header: Option<String>,
}

/// One `[[sources]]` entry: an endpoint `POST /webhooks/{name}` (unless its scheme is `none`),
/// and optionally a pull of the provider's API (`[sources.pull]`).
#[derive(Debug, Clone)]
pub struct SourceConfig {
    /// `name`: the path segment; letters, digits, `-` and `_`.
    pub name: String,
    /// `format`: how the body maps to canonical events.
    pub format: Format,
    /// `scheme`: how the request is authenticated.
    pub scheme: Scheme,
    /// `secrets`: one or more; any live one may match (rotation). For `standard-webhooks`,
    /// `whpk_` public keys verify `v1a` (Ed25519) signatures beside `whsec_` secrets; for
    /// `graph`, they are the subscriptions' `clientState` values.
    pub secrets: Vec<SourceSecret>,
    /// `tolerance_secs`: allowed clock difference for timestamped schemes, both directions;
    /// default 300.
    pub tolerance_secs: u64,
    /// `header`: for `okta`, the static header that carries the secret; default `Authorization`.
    pub header: String,
    /// `hmac`: the generic profile; required with `scheme = "hmac"`.
    pub hmac: Option<HmacProfile>,
    /// `allow_ips`: CIDRs the client address must be in; empty = any address.
    pub allow_ips: Vec<crate::net::Cidr>,
    /// `pull`: read the provider's API too (missed events and the directory pass).
    pub pull: Option<super::PullConfig>,
}

/// What a rule matches (`rules[].when`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleMatch {
    /// `{ group = "Marketing" }` or a glob `{ group = "eng-*" }`.
    Group(String),
    /// `{ attribute = "department", equals = "Sales" }`; `equals` may be a glob.
    Attribute { name: String, equals: String },
}

/// One `[[rules]]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleConfig {
    pub when: RuleMatch,
    /// `domo_groups`: Domo group names; `{attr}` is replaced by the user's attribute.
    pub domo_groups: Vec<String>,
}

/// `[reconcile]`: the periodic comparison of Domo with the desired membership, and its safety
/// settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ReconcileConfig {
    /// `reconcile.protected_groups`: Domo group names never changed, by a reconcile or by an
    /// event (case-insensitive); default none (Domo's default group is always protected).
    pub protected_groups: Vec<String>,
    /// `reconcile.remove_unknown`: remove members of a managed group whom the service has
    /// never seen; default false (they are reported and kept).
    pub remove_unknown: bool,
    /// `reconcile.max_removals`: most removals one run applies without approval; default 50.
    pub max_removals: u64,
    /// `reconcile.max_removal_share`: largest share (0–1) of one group's members one run
    /// removes without approval; default 0.25.
    pub max_removal_share: f64,
    /// `reconcile.interval_secs`: run (and apply) a reconcile this often; default 0 = never.
    pub interval_secs: u64,
}

impl Default for ReconcileConfig {
    fn default() -> Self {
        ReconcileConfig {
            protected_groups: Vec::new(),
            remove_unknown: false,
            max_removals: 50,
            max_removal_share: 0.25,
            interval_secs: 0,
        }
    }
}

/// `[console]`: the operators' pages at `/console` (sign in with an API token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleConfig {
    /// `console.enabled`: serve the pages; default true (without `[[api.tokens]]` nobody can
    /// sign in anyway).
    pub enabled: bool,
    /// `console.session_idle_secs`: a session unused this long ends; default 1800 (30 min).
    pub session_idle_secs: u64,
    /// `console.session_max_secs`: a session ends this long after sign-in however much it is
    /// used; default 28800 (8 h).
    pub session_max_secs: u64,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        ConsoleConfig {
            enabled: true,
            session_idle_secs: 1800,
            session_max_secs: 28_800,
        }
    }
}

/// `[api]`
#[derive(Debug, Clone, Default)]
pub struct ApiConfig {
    pub tokens: Vec<ApiToken>,
}

/// Scopes of the internal API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ApiScope {
    Read,
    Write,
    Admin,
}

/// One `[[api.tokens]]` entry: a bearer token known only by its SHA-256.
#[derive(Debug, Clone)]
pub struct ApiToken {
    pub name: String,
    /// Lower-case hex SHA-256 of the token, 32 bytes decoded.
    pub sha256: [u8; 32],
    pub scopes: Vec<ApiScope>,
    /// `not_before`: unix seconds from which it is accepted; `None` = always.
    pub not_before: Option<i64>,
    /// `not_after`: unix seconds from which it is refused; `None` = never expires.
    pub not_after: Option<i64>,
}

impl ApiToken {
    /// Whether it is accepted at `now` (unix seconds).
    pub fn live_at(&self, now: i64) -> bool {
        self.not_before.is_none_or(|t| now >= t) && self.not_after.is_none_or(|t| now < t)
    }
}

/// `subscribers[].kind`: how outgoing events are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SubscriberKind {
    /// The JSON body, signed with Standard Webhooks (`webhook-id`, `webhook-timestamp`,
    /// `webhook-signature`) with the subscriber's `whsec_` secret.
    #[default]
    Webhook,
    /// A short human-readable message posted to a Slack incoming-webhook URL.
    Slack,
}

impl SubscriberKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SubscriberKind::Webhook => "webhook",
            SubscriberKind::Slack => "slack",
        }
    }
}

/// One `[[subscribers]]` entry: where outgoing operational events go.
#[derive(Debug, Clone)]
pub struct SubscriberConfig {
    /// `name`: labels its deliveries in the store, the API and metrics; default the URL's
    /// host. Letters, digits, `.`, `-`, `_`; unique.
    pub name: String,
    /// `url`: where to POST (a secret reference may be used: a Slack URL is a credential).
    /// Never logged.
    pub url: Secret,
    /// `kind`: `webhook` (default) or `slack`.
    pub kind: SubscriberKind,
    /// `secret`: the `whsec_…` signing secret (required for `webhook`; a `whsk_…` key signs
    /// Standard Webhooks' asymmetric `v1a` instead). Not used by `slack`.
    pub secret: Option<Secret>,
    /// `events`: the types sent; default every type but `membership.applied`.
    pub events: Vec<crate::notify::NoticeType>,
}

impl SubscriberConfig {
    /// Whether this subscriber takes notices of `kind`.
    pub fn wants(&self, kind: crate::notify::NoticeType) -> bool {
        self.events.contains(&kind)
    }
}

/// `[notify]`: how outgoing events are delivered, and when a pull source counts as failing.
#[derive(Debug, Clone, PartialEq)]
pub struct NotifyConfig {
    /// `notify.max_attempts`: attempts per message before it is dead-lettered; default 12.
    pub max_attempts: u32,
    /// `notify.backoff_base_ms`: the first retry delay; doubled per attempt with jitter;
    /// default 5000.
    pub backoff_base_ms: u64,
    /// `notify.backoff_max_secs`: cap on one retry delay; default 3600 (12 attempts then take
    /// about 2.5 hours).
    pub backoff_max_secs: u64,
    /// `notify.timeout_secs`: bound on one delivery, connection included; default 10.
    pub timeout_secs: u64,
    /// `notify.poll_interval_ms`: how often an idle delivery lane looks for due messages
    /// (notices written by this replica wake it at once); default 1000.
    pub poll_interval_ms: u64,
    /// `notify.retention_secs`: delivered and dead messages are deleted after this long;
    /// default 604800 (7 days).
    pub retention_secs: u64,
    /// `notify.max_pending`: most undelivered messages kept per subscriber; past it the
    /// oldest are dead-lettered (reason "outbox full"), still replayable; default 10000.
    pub max_pending: u64,
    /// `notify.source_error_threshold`: failed pulls in a row before `source.failing`;
    /// default 3.
    pub source_error_threshold: u32,
    /// `notify.source_lag_secs`: a pull source lagging more than this is failing; default 900.
    pub source_lag_secs: u64,
    /// `notify.source_repeat_secs`: while a source stays failing, `source.failing` is sent
    /// again this often; 0 = once per episode; default 3600.
    pub source_repeat_secs: u64,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig {
            max_attempts: 12,
            backoff_base_ms: 5_000,
            backoff_max_secs: 3_600,
            timeout_secs: 10,
            poll_interval_ms: 1_000,
            retention_secs: 7 * 86_400,
            max_pending: 10_000,
            source_error_threshold: 3,
            source_lag_secs: 900,
            source_repeat_secs: 3_600,
        }
    }
}

/// `[telemetry]`: what traces may carry (export itself is configured by the standard
/// `OTEL_*` environment variables).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TelemetryConfig {
    /// `telemetry.include_email`: put the user's email on job spans (`user.email`); default
    /// false (spans carry ids only).
    pub include_email: bool,
}
