//! The Okta connector's directory listing against wiremock.

use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::tests::{connector, link, no_progress};
use super::*;

fn user(id: &str, login: &str, status: &str) -> Value {
    json!({"id": id, "status": status, "profile": {"login": login, "firstName": "F", "lastName": id}})
}

async fn directory_server(fail_members: bool) -> MockServer {
    let server = MockServer::start().await;
    let uri = server.uri();
    Mock::given(method("GET"))
        .and(path("/api/v1/users"))
        .and(query_param_is_missing("filter"))
        .and(query_param_is_missing("after"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header(
                    "link",
                    link(&format!("{uri}/api/v1/users?limit=200&after=00u2")).as_str(),
                )
                .set_body_json(json!([
                    user("00u1", "ada@example.com", "ACTIVE"),
                    user("00u2", "bob@example.com", "SUSPENDED")
                ])),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/users"))
        .and(query_param("after", "00u2"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!([user("00u3", "jdoe", "ACTIVE")])),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/users"))
        .and(query_param("filter", "status eq \"DEPROVISIONED\""))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([user(
            "00u4",
            "cy@example.com",
            "DEPROVISIONED"
        )])))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/groups"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            {"id": "00g1", "type": "OKTA_GROUP", "profile": {"name": "Marketing"}},
            {"id": "00g2", "type": "OKTA_GROUP", "profile": {"name": "Everyone"}},
            {"id": "00g3", "type": "OKTA_GROUP", "profile": {"name": "eng-core"}}
        ])))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/groups/00g1/users"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            user("00u1", "ada@example.com", "ACTIVE"),
            user("00u5", "dee@example.com", "ACTIVE")
        ])))
        .mount(&server)
        .await;
    let members = if fail_members {
        ResponseTemplate::new(503)
    } else {
        ResponseTemplate::new(200).set_body_json(json!([user(
            "00u2",
            "bob@example.com",
            "SUSPENDED"
        )]))
    };
    Mock::given(method("GET"))
        .and(path("/api/v1/groups/00g3/users"))
        .respond_with(members)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/groups/00g2/users"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;
    server
}

fn filter() -> GroupFilter {
    let rules = crate::rules::RuleSet::compile(&[
        crate::config::RuleConfig {
            when: crate::config::RuleMatch::Group("Marketing".into()),
            domo_groups: vec!["Marketing".into()],
        },
        crate::config::RuleConfig {
            when: crate::config::RuleMatch::Group("eng-*".into()),
            domo_groups: vec!["Engineering".into()],
        },
    ])
    .expect("rules");
    GroupFilter::new(std::sync::Arc::new(rules))
}

#[tokio::test]
async fn the_directory_lists_users_deprovisioned_ones_and_the_mapped_groups_members() {
    let server = directory_server(false).await;
    let l = connector(&server, false)
        .directory(&filter(), &no_progress)
        .await;
    assert!(l.complete, "{:?}", l.problem);
    let users: Vec<(&str, Option<&str>, bool)> = l
        .users
        .iter()
        .map(|u| (u.id.as_str(), u.email.as_deref(), u.active))
        .collect();
    assert_eq!(
        users,
        [
            ("00u1", Some("ada@example.com"), true),
            ("00u2", Some("bob@example.com"), false),
            ("00u3", None, true),
            ("00u4", Some("cy@example.com"), false),
            ("00u5", Some("dee@example.com"), true),
        ]
    );
    let groups: Vec<(&str, Vec<&str>)> = l
        .groups
        .iter()
        .map(|g| {
            (
                g.name.as_str(),
                g.members.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        groups,
        [
            ("Marketing", vec!["00u1", "00u5"]),
            ("eng-core", vec!["00u2"])
        ]
    );
    assert_eq!(
        l.requests, 6,
        "2 user pages, 1 deprovisioned, 1 groups, 2 member lists"
    );
}

#[tokio::test]
async fn a_failed_page_makes_the_listing_incomplete_with_the_reason() {
    let server = directory_server(true).await;
    let l = connector(&server, false)
        .directory(&filter(), &no_progress)
        .await;
    assert!(!l.complete);
    let problem = l.problem.expect("a reason");
    assert!(
        problem.contains("members of eng-core") && problem.contains("503"),
        "{problem}"
    );
    assert_eq!(l.groups.len(), 1, "what was read is kept (it may add)");
}
