//! Config tests for rotation: secrets as tables with a lifecycle (beside the plain-string
//! form), `allow_ips` and trusted proxies, `[secrets]`, and the `file:` references recorded
//! for the watcher.

use super::tests::load as parse;
use super::*;

const SOURCE: &str = r#"
[[sources]]
name = "sw"
format = "canonical"
scheme = "standard-webhooks"
"#;

#[test]
fn plain_and_table_secrets_mix_with_their_lifecycles() {
    let toml = format!(
        r#"{SOURCE}secrets = [
  "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
  {{ value = "whpk_11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=", name = "ed-2026", not_before = 2026-12-01T00:00:00Z, not_after = "2027-01-01T00:00:00+01:00" }},
]
allow_ips = ["203.0.113.0/24", "2001:db8::/32"]
"#
    );
    let c = parse(&toml, &[]).expect("valid");
    let s = &c.sources[0].secrets;
    assert_eq!(s[0].name, None);
    assert_eq!((s[0].not_before, s[0].not_after), (None, None));
    assert_eq!(s[0].label(0), "0");
    assert_eq!(s[1].label(1), "ed-2026");
    assert_eq!(s[1].not_before, Some(1_796_083_200));
    assert_eq!(s[1].not_after, Some(1_798_758_000));
    assert!(!s[1].live_at(1_796_083_199));
    assert!(s[1].live_at(1_796_083_200));
    assert!(!s[1].live_at(1_798_758_000));
    assert_eq!(c.sources[0].allow_ips.len(), 2);
    assert!(c.server.trusted_proxies.is_empty());
    assert_eq!(c.server.client_ip_header, ClientIpHeader::XForwardedFor);
    assert_eq!(c.secrets, SecretsConfig::default());
}

#[test]
fn lifecycle_problems_are_each_reported_with_their_key() {
    let toml = format!(
        r#"
[server]
trusted_proxies = ["10.0.0.0/8", "10.0.0.1/8"]

{SOURCE}secrets = [
  {{ value = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", name = "a", not_before = "tomorrow" }},
  {{ value = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", name = "a", not_before = 2027-01-01T00:00:00Z, not_after = 2026-01-01T00:00:00Z }},
  {{ value = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", not_after = 2026-01-01T00:00:00 }},
  {{ value = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", name = "has space" }},
  {{ value = "whsk_nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=" }},
  {{ secret = "x" }},
]
allow_ips = ["203.0.113.0/33"]

[[api.tokens]]
name = "t"
sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
scopes = ["read"]
not_after = "never"
"#
    );
    let errs = parse(&toml, &[]).expect_err("invalid").0;
    let expect = [
        "server.trusted_proxies[1]:",
        "sources[0].secrets[0].not_before:",
        "sources[0].secrets[1]: not_before must be earlier",
        "sources[0].secrets[2].not_after:",
        "sources[0].secrets[3].name:",
        "sources[0].secrets[4]: this is a v1a private key",
        "sources[0].secrets[5]:",
        "sources[0].secrets: two entries have name `a`",
        "sources[0].allow_ips[0]:",
        "api.tokens[0].not_after:",
    ];
    for want in expect {
        assert!(
            errs.iter().any(|e| e.starts_with(want)),
            "missing {want:?} in {errs:#?}"
        );
    }
    assert!(
        errs.iter().all(|e| !e.contains("nWGxne")),
        "a private key was echoed: {errs:#?}"
    );
}

#[test]
fn file_secrets_are_recorded_for_the_watcher_and_env_sets_the_new_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("current");
    std::fs::write(&path, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n").expect("write");
    let toml = format!("{SOURCE}secrets = [\"file:{}\"]\n", path.display());
    let env = [
        ("DGS_SERVER__TRUSTED_PROXIES", "[\"10.0.0.0/8\"]"),
        ("DGS_SERVER__CLIENT_IP_HEADER", "forwarded"),
        ("DGS_SECRETS__POLL_INTERVAL_MS", "250"),
        ("DGS_SOURCES__0__ALLOW_IPS", "[\"198.51.100.0/24\"]"),
    ];
    let c = parse(&toml, &env).expect("valid");
    assert_eq!(c.watched.len(), 1);
    assert_eq!(c.watched[0].path, path);
    assert_eq!(
        c.watched[0].digest,
        Some(digest(b"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n"))
    );
    assert_eq!(c.server.trusted_proxies.len(), 1);
    assert_eq!(c.server.client_ip_header, ClientIpHeader::Forwarded);
    assert_eq!(c.secrets.poll_interval_ms, 250);
    assert_eq!(c.sources[0].allow_ips.len(), 1);
    // A table secret's lifecycle can come from the environment too.
    let table = format!(
        "{SOURCE}secrets = [{{ value = \"file:{}\" }}]\n",
        path.display()
    );
    let env = [(
        "DGS_SOURCES__0__SECRETS__0__NOT_AFTER",
        "2026-01-01T00:00:00Z",
    )];
    let c = parse(&table, &env).expect("valid");
    assert_eq!(c.sources[0].secrets[0].not_after, Some(1_767_225_600));
}
