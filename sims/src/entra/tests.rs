//! Entra simulator tests over real TCP.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{EntraConfig, GRAPH_DEFAULT_SCOPE, Simulator};
use crate::shared::testing::{Served, serve};

const TENANT: &str = "00000000-0000-0000-0000-00000000a11d";

async fn spawn(config: EntraConfig) -> Served {
    serve(Simulator::new(config).router()).await
}

async fn control(s: &Served, method: Method, path: &str, body: Value) -> Value {
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
    response.json().await.unwrap_or(Value::Null)
}

async fn token(s: &Served, secret: &str) -> reqwest::Response {
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", "sim-entra-client"),
        ("client_secret", secret),
        ("scope", GRAPH_DEFAULT_SCOPE),
    ];
    s.http
        .post(s.url(&format!("/{TENANT}/oauth2/v2.0/token")))
        .form(&form)
        .send()
        .await
        .expect("token")
}

async fn access(s: &Served) -> String {
    let body: Value = token(s, "sim-entra-secret")
        .await
        .json()
        .await
        .expect("token json");
    body["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned()
}

async fn get(s: &Served, bearer: &str, url: &str, page: usize) -> reqwest::Response {
    s.http
        .get(url)
        .bearer_auth(bearer)
        .header("Prefer", format!("odata.maxpagesize={page}"))
        .send()
        .await
        .expect("get")
}

/// Walks one round from `url`: every item, the number of pages, the deltaLink.
async fn round(s: &Served, bearer: &str, url: &str, page: usize) -> (Vec<Value>, usize, String) {
    let (mut items, mut url, mut pages) = (Vec::new(), url.to_owned(), 0);
    loop {
        let response = get(s, bearer, &url, page).await;
        assert_eq!(response.status(), StatusCode::OK, "{url}");
        let body: Value = response.json().await.expect("page");
        pages += 1;
        items.extend(body["value"].as_array().cloned().unwrap_or_default());
        if let Some(delta) = body["@odata.deltaLink"].as_str() {
            assert!(body.get("@odata.nextLink").is_none());
            return (items, pages, delta.to_owned());
        }
        url = body["@odata.nextLink"]
            .as_str()
            .expect("nextLink or deltaLink")
            .to_owned();
    }
}

#[tokio::test]
async fn user_delta_pages_then_reports_only_selected_changes() {
    let s = spawn(EntraConfig {
        generate_users: 5,
        ..EntraConfig::default()
    })
    .await;
    let bearer = access(&s).await;
    let start = s.url("/v1.0/users/delta?$select=displayName,userPrincipalName,accountEnabled");
    let (items, pages, delta) = round(&s, &bearer, &start, 2).await;
    assert_eq!((items.len(), pages), (5, 3));
    assert!(
        items
            .iter()
            .all(|u| u["accountEnabled"] == true && u.get("jobTitle").is_none())
    );
    let (again, _, delta) = round(&s, &bearer, &delta, 2).await;
    assert!(again.is_empty(), "nothing changed: {again:?}");

    control(
        &s,
        Method::PATCH,
        "/_sim/users/user1@example.com",
        json!({"accountEnabled": false}),
    )
    .await;
    control(
        &s,
        Method::PATCH,
        "/_sim/users/user2@example.com",
        json!({"jobTitle": "CFO"}),
    )
    .await;
    control(
        &s,
        Method::DELETE,
        "/_sim/users/user3@example.com",
        json!({}),
    )
    .await;
    control(
        &s,
        Method::DELETE,
        "/_sim/users/user4@example.com?hard=true",
        json!({}),
    )
    .await;
    let (changes, _, _) = round(&s, &bearer, &delta, 10).await;
    assert_eq!(
        changes.len(),
        3,
        "the jobTitle change is not selected: {changes:?}"
    );
    assert_eq!(changes[0]["userPrincipalName"], "user1@example.com");
    assert_eq!(changes[0]["accountEnabled"], false);
    assert_eq!(changes[1]["@removed"]["reason"], "changed");
    assert_eq!(changes[2]["@removed"]["reason"], "deleted");
    // Without $select, accountEnabled is not among the default properties.
    let (plain, _, _) = round(&s, &bearer, &s.url("/v1.0/users/delta"), 100).await;
    assert_eq!(plain.len(), 3);
    assert!(plain[0].get("accountEnabled").is_none() && plain[0].get("mail").is_some());
}

#[tokio::test]
async fn group_delta_spreads_big_groups_and_reports_removed_members() {
    let config = EntraConfig {
        generate_users: 6,
        generate_groups: 1,
        members_per_item: 4,
        ..EntraConfig::default()
    };
    let s = spawn(config).await;
    let bearer = access(&s).await;
    let start = s.url("/v1.0/groups/delta?$select=displayName,members");
    let (items, _, delta) = round(&s, &bearer, &start, 1).await;
    assert_eq!(items.len(), 2, "6 members over items of 4");
    assert_eq!(items[0]["id"], items[1]["id"]);
    assert_eq!(items[0]["displayName"], "Group 1");
    assert!(items[1].get("displayName").is_none());
    let members: usize = items
        .iter()
        .map(|i| i["members@delta"].as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!(members, 6);

    let user = control(
        &s,
        Method::POST,
        "/_sim/users",
        json!({"userPrincipalName": "new@example.com"}),
    )
    .await;
    control(
        &s,
        Method::PUT,
        "/_sim/groups/Group 1/members/new@example.com",
        json!({}),
    )
    .await;
    control(
        &s,
        Method::DELETE,
        "/_sim/groups/Group 1/members/user1@example.com",
        json!({}),
    )
    .await;
    let (changes, _, _) = round(&s, &bearer, &delta, 10).await;
    assert_eq!(changes.len(), 1);
    let mut delta_members = changes[0]["members@delta"]
        .as_array()
        .cloned()
        .expect("members@delta");
    delta_members.sort_by_key(|m| m.get("@removed").is_some());
    assert_eq!(delta_members[0]["id"], user["id"]);
    assert_eq!(delta_members[1]["@removed"]["reason"], "deleted");
    assert_eq!(delta_members[1]["@odata.type"], "#microsoft.graph.user");
}

#[tokio::test]
async fn expired_or_revoked_delta_tokens_answer_410_with_a_new_start() {
    let s = spawn(EntraConfig {
        generate_users: 1,
        ..EntraConfig::default()
    })
    .await;
    let bearer = access(&s).await;
    let start = s.url("/v1.0/users/delta?$select=displayName");
    let (_, _, delta) = round(&s, &bearer, &start, 10).await;
    control(&s, Method::POST, "/_sim/expire-delta-tokens", json!({})).await;
    let gone = get(&s, &bearer, &delta, 10).await;
    assert_eq!(gone.status(), StatusCode::GONE);
    let location = gone.headers()["location"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(
        location.ends_with("/v1.0/users/delta?$select=displayName"),
        "{location}"
    );
    let body: Value = gone.json().await.expect("error");
    assert_eq!(body["error"]["code"], "syncStateNotFound");
    let garbage = get(
        &s,
        &bearer,
        &s.url("/v1.0/users/delta?$deltatoken=nonsense"),
        10,
    )
    .await;
    assert_eq!(garbage.status(), StatusCode::GONE);
    // A fresh round works again; a zero TTL expires every token at once.
    let (items, _, _) = round(&s, &bearer, &location, 10).await;
    assert_eq!(items.len(), 1);
    let short = spawn(EntraConfig {
        delta_token_ttl_secs: 0,
        ..EntraConfig::default()
    })
    .await;
    let bearer = access(&short).await;
    let (_, _, delta) = round(&short, &bearer, &short.url("/v1.0/users/delta"), 10).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(
        get(&short, &bearer, &delta, 10).await.status(),
        StatusCode::GONE
    );
}

#[tokio::test]
async fn changes_wait_for_replication_and_throttling_says_retry_after() {
    let s = spawn(EntraConfig {
        visibility_delay_ms: 300,
        ..EntraConfig::default()
    })
    .await;
    let bearer = access(&s).await;
    let (_, _, delta) = round(&s, &bearer, &s.url("/v1.0/users/delta"), 10).await;
    control(
        &s,
        Method::POST,
        "/_sim/users",
        json!({"userPrincipalName": "late@example.com"}),
    )
    .await;
    let (early, _, _) = round(&s, &bearer, &delta, 10).await;
    assert!(early.is_empty(), "{early:?}");
    tokio::time::sleep(Duration::from_millis(400)).await;
    let (later, _, _) = round(&s, &bearer, &delta, 10).await;
    assert_eq!(later.len(), 1);

    control(&s, Method::PUT, "/_sim/rate-limit", json!({"per_10s": 1})).await;
    let mut statuses = Vec::new();
    for _ in 0..2 {
        statuses.push(get(&s, &bearer, &delta, 10).await);
    }
    let limited = statuses.pop().expect("two answers");
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    let secs: u64 = limited.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=10).contains(&secs));
    let body: Value = limited.json().await.expect("error");
    assert_eq!(body["error"]["code"], "TooManyRequests");
}

#[tokio::test]
async fn tokens_need_the_right_secret_and_reads_need_a_token() {
    let s = spawn(EntraConfig::default()).await;
    let bad = token(&s, "wrong").await;
    assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);
    let body: Value = bad.json().await.expect("error");
    assert_eq!(body["error"], "invalid_client");
    assert_eq!(body["error_codes"][0], 7000215);
    let anonymous = s
        .http
        .get(s.url("/v1.0/users/delta"))
        .send()
        .await
        .expect("get");
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let bearer = access(&s).await;
    control(&s, Method::POST, "/_sim/expire-tokens", json!({})).await;
    assert_eq!(
        get(&s, &bearer, &s.url("/v1.0/users/delta"), 10)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let bearer = access(&s).await;
    control(
        &s,
        Method::PUT,
        "/_sim/faults",
        json!({"rate_429": 1.0, "retry_after_secs": 3}),
    )
    .await;
    let faulted = get(&s, &bearer, &s.url("/v1.0/users/delta"), 10).await;
    assert_eq!(faulted.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(faulted.headers()["retry-after"], "3");
}
