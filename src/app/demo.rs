//! The demo's defaults, when the service runs on no configuration: a demo source whose
//! secret and an admin token whose value are kept in the store (a restart keeps both), and a
//! rule mapping every IdP group to a Domo group of its name.

use crate::config::{Config, Format, Scheme, Secret, SourceConfig};
use crate::store::Store;

/// The demo source (Standard Webhooks, canonical events) with a secret kept in the store, and,
/// when no rule is configured, one rule mapping every IdP group to a Domo group of its name.
pub(super) async fn add_source(
    config: &mut Config,
    store: &Store,
) -> anyhow::Result<(String, Secret)> {
    let fresh = format!("whsec_{}", base64_random(24));
    let secret = Secret::new(
        store
            .meta_get_or_insert("demo_source_secret", &fresh)
            .await?,
    );
    config.sources.push(SourceConfig {
        name: "demo".to_owned(),
        format: Format::Canonical,
        scheme: Scheme::StandardWebhooks,
        secrets: vec![secret.clone().into()],
        tolerance_secs: 300,
        header: "Authorization".to_owned(),
        hmac: None,
        allow_ips: Vec::new(),
        pull: None,
    });
    if config.rules.is_empty() {
        config.rules.push(crate::config::RuleConfig {
            when: crate::config::RuleMatch::Group("*".to_owned()),
            domo_groups: vec!["{group}".to_owned()],
        });
    }
    Ok(("demo".to_owned(), secret))
}

/// The demo's admin token (read, write, admin), kept in the store so that a restart keeps it:
/// the console and the API accept it like a configured token (only its hash is configured).
pub(super) async fn add_token(config: &mut Config, store: &Store) -> anyhow::Result<Secret> {
    use sha2::Digest;
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes)
        .map_err(|e| anyhow::anyhow!("no randomness for the demo token: {e}"))?;
    let fresh = format!("dgs_demo_{}", hex::encode(bytes));
    let token = store.meta_get_or_insert("demo_admin_token", &fresh).await?;
    config.api.tokens.push(crate::config::ApiToken {
        name: "demo-admin".to_owned(),
        sha256: sha2::Sha256::digest(token.as_bytes()).into(),
        scopes: vec![
            crate::config::ApiScope::Read,
            crate::config::ApiScope::Write,
            crate::config::ApiScope::Admin,
        ],
        not_before: None,
        not_after: None,
    });
    Ok(Secret::new(token))
}

fn base64_random(n: usize) -> String {
    use base64::Engine;
    let bytes: Vec<u8> = (0..n).map(|_| fastrand::u8(..)).collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
