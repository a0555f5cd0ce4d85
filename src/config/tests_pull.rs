//! `[sources.pull]` and `scheme = "none"`: what loads, and every problem reported with its key
//! and its fix.

use crate::config::tests::load as parse;
use crate::config::{Format, Provider, Scheme};

const KEY: &str = include_str!("../../tests/fixtures/test-only-p256-key.pem");

fn problems(toml: &str) -> Vec<String> {
    parse(toml, &[]).expect_err("invalid").0
}

/// Asserts that one problem contains every fragment.
fn has(problems: &[String], fragments: &[&str]) {
    assert!(
        problems
            .iter()
            .any(|p| fragments.iter().all(|f| p.contains(f))),
        "no problem with {fragments:?} in {problems:#?}"
    );
}

#[test]
fn an_okta_hook_source_with_an_ssws_pull_loads_with_defaults() {
    let c = parse(
        r#"
[[sources]]
name = "okta"
format = "okta"
scheme = "okta"
secrets = ["hook-secret"]
[sources.pull]
api_base = "https://acme.okta.com"
token = "env:OKTA_TOKEN"
"#,
        &[("OKTA_TOKEN", "00abc")],
    )
    .expect("valid");
    let pull = c.sources[0].pull.as_ref().expect("pull");
    assert_eq!(pull.provider, Provider::Okta);
    assert_eq!(pull.api_base.as_str(), "https://acme.okta.com/");
    assert_eq!(pull.token.as_ref().map(|t| t.expose()), Some("00abc"));
    assert_eq!(pull.interval_secs, 60);
    assert_eq!(pull.directory_interval_secs, 3600);
    assert!((pull.budget_share - 0.5).abs() < f64::EPSILON);
    assert_eq!(pull.max_requests_per_minute, 0);
    assert!(!pull.uses_oauth());
}

#[test]
fn a_pull_only_okta_source_with_a_service_app_loads() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = dir.path().join("okta.pem");
    std::fs::write(&key, KEY).expect("write key");
    let c = parse(
        &format!(
            r#"
[[sources]]
name = "okta-pull"
format = "okta"
scheme = "none"
[sources.pull]
api_base = "https://acme.okta.com"
client_id = "0oa1serviceapp"
private_key = "file:{}"
interval_secs = 30
directory_interval_secs = 0
budget_share = 0.25
max_requests_per_minute = 100
"#,
            key.display()
        ),
        &[],
    )
    .expect("valid");
    let s = &c.sources[0];
    assert_eq!(s.scheme, Scheme::PullOnly);
    assert!(s.secrets.is_empty());
    let pull = s.pull.as_ref().expect("pull");
    assert!(pull.uses_oauth());
    assert_eq!(pull.interval_secs, 30);
    assert_eq!(pull.directory_interval_secs, 0);
    assert_eq!(pull.max_requests_per_minute, 100);
    assert!(
        c.watched.iter().any(|w| w.path == key),
        "the key file is watched for rotation"
    );
}

#[test]
fn every_pull_problem_is_reported_with_its_key_and_fix() {
    let p = problems(
        r#"
[[sources]]
name = "a"
format = "okta"
scheme = "none"
secrets = ["s"]
[sources.pull]
token = "t"
client_id = "c"
client_secret = "x"
budget_share = 1.5

[[sources]]
name = "b"
format = "canonical"
scheme = "github"
secrets = ["s"]
[sources.pull]
api_base = "https://x.example"

[[sources]]
name = "c"
format = "okta"
scheme = "none"

[[sources]]
name = "d"
format = "okta"
scheme = "okta"
secrets = ["s"]
[sources.pull]
api_base = "ftp://acme.okta.com"
client_id = "c"

[[sources]]
name = "e"
format = "okta"
scheme = "none"
[sources.pull]
api_base = "https://acme.okta.com"
client_id = "c"
private_key = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"
unknown_key = 1

[[sources]]
name = "f"
format = "okta"
scheme = "none"
allow_ips = ["10.0.0.0/8"]
[sources.pull]
api_base = "https://user:pw@acme.okta.com"
token = "t"
"#,
    );
    has(&p, &["sources[0].secrets", "scheme = \"none\"", "remove"]);
    has(&p, &["sources[0].pull.api_base", "required for okta"]);
    has(&p, &["sources[0].pull.client_secret", "not used by okta"]);
    has(&p, &["sources[0].pull", "either `token`", "not both"]);
    has(&p, &["sources[0].pull.budget_share", "at most 1"]);
    has(
        &p,
        &[
            "sources[1].pull",
            "format `canonical` has no pull connector",
        ],
    );
    has(&p, &["sources[2]", "needs a [sources.pull] table"]);
    has(&p, &["sources[3].pull.api_base", "not an http(s) URL"]);
    has(&p, &["sources[3].pull.private_key", "private_key_jwt"]);
    has(&p, &["sources[4].pull", "unknown field `unknown_key`"]);
    has(&p, &["sources[5].allow_ips", "only applies to webhooks"]);
    has(&p, &["sources[5].pull.api_base", "without credentials"]);
    for problem in &p {
        assert!(
            !problem.contains("AAAA"),
            "a key is never echoed: {problem}"
        );
    }
}

#[test]
fn a_bad_private_key_is_refused_with_the_reason() {
    let p = problems(
        r#"
[[sources]]
name = "e"
format = "okta"
scheme = "none"
[sources.pull]
api_base = "https://acme.okta.com"
client_id = "c"
private_key = "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----"
"#,
    );
    has(&p, &["sources[0].pull.private_key", "openssl pkcs8 -topk8"]);
}

#[test]
fn entra_is_pull_only_and_takes_a_client_secret_or_a_certificate() {
    assert!(crate::pull::is_registered(Provider::Entra));
    let p = problems(
        r#"
[[sources]]
name = "entra"
format = "entra"
scheme = "hmac"
secrets = ["s"]
[sources.hmac]
header = "x-sig"
[sources.pull]
client_id = "app"
tenant_id = "tenant"
token = "t"
login_base = "not a url"
"#,
    );
    has(
        &p,
        &[
            "sources[0].scheme",
            "format \"entra\" has no signed webhooks",
            "scheme = \"none\"",
        ],
    );
    has(
        &p,
        &[
            "sources[0].pull:",
            "exactly one of `client_secret` and `private_key`",
        ],
    );
    has(&p, &["sources[0].pull.token", "not used by entra"]);
    has(&p, &["sources[0].pull.login_base", "not an http(s) URL"]);
    assert!(!p.iter().any(|p| p.contains("not implemented")), "{p:#?}");
    assert_eq!(Provider::of(Format::Entra), Some(Provider::Entra));

    let c = parse(
        r#"
[[sources]]
name = "entra"
format = "entra"
scheme = "none"
[sources.pull]
client_id = "app"
tenant_id = "tenant"
client_secret = "s"
"#,
        &[],
    )
    .expect("valid");
    let pull = c.sources[0].pull.as_ref().expect("pull");
    assert_eq!(pull.api_base.as_str(), "https://graph.microsoft.com/");
    assert_eq!(
        pull.login_base.as_ref().map(url::Url::as_str),
        Some("https://login.microsoftonline.com/")
    );

    // A certificate credential needs the certificate with the key (its thumbprint).
    let key = include_str!("../../tests/fixtures/test-only-rsa-key.pem");
    let cert = include_str!("../../tests/fixtures/test-only-rsa-cert.pem");
    let entra = |pem: &str| {
        format!(
            "[[sources]]\nname = \"entra\"\nformat = \"entra\"\nscheme = \"none\"\n\
             [sources.pull]\nclient_id = \"app\"\ntenant_id = \"t\"\n\
             private_key = '''{pem}'''\nlogin_base = \"http://127.0.0.1:9\"\n"
        )
    };
    let p = problems(&entra(key));
    has(&p, &["sources[0].pull.private_key", "BEGIN CERTIFICATE"]);
    let c = parse(&entra(&format!("{key}{cert}")), &[]).expect("key and certificate");
    let pull = c.sources[0].pull.as_ref().expect("pull");
    assert_eq!(
        pull.login_base.as_ref().map(url::Url::as_str),
        Some("http://127.0.0.1:9/")
    );
}

#[test]
fn login_base_is_entra_only() {
    let p = problems(
        "[[sources]]\nname = \"workos\"\nformat = \"workos\"\nscheme = \"none\"\n\
         [sources.pull]\ntoken = \"sk\"\nlogin_base = \"https://login.example\"\n",
    );
    has(&p, &["sources[0].pull.login_base", "not used by workos"]);
}

#[test]
fn workos_and_bamboohr_are_registered_and_take_an_api_key() {
    assert!(crate::pull::is_registered(Provider::Okta));
    assert!(crate::pull::is_registered(Provider::Workos));
    assert!(crate::pull::is_registered(Provider::Bamboohr));
    let c = parse(
        "[[sources]]\nname = \"workos\"\nformat = \"workos\"\nscheme = \"none\"\n\
         [sources.pull]\ntoken = \"sk_test\"\n\n\
         [[sources]]\nname = \"hr\"\nformat = \"bamboohr\"\nscheme = \"none\"\n\
         [sources.pull]\ntoken = \"key\"\napi_base = \"https://acme.bamboohr.com/api/v1\"\n",
        &[],
    )
    .expect("both are valid");
    let workos = c.sources[0].pull.as_ref().expect("pull");
    assert_eq!(workos.api_base.as_str(), "https://api.workos.com/");
    assert_eq!(workos.token.as_ref().map(|t| t.expose()), Some("sk_test"));
    let p = problems(
        "[[sources]]\nname = \"hr\"\nformat = \"bamboohr\"\nscheme = \"none\"\n\
         [sources.pull]\nclient_id = \"x\"\n",
    );
    has(&p, &["sources[0].pull.api_base", "required for bamboohr"]);
    has(&p, &["sources[0].pull.token", "required for bamboohr"]);
    has(&p, &["sources[0].pull.client_id", "not used by bamboohr"]);
}

#[test]
fn pull_keys_can_be_set_from_the_environment() {
    let c = parse(
        r#"
[[sources]]
name = "okta"
format = "okta"
scheme = "none"
[sources.pull]
api_base = "https://acme.okta.com"
token = "t"
"#,
        &[
            ("DGS_SOURCES__0__PULL__INTERVAL_SECS", "5"),
            ("DGS_SOURCES__0__PULL__TOKEN", "env:OKTA_TOKEN"),
            ("OKTA_TOKEN", "from-env"),
        ],
    )
    .expect("valid");
    let pull = c.sources[0].pull.as_ref().expect("pull");
    assert_eq!(pull.interval_secs, 5);
    assert_eq!(pull.token.as_ref().map(|t| t.expose()), Some("from-env"));
}

#[test]
fn a_pulling_source_reloads_into_the_live_snapshot() {
    let text = |token: &str| {
        format!(
            "[[sources]]\nname = \"okta\"\nformat = \"okta\"\nscheme = \"none\"\n[sources.pull]\n\
             api_base = \"https://acme.okta.com\"\ntoken = \"{token}\"\n"
        )
    };
    let live = crate::reload::Live::new(crate::reload::Snapshot::from_config(
        &parse(&text("old"), &[]).expect("valid"),
    ));
    let in_flight = live.load();
    live.store(crate::reload::Snapshot::from_config(
        &parse(&text("new"), &[]).expect("valid"),
    ));
    let token = |s: &crate::reload::Snapshot| {
        s.sources["okta"]
            .pull
            .as_ref()
            .and_then(|p| p.token.as_ref())
            .map(|t| t.expose().to_owned())
    };
    assert_eq!(token(&in_flight).as_deref(), Some("old"));
    assert_eq!(token(&live.load()).as_deref(), Some("new"));
}
