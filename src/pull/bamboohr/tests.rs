//! The BambooHR connector's changed-employees feed against wiremock: the exact requests it
//! makes and how it reads the answers (the end-to-end tests run it against the BambooHR
//! simulator over TCP).

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path, path_regex, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::cursor::Cursor;
use super::*;
use crate::config::{Provider, Secret};
use crate::event::EventType;
use crate::pull::budget::Budget;
use crate::pull::connector::Step;
use crate::sources::Parsed;

pub(super) const COMPANY: &str = "/api/gateway.php/acme";

pub(super) fn pull_config(base: &str) -> PullConfig {
    PullConfig {
        provider: Provider::Bamboohr,
        api_base: base.parse().expect("url"),
        token: Some(Secret::new("bamboo-key")),
        client_id: None,
        client_secret: None,
        tenant_id: None,
        login_base: None,
        private_key: None,
        interval_secs: 60,
        directory_interval_secs: 0,
        budget_share: 1.0,
        max_requests_per_minute: 0,
    }
}

pub(super) fn bamboo(server: &MockServer) -> Bamboohr {
    let http = Http::new(reqwest::Client::new(), Budget::new(1.0, 0), "bamboohr");
    Bamboohr::new(&pull_config(&format!("{}{COMPANY}", server.uri())), http).expect("builds")
}

pub(super) fn no_progress(_: Step) {}

pub(super) fn t(raw: &str) -> DateTime<Utc> {
    raw.parse().expect("time")
}

/// An employee's fields as `GET v1/employees/{id}?fields=…` answers them.
pub(super) fn fields(id: &str, email: &str, status: &str, termination: &str) -> Value {
    json!({"id": id, "firstName": "Ada", "lastName": "Lovelace", "workEmail": email,
           "status": status, "employmentHistoryStatus": "Full-Time",
           "terminationDate": termination, "department": "Sales", "division": "EMEA",
           "location": "London", "jobTitle": "Account Executive"})
}

pub(super) fn changed(latest: &str, entries: &[(&str, &str, &str)]) -> ResponseTemplate {
    let employees: serde_json::Map<String, Value> = entries
        .iter()
        .map(|(id, action, at)| {
            (
                (*id).to_owned(),
                json!({"id": id, "action": action, "lastChanged": at}),
            )
        })
        .collect();
    ResponseTemplate::new(200).set_body_json(json!({"latest": latest, "employees": employees}))
}

pub(super) async fn employee(server: &MockServer, id: &str, body: Value) {
    Mock::given(method("GET"))
        .and(path(format!("{COMPANY}/v1/employees/{id}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(server)
        .await;
}

pub(super) fn event(item: &Parsed) -> &crate::event::CanonicalEvent {
    match item {
        Parsed::Event(e) => e,
        Parsed::Ignored { id, kind } => panic!("ignored {kind} {id}"),
    }
}

#[tokio::test]
async fn a_poll_reads_the_changes_and_maps_each_employee_as_the_webhook_does() {
    let server = MockServer::start().await;
    let now = t("2026-12-01T10:10:00Z");
    Mock::given(method("GET"))
        .and(path(format!("{COMPANY}/v1/employees/changed")))
        .and(header("authorization", "Basic YmFtYm9vLWtleTp4"))
        .and(header("accept", "application/json"))
        .and(query_param("since", "2026-12-01T09:55:00+00:00"))
        .respond_with(changed(
            "2026-12-01T10:05:00+00:00",
            &[
                ("1", "Inserted", "2026-12-01T10:01:00+00:00"),
                ("2", "Updated", "2026-12-01T10:05:00+00:00"),
                ("3", "Deleted", "2026-12-01T10:03:00+00:00"),
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
        fields("2", "bob@example.com", "Inactive", "2026-12-01"),
    )
    .await;
    let page = changed::page(&bamboo(&server), None, now, &no_progress)
        .await
        .expect("page");
    assert!(!page.more);
    let got: Vec<(&str, EventType)> = page
        .items
        .iter()
        .map(|i| (i.id(), event(i).event_type))
        .collect();
    assert_eq!(
        got,
        [
            ("1:2026-12-01T10:01:00+00:00", EventType::UserOnboarded),
            ("3:2026-12-01T10:03:00+00:00", EventType::UserOffboarded),
            ("2:2026-12-01T10:05:00+00:00", EventType::UserOffboarded),
        ],
        "oldest first; the dedup id is (employee id, lastChanged)"
    );
    let ada = event(&page.items[0]);
    let user = ada.user.as_ref().expect("user");
    assert_eq!(user.email.as_deref(), Some("ada@example.com"));
    assert_eq!(user.id.as_deref(), Some("1"));
    let attrs: Vec<(&str, &str)> = user
        .attributes
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        attrs,
        [
            ("department", "Sales"),
            ("division", "EMEA"),
            ("job_title", "Account Executive"),
            ("location", "London")
        ],
        "the webhook adapter's attributes"
    );
    let gone = event(&page.items[1]).user.as_ref().expect("user");
    assert_eq!(
        (gone.id.as_deref(), gone.email.as_deref()),
        (Some("3"), None)
    );
    assert_eq!(page.newest, Some(t("2026-12-01T10:05:00Z")));
    let cursor = Cursor::parse(page.cursor.as_deref().expect("cursor")).expect("ours");
    assert_eq!(cursor.since, t("2026-12-01T10:00:00Z"), "latest - 5 min");
    assert_eq!(
        cursor.seen.keys().collect::<Vec<_>>(),
        ["1", "2", "3"],
        "the overlap will list them again"
    );
    assert!(cursor.due.is_empty());

    let requests = server.received_requests().await.expect("recorded");
    let query = requests[0].url.query().expect("query");
    assert_eq!(
        query, "since=2026-12-01T09%3A55%3A00%2B00%3A00",
        "`+` sent as %2B"
    );
    let fields_asked = requests[1].url.query_pairs().find(|(k, _)| k == "fields");
    assert_eq!(
        fields_asked.map(|(_, v)| v.into_owned()).as_deref(),
        Some(FIELDS)
    );
}

#[tokio::test]
async fn changes_listed_again_by_the_overlap_cost_no_request_and_store_nothing() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{COMPANY}/v1/employees/changed")))
        .respond_with(changed(
            "2026-12-01T10:05:00+00:00",
            &[("1", "Updated", "2026-12-01T10:05:00+00:00")],
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{COMPANY}/v1/employees/1")))
        .respond_with(ResponseTemplate::new(200).set_body_json(fields(
            "1",
            "ada@example.com",
            "Active",
            "",
        )))
        .expect(1)
        .mount(&server)
        .await;
    let b = bamboo(&server);
    let now = t("2026-12-01T10:06:00Z");
    let first = changed::page(&b, None, now, &no_progress)
        .await
        .expect("page");
    assert_eq!(first.items.len(), 1);
    let again = changed::page(&b, first.cursor.as_deref(), now, &no_progress)
        .await
        .expect("page");
    assert!(again.items.is_empty(), "{:?}", again.items);
    assert_eq!(again.cursor, first.cursor);
}

#[tokio::test]
async fn a_long_backlog_is_read_two_hundred_employees_a_page() {
    let server = MockServer::start().await;
    let entries: Vec<(String, String)> = (0..250)
        .map(|i| {
            (
                format!("{}", 1000 + i),
                format!("2026-12-01T{:02}:{:02}:00+00:00", 8 + i / 60, i % 60),
            )
        })
        .collect();
    // BambooHR lists the changes after `since`.
    let listed = move |req: &wiremock::Request| {
        let since: DateTime<Utc> = req
            .url
            .query_pairs()
            .find(|(k, _)| k == "since")
            .and_then(|(_, v)| DateTime::parse_from_rfc3339(&v).ok())
            .expect("since")
            .with_timezone(&Utc);
        let refs: Vec<(&str, &str, &str)> = entries
            .iter()
            .filter(|(_, at)| t(at) > since)
            .map(|(id, at)| (id.as_str(), "Updated", at.as_str()))
            .collect();
        changed("2026-12-01T12:09:00+00:00", &refs)
    };
    Mock::given(method("GET"))
        .and(path(format!("{COMPANY}/v1/employees/changed")))
        .respond_with(listed)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path_regex(format!("^{COMPANY}/v1/employees/1[0-9]+$")))
        .respond_with(ResponseTemplate::new(200).set_body_json(fields(
            "x",
            "x@example.com",
            "Active",
            "",
        )))
        .mount(&server)
        .await;
    let b = bamboo(&server);
    let now = t("2026-12-01T13:00:00Z");
    let first = changed::page(
        &b,
        Some(&Cursor::from(t("2026-12-01T07:00:00Z")).text()),
        now,
        &no_progress,
    )
    .await
    .expect("page");
    assert!(first.more);
    assert_eq!(first.items.len(), changed::PAGE);
    let cursor = Cursor::parse(first.cursor.as_deref().expect("cursor")).expect("ours");
    // The 201st change is at 11:20: the next request starts five minutes before it.
    assert_eq!(cursor.since, t("2026-12-01T11:15:00Z"));
    let second = changed::page(&b, first.cursor.as_deref(), now, &no_progress)
        .await
        .expect("page");
    assert!(!second.more);
    assert_eq!(second.items.len(), 50, "the rest, none twice");
    assert_eq!(second.items[0].id(), "1200:2026-12-01T11:20:00+00:00");
}

#[tokio::test]
async fn refused_keys_lockouts_throttling_and_foreign_cursors() {
    let server = MockServer::start().await;
    let changes =
        || Mock::given(method("GET")).and(path(format!("{COMPANY}/v1/employees/changed")));
    // Throttled once (503 + Retry-After), then fine.
    changes()
        .respond_with(
            ResponseTemplate::new(503)
                .insert_header("retry-after", "1")
                .insert_header("x-bamboohr-error-message", "Service Unavailable"),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    changes()
        .respond_with(changed("2026-12-01T10:00:00+00:00", &[]))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    changes()
        .respond_with(
            ResponseTemplate::new(401).insert_header("x-bamboohr-error-message", "Invalid API key"),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    changes()
        .respond_with(ResponseTemplate::new(403).insert_header(
            "x-bamboohr-error-message",
            "Too many failed authentication attempts",
        ))
        .mount(&server)
        .await;
    let b = bamboo(&server);
    let now = t("2026-12-01T10:10:00Z");
    let waits = std::sync::Mutex::new(Vec::new());
    let progress = |s: Step| {
        if let Step::Waiting { secs, .. } = s {
            waits.lock().expect("lock").push(secs);
        }
    };
    changed::page(&b, None, now, &progress)
        .await
        .expect("waited out");
    assert_eq!(*waits.lock().expect("lock"), [1], "Retry-After: 1");
    let err = changed::page(&b, None, now, &no_progress)
        .await
        .expect_err("401");
    assert_eq!(err, PullError::Unauthorized("401: Invalid API key".into()));
    let err = changed::page(&b, None, now, &no_progress)
        .await
        .expect_err("403");
    let text = err.to_string();
    assert!(
        text.contains("Too many failed authentication attempts") && text.contains("locked"),
        "{text}"
    );
    assert!(!text.contains("bamboo-key") && !text.contains("YmFtYm9v"));
    let err = changed::page(
        &b,
        Some("https://acme.okta.com/api/v1/logs"),
        now,
        &no_progress,
    )
    .await
    .expect_err("foreign");
    assert!(matches!(err, PullError::CursorExpired(_)), "{err:?}");
    assert_eq!(b.cursor_ttl(), None, "BambooHR keeps changes from 2011 on");
}

#[test]
fn api_base_may_name_the_company_root_or_its_v1() {
    for base in [
        "https://api.bamboohr.com/api/gateway.php/acme",
        "https://api.bamboohr.com/api/gateway.php/acme/",
        "https://api.bamboohr.com/api/gateway.php/acme/v1",
        "https://api.bamboohr.com/api/gateway.php/acme/v1/",
    ] {
        let http = Http::new(reqwest::Client::new(), Budget::new(1.0, 0), "b");
        let b = Bamboohr::new(&pull_config(base), http).expect("builds");
        assert_eq!(
            b.endpoint("v1/employees/changed").expect("url").as_str(),
            "https://api.bamboohr.com/api/gateway.php/acme/v1/employees/changed",
            "{base}"
        );
    }
}
