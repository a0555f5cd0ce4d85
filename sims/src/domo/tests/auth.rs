//! OAuth token endpoint and bearer-token checks.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::{assert_bedrock, spawn, spawn_default};
use crate::domo::SimConfig;

fn assert_token_body(body: &Value, scope: &str, ttl: u64) {
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], ttl);
    assert_eq!(body["scope"], scope);
    assert_eq!(body["role"], "Admin");
    assert!(body["customer"].is_string());
    assert!(body["jti"].is_string());
    assert!(body["userId"].as_u64().is_some_and(|id| id >= 100_000_000));
    let token = body["access_token"].as_str().expect("access_token");
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "JWT-shaped: {token}");
    let payload: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).expect("base64url payload"))
            .expect("payload json");
    assert!(
        payload["exp"].as_u64().is_some(),
        "payload has exp: {payload}"
    );
}

#[tokio::test]
async fn token_via_get_query_and_post_form_and_post_query() {
    let sim = spawn_default().await;

    let get: Value = sim
        .http
        .get(sim.url("/oauth/token?grant_type=client_credentials&scope=user"))
        .basic_auth("sim-client", Some("sim-secret"))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_token_body(&get, "user", 3600);

    let post = sim
        .http
        .post(sim.url("/oauth/token"))
        .basic_auth("sim-client", Some("sim-secret"))
        .form(&[("grant_type", "client_credentials"), ("scope", "data user")])
        .send()
        .await
        .expect("post");
    assert_eq!(post.status(), StatusCode::OK);
    assert_token_body(&post.json().await.expect("json"), "data user", 3600);

    // No scope: every scope of the client; POST with the query string (pitchfork); trailing slash.
    let post_query = sim
        .http
        .post(sim.url("/oauth/token/?grant_type=client_credentials"))
        .basic_auth("sim-client", Some("sim-secret"))
        .send()
        .await
        .expect("post query");
    assert_eq!(post_query.status(), StatusCode::OK);
    assert_token_body(&post_query.json().await.expect("json"), "data user", 3600);

    assert_eq!(sim.sim.snapshot().tokens_issued, 3);
    let token = get["access_token"].as_str().expect("token");
    sim.expect(token, Method::GET, "/v1/groups", None, StatusCode::OK)
        .await;
}

#[tokio::test]
async fn bad_or_missing_client_credentials_are_401_oauth_errors() {
    let sim = spawn_default().await;
    let url = sim.url("/oauth/token?grant_type=client_credentials");
    let wrong = sim
        .http
        .get(&url)
        .basic_auth("sim-client", Some("wrong"))
        .send()
        .await
        .expect("wrong secret");
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let body: Value = wrong.json().await.expect("json");
    assert_eq!(body["error"], "unauthorized");
    assert!(body["error_description"].is_string());

    let missing = sim.http.get(&url).send().await.expect("no credentials");
    assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
    let body: Value = missing.json().await.expect("json");
    assert_eq!(body["error"], "unauthorized");
    assert_eq!(sim.sim.snapshot().tokens_issued, 0);
}

#[tokio::test]
async fn bad_grant_type_and_foreign_scope_are_400() {
    let sim = spawn_default().await;
    for (query, error) in [
        ("", "invalid_request"),
        ("?grant_type=password", "unsupported_grant_type"),
        (
            "?grant_type=client_credentials&scope=user%20dashboard",
            "invalid_scope",
        ),
    ] {
        let response = sim
            .http
            .get(sim.url(&format!("/oauth/token{query}")))
            .basic_auth("sim-client", Some("sim-secret"))
            .send()
            .await
            .expect("token");
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query}");
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["error"], error, "{query}");
    }
}

#[tokio::test]
async fn api_without_header_is_401_bedrock_and_garbage_token_is_invalid_token() {
    let sim = spawn_default().await;
    let missing = sim
        .http
        .get(sim.url("/v1/users"))
        .send()
        .await
        .expect("no auth");
    assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
    let body: Value = missing.json().await.expect("json");
    assert_bedrock(&body, 401);
    assert_eq!(body["path"], "/v1/users");

    let basic = sim
        .http
        .get(sim.url("/v1/users"))
        .basic_auth("sim-client", Some("sim-secret"))
        .send()
        .await
        .expect("basic on api");
    assert_eq!(basic.status(), StatusCode::UNAUTHORIZED);

    let garbage = sim
        .expect(
            "not-a-token",
            Method::GET,
            "/v1/users",
            None,
            StatusCode::UNAUTHORIZED,
        )
        .await;
    assert_eq!(garbage["error"], "invalid_token");

    // Upper-case scheme works too.
    let token = sim.token().await;
    let upper = sim
        .http
        .get(sim.url("/v1/users"))
        .header("Authorization", format!("Bearer {token}"))
        .send()
        .await
        .expect("Bearer");
    assert_eq!(upper.status(), StatusCode::OK);
}

#[tokio::test]
async fn token_without_user_scope_is_403_insufficient_scope() {
    let sim = spawn_default().await;
    let body: Value = sim
        .http
        .get(sim.url("/oauth/token?grant_type=client_credentials&scope=data"))
        .basic_auth("sim-client", Some("sim-secret"))
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    let token = body["access_token"].as_str().expect("token");
    let denied = sim
        .expect(
            token,
            Method::GET,
            "/v1/groups",
            None,
            StatusCode::FORBIDDEN,
        )
        .await;
    assert_eq!(denied["error"], "insufficient_scope");
    assert_eq!(denied["scope"], "user");
}

#[tokio::test]
async fn expire_tokens_makes_the_next_call_401_until_a_new_token() {
    let sim = spawn_default().await;
    let token = sim.token().await;
    sim.expect(&token, Method::GET, "/v1/groups", None, StatusCode::OK)
        .await;
    let expired = sim
        .control(Method::POST, "/_sim/expire-tokens", None, StatusCode::OK)
        .await;
    assert_eq!(expired["expired"], 1);
    let body = sim
        .expect(
            &token,
            Method::GET,
            "/v1/groups",
            None,
            StatusCode::UNAUTHORIZED,
        )
        .await;
    assert_eq!(body["error"], "invalid_token");
    let fresh = sim.token().await;
    sim.expect(&fresh, Method::GET, "/v1/groups", None, StatusCode::OK)
        .await;
}

#[tokio::test]
async fn zero_ttl_tokens_are_expired_at_once() {
    let sim = spawn(SimConfig {
        token_ttl_secs: 0,
        ..SimConfig::default()
    })
    .await;
    let token = sim.token().await;
    let body = sim
        .expect(
            &token,
            Method::GET,
            "/v1/users",
            None,
            StatusCode::UNAUTHORIZED,
        )
        .await;
    assert_eq!(body["error"], "invalid_token");
}
