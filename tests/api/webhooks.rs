//! The front door: signatures, size limit, parsing, dedup, and the answers' shapes.

use domo_group_sync::config::Secret;
use serde_json::Value;

use crate::helpers::*;

const AT: &str = "2026-11-28T10:00:00Z";

fn event(id: &str) -> String {
    canonical(
        id,
        "user.onboarded",
        AT,
        "ada@example.com",
        Some(&["Marketing"]),
    )
}

async fn assert_problem(resp: reqwest::Response, status: u16, type_suffix: &str) -> Value {
    assert_eq!(resp.status().as_u16(), status);
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    assert_eq!(ct, "application/problem+json");
    let body: Value = resp.json().await.expect("problem json");
    let t = body["type"].as_str().unwrap_or_default();
    assert!(
        t.ends_with(type_suffix),
        "type {t} should end with {type_suffix}"
    );
    assert_eq!(body["status"], status);
    body
}

#[tokio::test]
async fn a_valid_signed_event_is_stored_and_answered_202_with_its_status() {
    let app = spawn_app().await;
    let resp = app.post_signed("sw", &event("evt_valid")).await;
    assert_eq!(resp.status(), 202);
    let body = json_body(resp).await;
    assert_eq!(body["events"][0]["id"], "evt_valid");
    assert_eq!(body["events"][0]["status"], "queued");
    assert!(app.store.has_event("sw", "evt_valid").await.expect("store"));
}

#[tokio::test]
async fn a_duplicate_is_answered_duplicate_and_stored_once() {
    let app = spawn_app().await;
    let body = event("evt_dup");
    // The sender retries the same message: same id, new signature and timestamp.
    let first = json_body(app.post_signed("sw", &body).await).await;
    let second = json_body(app.post_signed("sw", &body).await).await;
    assert_eq!(first["events"][0]["status"], "queued");
    assert_eq!(second["events"][0]["status"], "duplicate");
    app.wait_idle().await;
    let done = app.store.count_events("done").await.expect("count");
    assert_eq!(done, 1, "one event applied");
}

#[tokio::test]
async fn a_tampered_body_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let body = event("evt_tampered");
    let headers = app.sign("sw", &body, "msg_t1");
    let tampered = body.replace("Marketing", "Finance");
    let resp = app.post_with("sw", &tampered, &headers).await;
    let problem = assert_problem(resp, 401, ":invalid-signature").await;
    assert!(
        problem.get("detail").is_none(),
        "no detail that helps a forger"
    );
    assert!(
        !app.store
            .has_event("sw", "evt_tampered")
            .await
            .expect("store")
    );
}

#[tokio::test]
async fn expired_and_future_timestamps_are_refused() {
    let app = spawn_app().await;
    let src = app.source("sw");
    let secret = src.secrets[0].clone();
    let now = chrono::Utc::now().timestamp();
    for (name, at) in [("expired", now - 301), ("future", now + 301)] {
        let body = event(&format!("evt_{name}"));
        let headers = sign_with(&src, &secret, &body, at, &format!("msg_{name}"));
        let resp = app.post_with("sw", &body, &headers).await;
        assert_problem(resp, 401, ":invalid-signature").await;
    }
    // Inside the window both ways is fine.
    let body = event("evt_inside");
    let headers = sign_with(&src, &secret, &body, now - 250, "msg_inside");
    assert_eq!(app.post_with("sw", &body, &headers).await.status(), 202);
}

#[tokio::test]
async fn a_previous_secret_still_verifies_during_rotation() {
    let app = spawn_app().await;
    let src = app.source("sw");
    let old = Secret::new(SW_OLD_SECRET);
    let body = event("evt_rotated");
    let headers = sign_with(&src, &old, &body, chrono::Utc::now().timestamp(), "msg_rot");
    assert_eq!(app.post_with("sw", &body, &headers).await.status(), 202);
    let stranger = Secret::new("whsec_dGhpcyBpcyBub3QgdGhlIHNlY3JldA==");
    let headers = sign_with(
        &src,
        &stranger,
        &body,
        chrono::Utc::now().timestamp(),
        "msg_rot2",
    );
    assert_problem(
        app.post_with("sw", &body, &headers).await,
        401,
        ":invalid-signature",
    )
    .await;
}

#[tokio::test]
async fn missing_signature_headers_are_refused() {
    let app = spawn_app().await;
    let body = event("evt_missing");
    let full = app.sign("sw", &body, "msg_m");
    for drop in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
        let headers: Vec<(String, String)> = full
            .iter()
            .filter(|(k, _)| !k.eq_ignore_ascii_case(drop))
            .cloned()
            .collect();
        assert_problem(
            app.post_with("sw", &body, &headers).await,
            401,
            ":invalid-signature",
        )
        .await;
    }
    assert_problem(
        app.post_with("sw", &body, &[]).await,
        401,
        ":invalid-signature",
    )
    .await;
}

#[tokio::test]
async fn an_unknown_source_is_404() {
    let app = spawn_app().await;
    let body = event("evt_nosuch");
    let headers = app.sign("sw", &body, "msg_n");
    assert_problem(
        app.post_with("nosuch", &body, &headers).await,
        404,
        ":unknown-source",
    )
    .await;
}

#[tokio::test]
async fn an_oversized_body_is_413_before_any_work() {
    let app = spawn_app().await;
    let big = format!("{{\"pad\":\"{}\"}}", "x".repeat(70_000));
    // Not even signed: the size limit comes first.
    assert_problem(
        app.post_with("sw", &big, &[]).await,
        413,
        ":payload-too-large",
    )
    .await;
}

#[tokio::test]
async fn broken_json_after_a_good_signature_is_400_with_a_reason() {
    let app = spawn_app().await;
    let resp = app.post_signed("sw", "{\"id\": \"evt_broken\", ").await;
    let problem = assert_problem(resp, 400, ":malformed-payload").await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("JSON"),
        "{problem}"
    );
    // An event that parses but cannot be acted on (no email) is also refused.
    let resp = app
        .post_signed(
            "sw",
            r#"{"id":"e","type":"user.onboarded","occurred_at":"2026-11-28T10:00:00Z","user":{}}"#,
        )
        .await;
    assert_problem(resp, 400, ":malformed-payload").await;
    assert_eq!(app.store.count_events("queued").await.expect("count"), 0);
}

#[tokio::test]
async fn github_signatures_verify_over_the_raw_body() {
    let app = spawn_app().await;
    // Not compact JSON: re-serialising would change the bytes and break the signature.
    let body = "{ \"id\": \"evt_gh\", \"type\": \"group.created\",\n  \"occurred_at\": \"2026-11-28T10:00:00Z\", \"groups\": [\"Marketing\"] }";
    let resp = app.post_signed("gh", body).await;
    assert_eq!(resp.status(), 202);
}

#[tokio::test]
async fn okta_verification_echoes_the_challenge_and_events_get_200() {
    let app = spawn_app().await;
    let resp = app
        .client
        .get(app.url("/webhooks/okta"))
        .header(
            "X-Okta-Verification-Challenge",
            "ro4Qn2kPPcYnQ6aYDsvT8YH8WSB7YFpE6L0nJgpcvHg",
        )
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), 200);
    assert_eq!(
        json_body(resp).await["verification"],
        "ro4Qn2kPPcYnQ6aYDsvT8YH8WSB7YFpE6L0nJgpcvHg"
    );
    // Not an Okta source: no verification endpoint.
    let resp = app
        .client
        .get(app.url("/webhooks/sw"))
        .header("X-Okta-Verification-Challenge", "x")
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), 404);

    let envelope = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/vectors/payloads/okta-event-hook.docs-envelope.json"
    ))
    .expect("the shared Okta payload (../shared/vectors) must exist");
    let ok = app
        .post_with(
            "okta",
            &envelope,
            &[("Authorization".into(), OKTA_SECRET.into())],
        )
        .await;
    assert_eq!(ok.status(), 200);
    let wrong = app
        .post_with(
            "okta",
            &envelope,
            &[("Authorization".into(), "Basic d3Jvbmc6d3Jvbmc=".into())],
        )
        .await;
    assert_problem(wrong, 401, ":invalid-signature").await;
    // The docs envelope is a session event: stored and acknowledged as ignored.
    assert_eq!(app.store.count_events("ignored").await.expect("count"), 1);
}

#[tokio::test]
async fn a_batch_answers_each_event_in_order() {
    let app = spawn_app().await;
    let batch = format!("[{},{},{}]", event("b1"), event("b2"), event("b1"));
    let body = json_body(app.post_signed("sw", &batch).await).await;
    let statuses: Vec<&str> = body["events"]
        .as_array()
        .expect("array")
        .iter()
        .map(|e| e["status"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(statuses, ["queued", "queued", "duplicate"]);
}

#[tokio::test]
async fn unknown_paths_answer_problem_json() {
    let app = spawn_app().await;
    let resp = app
        .client
        .get(app.url("/no/such/path"))
        .send()
        .await
        .expect("sent");
    assert_problem(resp, 404, ":not-found").await;
}

#[tokio::test]
async fn health_endpoints_answer() {
    let app = spawn_app().await;
    let live = app
        .client
        .get(app.url("/healthz"))
        .send()
        .await
        .expect("sent");
    assert_eq!(live.status(), 200);
    let ready = app
        .client
        .get(app.url("/readyz"))
        .send()
        .await
        .expect("sent");
    assert_eq!(
        ready.status(),
        200,
        "store and simulator token are available"
    );
    let body = json_body(ready).await;
    assert_eq!(body["status"], "ok");
}

#[tokio::test]
async fn an_accepted_event_reaches_domo_through_the_worker() {
    let app = spawn_app().await;
    app.send_event(&event("evt_to_domo")).await;
    app.wait_until("Ada in Marketing", || async {
        app.groups_of("ada@example.com")
            .contains(&"Marketing".to_owned())
    })
    .await;
    // The simulator's own HTTP view agrees with its in-process snapshot.
    let state: Value = app
        .client
        .get(format!("http://{}/_sim/state", app.sim_addr))
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    let groups = state["groups"].as_array().expect("groups").len();
    assert_eq!(groups, app.sim_state().groups.len());
    app.wait_idle().await;
    assert_eq!(
        app.worker.run_until_idle().await.expect("worker"),
        0,
        "nothing left to do"
    );
    assert_eq!(
        app.sim
            .snapshot()
            .groups
            .iter()
            .filter(|g| g.name == "Marketing")
            .count(),
        1
    );
}

#[tokio::test]
async fn a_store_that_cannot_commit_answers_503_and_acknowledges_nothing() {
    let app = spawn_app().await;
    app.store.close().await;
    let resp = app.post_signed("sw", &event("evt_no_store")).await;
    assert_problem(resp, 503, ":store-unavailable").await;
}
