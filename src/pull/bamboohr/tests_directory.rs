//! The BambooHR connector's employee listing against wiremock.

use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::tests::{bamboo, changed, employee, fields, no_progress, t};

const COMPANY: &str = "/api/gateway.php/acme";

async fn company(fail_three: bool) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{COMPANY}/v1/employees/changed")))
        .and(query_param("since", "2011-06-04T00:00:00+00:00"))
        .respond_with(changed(
            "2026-11-30T10:00:00+00:00",
            &[
                ("1", "Inserted", "2020-01-01T10:00:00+00:00"),
                ("2", "Updated", "2026-11-30T10:00:00+00:00"),
                ("3", "Updated", "2026-11-01T10:00:00+00:00"),
                ("4", "Updated", "2026-11-02T10:00:00+00:00"),
                ("5", "Deleted", "2026-11-03T10:00:00+00:00"),
                ("6", "Updated", "2026-11-04T10:00:00+00:00"),
            ],
        ))
        .expect(1)
        .mount(&server)
        .await;
    employee(
        &server,
        "1",
        fields("1", "ada@example.com", "Active", "0000-00-00"),
    )
    .await;
    employee(
        &server,
        "2",
        fields("2", "bob@example.com", "Inactive", "2026-11-30"),
    )
    .await;
    if fail_three {
        Mock::given(method("GET"))
            .and(path(format!("{COMPANY}/v1/employees/3")))
            .respond_with(ResponseTemplate::new(500))
            .mount(&server)
            .await;
    } else {
        // Still Active, but the termination date is past: left.
        employee(
            &server,
            "3",
            fields("3", "cy@example.com", "Active", "2026-11-15"),
        )
        .await;
    }
    employee(
        &server,
        "4",
        fields("4", "dee@example.com", "Active", "2027-01-31"),
    )
    .await;
    Mock::given(method("GET"))
        .and(path(format!("{COMPANY}/v1/employees/5")))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{COMPANY}/v1/employees/6")))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn the_listing_reads_every_employee_ever_changed_and_their_termination_against_today() {
    let server = company(false).await;
    let l =
        super::directory::listing(&bamboo(&server), t("2026-12-01T10:00:00Z"), &no_progress).await;
    assert!(l.complete, "{:?}", l.problem);
    let users: Vec<(&str, Option<&str>, bool)> = l
        .users
        .iter()
        .map(|u| (u.id.as_str(), u.email.as_deref(), u.active))
        .collect();
    assert_eq!(
        users,
        [
            ("1", Some("ada@example.com"), true),
            ("2", Some("bob@example.com"), false),
            ("3", Some("cy@example.com"), false),
            ("4", Some("dee@example.com"), true),
        ],
        "Inactive and a reached termination date have left; deleted (5) and gone (6) are absent"
    );
    assert_eq!(l.users[0].name.as_deref(), Some("Ada Lovelace"));
    assert!(l.groups.is_empty(), "BambooHR has no groups");
    assert_eq!(l.requests, 6, "the list, then employees 1, 2, 3, 4 and 6");
}

#[tokio::test]
async fn a_failed_read_makes_the_listing_incomplete_with_the_reason() {
    let server = company(true).await;
    let l =
        super::directory::listing(&bamboo(&server), t("2026-12-01T10:00:00Z"), &no_progress).await;
    assert!(!l.complete);
    let problem = l.problem.expect("a reason");
    assert!(
        problem.contains("employee 3") && problem.contains("500"),
        "{problem}"
    );
    assert_eq!(l.users.len(), 2, "what was read is kept");
}

#[tokio::test]
async fn an_entry_that_cannot_be_read_removes_nobody_but_the_feed_goes_on() {
    let server = MockServer::start().await;
    let body = serde_json::json!({"latest": "2026-11-30T10:00:00+00:00", "employees": {
        "1": {"id": "1", "action": "Updated", "lastChanged": "2026-11-30T10:00:00+00:00"},
        "2": {"id": "2", "action": "Updated", "lastChanged": "soon"}}});
    Mock::given(method("GET"))
        .and(path(format!("{COMPANY}/v1/employees/changed")))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(&server)
        .await;
    employee(&server, "1", fields("1", "ada@example.com", "Active", "")).await;
    let b = bamboo(&server);
    let l = super::directory::listing(&b, t("2026-12-01T10:00:00Z"), &no_progress).await;
    assert!(!l.complete);
    let problem = l.problem.expect("a reason");
    assert!(problem.contains("employee 2"), "{problem}");
    let page = super::changed::page(&b, None, t("2026-11-30T10:01:00Z"), &no_progress)
        .await
        .expect("the feed reads what it can");
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].id(), "1:2026-11-30T10:00:00+00:00");
}
