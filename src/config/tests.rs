//! Config loading tests: defaults, the DESIGN.md example, `DGS_*` overrides, secret
//! references, and that every problem is reported with its key.

use std::collections::BTreeMap;

use super::*;

fn parse(toml: Option<&str>, env: &[(&str, &str)]) -> Result<Config, ConfigErrors> {
    let env: BTreeMap<String, String> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    Config::parse(ConfigInput { toml, env: &env })
}

/// Loads `toml` with `env` as the only environment variables (the other config test files
/// load through it too).
pub(super) fn load(toml: &str, env: &[(&str, &str)]) -> Result<Config, ConfigErrors> {
    parse(Some(toml), env)
}

const DESIGN_EXAMPLE: &str = r#"
[server]
listen = "127.0.0.1:8080"
max_body_bytes = 1048576

[store]
url = "sqlite://domo-group-sync.db"

[domo]
api_base = "https://api.domo.com"
client_id = "env:DOMO_CLIENT_ID"
client_secret = "env:DOMO_CLIENT_SECRET"
dry_run = false
create_missing_users = false

[[sources]]
name = "workos"
format = "workos"
scheme = "workos"
secrets = ["env:WORKOS_WEBHOOK_SECRET"]

[[rules]]
when = { group = "Marketing" }
domo_groups = ["Marketing"]

[[rules]]
when = { attribute = "department", equals = "Sales" }
domo_groups = ["Sales", "Sales {location}"]

[[api.tokens]]
name = "platform-team"
sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
scopes = ["read", "write"]
"#;

const DESIGN_ENV: &[(&str, &str)] = &[
    ("DOMO_CLIENT_ID", "client-123"),
    ("DOMO_CLIENT_SECRET", "s3cret"),
    ("WORKOS_WEBHOOK_SECRET", "whsec_workos"),
];

#[test]
fn the_design_example_loads_with_its_secrets_resolved() {
    let c = parse(Some(DESIGN_EXAMPLE), DESIGN_ENV).expect("valid");
    assert_eq!(c.server.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(
        c.domo.client_id.as_ref().map(Secret::expose),
        Some("client-123")
    );
    assert!(!c.domo.uses_simulator());
    assert_eq!(c.sources.len(), 1);
    assert_eq!(c.sources[0].secrets[0].expose(), "whsec_workos");
    assert_eq!(c.sources[0].tolerance_secs, 180, "WorkOS's own window");
    assert_eq!(c.rules.len(), 2);
    assert_eq!(
        c.api.tokens[0].scopes,
        vec![ApiScope::Read, ApiScope::Write]
    );
    assert!(!c.demo);
}

#[test]
fn no_file_means_defaults_and_demo_mode() {
    let c = parse(None, &[]).expect("defaults are valid");
    assert!(c.demo);
    assert_eq!(c.server.max_body_bytes, 1_048_576);
    assert_eq!(c.store.url.expose(), "sqlite://domo-group-sync.db");
    assert!(c.domo.uses_simulator());
    assert!(c.store.group_commit);
}

#[test]
fn environment_variables_override_every_level() {
    let c = parse(
        Some(DESIGN_EXAMPLE),
        &[
            ("DOMO_CLIENT_ID", "x"),
            ("DOMO_CLIENT_SECRET", "y"),
            ("WORKOS_WEBHOOK_SECRET", "z"),
            ("DGS_SERVER__LISTEN", "0.0.0.0:9999"),
            ("DGS_DOMO__CLIENT_SECRET", "from-env"),
            ("DGS_DOMO__DRY_RUN", "true"),
            ("DGS_SOURCES__0__SECRETS", r#"["one", "two"]"#),
            ("DGS_STORE__MAX_BATCH", "7"),
            ("DGS_CONFIG", "/ignored/path.toml"),
        ],
    )
    .expect("valid");
    assert_eq!(c.server.listen.to_string(), "0.0.0.0:9999");
    assert_eq!(
        c.domo.client_secret.as_ref().map(Secret::expose),
        Some("from-env")
    );
    assert!(c.domo.dry_run);
    assert_eq!(c.store.max_batch, 7);
    let secrets: Vec<&str> = c.sources[0].secrets.iter().map(|s| s.expose()).collect();
    assert_eq!(secrets, ["one", "two"]);
}

#[test]
fn a_numeric_environment_value_is_still_a_string_where_a_string_is_expected() {
    let c = parse(
        None,
        &[
            ("DGS_DOMO__CLIENT_ID", "12345"),
            ("DGS_DOMO__CLIENT_SECRET", "67"),
        ],
    )
    .expect("valid");
    assert_eq!(c.domo.client_id.as_ref().map(Secret::expose), Some("12345"));
}

#[test]
fn secrets_are_read_from_files_without_the_trailing_newline() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("secret");
    std::fs::write(&path, "from-a-file\n").expect("write");
    let toml = format!(
        "[[sources]]\nname = \"gh\"\nformat = \"canonical\"\nscheme = \"github\"\nsecrets = [\"file:{}\"]\n",
        path.display()
    );
    let c = parse(Some(&toml), &[]).expect("valid");
    assert_eq!(c.sources[0].secrets[0].expose(), "from-a-file");
}

#[test]
fn an_api_token_hash_may_be_a_file_reference() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("hash");
    let hash = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    std::fs::write(&path, format!("{hash}\n")).expect("write");
    let toml = format!(
        "[[api.tokens]]\nname = \"ops\"\nsha256 = \"file:{}\"\nscopes = [\"read\"]\n",
        path.display()
    );
    let c = parse(Some(&toml), &[]).expect("valid");
    assert_eq!(hex::encode(c.api.tokens[0].sha256), hash);
}

#[test]
fn every_problem_is_reported_with_its_key() {
    let toml = r#"
[server]
listen = "not-an-address"
lisen = "typo"

[domo]
client_id = "only-one-half"

[[sources]]
name = "bad name!"
format = "canonical"
scheme = "standard-webhooks"
secrets = ["env:MISSING_SECRET"]

[[sources]]
name = "h"
format = "canonical"
scheme = "hmac"
secrets = ["x"]

[[rules]]
when = { group = "A" }
domo_groups = []

[[api.tokens]]
name = "t"
sha256 = "nothex"
scopes = ["read"]

[surprise]
x = 1
"#;
    let errs = parse(Some(toml), &[]).expect_err("invalid").0;
    let all = errs.join("\n");
    for needle in [
        "server: unknown field `lisen`",
        "unknown key `surprise`",
        "domo: set both client_id and client_secret",
        "sources[0].name",
        "sources[0].secrets[0]: environment variable MISSING_SECRET is not set",
        "sources[1].hmac",
        "rules[0]",
        "api.tokens[0].sha256",
    ] {
        assert!(all.contains(needle), "missing {needle:?} in:\n{all}");
    }
    // The first section's type error does not hide the later ones.
    assert!(errs.len() >= 8, "{errs:#?}");
}

#[test]
fn a_type_error_names_the_key() {
    let errs = parse(Some("[store]\ngroup_commit = \"yes\"\n"), &[])
        .expect_err("invalid")
        .0;
    assert!(errs[0].starts_with("store:"), "{errs:?}");
}

#[test]
fn broken_toml_is_one_clear_error() {
    let errs = parse(Some("[server\nlisten ="), &[])
        .expect_err("invalid")
        .0;
    assert_eq!(errs.len(), 1);
    assert!(errs[0].contains("not valid TOML"), "{errs:?}");
}

#[test]
fn secrets_never_appear_in_debug_output() {
    let c = parse(Some(DESIGN_EXAMPLE), DESIGN_ENV).expect("valid");
    let dump = format!("{c:?}");
    assert!(
        !dump.contains("s3cret") && !dump.contains("whsec_workos"),
        "{dump}"
    );
}

#[test]
fn a_bad_standard_webhooks_secret_is_refused_with_a_fix() {
    let toml = "[[sources]]\nname = \"s\"\nformat = \"canonical\"\nscheme = \"standard-webhooks\"\nsecrets = [\"whsec_!!!\"]\n";
    let errs = parse(Some(toml), &[]).expect_err("invalid").0;
    assert!(errs[0].starts_with("sources[0].secrets[0]:"), "{errs:?}");
    assert!(
        !errs[0].contains("!!!"),
        "the message must not echo the secret: {errs:?}"
    );
}

#[test]
fn a_source_may_not_take_the_api_s_name() {
    let toml = r#"
[[sources]]
name = "api"
format = "canonical"
scheme = "github"
secrets = ["s"]
"#;
    let errs = parse(Some(toml), &[]).expect_err("invalid").0;
    assert!(
        errs.iter()
            .any(|e| e.starts_with("sources[0].name: `api` is reserved")),
        "{errs:?}"
    );
}

#[test]
fn reconcile_settings_have_safe_defaults_and_are_validated() {
    let c = parse(None, &[]).expect("defaults are valid");
    assert_eq!(c.reconcile, ReconcileConfig::default());
    assert!(!c.reconcile.remove_unknown);
    assert_eq!(c.reconcile.interval_secs, 0, "no schedule unless asked");

    let c = parse(
        Some(
            "[reconcile]\nprotected_groups = [\"Admins\"]\nremove_unknown = true\n\
             max_removals = 3\nmax_removal_share = 0.5\ninterval_secs = 3600\n",
        ),
        &[("DGS_RECONCILE__MAX_REMOVALS", "7")],
    )
    .expect("valid");
    assert_eq!(c.reconcile.protected_groups, vec!["Admins".to_owned()]);
    assert!(c.reconcile.remove_unknown);
    assert_eq!(c.reconcile.max_removals, 7, "the environment wins");
    assert_eq!(c.reconcile.interval_secs, 3600);

    let errs = parse(
        Some("[reconcile]\nmax_removal_share = 2.0\nremove_everyone = true\n"),
        &[],
    )
    .expect_err("invalid")
    .0;
    assert!(errs.iter().any(|e| e.starts_with("reconcile")), "{errs:?}");
}

#[test]
fn the_header_read_timeout_has_a_default_an_override_and_must_be_positive() {
    let c = parse(None, &[]).expect("defaults are valid");
    assert_eq!(c.server.header_read_timeout_ms, 10_000);

    let c = parse(
        Some("[server]\nheader_read_timeout_ms = 2500\n"),
        &[("DGS_SERVER__HEADER_READ_TIMEOUT_MS", "300")],
    )
    .expect("valid");
    assert_eq!(c.server.header_read_timeout_ms, 300, "the environment wins");

    let errs = parse(Some("[server]\nheader_read_timeout_ms = 0\n"), &[])
        .expect_err("invalid")
        .0;
    assert!(
        errs.iter()
            .any(|e| e.starts_with("server.header_read_timeout_ms: must be at least 1")),
        "{errs:?}"
    );
}

#[test]
fn a_scim_source_pairs_format_and_scheme_and_holds_token_digests() {
    const DIGEST: &str = "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752";
    let source = |format: &str, scheme: &str, secret: &str| {
        format!(
            "[server]\npublic_url = \"https://dgs.example.com\"\n[[sources]]\nname = \"entra\"\n\
             format = \"{format}\"\nscheme = \"{scheme}\"\nsecrets = [\"{secret}\"]\n"
        )
    };
    let c = parse(Some(&source("scim", "scim", DIGEST)), &[]).expect("valid");
    assert_eq!(
        (c.sources[0].format, c.sources[0].scheme),
        (Format::Scim, Scheme::Scim)
    );
    assert_eq!(
        c.server.public_url.as_ref().map(url::Url::as_str),
        Some("https://dgs.example.com/")
    );
    let problems = |toml: String| parse(Some(&toml), &[]).expect_err("refused").0.join("\n");
    assert!(problems(source("scim", "github", "s")).contains("needs both format"));
    assert!(problems(source("canonical", "scim", DIGEST)).contains("needs both format"));
    let e = problems(source("scim", "scim", "the-token-itself"));
    assert!(
        e.contains("SHA-256") && !e.contains("the-token-itself"),
        "{e}"
    );
    let e = problems("[server]\npublic_url = \"https://dgs.example.com/base\"\n".to_owned());
    assert!(e.contains("server.public_url"), "{e}");
}
