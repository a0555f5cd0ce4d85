//! The configuration as written: TOML (plus `DGS_*` overrides) deserialised section by section
//! into permissive "raw" structs, so that every problem can be reported, not only the first.

use serde::{Deserialize, Deserializer};

use super::types::{
    ApiScope, ClientIpHeader, Format, HmacAlgorithm, HmacEncoding, LogFormat, Scheme,
    SignedContent, SubscriberKind,
};

/// A string that may have been written (or overridden from the environment) as a number or
/// boolean: `DGS_DOMO__CLIENT_ID=12345` must still be a string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text(pub String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Any {
            S(String),
            I(i64),
            F(f64),
            B(bool),
        }
        Ok(Text(match Any::deserialize(d)? {
            Any::S(s) => s,
            Any::I(i) => i.to_string(),
            Any::F(f) => f.to_string(),
            Any::B(b) => b.to_string(),
        }))
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawServer {
    pub listen: Option<Text>,
    pub max_body_bytes: Option<u64>,
    pub request_timeout_secs: Option<u64>,
    pub header_read_timeout_ms: Option<u64>,
    pub shutdown_timeout_secs: Option<u64>,
    pub trusted_proxies: Option<Vec<Text>>,
    pub client_ip_header: Option<ClientIpHeader>,
    pub public_url: Option<Text>,
}

/// A point in time as written: a TOML datetime (`2026-12-01T00:00:00Z`) or an RFC 3339 string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawTime(pub String);

impl<'de> Deserialize<'de> for RawTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Any {
            D(toml::value::Datetime),
            S(String),
        }
        Ok(RawTime(match Any::deserialize(d)? {
            Any::D(t) => t.to_string(),
            Any::S(s) => s,
        }))
    }
}

/// A secret written as a table: `{ value = "…", name = "…", not_before = …, not_after = … }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSecretTable {
    pub value: Text,
    pub name: Option<Text>,
    pub not_before: Option<RawTime>,
    pub not_after: Option<RawTime>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSecrets {
    pub poll_interval_ms: Option<u64>,
    pub expiry_warning_secs: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStore {
    pub url: Option<Text>,
    pub group_commit: Option<bool>,
    pub max_batch: Option<u64>,
    pub max_connections: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDomo {
    pub api_base: Option<Text>,
    pub client_id: Option<Text>,
    pub client_secret: Option<Text>,
    pub dry_run: Option<bool>,
    pub create_missing_users: Option<bool>,
    pub send_invite: Option<bool>,
    pub new_user_role: Option<Text>,
    pub requests_per_second: Option<f64>,
    pub max_in_flight: Option<u64>,
    pub connect_timeout_secs: Option<u64>,
    pub request_timeout_secs: Option<u64>,
    pub user_wait_secs: Option<u64>,
    pub sim_listen: Option<Text>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWorker {
    pub concurrency: Option<u64>,
    pub max_attempts: Option<u32>,
    pub backoff_base_ms: Option<u64>,
    pub backoff_max_secs: Option<u64>,
    pub lease_secs: Option<u64>,
    pub poll_interval_ms: Option<u64>,
    pub test_clock_offset_ms: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawReconcile {
    pub protected_groups: Option<Vec<Text>>,
    pub remove_unknown: Option<bool>,
    pub max_removals: Option<u64>,
    pub max_removal_share: Option<f64>,
    pub interval_secs: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConsole {
    pub enabled: Option<bool>,
    pub session_idle_secs: Option<u64>,
    pub session_max_secs: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLog {
    pub format: Option<LogFormat>,
    pub level: Option<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHmac {
    pub header: Text,
    pub algorithm: Option<HmacAlgorithm>,
    pub encoding: Option<HmacEncoding>,
    pub prefix: Option<Text>,
    pub signed: Option<SignedContent>,
    pub timestamp_header: Option<Text>,
    pub id_header: Option<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSource {
    pub name: Text,
    pub format: Format,
    pub scheme: Scheme,
    /// Each a string (the secret) or a [`RawSecretTable`]; read one by one so that every
    /// problem names its entry.
    #[serde(default)]
    pub secrets: Vec<toml::Value>,
    pub tolerance_secs: Option<u64>,
    pub header: Option<Text>,
    pub hmac: Option<RawHmac>,
    pub allow_ips: Option<Vec<Text>>,
    /// `[sources.pull]`, read on its own so that its problems name `sources[i].pull`.
    pub pull: Option<toml::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWhen {
    pub group: Option<Text>,
    pub attribute: Option<Text>,
    pub equals: Option<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    pub when: RawWhen,
    pub domo_groups: Vec<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawToken {
    pub name: Text,
    pub sha256: Text,
    pub scopes: Vec<ApiScope>,
    pub not_before: Option<RawTime>,
    pub not_after: Option<RawTime>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawApi {
    #[serde(default)]
    pub tokens: Vec<toml::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSubscriber {
    pub name: Option<Text>,
    pub url: Text,
    pub kind: Option<SubscriberKind>,
    pub secret: Option<Text>,
    pub events: Option<Vec<Text>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNotify {
    pub max_attempts: Option<u32>,
    pub backoff_base_ms: Option<u64>,
    pub backoff_max_secs: Option<u64>,
    pub timeout_secs: Option<u64>,
    pub poll_interval_ms: Option<u64>,
    pub retention_secs: Option<u64>,
    pub max_pending: Option<u64>,
    pub source_error_threshold: Option<u32>,
    pub source_lag_secs: Option<u64>,
    pub source_repeat_secs: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTelemetry {
    pub include_email: Option<bool>,
}
