//! Each call's method, path, query and body, its success statuses, paging and lenient types.

use serde_json::{Value, json};
use wiremock::matchers::{body_json, header, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::*;
use crate::domo::NewUser;

/// A server whose token endpoint works (any number of times).
async fn server() -> MockServer {
    let server = MockServer::start().await;
    token_request()
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body("tok", 3600)))
        .mount(&server)
        .await;
    server
}

/// Serves `items` at `at` in pages of 500, each page expected exactly once, and fails the
/// test if any request to `at` lacks `limit=500`.
async fn mount_pages(server: &MockServer, at: &str, items: &[Value]) {
    let pages = items.len() / 500 + 1;
    for page in 0..pages {
        let chunk: Vec<Value> = items.iter().skip(page * 500).take(500).cloned().collect();
        Mock::given(method("GET"))
            .and(path(at))
            .and(query_param("limit", "500"))
            .and(query_param("offset", (page * 500).to_string()))
            .respond_with(ResponseTemplate::new(200).set_body_json(chunk))
            .expect(1)
            .with_priority(1)
            .mount(server)
            .await;
    }
    Mock::given(method("GET"))
        .and(path(at))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .expect(0)
        .with_priority(10)
        .named("a page request without limit=500 or at an unexpected offset")
        .mount(server)
        .await;
}

#[tokio::test]
async fn all_group_members_are_read_in_three_pages_of_500() {
    // 1,201 ids, some as numeric strings.
    let server = server().await;
    let ids: Vec<Value> = (1..=1_201)
        .map(|i| {
            if i % 2 == 0 {
                json!(i)
            } else {
                json!(i.to_string())
            }
        })
        .collect();
    mount_pages(&server, "/v1/groups/77/users", &ids).await;

    let got = client(&server)
        .list_all_group_users(77)
        .await
        .expect("members");

    assert_eq!(got, (1..=1_201).collect::<Vec<i64>>());
}

#[tokio::test]
async fn all_users_stop_at_an_empty_page_after_an_exact_multiple() {
    let server = server().await;
    let users: Vec<Value> = (1..=1_000)
        .map(|i| json!({"id": i, "email": format!("u{i}@example.com"), "role": "Participant"}))
        .collect();
    mount_pages(&server, "/v1/users", &users).await;

    let got = client(&server).list_all_users().await.expect("users");

    assert_eq!(got.len(), 1_000);
    assert_eq!(got[999].email.as_deref(), Some("u1000@example.com"));
}

#[tokio::test]
async fn all_groups_in_one_short_page() {
    let server = server().await;
    let groups = vec![
        json!({"default": false, "id": 2079369923, "memberCount": 30, "name": "Sales Team East"}),
        json!({"default": "true", "id": "1117375123", "memberCount": "55", "name": "Default"}),
    ];
    mount_pages(&server, "/v1/groups", &groups).await;

    let got = client(&server).list_all_groups().await.expect("groups");

    assert_eq!(got.len(), 2);
    assert_eq!(got[1].id, 1_117_375_123);
    assert_eq!(got[1].default, Some(true));
    assert_eq!(got[1].member_count, Some(55));
}

#[tokio::test]
async fn one_page_sends_limit_and_offset_and_clamps_the_limit() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/v1/users"))
        .and(query_param("limit", "500"))
        .and(query_param("offset", "1500"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([{"id": 1}])))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/groups"))
        .and(query_param("limit", "50"))
        .and(query_param("offset", "0"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);

    assert_eq!(
        client.list_users(10_000, 1_500).await.expect("users").len(),
        1
    );
    assert!(client.list_groups(50, 0).await.expect("groups").is_empty());
}

#[tokio::test]
async fn create_group_accepts_201_and_200() {
    for status in [201, 200] {
        let server = server().await;
        Mock::given(method("POST"))
            .and(path("/v1/groups"))
            .and(body_json(json!({"name": "Groupy Group"})))
            .respond_with(ResponseTemplate::new(status).set_body_json(json!({
                "id": 876655018, "name": "Groupy Group", "active": true,
                "creatorId": "87659738", "default": false
            })))
            .expect(1)
            .mount(&server)
            .await;

        let group = client(&server)
            .create_group("Groupy Group")
            .await
            .expect("created");

        assert_eq!(group.id, 876_655_018, "status {status}");
        assert_eq!(group.creator_id, Some(87_659_738));
        assert_eq!(group.active, Some(true));
    }
}

#[tokio::test]
async fn add_and_remove_member_accept_204_and_other_2xx_with_or_without_body() {
    let server = server().await;
    Mock::given(method("PUT"))
        .and(path("/v1/groups/10/users/20"))
        .and(header("content-length", "0"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/v1/groups/10/users/20"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/v1/groups/11/users/20"))
        .respond_with(ResponseTemplate::new(200).set_body_string("not json, not needed"))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);

    client.add_user_to_group(10, 20).await.expect("added");
    client
        .remove_user_from_group(10, 20)
        .await
        .expect("removed");
    client
        .add_user_to_group(11, 20)
        .await
        .expect("added with a 200");
}

#[tokio::test]
async fn get_group_reads_the_retrieve_sample() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/v1/groups/2079369920"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "active": true, "id": 2079369920, "memberCount": 2, "name": "Groupy McGroup"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let group = client(&server)
        .get_group(2_079_369_920)
        .await
        .expect("group");
    assert_eq!(group.name.as_deref(), Some("Groupy McGroup"));
    assert_eq!(group.member_count, Some(2));
    assert_eq!(group.default, None);
}

#[tokio::test]
async fn a_deleted_user_comes_back_as_a_user_marked_deleted() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/v1/users/55541092"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": 55541092, "name": "Dr. Teeth", "deleted": true
        })))
        .expect(1)
        .mount(&server)
        .await;
    let user = client(&server).get_user(55_541_092).await.expect("user");
    assert_eq!(user.deleted, Some(true));
    assert_eq!(user.email, None);
}

#[tokio::test]
async fn create_user_sends_the_body_and_send_invite_in_the_query() {
    let server = server().await;
    for (invite, id) in [("false", 959463190), ("true", 959463191)] {
        Mock::given(method("POST"))
            .and(path("/v1/users"))
            .and(query_param("sendInvite", invite))
            .and(body_json(json!({"name": "Leonhard Euler", "email": "leonhard.euler@domo.com", "role": "Participant"})))
            .respond_with(ResponseTemplate::new(201).set_body_json(json!({
                "id": id, "name": "Leonhard Euler", "email": "leonhard.euler@domo.com",
                "role": "Participant", "employeeNumber": 23432,
                "groups": [ { "id": 1324037627, "name": "Default" } ]
            })))
            .expect(1)
            .mount(&server)
            .await;
    }
    let client = client(&server);
    let new = NewUser {
        name: "Leonhard Euler",
        email: "leonhard.euler@domo.com",
        role: "Participant",
    };

    let quiet = client.create_user(&new, false).await.expect("created");
    let invited = client.create_user(&new, true).await.expect("created");

    assert_eq!((quiet.id, invited.id), (959_463_190, 959_463_191));
    let groups = quiet.groups.expect("groups");
    assert_eq!(groups[0].name.as_deref(), Some("Default"));
}

#[tokio::test]
async fn requests_that_take_no_paging_send_no_limit() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/v1/users/1"))
        .and(query_param_is_missing("limit"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "1"})))
        .expect(1)
        .mount(&server)
        .await;
    assert_eq!(client(&server).get_user(1).await.expect("user").id, 1);
}
