//! The provider's limits and credentials: an OAuth service app against the simulator's token
//! endpoint, Okta's 429 reset time honoured without hammering, and the request budget that
//! keeps a poller to its share of the provider's limit.

use std::time::Duration;

use chrono::Timelike;
use dgs_sims::okta::OktaConfig;
use serde_json::{Value, json};

use super::OktaSim;
use crate::helpers::*;

const KEY: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/test-only-rsa-key.pem"
);

fn logs_requests(requests: &[Value]) -> Vec<&Value> {
    requests
        .iter()
        .filter(|r| r["route"] == "/api/v1/logs")
        .collect()
}

#[tokio::test]
async fn a_service_app_pulls_with_a_private_key_jwt_token_and_renews_it() {
    let okta = OktaSim::start().await;
    let app = spawn_app_with(Options {
        okta_pull: Some(format!(
            "api_base = \"{}\"\nclient_id = \"0oasimserviceapp\"\nprivate_key = \"file:{KEY}\"\n\
             interval_secs = 0\ndirectory_interval_secs = 0\n",
            okta.base
        )),
        ..Options::default()
    })
    .await;
    okta.add_group("Marketing").await;
    let report = app.pull_now("okta", true).await;
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["events"]["queued"], 1, "{report}");
    // Okta revokes the token: the next call is refused, a new token is fetched once.
    okta.control(reqwest::Method::POST, "/_sim/expire-tokens", Value::Null)
        .await;
    let report = app.pull_now("okta", false).await;
    assert_eq!(report["ok"], true, "{report}");
    let requests = okta.requests().await;
    let tokens = requests
        .iter()
        .filter(|r| r["route"] == "/oauth2/v1/token" && r["status"] == 200)
        .count();
    assert_eq!(tokens, 2, "one token, then one more after the revocation");
    let logs = logs_requests(&requests);
    assert!(
        logs.iter().all(|r| r["auth_scheme"] == "Bearer"),
        "{logs:?}"
    );
    assert!(
        logs.iter().any(|r| r["status"] == 401),
        "the revoked token was refused"
    );
    let users = requests
        .iter()
        .filter(|r| r["route"] == "/api/v1/users" && r["status"] == 200)
        .count();
    assert!(users >= 2, "the directory pass listed users with the token");
    let sources = json_body(
        app.api(reqwest::Method::GET, "/api/v1/sources")
            .send()
            .await
            .expect("sources"),
    )
    .await;
    let text = sources.to_string();
    assert!(text.contains("\"auth\":\"oauth\""), "{text}");
    assert!(!text.contains("BEGIN PRIVATE KEY"), "never the key");
}

#[tokio::test]
async fn an_okta_429_is_waited_out_without_hammering() {
    let okta = OktaSim::start().await;
    // The simulator sets X-Rate-Limit-Reset two minutes ahead (and no Retry-After).
    okta.faults(json!({"rate_429": 1.0, "retry_after_share": 1.0, "retry_after_secs": 120}))
        .await;
    let app = spawn_app_with(Options {
        okta_pull: Some(okta.pull_toml(1, 0)),
        ..Options::default()
    })
    .await;
    let report = app.pull_now("okta", false).await;
    assert_eq!(report["ok"], false);
    let error = report["error"].as_str().expect("error");
    assert!(error.starts_with("rate limited for 1"), "{error}");
    // The poller waits for Okta's reset too: no request in the next seconds.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let requests = okta.requests().await;
    let logs = logs_requests(&requests);
    assert!(!logs.is_empty() && logs.len() <= 2, "{logs:?}");
    assert!(logs.iter().all(|r| r["status"] == 429));
    let sources = json_body(
        app.api(reqwest::Method::GET, "/api/v1/sources")
            .send()
            .await
            .expect("sources"),
    )
    .await;
    let pull = sources["sources"]
        .as_array()
        .expect("list")
        .iter()
        .find(|s| s["name"] == "okta")
        .expect("okta")["pull"]
        .clone();
    let next: chrono::DateTime<chrono::Utc> = pull["next_run_at"]
        .as_str()
        .expect("next run")
        .parse()
        .expect("time");
    assert!(
        next > chrono::Utc::now() + chrono::Duration::seconds(100),
        "the next run waits for the reset: {pull}"
    );
    assert!(pull["failures"].as_i64().expect("n") >= 1);
    assert!(
        app.metrics_text()
            .await
            .contains("dgs_pull_errors_total{source=\"okta\",reason=\"rate_limited\"}")
    );
}

#[tokio::test]
async fn the_poller_keeps_to_its_share_of_the_providers_limit() {
    // Okta's System Log allows 4 requests a minute here; the source may take half.
    let okta = OktaSim::start_with(OktaConfig {
        logs_rate_limit: 4,
        ..OktaConfig::default()
    })
    .await;
    // Start early in a minute, so the whole test sits in one of Okta's windows.
    while chrono::Utc::now().second() >= 45 {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let app = spawn_app_with(Options {
        okta_pull: Some(okta.pull_toml(1, 0)),
        ..Options::default()
    })
    .await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let requests = okta.requests().await;
    let logs = logs_requests(&requests);
    assert_eq!(
        logs.len(),
        2,
        "a 1 s interval for 5 s, held to half of 4 a minute: {logs:?}"
    );
    assert!(
        logs.iter().all(|r| r["status"] == 200),
        "never a 429: {logs:?}"
    );
    drop(app);
}
