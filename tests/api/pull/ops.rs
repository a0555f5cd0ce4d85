//! Operating pulls: a pull-only source has no webhook, "pull now" is admin-only and waits for
//! no one forever, a reload swaps the credentials, and the CLI pulls with a summary.

use serde_json::Value;

use super::{OktaSim, push_okta};
use crate::helpers::*;

const PULL_ONLY: &str = r#"
[[sources]]
name = "okta-dir"
format = "okta"
scheme = "none"
"#;

#[tokio::test]
async fn a_pull_only_source_has_no_webhook_and_shows_its_pull() {
    let okta = OktaSim::start().await;
    let app = spawn_app_with(Options {
        extra_toml: format!("{PULL_ONLY}[sources.pull]\n{}", okta.pull_toml(0, 0)),
        ..Options::default()
    })
    .await;
    let resp = app
        .post_with("okta-dir", "{}", &[("authorization".into(), "x".into())])
        .await;
    assert_eq!(resp.status(), 404);
    let problem = json_body(resp).await;
    assert_eq!(
        problem["type"],
        "urn:domo-group-sync:problem:unknown-source"
    );
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("no webhook")),
        "{problem}"
    );
    let sources = json_body(
        app.api(reqwest::Method::GET, "/api/v1/sources")
            .send()
            .await
            .expect("sources"),
    )
    .await;
    let view = sources["sources"]
        .as_array()
        .expect("list")
        .iter()
        .find(|s| s["name"] == "okta-dir")
        .expect("listed")
        .clone();
    assert_eq!(view["path"], Value::Null);
    assert_eq!(view["scheme"], "none");
    assert_eq!(view["secret_count"], 0);
    assert_eq!(view["pull"]["provider"], "okta");
    assert_eq!(view["pull"]["next_directory_at"], Value::Null);
    let plain = sources["sources"]
        .as_array()
        .expect("list")
        .iter()
        .find(|s| s["name"] == "sw")
        .expect("sw")
        .clone();
    assert_eq!(plain["pull"], Value::Null);

    // It pulls like any source.
    let report = app.pull_now("okta-dir", false).await;
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["source"], "okta-dir");
}

#[tokio::test]
async fn pull_now_is_admin_only_and_refuses_unknown_or_busy_sources() {
    let okta = OktaSim::start().await;
    let app = spawn_app_with(Options {
        okta_pull: Some(okta.pull_toml(0, 0)),
        ..Options::default()
    })
    .await;
    let resp = app
        .client
        .post(app.url("/api/v1/sources/okta/pull"))
        .bearer_auth(token_without("admin"))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 403);
    for name in ["nope", "sw"] {
        let resp = app
            .api(
                reqwest::Method::POST,
                &format!("/api/v1/sources/{name}/pull"),
            )
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status(), 404, "{name}");
        let p = json_body(resp).await;
        assert_eq!(p["type"], "urn:domo-group-sync:problem:not-found");
    }
    let resp = app
        .api(
            reqwest::Method::POST,
            "/api/v1/sources/okta/pull?full=maybe",
        )
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 400);

    // Another replica's run holds the lease: after a short wait, 409.
    let now = chrono::Utc::now().timestamp_millis();
    assert!(
        app.store
            .acquire_lease("pull:okta", "elsewhere/1:x", now, now + 60_000)
            .await
            .expect("lease")
    );
    let started = std::time::Instant::now();
    let resp = app
        .api(reqwest::Method::POST, "/api/v1/sources/okta/pull")
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 409);
    assert!(started.elapsed() >= std::time::Duration::from_secs(4));
    let sources = json_body(
        app.api(reqwest::Method::GET, "/api/v1/sources")
            .send()
            .await
            .expect("sources"),
    )
    .await;
    assert!(
        sources.to_string().contains("\"running\":true"),
        "{sources}"
    );
    app.store
        .release_lease("pull:okta", "elsewhere/1:x")
        .await
        .expect("release");
    assert_eq!(app.pull_now("okta", false).await["ok"], true);
}

#[tokio::test]
async fn a_reloaded_pull_token_takes_effect_at_the_next_run() {
    let okta = OktaSim::start().await;
    let wrong = okta
        .pull_toml(0, 0)
        .replace("sim-okta-token", "wrong-token");
    let app = spawn_app_with(Options {
        okta_pull: Some(wrong),
        config_file: true,
        ..Options::default()
    })
    .await;
    let report = app.pull_now("okta", false).await;
    assert_eq!(report["ok"], false);
    let error = report["error"].as_str().expect("error");
    assert!(
        error.contains("refused the credentials") && error.contains("401"),
        "{error}"
    );
    assert!(
        !error.contains("wrong-token"),
        "never the credential: {error}"
    );
    let metrics = app.metrics_text().await;
    assert!(
        metrics.contains("dgs_pull_errors_total{source=\"okta\",reason=\"unauthorized\"}"),
        "{metrics}"
    );

    let path = app.dir().join("config.toml");
    let text = std::fs::read_to_string(&path).expect("config");
    std::fs::write(&path, text.replace("wrong-token", "sim-okta-token")).expect("write");
    let resp = app
        .api(reqwest::Method::POST, "/api/v1/admin/reload")
        .send()
        .await
        .expect("reload");
    assert_eq!(resp.status(), 200);
    let report = app.pull_now("okta", false).await;
    assert_eq!(report["ok"], true, "{report}");
    let sources = json_body(
        app.api(reqwest::Method::GET, "/api/v1/sources")
            .send()
            .await
            .expect("sources"),
    )
    .await;
    let pull = &sources["sources"]
        .as_array()
        .expect("list")
        .iter()
        .find(|s| s["name"] == "okta")
        .expect("okta")["pull"];
    assert!(
        pull["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("401"))
    );
    assert_eq!(pull["failures"], 0, "reset by the success: {pull}");
}

/// Runs the binary with `args` and `--config config`, off the test's runtime (which serves the
/// simulators the CLI talks to).
async fn cli(args: &[&str], config: &std::path::Path) -> std::process::Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_domo-group-sync"));
    cmd.args(args)
        .arg("--config")
        .arg(config)
        .env_remove("DGS_CONFIG");
    tokio::task::spawn_blocking(move || cmd.output().expect("run the CLI"))
        .await
        .expect("the CLI ran")
}

#[tokio::test]
async fn the_cli_pulls_a_source_with_progress_and_a_summary() {
    let okta = OktaSim::start().await;
    let app = spawn_app_with(Options {
        okta_pull: Some(okta.pull_toml(0, 0)),
        config_file: true,
        ..Options::default()
    })
    .await;
    let mut events = okta.add_group("Marketing").await;
    events.extend(okta.add_user("ada@example.com").await.1);
    events.extend(
        okta.member("Marketing", "ada@example.com", true, false)
            .await,
    );
    push_okta(&app, &events[..1]).await;
    let config = app.dir().join("config.toml");
    let out = cli(&["pull", "--source", "okta", "--full"], &config).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stderr.contains("events: a page of 4"), "progress: {stderr}");
    assert!(
        stderr.contains("members of Marketing: a page of 1"),
        "{stderr}"
    );
    assert!(stdout.contains("pull of `okta`: done"), "{stdout}");
    assert!(
        stdout.contains("events: 4 read in 2 page(s): 3 queued, 1 already stored"),
        "{stdout}"
    );
    assert!(stdout.contains("directory pass: reconcile run"), "{stdout}");
    // What the CLI queued, the service's workers apply.
    app.wait_until("ada in Marketing", || async {
        app.managed_groups_of("ada@example.com") == ["Marketing"]
    })
    .await;

    let out = cli(&["pull", "--source", "nope"], &config).await;
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("no source `nope` with a [sources.pull] table")
    );
}
