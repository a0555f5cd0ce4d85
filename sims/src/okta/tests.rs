//! Okta simulator tests over real TCP.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{OktaConfig, Simulator};
use crate::shared::testing::{Served, next_link, serve};

const SSWS: &str = "SSWS sim-okta-token";

async fn spawn(config: OktaConfig) -> Served {
    serve(Simulator::new(config).router()).await
}

async fn control(s: &Served, method: reqwest::Method, path: &str, body: Value) -> Value {
    let response = s
        .http
        .request(method, s.url(path))
        .json(&body)
        .send()
        .await
        .expect("control");
    assert!(
        response.status().is_success(),
        "{path}: {}",
        response.status()
    );
    response.json().await.expect("json")
}

async fn get(s: &Served, url: &str) -> reqwest::Response {
    s.http
        .get(url)
        .header("Authorization", SSWS)
        .send()
        .await
        .expect("get")
}

async fn add_user(s: &Served, login: &str) -> String {
    let body = json!({"profile": {"login": login, "firstName": "A", "lastName": login}});
    let created = control(s, reqwest::Method::POST, "/_sim/users", body).await;
    created["user"]["id"].as_str().expect("id").to_owned()
}

/// Follows `next` links from `url` until an empty page; returns the uuids and the last link.
async fn walk(s: &Served, url: &str) -> (Vec<String>, String, usize) {
    let (mut uuids, mut url, mut pages) = (Vec::new(), url.to_owned(), 0);
    loop {
        let response = get(s, &url).await;
        assert_eq!(response.status(), StatusCode::OK);
        let next = next_link(&response).expect("a polling page always has next");
        let page: Vec<Value> = response.json().await.expect("page");
        pages += 1;
        if page.is_empty() {
            return (uuids, next, pages);
        }
        uuids.extend(
            page.iter()
                .map(|e| e["uuid"].as_str().expect("uuid").to_owned()),
        );
        url = next;
    }
}

#[tokio::test]
async fn polling_walks_every_event_once_and_resumes_from_the_bookmark() {
    let s = spawn(OktaConfig::default()).await;
    for i in 0..3 {
        add_user(&s, &format!("u{i}@example.com")).await; // create + activate each
    }
    let (uuids, bookmark, pages) = walk(&s, &s.url("/api/v1/logs?limit=2")).await;
    assert_eq!(uuids.len(), 6);
    assert_eq!(pages, 4, "3 full pages then an empty one");
    let mut unique = uuids.clone();
    unique.dedup();
    assert_eq!(unique.len(), 6);
    assert!(
        !bookmark.contains("since="),
        "next carries after, not since"
    );

    // The saved bookmark sees only what came after it.
    let removed = control(
        &s,
        reqwest::Method::POST,
        "/_sim/users/u1@example.com/lifecycle/deactivate",
        json!({}),
    )
    .await;
    let (later, _, _) = walk(&s, &bookmark).await;
    assert_eq!(
        later,
        [removed["events"][0]["uuid"].as_str().expect("uuid")]
    );
}

#[tokio::test]
async fn events_become_visible_only_after_the_delay() {
    let s = spawn(OktaConfig::default()).await;
    let id = add_user(&s, "ada@example.com").await;
    let (_, bookmark, _) = walk(&s, &s.url("/api/v1/logs")).await;
    control(
        &s,
        reqwest::Method::PUT,
        "/_sim/visibility",
        json!({"delay_ms": 400}),
    )
    .await;
    control(
        &s,
        reqwest::Method::POST,
        &format!("/_sim/users/{id}/lifecycle/suspend"),
        json!({}),
    )
    .await;
    let (early, _, _) = walk(&s, &bookmark).await;
    assert!(early.is_empty(), "not visible yet: {early:?}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let response = get(&s, &bookmark).await;
    let page: Vec<Value> = response.json().await.expect("page");
    assert_eq!(page.len(), 1);
    assert_eq!(page[0]["eventType"], "user.lifecycle.suspend");
    let user = page[0]["target"]
        .as_array()
        .expect("targets")
        .iter()
        .find(|t| t["type"] == "User")
        .expect("User target");
    assert_eq!(user["alternateId"], "ada@example.com");
    assert_eq!(user["id"], id.as_str());
}

#[tokio::test]
async fn bounded_queries_end_and_filters_apply() {
    let s = spawn(OktaConfig::default()).await;
    let id = add_user(&s, "bob@example.com").await;
    control(
        &s,
        reqwest::Method::POST,
        "/_sim/groups",
        json!({"name": "Sales"}),
    )
    .await;
    control(
        &s,
        reqwest::Method::PUT,
        &format!("/_sim/groups/Sales/users/{id}"),
        json!({}),
    )
    .await;
    let filter = "eventType eq \"group.user_membership.add\" or eventType sw \"user.lifecycle.\"";
    let url = reqwest::Url::parse_with_params(
        &s.url("/api/v1/logs"),
        [
            ("filter", filter),
            ("since", "2020-01-01T00:00:00Z"),
            ("until", "2100-01-01T00:00:00Z"),
            ("limit", "2"),
        ],
    )
    .expect("url");
    let first = get(&s, url.as_str()).await;
    // `since` more than 180 days back.
    assert_eq!(first.status(), StatusCode::BAD_REQUEST);
    let since = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    let url = reqwest::Url::parse_with_params(
        &s.url("/api/v1/logs"),
        [
            ("filter", filter),
            ("since", since.as_str()),
            ("until", "2100-01-01T00:00:00Z"),
            ("limit", "2"),
        ],
    )
    .expect("url");
    let first = get(&s, url.as_str()).await;
    let next = next_link(&first).expect("more pages");
    let page: Vec<Value> = first.json().await.expect("page");
    let kinds: Vec<&str> = page
        .iter()
        .map(|e| e["eventType"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(kinds, ["user.lifecycle.create", "user.lifecycle.activate"]);
    let last = get(&s, &next).await;
    assert!(
        next_link(&last).is_none(),
        "a bounded query has a last page"
    );
    let page: Vec<Value> = last.json().await.expect("page");
    assert_eq!(
        page[0]["eventType"], "group.user_membership.add",
        "group.lifecycle.create filtered out"
    );
    let bad = get(
        &s,
        &s.url("/api/v1/logs?filter=published%20gt%20%222020%22"),
    )
    .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let body: Value = bad.json().await.expect("error");
    assert_eq!(body["errorCode"], "E0000053");
}

#[tokio::test]
async fn listings_page_by_link_and_show_offboarded_users() {
    let config = OktaConfig {
        generate_users: 5,
        generate_groups: 1,
        ..OktaConfig::default()
    };
    let s = spawn(config).await;
    control(
        &s,
        reqwest::Method::POST,
        "/_sim/users/user2@example.com/lifecycle/deactivate",
        json!({}),
    )
    .await;
    control(
        &s,
        reqwest::Method::POST,
        "/_sim/users/user3@example.com/lifecycle/suspend",
        json!({}),
    )
    .await;
    let mut url = s.url("/api/v1/users?limit=2");
    let mut seen = Vec::new();
    loop {
        let response = get(&s, &url).await;
        let next = next_link(&response);
        let page: Vec<Value> = response.json().await.expect("users");
        assert!(page.len() <= 2);
        seen.extend(page.iter().map(|u| {
            (
                u["profile"]["login"].as_str().unwrap_or("").to_owned(),
                u["status"].as_str().unwrap_or("").to_owned(),
            )
        }));
        match next {
            Some(next) => url = next,
            None => break,
        }
    }
    assert_eq!(
        seen.len(),
        4,
        "the plain list omits DEPROVISIONED: {seen:?}"
    );
    assert!(seen.contains(&("user3@example.com".into(), "SUSPENDED".into())));
    let filtered = get(
        &s,
        &s.url("/api/v1/users?filter=status%20eq%20%22DEPROVISIONED%22"),
    )
    .await;
    let filtered: Vec<Value> = filtered.json().await.expect("users");
    assert_eq!(filtered.len(), 1);
    assert_eq!(filtered[0]["profile"]["login"], "user2@example.com");

    let groups: Vec<Value> = get(&s, &s.url("/api/v1/groups"))
        .await
        .json()
        .await
        .expect("groups");
    let gid = groups[0]["id"].as_str().expect("group id");
    let members: Vec<Value> = get(&s, &s.url(&format!("/api/v1/groups/{gid}/users")))
        .await
        .json()
        .await
        .expect("members");
    assert_eq!(members.len(), 5, "deactivated users keep their memberships");
    assert!(members.iter().any(|m| m["status"] == "DEPROVISIONED"));
    let missing = get(&s, &s.url("/api/v1/groups/00gnothere/users")).await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn rate_limit_headers_count_down_to_a_429() {
    let s = spawn(OktaConfig {
        logs_rate_limit: 3,
        ..OktaConfig::default()
    })
    .await;
    for remaining in ["2", "1", "0"] {
        let response = get(&s, &s.url("/api/v1/logs")).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["x-rate-limit-limit"], "3");
        assert_eq!(response.headers()["x-rate-limit-remaining"], remaining);
    }
    let limited = get(&s, &s.url("/api/v1/logs")).await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited.headers()["x-rate-limit-remaining"], "0");
    let reset: i64 = limited.headers()["x-rate-limit-reset"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("epoch");
    let now = chrono::Utc::now().timestamp();
    assert!(
        reset > now - 1 && reset <= now + 60,
        "reset {reset} vs now {now}"
    );
    let body: Value = limited.json().await.expect("body");
    assert_eq!(body["errorCode"], "E0000047");
    // Another bucket is unaffected.
    assert_eq!(
        get(&s, &s.url("/api/v1/users")).await.status(),
        StatusCode::OK
    );
}

fn assertion(base: &str, exp_in: i64, jti: &str) -> String {
    let part = |v: Value| URL_SAFE_NO_PAD.encode(v.to_string());
    let claims = json!({"iss": "0oasimserviceapp", "sub": "0oasimserviceapp", "aud": format!("{base}/oauth2/v1/token"),
                        "exp": chrono::Utc::now().timestamp() + exp_in, "jti": jti});
    format!(
        "{}.{}.{}",
        part(json!({"alg": "RS256", "kid": "k1"})),
        part(claims),
        URL_SAFE_NO_PAD.encode(b"not-checked")
    )
}

async fn token(s: &Served, scope: &str, jwt: &str) -> reqwest::Response {
    let form = [
        ("grant_type", "client_credentials"),
        ("scope", scope),
        ("client_assertion_type", super::auth::ASSERTION_TYPE),
        ("client_assertion", jwt),
    ];
    s.http
        .post(s.url("/oauth2/v1/token"))
        .form(&form)
        .send()
        .await
        .expect("token")
}

#[tokio::test]
async fn oauth_service_app_tokens_carry_their_scopes() {
    let s = spawn(OktaConfig::default()).await;
    let none = s.http.get(s.url("/api/v1/logs")).send().await.expect("get");
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    let body: Value = none.json().await.expect("error");
    assert_eq!(body["errorCode"], "E0000011");

    let response = token(&s, "okta.logs.read", &assertion(&s.base, 300, "a")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("token");
    assert_eq!(body["expires_in"], 3600);
    let access = body["access_token"].as_str().expect("token").to_owned();
    let bearer = |path: &str| s.http.get(s.url(path)).bearer_auth(&access).send();
    assert_eq!(
        bearer("/api/v1/logs").await.expect("logs").status(),
        StatusCode::OK
    );
    assert_eq!(
        bearer("/api/v1/users").await.expect("users").status(),
        StatusCode::FORBIDDEN
    );

    let replay = token(&s, "okta.logs.read", &assertion(&s.base, 300, "a")).await;
    assert_eq!(
        replay.status(),
        StatusCode::UNAUTHORIZED,
        "a jti is used once"
    );
    let expired = token(&s, "okta.logs.read", &assertion(&s.base, -5, "b")).await;
    assert_eq!(expired.status(), StatusCode::UNAUTHORIZED);
    let wrong_scope = token(&s, "okta.apps.manage", &assertion(&s.base, 300, "c")).await;
    assert_eq!(wrong_scope.status(), StatusCode::BAD_REQUEST);
    control(&s, reqwest::Method::POST, "/_sim/expire-tokens", json!({})).await;
    assert_eq!(
        bearer("/api/v1/logs").await.expect("logs").status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn faults_drop_connections_and_answer_5xx() {
    let s = spawn(OktaConfig::default()).await;
    control(
        &s,
        reqwest::Method::PUT,
        "/_sim/faults",
        json!({"drop_rate": 1.0}),
    )
    .await;
    assert!(
        s.http
            .get(s.url("/api/v1/logs"))
            .header("Authorization", SSWS)
            .send()
            .await
            .is_err()
    );
    control(
        &s,
        reqwest::Method::PUT,
        "/_sim/faults",
        json!({"rate_5xx": 1.0}),
    )
    .await;
    let failed = get(&s, &s.url("/api/v1/users")).await;
    assert!(failed.status().is_server_error());
    control(
        &s,
        reqwest::Method::PUT,
        "/_sim/faults",
        json!({"rate_429": 1.0, "retry_after_secs": 7}),
    )
    .await;
    let limited = get(&s, &s.url("/api/v1/users")).await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    let reset: i64 = limited.headers()["x-rate-limit-reset"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("epoch");
    assert!(reset >= chrono::Utc::now().timestamp() + 5);
    let log: Vec<Value> = s
        .http
        .get(s.url("/_sim/requests"))
        .send()
        .await
        .expect("log")
        .json()
        .await
        .expect("json");
    let statuses: Vec<u64> = log
        .iter()
        .map(|r| r["status"].as_u64().unwrap_or(1))
        .collect();
    assert_eq!(
        statuses.first(),
        Some(&0),
        "a dropped request is logged with status 0"
    );
    assert_eq!(log[0]["auth_scheme"], "SSWS");
    assert_eq!(statuses.last(), Some(&429));
}
