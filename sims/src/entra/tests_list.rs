//! The directory listings (`GET /v1.0/users`, `/groups`, `/groups/{id}/members`) over TCP.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{EntraConfig, GRAPH_DEFAULT_SCOPE, Simulator};
use crate::shared::testing::{Served, serve};

const TENANT: &str = "00000000-0000-0000-0000-00000000a11d";

async fn bearer(s: &Served) -> String {
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", "sim-entra-client"),
        ("client_secret", "sim-entra-secret"),
        ("scope", GRAPH_DEFAULT_SCOPE),
    ];
    let body: Value = s
        .http
        .post(s.url(&format!("/{TENANT}/oauth2/v2.0/token")))
        .form(&form)
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    body["access_token"].as_str().expect("token").to_owned()
}

/// Every item of a listing from `url`, and the number of pages.
async fn all(s: &Served, bearer: &str, url: &str) -> (Vec<Value>, usize) {
    let (mut items, mut url, mut pages) = (Vec::new(), url.to_owned(), 0);
    loop {
        let r = s
            .http
            .get(&url)
            .bearer_auth(bearer)
            .send()
            .await
            .expect("get");
        assert_eq!(r.status(), StatusCode::OK, "{url}");
        let body: Value = r.json().await.expect("page");
        pages += 1;
        items.extend(body["value"].as_array().cloned().unwrap_or_default());
        match body["@odata.nextLink"].as_str() {
            Some(next) => url = next.to_owned(),
            None => return (items, pages),
        }
    }
}

async fn control(s: &Served, method: Method, path: &str, body: Value) {
    let r = s
        .http
        .request(method, s.url(path))
        .json(&body)
        .send()
        .await
        .expect("control");
    assert!(r.status().is_success(), "{path}: {}", r.status());
}

#[tokio::test]
async fn users_are_listed_in_pages_with_their_state_and_deleted_ones_are_absent() {
    let s = serve(
        Simulator::new(EntraConfig {
            generate_users: 5,
            ..EntraConfig::default()
        })
        .router(),
    )
    .await;
    let token = bearer(&s).await;
    control(
        &s,
        Method::PATCH,
        "/_sim/users/user1@example.com",
        json!({"accountEnabled": false}),
    )
    .await;
    control(
        &s,
        Method::DELETE,
        "/_sim/users/user2@example.com",
        json!({}),
    )
    .await;
    let (users, pages) = all(
        &s,
        &token,
        &s.url("/v1.0/users?$select=id,userPrincipalName,accountEnabled&$top=2"),
    )
    .await;
    assert_eq!((users.len(), pages), (4, 2), "{users:?}");
    assert!(
        users.iter().all(|u| u.get("mail").is_none()),
        "only the selected properties"
    );
    let disabled: Vec<&Value> = users
        .iter()
        .filter(|u| u["accountEnabled"] == false)
        .collect();
    assert_eq!(disabled.len(), 1);
    assert_eq!(disabled[0]["userPrincipalName"], "user1@example.com");
    assert!(
        !users
            .iter()
            .any(|u| u["userPrincipalName"] == "user2@example.com")
    );

    let r = s
        .http
        .get(s.url("/v1.0/users?$top=1000"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = s.http.get(s.url("/v1.0/users")).send().await.expect("get");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn group_members_are_listed_per_group_in_pages() {
    let s = serve(
        Simulator::new(EntraConfig {
            generate_users: 6,
            generate_groups: 2,
            ..EntraConfig::default()
        })
        .router(),
    )
    .await;
    let token = bearer(&s).await;
    let (groups, _) = all(&s, &token, &s.url("/v1.0/groups?$select=id,displayName")).await;
    assert_eq!(groups.len(), 2);
    let one = groups
        .iter()
        .find(|g| g["displayName"] == "Group 1")
        .expect("Group 1");
    assert!(one.get("securityEnabled").is_none());
    let id = one["id"].as_str().expect("id");
    let url = s.url(&format!("/v1.0/groups/{id}/members?$select=id&$top=2"));
    let (members, pages) = all(&s, &token, &url).await;
    // Generated users alternate between the two groups: three of six in each.
    assert_eq!((members.len(), pages), (3, 2), "{members:?}");
    assert!(
        members
            .iter()
            .all(|m| m["@odata.type"] == "#microsoft.graph.user")
    );

    control(&s, Method::DELETE, "/_sim/groups/Group 1", json!({})).await;
    let r = s
        .http
        .get(s.url(&format!("/v1.0/groups/{id}/members")))
        .bearer_auth(&token)
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let (groups, _) = all(&s, &token, &s.url("/v1.0/groups")).await;
    assert_eq!(groups.len(), 1);
}
