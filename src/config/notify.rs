//! Validation of `[[subscribers]]` and `[notify]` (`impl Cx` continued from `load.rs`).

use super::load::Cx;
use super::raw::{RawNotify, RawSubscriber};
use super::types::*;
use crate::notify::NoticeType;

impl Cx<'_> {
    pub(super) fn subscriber(&mut self, s: RawSubscriber, i: usize) -> Option<SubscriberConfig> {
        let path = format!("subscribers[{i}]");
        let kind = s.kind.unwrap_or_default();
        // The URL may be a secret reference: a Slack incoming-webhook URL is a credential.
        let url = self.secret(&s.url, &format!("{path}.url"))?;
        let parsed = match url::Url::parse(url.expose()) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => u,
            _ => {
                // Never echo the value: it may hold a token.
                self.err(format!("{path}.url: not an http(s) URL"));
                return None;
            }
        };
        let name = match s.name {
            Some(n) => n.0,
            None => match kind {
                SubscriberKind::Slack => "slack".to_owned(),
                SubscriberKind::Webhook => parsed.host_str().unwrap_or("subscriber").to_owned(),
            },
        };
        let ok_name = !name.is_empty()
            && name.len() <= 64
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
        if !ok_name {
            self.err(format!(
                "{path}.name: `{name}` must be 1–64 letters, digits, `-`, `_` or `.` (it labels metrics and API paths)"
            ));
        }
        let secret = match (kind, s.secret) {
            (SubscriberKind::Webhook, None) => {
                self.err(format!(
                    "{path}.secret: a webhook subscriber needs a signing secret (whsec_ + base64, \
                     e.g. from `openssl rand -base64 32`)"
                ));
                None
            }
            (SubscriberKind::Webhook, Some(t)) => {
                let secret = self.secret(&t, &format!("{path}.secret"))?;
                if !secret.expose().starts_with("whsec_") && !secret.expose().starts_with("whsk_") {
                    self.err(format!(
                        "{path}.secret: must start with whsec_ (HMAC, v1) or whsk_ (Ed25519, v1a)"
                    ));
                } else if let Err(e) =
                    crate::signature::check_signing_secret(Scheme::StandardWebhooks, &secret)
                {
                    self.err(format!("{path}.secret: {e}"));
                }
                Some(secret)
            }
            (SubscriberKind::Slack, Some(_)) => {
                self.err(format!(
                    "{path}.secret: Slack incoming webhooks are not signed; remove it (the URL \
                     is the credential: give it as env:NAME or file:PATH)"
                ));
                None
            }
            (SubscriberKind::Slack, None) => None,
        };
        let events = match s.events {
            None => NoticeType::ALL
                .into_iter()
                .filter(|t| t.on_by_default())
                .collect(),
            Some(list) if list.is_empty() => {
                self.err(format!(
                    "{path}.events: give at least one event type, or leave `events` out for the default"
                ));
                Vec::new()
            }
            Some(list) => {
                let mut out = Vec::new();
                for (j, t) in list.iter().enumerate() {
                    match NoticeType::parse(&t.0) {
                        Some(k) if !out.contains(&k) => out.push(k),
                        Some(_) => {}
                        None => self.err(format!(
                            "{path}.events[{j}]: `{}` is not an event type; expected one of {}",
                            t.0,
                            NoticeType::ALL.map(NoticeType::as_str).join(", ")
                        )),
                    }
                }
                out
            }
        };
        Some(SubscriberConfig {
            name,
            url,
            kind,
            secret,
            events,
        })
    }

    pub(super) fn notify(&mut self, n: RawNotify) -> NotifyConfig {
        let d = NotifyConfig::default();
        let timeout_secs = self.positive(n.timeout_secs, d.timeout_secs, "notify.timeout_secs");
        if timeout_secs > 300 {
            self.err("notify.timeout_secs: at most 300 (a delivery holds its subscriber's lane)");
        }
        NotifyConfig {
            max_attempts: self.positive(n.max_attempts, d.max_attempts, "notify.max_attempts"),
            backoff_base_ms: self.positive(
                n.backoff_base_ms,
                d.backoff_base_ms,
                "notify.backoff_base_ms",
            ),
            backoff_max_secs: self.positive(
                n.backoff_max_secs,
                d.backoff_max_secs,
                "notify.backoff_max_secs",
            ),
            timeout_secs: timeout_secs.min(300),
            poll_interval_ms: self.positive(
                n.poll_interval_ms,
                d.poll_interval_ms,
                "notify.poll_interval_ms",
            ),
            retention_secs: self.positive(
                n.retention_secs,
                d.retention_secs,
                "notify.retention_secs",
            ),
            max_pending: self.positive(n.max_pending, d.max_pending, "notify.max_pending"),
            source_error_threshold: self.positive(
                n.source_error_threshold,
                d.source_error_threshold,
                "notify.source_error_threshold",
            ),
            source_lag_secs: self.positive(
                n.source_lag_secs,
                d.source_lag_secs,
                "notify.source_lag_secs",
            ),
            source_repeat_secs: n.source_repeat_secs.unwrap_or(d.source_repeat_secs),
        }
    }
}
