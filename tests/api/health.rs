//! `/healthz` and `/readyz`: readiness needs a Domo token, except in dry run.

use std::collections::BTreeMap;

use domo_group_sync::app::Application;
use domo_group_sync::config::{Config, ConfigInput};
use serde_json::Value;

use crate::helpers::*;

/// Starts the service against a Domo that is not there (a port nobody listens on).
async fn start_without_domo(dry_run: bool) -> (String, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr")
    };
    let toml = config_toml(
        dir.path(),
        closed,
        &Options {
            dry_run,
            ..Options::default()
        },
    );
    let config = Config::parse(ConfigInput {
        toml: Some(&toml),
        env: &BTreeMap::new(),
    })
    .expect("config");
    let app = Application::build(config).await.expect("builds");
    let base = format!("http://{}", app.local_addr().expect("addr"));
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    (base, dir)
}

#[tokio::test]
async fn readyz_is_503_when_no_domo_token_can_be_had() {
    let (base, _dir) = start_without_domo(false).await;
    let client = reqwest::Client::new();
    let live = client
        .get(format!("{base}/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(live.status(), 200, "liveness does not depend on Domo");
    let ready = client
        .get(format!("{base}/readyz"))
        .send()
        .await
        .expect("readyz");
    assert_eq!(ready.status(), 503);
    let body: Value = ready.json().await.expect("json");
    assert_eq!(body["status"], "unavailable");
    let checks = body["checks"].as_array().expect("checks");
    let domo = checks
        .iter()
        .find(|c| c["name"] == "domo")
        .expect("a domo check");
    assert_ne!(domo["status"], "ok");
    let store = checks
        .iter()
        .find(|c| c["name"] == "store")
        .expect("a store check");
    assert_eq!(store["status"], "ok");
    // The probe for taking webhook traffic checks the store alone: a Domo outage must not
    // stop the service from queueing events.
    let store_only = client
        .get(format!("{base}/readyz?only=store"))
        .send()
        .await
        .expect("readyz?only=store");
    assert_eq!(store_only.status(), 200);
}

#[tokio::test]
async fn readyz_is_200_in_dry_run_with_the_same_broken_domo() {
    let (base, _dir) = start_without_domo(true).await;
    let ready = reqwest::get(format!("{base}/readyz"))
        .await
        .expect("readyz");
    assert_eq!(ready.status(), 200);
    let body: Value = ready.json().await.expect("json");
    assert_eq!(body["status"], "ok");
}

#[tokio::test]
async fn readyz_is_200_with_the_simulator_and_wrong_credentials_are_503() {
    let app = spawn_app().await;
    let ready = app
        .client
        .get(app.url("/readyz"))
        .send()
        .await
        .expect("readyz");
    assert_eq!(ready.status(), 200);
    // The same simulator with a client it does not know.
    let dir = tempfile::tempdir().expect("tempdir");
    let toml = config_toml(dir.path(), app.sim_addr, &Options::default()).replace(
        "client_secret = \"sim-secret\"",
        "client_secret = \"wrong\"",
    );
    let config = Config::parse(ConfigInput {
        toml: Some(&toml),
        env: &BTreeMap::new(),
    })
    .expect("config");
    let other = Application::build(config).await.expect("builds");
    let base = format!("http://{}", other.local_addr().expect("addr"));
    tokio::spawn(other.run_until_stopped(std::future::pending()));
    let resp = reqwest::get(format!("{base}/readyz"))
        .await
        .expect("readyz");
    assert_eq!(resp.status(), 503);
    let body: Value = resp.json().await.expect("json");
    let domo = body["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["name"] == "domo"))
        .expect("domo check");
    assert_eq!(domo["status"], "credentials refused");
    assert!(
        !body.to_string().contains("wrong"),
        "no secret in the answer"
    );
}
