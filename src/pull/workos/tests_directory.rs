//! The WorkOS connector's directory listing against wiremock.

use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::tests::{connector, directory_user, no_progress};
use super::*;

fn list(data: Vec<Value>, after: Option<&str>) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(
        json!({"object": "list", "data": data, "list_metadata": {"before": null, "after": after}}),
    )
}

fn directory(id: &str, state: &str) -> Value {
    json!({"object": "directory", "id": id, "name": format!("Dir {id}"), "state": state})
}

fn group(id: &str, name: &str) -> Value {
    json!({"object": "directory_group", "id": id, "name": name})
}

/// One directory `d1`: users on two pages (Bob suspended, Cy inactive), groups Marketing,
/// Everyone (not mapped) and eng-core; a second directory `d2` with its own Marketing.
async fn directory_server(second_users_page: ResponseTemplate, d2_state: &str) -> MockServer {
    let server = MockServer::start().await;
    let get = |p: &str| Mock::given(method("GET")).and(path(p.to_owned()));
    get("/directories")
        .respond_with(list(
            vec![directory("d1", "linked"), directory("d2", d2_state)],
            None,
        ))
        .mount(&server)
        .await;
    // Ada's deprecated `groups` claims Finance: it must not be read.
    let mut ada = directory_user("u1", "ada@example.com", "active");
    ada["groups"] = json!([{"name": "Finance"}]);
    get("/directory_users")
        .and(query_param("directory", "d1"))
        .and(query_param_is_missing("after"))
        .respond_with(list(
            vec![ada, directory_user("u2", "bob@example.com", "suspended")],
            Some("u2"),
        ))
        .mount(&server)
        .await;
    get("/directory_users")
        .and(query_param("directory", "d1"))
        .and(query_param("after", "u2"))
        .respond_with(second_users_page)
        .mount(&server)
        .await;
    get("/directory_groups")
        .and(query_param("directory", "d1"))
        .respond_with(list(
            vec![
                group("g1", "Marketing"),
                group("g2", "Everyone"),
                group("g3", "eng-core"),
                group("g4", "Finance"),
            ],
            None,
        ))
        .mount(&server)
        .await;
    get("/directory_users")
        .and(query_param("group", "g1"))
        .respond_with(list(
            vec![directory_user("u1", "ada@example.com", "active")],
            None,
        ))
        .mount(&server)
        .await;
    get("/directory_users")
        .and(query_param("group", "g3"))
        .respond_with(list(
            vec![directory_user("u2", "bob@example.com", "suspended")],
            None,
        ))
        .mount(&server)
        .await;
    get("/directory_users")
        .and(query_param("group", "g4"))
        .respond_with(list(Vec::new(), None))
        .mount(&server)
        .await;
    get("/directory_users")
        .and(query_param("group", "g2"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;
    get("/directory_users")
        .and(query_param("directory", "d2"))
        .respond_with(list(
            vec![directory_user("u9", "dee@example.com", "active")],
            None,
        ))
        .mount(&server)
        .await;
    get("/directory_groups")
        .and(query_param("directory", "d2"))
        .respond_with(list(vec![group("g9", "marketing")], None))
        .mount(&server)
        .await;
    get("/directory_users")
        .and(query_param("group", "g9"))
        .respond_with(list(
            vec![directory_user("u9", "dee@example.com", "active")],
            None,
        ))
        .mount(&server)
        .await;
    server
}

fn filter() -> GroupFilter {
    let rule = |g: &str| crate::config::RuleConfig {
        when: crate::config::RuleMatch::Group(g.into()),
        domo_groups: vec!["X".into()],
    };
    let rules =
        crate::rules::RuleSet::compile(&[rule("Marketing"), rule("eng-*"), rule("Finance")])
            .expect("rules");
    GroupFilter::new(std::sync::Arc::new(rules))
}

fn second_page() -> ResponseTemplate {
    list(
        vec![directory_user("u3", "cy@example.com", "inactive")],
        None,
    )
}

#[tokio::test]
async fn the_listing_walks_every_directory_its_users_and_the_mapped_groups_members() {
    let server = directory_server(second_page(), "linked").await;
    let l = connector(&server).directory(&filter(), &no_progress).await;
    assert!(l.complete, "{:?}", l.problem);
    let users: Vec<(&str, Option<&str>, bool)> = l
        .users
        .iter()
        .map(|u| (u.id.as_str(), u.email.as_deref(), u.active))
        .collect();
    assert_eq!(
        users,
        [
            ("u1", Some("ada@example.com"), true),
            ("u2", Some("bob@example.com"), false),
            ("u3", Some("cy@example.com"), false),
            ("u9", Some("dee@example.com"), true),
        ],
        "suspended and inactive users are offboarded"
    );
    assert_eq!(l.users[0].name.as_deref(), Some("Ada Lovelace"));
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
            ("eng-core", vec!["u2"]),
            ("Finance", vec![]),
            ("Marketing", vec!["u1", "u9"]),
        ],
        "a name in two directories is one group; the deprecated `groups` is not read"
    );
    assert_eq!(
        l.requests, 10,
        "1 directories, 2+1 user pages, 2 group lists, 4 member lists"
    );
    let requests = server.received_requests().await.expect("recorded");
    assert!(
        requests
            .iter()
            .filter(|r| r.url.path() != "/directories")
            .all(|r| r.url.query_pairs().any(|(k, v)| k == "limit" && v == "100")),
        "100 a page"
    );
}

#[tokio::test]
async fn a_failed_page_makes_the_listing_incomplete_with_the_reason() {
    let server = directory_server(ResponseTemplate::new(400), "linked").await;
    let l = connector(&server).directory(&filter(), &no_progress).await;
    assert!(!l.complete);
    let problem = l.problem.expect("a reason");
    assert!(
        problem.contains("users of Dir d1") && problem.contains("400"),
        "{problem}"
    );
    assert_eq!(l.users.len(), 2, "what was read is kept (it may add)");
}

#[tokio::test]
async fn a_directory_that_is_not_linked_is_read_but_removes_nobody() {
    let server = directory_server(second_page(), "invalid_credentials").await;
    let l = connector(&server).directory(&filter(), &no_progress).await;
    assert!(!l.complete);
    let problem = l.problem.expect("a reason");
    assert!(
        problem.contains("Dir d2") && problem.contains("invalid_credentials"),
        "{problem}"
    );
    assert_eq!(l.users.len(), 4, "everything was read");
    assert_eq!(l.groups.len(), 3);
}
