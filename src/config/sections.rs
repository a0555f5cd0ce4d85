//! Validation of each section into its typed form (`impl Cx` continued from `load.rs`).

use super::load::Cx;
use super::raw::{
    RawConsole, RawDomo, RawHmac, RawReconcile, RawRule, RawSecretTable, RawSource, RawStore,
    RawTime, RawToken, Text,
};
use super::types::*;

impl Cx<'_> {
    pub(super) fn console(&mut self, c: RawConsole) -> ConsoleConfig {
        let d = ConsoleConfig::default();
        let idle = self.positive(
            c.session_idle_secs,
            d.session_idle_secs,
            "console.session_idle_secs",
        );
        let max = self.positive(
            c.session_max_secs,
            d.session_max_secs,
            "console.session_max_secs",
        );
        if idle > max {
            self.err("console.session_idle_secs: must not be longer than console.session_max_secs");
        }
        ConsoleConfig {
            enabled: c.enabled.unwrap_or(d.enabled),
            session_idle_secs: idle,
            session_max_secs: max,
        }
    }

    pub(super) fn reconcile(&mut self, r: RawReconcile) -> ReconcileConfig {
        let d = ReconcileConfig::default();
        let share = r.max_removal_share.unwrap_or(d.max_removal_share);
        if !(0.0..=1.0).contains(&share) {
            self.err(format!(
                "reconcile.max_removal_share: `{share}` must be between 0 and 1 (a share of the group)"
            ));
        }
        let mut protected = Vec::new();
        for (i, t) in r
            .protected_groups
            .unwrap_or_default()
            .into_iter()
            .enumerate()
        {
            if t.0.trim().is_empty() {
                self.err(format!(
                    "reconcile.protected_groups[{i}]: must not be empty"
                ));
            } else {
                protected.push(t.0);
            }
        }
        ReconcileConfig {
            protected_groups: protected,
            remove_unknown: r.remove_unknown.unwrap_or(d.remove_unknown),
            max_removals: r.max_removals.unwrap_or(d.max_removals),
            max_removal_share: share.clamp(0.0, 1.0),
            interval_secs: r.interval_secs.unwrap_or(d.interval_secs),
        }
    }

    pub(super) fn store(&mut self, s: RawStore) -> StoreConfig {
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
            max_connections: self.positive(s.max_connections, 8, "store.max_connections"),
        }
    }

    pub(super) fn domo(&mut self, d: RawDomo) -> DomoConfig {
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

    pub(super) fn source(&mut self, s: RawSource, i: usize) -> Option<SourceConfig> {
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
        if name == "api" {
            // Events submitted to /api/v1 are stored under the source `api`: a webhook source
            // of that name would share their dedup keys.
            self.err(format!(
                "{path}.name: `api` is reserved for events submitted to /api/v1; choose another name"
            ));
        }
        if name == "reconcile" {
            self.err(format!(
                "{path}.name: `reconcile` is reserved for the repairs a reconcile queues; choose another name"
            ));
        }
        let pull_only = s.scheme == Scheme::PullOnly;
        if pull_only && !s.secrets.is_empty() {
            self.err(format!(
                "{path}.secrets: scheme = \"none\" has no webhook, so no secret; remove them"
            ));
        } else if !pull_only && s.secrets.is_empty() {
            self.err(format!(
                "{path}.secrets: give at least one secret (inline, env:NAME or file:PATH)"
            ));
        }
        if pull_only && s.pull.is_none() {
            self.err(format!(
                "{path}: scheme = \"none\" (no webhook) needs a [sources.pull] table, else the \
                 source does nothing"
            ));
        }
        if pull_only && s.allow_ips.is_some() {
            self.err(format!(
                "{path}.allow_ips: only applies to webhooks, and scheme = \"none\" has none; remove it"
            ));
        }
        self.graph_scheme(s.format, s.scheme, s.pull.as_ref(), &path);
        let pull = s.pull.as_ref().and_then(|v| self.pull(v, s.format, &path));
        let secrets: Vec<SourceSecret> = s
            .secrets
            .iter()
            .enumerate()
            .filter_map(|(j, v)| self.source_secret(v, &format!("{path}.secrets[{j}]")))
            .collect();
        for (j, secret) in secrets.iter().enumerate() {
            if let Err(e) = crate::signature::check_secret(s.scheme, secret) {
                self.err(format!("{path}.secrets[{j}]: {e}"));
            }
        }
        self.unique(
            secrets.iter().filter_map(|s| s.name.as_deref()),
            &format!("{path}.secrets"),
            "name",
        );
        let allow_ips = self.cidrs(s.allow_ips, &format!("{path}.allow_ips"));
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
        if (s.format == Format::Scim) != (s.scheme == Scheme::Scim) {
            self.err(format!(
                "{path}: a SCIM source needs both format = \"scim\" and scheme = \"scim\" \
                 (it is served at /scim/{name}/v2; its secrets are the SHA-256 of the IdP's tokens)"
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
            allow_ips,
            pull,
        })
    }

    /// One entry of a source's `secrets`: a string, or a table with a lifecycle.
    fn source_secret(&mut self, v: &toml::Value, path: &str) -> Option<SourceSecret> {
        if !v.is_table() {
            let text: Text = self.item(v, path)?;
            return self.secret(&text, path).map(SourceSecret::from);
        }
        let t: RawSecretTable = self.item(v, path)?;
        let value = self.secret(&t.value, &format!("{path}.value"));
        let name = t.name.map(|n| n.0);
        if let Some(n) = &name {
            let ok = !n.is_empty()
                && n.len() <= 64
                && n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
            if !ok {
                self.err(format!(
                    "{path}.name: `{n}` must be 1–64 letters, digits, `-`, `_` or `.` (it is a metric label)"
                ));
            }
        }
        let (not_before, not_after) = self.lifetime(t.not_before, t.not_after, path);
        Some(SourceSecret {
            value: value?,
            name,
            not_before,
            not_after,
        })
    }

    /// `not_before` / `not_after` as unix seconds; the first must come before the second.
    fn lifetime(
        &mut self,
        not_before: Option<RawTime>,
        not_after: Option<RawTime>,
        path: &str,
    ) -> (Option<i64>, Option<i64>) {
        let nb = not_before.and_then(|t| self.time(&t, &format!("{path}.not_before")));
        let na = not_after.and_then(|t| self.time(&t, &format!("{path}.not_after")));
        if let (Some(b), Some(a)) = (nb, na)
            && b >= a
        {
            self.err(format!("{path}: not_before must be earlier than not_after"));
        }
        (nb, na)
    }

    fn time(&mut self, t: &RawTime, path: &str) -> Option<i64> {
        match chrono::DateTime::parse_from_rfc3339(t.0.trim()) {
            Ok(dt) => Some(dt.timestamp()),
            Err(_) => {
                self.err(format!(
                    "{path}: `{}` is not a time with a zone; write RFC 3339, e.g. 2026-12-01T00:00:00Z",
                    t.0
                ));
                None
            }
        }
    }

    /// A list of CIDR ranges (`203.0.113.0/24`, `2001:db8::/32`, single addresses).
    pub(super) fn cidrs(&mut self, list: Option<Vec<Text>>, path: &str) -> Vec<crate::net::Cidr> {
        let mut out = Vec::new();
        for (i, t) in list.unwrap_or_default().into_iter().enumerate() {
            match t.0.parse::<crate::net::Cidr>() {
                Ok(c) => out.push(c),
                Err(e) => self.err(format!("{path}[{i}]: {e}")),
            }
        }
        out
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

    pub(super) fn rule(&mut self, r: RawRule, i: usize) -> Option<RuleConfig> {
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

    pub(super) fn token(&mut self, t: RawToken, i: usize) -> Option<ApiToken> {
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
        let (not_before, not_after) = self.lifetime(t.not_before, t.not_after, &path);
        Some(ApiToken {
            name: t.name.0,
            sha256: sha,
            scopes: t.scopes,
            not_before,
            not_after,
        })
    }
}
