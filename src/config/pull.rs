//! `[sources.pull]`: a source that also reads its provider's own API (the missed-event pull and
//! the directory pass, `src/pull/`). The provider is the source's `format`; which credentials
//! it takes depends on the provider, and every key a provider does not use is refused, so
//! that a typo or a key meant for another provider is reported instead of ignored.

use serde::Deserialize;

use super::load::Cx;
use super::raw::Text;
use super::types::{Format, Secret};

/// The identity providers a source can pull from: the source's `format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Provider {
    Okta,
    Workos,
    Entra,
    Bamboohr,
}

impl Provider {
    /// The provider a format pulls from, if it has one.
    pub fn of(format: Format) -> Option<Provider> {
        match format {
            Format::Okta => Some(Provider::Okta),
            Format::Workos => Some(Provider::Workos),
            Format::Entra => Some(Provider::Entra),
            Format::Bamboohr => Some(Provider::Bamboohr),
            Format::Canonical | Format::Clerk | Format::Scim => None,
        }
    }

    /// The format's wire name: `okta`, `workos`, `entra`, `bamboohr`.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Okta => "okta",
            Provider::Workos => "workos",
            Provider::Entra => "entra",
            Provider::Bamboohr => "bamboohr",
        }
    }

    /// The default API root, where the provider has one for every customer.
    fn default_api_base(self) -> Option<&'static str> {
        match self {
            Provider::Workos => Some("https://api.workos.com"),
            Provider::Entra => Some("https://graph.microsoft.com"),
            Provider::Okta | Provider::Bamboohr => None,
        }
    }
}

/// Entra's default `login_base`: the identity platform of the global cloud.
pub const ENTRA_LOGIN_BASE: &str = "https://login.microsoftonline.com";

/// `[sources.pull]`, validated for its provider.
#[derive(Debug, Clone, PartialEq)]
pub struct PullConfig {
    /// From the source's `format`.
    pub provider: Provider,
    /// `api_base`: the provider's API root (Okta: `https://acme.okta.com`; a simulator's
    /// address in tests). Required for Okta and BambooHR.
    pub api_base: url::Url,
    /// `token`: Okta SSWS API token, WorkOS API key, BambooHR API key (a secret reference).
    pub token: Option<Secret>,
    /// `client_id`: Okta service app / Entra application (client) id.
    pub client_id: Option<Secret>,
    /// `client_secret`: Entra client secret.
    pub client_secret: Option<Secret>,
    /// `tenant_id`: Entra tenant.
    pub tenant_id: Option<Secret>,
    /// `login_base`: Entra's identity platform root, where the token endpoint
    /// `{login_base}/{tenant}/oauth2/v2.0/token` is (default `https://login.microsoftonline.com`;
    /// a national cloud's or a simulator's address). Entra only: `None` for other providers.
    pub login_base: Option<url::Url>,
    /// `private_key`: PEM private key (PKCS#8 RSA or P-256) signing `private_key_jwt`
    /// assertions (Okta service app; Entra certificate credentials, with the certificate in
    /// the same PEM).
    pub private_key: Option<Secret>,
    /// `interval_secs`: how often missed events are pulled; 0 = no event pull. Default 60.
    pub interval_secs: u64,
    /// `directory_interval_secs`: how often the directory pass runs; 0 = only as part of a
    /// reconcile run. Default 3600.
    pub directory_interval_secs: u64,
    /// `budget_share`: the share (0–1] of the provider's advertised rate limit (Okta's
    /// `X-Rate-Limit-Limit`, per endpoint family and window) this source may use. Default 0.5.
    pub budget_share: f64,
    /// `max_requests_per_minute`: an absolute cap on this source's requests to the provider,
    /// whatever it advertises; 0 = none. Default 0.
    pub max_requests_per_minute: u64,
}

impl PullConfig {
    /// Whether the OAuth service-app credentials (rather than a static token) are used.
    pub fn uses_oauth(&self) -> bool {
        self.token.is_none() && self.client_id.is_some()
    }
}

/// `[sources.pull]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPull {
    pub api_base: Option<Text>,
    pub login_base: Option<Text>,
    pub token: Option<Text>,
    pub client_id: Option<Text>,
    pub client_secret: Option<Text>,
    pub tenant_id: Option<Text>,
    pub private_key: Option<Text>,
    pub interval_secs: Option<u64>,
    pub directory_interval_secs: Option<u64>,
    pub budget_share: Option<f64>,
    pub max_requests_per_minute: Option<u64>,
}

/// Which credential keys a provider takes: (key, required).
fn credentials(provider: Provider) -> &'static [(&'static str, Need)] {
    use Need::{Never, OneOf, Required};
    match provider {
        // An SSWS token, or an OAuth service app (client_id + private_key).
        Provider::Okta => &[
            ("token", OneOf),
            ("client_id", OneOf),
            ("private_key", OneOf),
            ("client_secret", Never),
            ("tenant_id", Never),
        ],
        Provider::Workos | Provider::Bamboohr => &[
            ("token", Required),
            ("client_id", Never),
            ("client_secret", Never),
            ("tenant_id", Never),
            ("private_key", Never),
        ],
        // Client credentials: a client secret, or a certificate's private key.
        Provider::Entra => &[
            ("client_id", Required),
            ("tenant_id", Required),
            ("client_secret", OneOf),
            ("private_key", OneOf),
            ("token", Never),
        ],
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Need {
    Required,
    OneOf,
    Never,
}

impl Cx<'_> {
    /// Validates `sources[i].pull` for the source's format.
    pub(super) fn pull(
        &mut self,
        v: &toml::Value,
        format: Format,
        path: &str,
    ) -> Option<PullConfig> {
        let path = format!("{path}.pull");
        let raw: RawPull = self.item(v, &path)?;
        let Some(provider) = Provider::of(format) else {
            self.err(format!(
                "{path}: format `{}` has no pull connector; pull works with format okta, workos, \
                 entra or bamboohr (remove the table, or fix the format)",
                format_name(format)
            ));
            return None;
        };
        if !crate::pull::is_registered(provider) {
            self.err(format!(
                "{path}: the `{}` pull connector is not implemented yet in this version; \
                 remove [sources.pull] for now",
                provider.as_str()
            ));
        }
        let api_base = self.pull_api_base(raw.api_base.as_ref(), provider, &path);
        let login_base = self.pull_login_base(raw.login_base.as_ref(), provider, &path);
        let given = |key: &str| match key {
            "token" => raw.token.is_some(),
            "client_id" => raw.client_id.is_some(),
            "client_secret" => raw.client_secret.is_some(),
            "tenant_id" => raw.tenant_id.is_some(),
            "private_key" => raw.private_key.is_some(),
            _ => false,
        };
        let rules = credentials(provider);
        for (key, need) in rules {
            match need {
                Need::Required if !given(key) => self.err(format!(
                    "{path}.{key}: required for {} (a secret reference: inline, env:NAME or \
                     file:PATH)",
                    provider.as_str()
                )),
                Need::Never if given(key) => self.err(format!(
                    "{path}.{key}: not used by {}; remove it",
                    provider.as_str()
                )),
                _ => {}
            }
        }
        match provider {
            Provider::Okta => match (given("token"), given("client_id"), given("private_key")) {
                (true, false, false) | (false, true, true) => {}
                (true, _, _) => self.err(format!(
                    "{path}: give either `token` (an SSWS API token) or `client_id` and \
                     `private_key` (an OAuth service app), not both"
                )),
                (false, false, false) => self.err(format!(
                    "{path}: give `token` (an SSWS API token), or `client_id` and `private_key` \
                     (an OAuth service app with private_key_jwt)"
                )),
                (false, true, false) => self.err(format!(
                    "{path}.private_key: an Okta service app authenticates with private_key_jwt: \
                     give the PEM private key whose public key is registered with the app"
                )),
                (false, false, true) => self.err(format!(
                    "{path}.client_id: the service app's client id is required with `private_key`"
                )),
            },
            Provider::Entra => {
                if given("client_secret") == given("private_key") {
                    self.err(format!(
                        "{path}: give exactly one of `client_secret` and `private_key` for the \
                         client-credentials token"
                    ));
                }
            }
            Provider::Workos | Provider::Bamboohr => {}
        }
        let mut secret = |t: &Option<Text>, key: &str| {
            t.as_ref()
                .and_then(|t| self.secret(t, &format!("{path}.{key}")))
        };
        let token = secret(&raw.token, "token");
        let client_id = secret(&raw.client_id, "client_id");
        let client_secret = secret(&raw.client_secret, "client_secret");
        let tenant_id = secret(&raw.tenant_id, "tenant_id");
        let private_key = secret(&raw.private_key, "private_key");
        if let Some(key) = &private_key {
            if let Err(e) = crate::pull::jwt::SigningKey::from_pem(key.expose()) {
                self.err(format!("{path}.private_key: {e}"));
            } else if provider == Provider::Entra
                && crate::pull::jwt::certificate_thumbprint(key.expose()).is_none()
            {
                self.err(format!(
                    "{path}.private_key: Entra's certificate credentials need the certificate \
                     too: put its PEM (`BEGIN CERTIFICATE`) after the private key in the same \
                     secret (its thumbprint names the key to Entra)"
                ));
            }
        }
        for (key, value) in [("token", &token), ("client_secret", &client_secret)] {
            if let Some(v) = value
                && (v.expose().trim() != v.expose()
                    || v.expose().bytes().any(|b| b.is_ascii_control()))
            {
                self.err(format!(
                    "{path}.{key}: has whitespace or control characters (often the newline at \
                     the end of a file: secret); it cannot be sent as a header"
                ));
            }
        }
        let interval_secs = raw.interval_secs.unwrap_or(60);
        let directory_interval_secs = raw.directory_interval_secs.unwrap_or(3600);
        let budget_share = raw.budget_share.unwrap_or(0.5);
        if !(budget_share > 0.0 && budget_share <= 1.0) {
            self.err(format!(
                "{path}.budget_share: `{budget_share}` must be above 0 and at most 1 (a share of \
                 the provider's rate limit, e.g. 0.5)"
            ));
        }
        Some(PullConfig {
            provider,
            api_base,
            token,
            client_id,
            client_secret,
            tenant_id,
            login_base,
            private_key,
            interval_secs,
            directory_interval_secs,
            budget_share: if budget_share > 0.0 && budget_share <= 1.0 {
                budget_share
            } else {
                0.5
            },
            max_requests_per_minute: raw.max_requests_per_minute.unwrap_or(0),
        })
    }

    /// `login_base`: Entra's only (default `https://login.microsoftonline.com`).
    fn pull_login_base(
        &mut self,
        raw: Option<&Text>,
        provider: Provider,
        path: &str,
    ) -> Option<url::Url> {
        if provider != Provider::Entra {
            if raw.is_some() {
                self.err(format!(
                    "{path}.login_base: not used by {}; remove it (it is Entra's token \
                     endpoint root)",
                    provider.as_str()
                ));
            }
            return None;
        }
        let text = raw.map_or(ENTRA_LOGIN_BASE, |t| t.0.as_str());
        match url::Url::parse(text) {
            Ok(u)
                if matches!(u.scheme(), "http" | "https")
                    && u.host_str().is_some()
                    && u.username().is_empty()
                    && u.password().is_none()
                    && u.query().is_none() =>
            {
                Some(u)
            }
            _ => {
                self.err(format!(
                    "{path}.login_base: `{text}` is not an http(s) URL without credentials or \
                     query (e.g. {ENTRA_LOGIN_BASE})"
                ));
                None
            }
        }
    }

    fn pull_api_base(&mut self, raw: Option<&Text>, provider: Provider, path: &str) -> url::Url {
        let fallback = || url::Url::parse("https://invalid.example").expect("a literal URL parses");
        let text = match (raw, provider.default_api_base()) {
            (Some(t), _) => t.0.clone(),
            (None, Some(d)) => d.to_owned(),
            (None, None) => {
                self.err(format!(
                    "{path}.api_base: required for {} (the org's API root, e.g. {})",
                    provider.as_str(),
                    match provider {
                        Provider::Okta => "https://acme.okta.com",
                        _ => "https://acme.bamboohr.com/api/v1",
                    }
                ));
                return fallback();
            }
        };
        match url::Url::parse(&text) {
            Ok(u)
                if matches!(u.scheme(), "http" | "https")
                    && u.host_str().is_some()
                    && u.username().is_empty()
                    && u.password().is_none()
                    && u.query().is_none() =>
            {
                u
            }
            _ => {
                self.err(format!(
                    "{path}.api_base: `{text}` is not an http(s) URL without credentials or query"
                ));
                fallback()
            }
        }
    }
}

fn format_name(format: Format) -> String {
    match serde_json::to_value(format) {
        Ok(serde_json::Value::String(s)) => s,
        _ => format!("{format:?}"),
    }
}

#[cfg(test)]
#[path = "tests_pull.rs"]
mod tests;
