//! Microsoft Graph change notifications (`scheme = "graph"`) over TCP: the `validationToken`
//! handshake from the shared vector, `clientState` per notification (rotation, expiry, mixed
//! batches), and the source's pull schedule in the store (`pull_state.next_run_ms`) that a
//! notification makes due now.
//!
//! The source pulls from the Entra simulator; what a notification does is read from the
//! store's schedule (`pull_state`), the metrics and the simulator's request counts.

use std::time::Duration;

use chrono::Utc;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::pull::entra_sim::EntraSim;
use crate::rotation::metric;

mod schedule;

pub(super) const SOURCE: &str = "entra";
pub(super) const STATE: &str = "graph-client-state-current";
const NEXT: &str = "graph-client-state-next";
const EXPIRED: &str = "graph-client-state-expired";
/// The event pull's interval: a notification visibly brings the next pull forward from it.
pub(super) const LATER_MS: i64 = 3_600_000;

/// The Entra source with Graph notifications on `sim`: two live `clientState`s and an expired
/// one, an hourly event pull, no directory pass of its own.
fn graph_source_toml(sim: &EntraSim, allow_ips: &str) -> String {
    let pull = sim.source_toml(3600, 0);
    let pull = pull.replace("scheme = \"none\"", &format!(
        "scheme = \"graph\"\n{allow_ips}secrets = [\n  {{ value = \"{STATE}\", name = \"current\" }},\n  \
         {{ value = \"{NEXT}\", name = \"next\" }},\n  \
         {{ value = \"{EXPIRED}\", name = \"expired\", not_after = 2026-01-01T00:00:00Z }},\n]"
    ));
    assert!(pull.contains("scheme = \"graph\""), "{pull}");
    pull
}

/// The service with the graph source, and the Entra simulator it pulls from.
pub(super) struct GraphApp {
    pub app: TestApp,
    pub sim: EntraSim,
}

impl std::ops::Deref for GraphApp {
    type Target = TestApp;
    fn deref(&self) -> &TestApp {
        &self.app
    }
}

async fn spawn_graph(allow_ips: &str) -> GraphApp {
    let sim = EntraSim::start(100).await;
    let app = spawn_app_with(Options {
        extra_toml: graph_source_toml(&sim, allow_ips),
        ..Options::default()
    })
    .await;
    GraphApp { app, sim }
}

/// The app with the graph source, once its first (initial) delta round is done: its next
/// pull is then an hour away.
pub(super) async fn graph_app() -> GraphApp {
    let app = spawn_graph("").await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let row = app.store.pull_state(SOURCE).await.expect("store");
        if row.as_ref().is_some_and(|r| r.last_success_ms.is_some()) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the first pull did not complete: {row:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    app
}

/// Waits (at most 20 s: the poller of this replica is woken at once) until the event pull
/// has been asked for or has run since `since_ms`.
pub(super) async fn pull_follows(app: &TestApp, since_ms: i64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let row = app
            .store
            .pull_state(SOURCE)
            .await
            .expect("store")
            .expect("a row");
        let now = Utc::now().timestamp_millis();
        if row.next_run_ms.is_some_and(|n| n <= now)
            || row.last_run_ms.is_some_and(|t| t >= since_ms)
        {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no pull followed the notification: {row:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub(super) async fn next_run_ms(app: &TestApp) -> i64 {
    app.store
        .pull_state(SOURCE)
        .await
        .expect("store")
        .and_then(|r| r.next_run_ms)
        .expect("a schedule")
}

/// A user change notification, as Graph documents it.
pub(super) fn user(client_state: &str) -> Value {
    json!({
        "id": "lsgTZMr9KwAAA",
        "subscriptionId": "c2e6c2bd-5d4a-4d8f-9b1a-7f3b0c1d2e3f",
        "subscriptionExpirationDateTime": "2026-12-30T18:23:45.9356913Z",
        "clientState": client_state,
        "changeType": "updated",
        "resource": "Users/6f1a2b3c-0000-4000-8000-000000000001",
        "tenantId": "84bd8158-6d4d-4958-8b9f-9d6445542f95",
        "resourceData": {
            "@odata.type": "#Microsoft.Graph.User",
            "@odata.id": "Users/6f1a2b3c-0000-4000-8000-000000000001",
            "id": "6f1a2b3c-0000-4000-8000-000000000001"
        }
    })
}

async fn notify(app: &TestApp, items: &[Value]) -> reqwest::Response {
    app.post_with(SOURCE, &json!({ "value": items }).to_string(), &[])
        .await
}

pub(super) async fn outcome(app: &TestApp, outcome: &str) -> f64 {
    metric(
        app,
        "dgs_graph_notifications_total",
        &[("source", SOURCE), ("outcome", outcome)],
    )
    .await
    .unwrap_or(0.0)
}

#[tokio::test]
async fn the_validation_handshake_echoes_the_decoded_token_as_plain_text() {
    let app = graph_app().await;
    let vectors: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/vectors/handshakes.json"
        ))
        .expect("the shared handshakes.json"),
    )
    .expect("JSON");
    let case = vectors
        .as_array()
        .and_then(|a| {
            a.iter()
                .find(|c| c["provider"] == "microsoft-graph" && c["request"]["query"].is_string())
        })
        .expect("the Graph validation vector");
    let query = case["request"]["query"].as_str().expect("query");
    let resp = app
        .client
        .post(app.url(&format!("/webhooks/{SOURCE}?{query}")))
        .header("content-type", "text/plain; charset=utf-8")
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), 200);
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    assert_eq!(
        header("content-type").as_deref(),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(header("x-content-type-options").as_deref(), Some("nosniff"));
    let expected = case["expect_response"]["body"].as_str().expect("body");
    assert_eq!(resp.text().await.expect("text"), expected);

    let long = "a".repeat(1025);
    let resp = app
        .client
        .post(app.url(&format!("/webhooks/{SOURCE}?validationToken={long}")))
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), 400);
    let problem: Value = resp.json().await.expect("problem");
    assert_eq!(problem["type"], "urn:domo-group-sync:problem:bad-request");
    assert!(
        next_run_ms(&app).await - Utc::now().timestamp_millis() > LATER_MS / 2,
        "a handshake asks for no pull"
    );
}

#[tokio::test]
async fn a_notification_with_the_client_state_makes_the_pull_due_now() {
    let app = graph_app().await;
    let before = Utc::now().timestamp_millis();
    assert!(next_run_ms(&app).await > before + LATER_MS / 2);
    let resp = notify(&app, &[user(STATE)]).await;
    assert_eq!(resp.status(), 202);
    pull_follows(&app, before).await;
    assert_eq!(outcome(&app, "pull_requested").await, 1.0);
    let verified = metric(
        &app,
        "dgs_webhook_verifications_total",
        &[("source", SOURCE), ("secret", "current")],
    )
    .await;
    assert_eq!(verified, Some(1.0));
    assert_eq!(
        outcome(&app, "lifecycle_missed").await,
        0.0,
        "zero-initialised"
    );
}

#[tokio::test]
async fn a_wrong_or_expired_client_state_is_refused_and_changes_nothing() {
    let app = graph_app().await;
    let scheduled = next_run_ms(&app).await;
    for state in ["wrong", EXPIRED, ""] {
        let resp = notify(&app, &[user(state)]).await;
        assert_eq!(resp.status(), 401, "{state}");
        let problem: Value = resp.json().await.expect("problem");
        assert_eq!(
            problem["type"],
            "urn:domo-group-sync:problem:invalid-signature"
        );
        assert!(!problem.to_string().contains(STATE));
    }
    assert_eq!(next_run_ms(&app).await, scheduled, "schedule unchanged");
    assert_eq!(outcome(&app, "client_state_mismatch").await, 3.0);
    assert_eq!(outcome(&app, "pull_requested").await, 0.0);

    // Malformed bodies: 400 with a stable type, nothing changed.
    for body in ["not json", "{\"value\": {}}", "{\"value\": [1]}"] {
        let resp = app.post_with(SOURCE, body, &[]).await;
        assert_eq!(resp.status(), 400, "{body}");
        let problem: Value = resp.json().await.expect("problem");
        assert_eq!(
            problem["type"],
            "urn:domo-group-sync:problem:malformed-payload"
        );
    }
    assert_eq!(next_run_ms(&app).await, scheduled);
}

#[tokio::test]
async fn a_mixed_batch_and_a_rotation_count_only_the_live_client_states() {
    let app = graph_app().await;
    let before = Utc::now().timestamp_millis();
    let resp = notify(&app, &[user("forged"), user(NEXT), user(EXPIRED)]).await;
    assert_eq!(resp.status(), 202);
    pull_follows(&app, before).await;
    assert_eq!(outcome(&app, "pull_requested").await, 1.0);
    assert_eq!(outcome(&app, "client_state_mismatch").await, 2.0);
    let by_secret = |name: &'static str| {
        let app = &app;
        async move {
            metric(
                app,
                "dgs_webhook_verifications_total",
                &[("source", SOURCE), ("secret", name)],
            )
            .await
            .unwrap_or(0.0)
        }
    };
    assert_eq!(by_secret("next").await, 1.0);
    assert_eq!(by_secret("current").await, 0.0);
    assert_eq!(by_secret("expired").await, 0.0);
    // Both live states in one POST (a rotation in progress).
    let resp = notify(&app, &[user(STATE), user(NEXT)]).await;
    assert_eq!(resp.status(), 202);
    assert_eq!(by_secret("current").await, 1.0);
    assert_eq!(by_secret("next").await, 2.0);
}

#[tokio::test]
async fn other_resources_and_lifecycle_warnings_ask_for_no_pull_but_missed_does() {
    let app = graph_app().await;
    let scheduled = next_run_ms(&app).await;
    let mut mail = user(STATE);
    mail["resource"] = json!("me/events/AAMkAGI2");
    mail["resourceData"]["@odata.type"] = json!("#Microsoft.Graph.Event");
    let lifecycle = |event: &str| {
        json!({"subscriptionId": "c2e6c2bd", "clientState": STATE, "lifecycleEvent": event,
            "subscriptionExpirationDateTime": "2026-12-30T18:23:45Z",
            "tenantId": "84bd8158-6d4d-4958-8b9f-9d6445542f95"})
    };
    let resp = notify(
        &app,
        &[
            mail,
            lifecycle("reauthorizationRequired"),
            lifecycle("subscriptionRemoved"),
        ],
    )
    .await;
    assert_eq!(resp.status(), 202);
    assert_eq!(next_run_ms(&app).await, scheduled, "no pull asked for");
    assert_eq!(outcome(&app, "ignored").await, 1.0);
    assert_eq!(
        outcome(&app, "lifecycle_reauthorization_required").await,
        1.0
    );
    assert_eq!(outcome(&app, "lifecycle_subscription_removed").await, 1.0);
    assert_eq!(outcome(&app, "pull_requested").await, 0.0);

    let before = Utc::now().timestamp_millis();
    let resp = notify(&app, &[lifecycle("missed")]).await;
    assert_eq!(resp.status(), 202);
    pull_follows(&app, before).await;
    assert_eq!(outcome(&app, "lifecycle_missed").await, 1.0);
}

#[tokio::test]
async fn the_source_is_listed_with_its_scheme_and_the_webhook_limits_apply() {
    let app = graph_app().await;
    let list: Value = app
        .client
        .get(app.url("/api/v1/sources"))
        .bearer_auth(TOKEN_ALL)
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("JSON");
    let entra = list["sources"]
        .as_array()
        .and_then(|a| a.iter().find(|s| s["name"] == SOURCE))
        .expect("listed");
    assert_eq!(entra["scheme"], "graph");
    assert_eq!(entra["format"], "entra");
    assert_eq!(entra["path"], "/webhooks/entra");
    assert_eq!(entra["secret_count"], 3);
    assert!(!list.to_string().contains(STATE), "never a clientState");

    let big = json!({"value": [user(STATE)], "pad": "x".repeat(70_000)}).to_string();
    let resp = app.post_with(SOURCE, &big, &[]).await;
    assert_eq!(resp.status(), 413);

    let fenced = spawn_graph("allow_ips = [\"203.0.113.0/24\"]\n").await;
    let resp = fenced
        .client
        .post(fenced.url(&format!("/webhooks/{SOURCE}?validationToken=abc")))
        .send()
        .await
        .expect("sent");
    assert_eq!(
        resp.status(),
        403,
        "the handshake is behind the allowlist too"
    );
}
