//! The WorkOS connector's event feed against wiremock: the exact requests it makes and how it
//! reads the answers (the end-to-end tests run it against the WorkOS simulator over TCP).

use serde_json::{Value, json};
use wiremock::matchers::{header, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::*;
use crate::config::{Format, Provider, PullConfig, Scheme, Secret, SourceConfig};
use crate::event::EventType;
use crate::pull::budget::Budget;
use crate::pull::connector::Step;
use crate::sources::Parsed;

pub(super) fn connector(server: &MockServer) -> Box<dyn Connector> {
    let p = PullConfig {
        provider: Provider::Workos,
        api_base: server.uri().parse().expect("url"),
        token: Some(Secret::new("sk_test_key")),
        client_id: None,
        client_secret: None,
        tenant_id: None,
        login_base: None,
        private_key: None,
        interval_secs: 60,
        directory_interval_secs: 0,
        budget_share: 1.0,
        max_requests_per_minute: 0,
    };
    let source = SourceConfig {
        name: "workos".into(),
        format: Format::Workos,
        scheme: Scheme::PullOnly,
        secrets: Vec::new(),
        tolerance_secs: 300,
        header: "Authorization".into(),
        hmac: None,
        allow_ips: Vec::new(),
        pull: Some(p.clone()),
    };
    let http = Http::new(reqwest::Client::new(), Budget::new(1.0, 0), "workos");
    build(&source, &p, http).expect("builds")
}

pub(super) fn no_progress(_: Step) {}

/// A directory user as WorkOS shows it (in events and listings).
pub(super) fn directory_user(id: &str, email: &str, state: &str) -> Value {
    json!({"object": "directory_user", "id": id, "directory_id": "directory_1",
           "email": email, "first_name": "Ada", "last_name": "Lovelace", "state": state,
           "custom_attributes": {"department": "Sales"}, "groups": []})
}

fn event(id: &str, kind: &str, created_at: &str, data: Value) -> Value {
    json!({"object": "event", "id": id, "event": kind, "data": data,
           "created_at": created_at, "context": {}})
}

fn list(data: Vec<Value>, after: Option<&str>) -> Value {
    json!({"object": "list", "data": data, "list_metadata": {"before": null, "after": after}})
}

#[tokio::test]
async fn the_first_poll_asks_for_the_mapped_types_from_fifteen_minutes_back() {
    let server = MockServer::start().await;
    let ada = directory_user("directory_user_1", "ada@example.com", "active");
    let added = json!({"directory_id": "directory_1", "user": ada,
                       "group": {"id": "directory_group_1", "name": "Marketing"}});
    Mock::given(method("GET"))
        .and(path("/events"))
        .and(header("authorization", "Bearer sk_test_key"))
        .and(query_param("limit", "100"))
        .and(query_param("order", "asc"))
        .and(query_param_is_missing("after"))
        .respond_with(ResponseTemplate::new(200).set_body_json(list(
            vec![
                event(
                    "event_01",
                    "dsync.user.created",
                    "2026-12-01T10:00:00.000Z",
                    ada.clone(),
                ),
                event(
                    "event_02",
                    "dsync.group.user_added",
                    "2026-12-01T10:00:05.000Z",
                    added,
                ),
            ],
            Some("event_02"),
        )))
        .expect(1)
        .mount(&server)
        .await;
    let page = connector(&server)
        .events(None, &no_progress)
        .await
        .expect("page");
    assert!(page.more, "WorkOS says more follow");
    assert_eq!(
        page.cursor.as_deref(),
        Some("event_02"),
        "the last event read"
    );
    assert_eq!(
        page.newest,
        Some("2026-12-01T10:00:05Z".parse().expect("time"))
    );
    let kinds: Vec<EventType> = page
        .items
        .iter()
        .map(|i| match i {
            Parsed::Event(e) => e.event_type,
            Parsed::Ignored { .. } => panic!("mapped"),
        })
        .collect();
    assert_eq!(
        kinds,
        [EventType::UserOnboarded, EventType::GroupMemberAdded]
    );
    assert_eq!(
        page.items[0].id(),
        "event_01",
        "the dedup id is the event id, as for the webhook"
    );

    let requests = server.received_requests().await.expect("recorded");
    let q: std::collections::BTreeMap<String, String> =
        requests[0].url.query_pairs().into_owned().collect();
    assert_eq!(
        q["events"],
        crate::sources::workos::MAPPED_TYPES.join(","),
        "one comma-joined `events`, as WorkOS's SDKs send it"
    );
    let start: chrono::DateTime<chrono::Utc> = q["range_start"].parse().expect("ISO 8601");
    let back = chrono::Utc::now() - start;
    assert!(
        back >= chrono::Duration::minutes(15) && back < chrono::Duration::minutes(16),
        "{back}"
    );
}

#[tokio::test]
async fn a_stored_cursor_is_sent_as_after_and_an_empty_page_ends_the_run() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/events"))
        .and(query_param("after", "event_09"))
        .and(query_param_is_missing("range_start"))
        .respond_with(ResponseTemplate::new(200).set_body_json(list(Vec::new(), None)))
        .expect(1)
        .mount(&server)
        .await;
    let page = connector(&server)
        .events(Some("event_09"), &no_progress)
        .await
        .expect("page");
    assert!(!page.more);
    assert!(page.items.is_empty());
    assert_eq!(page.cursor, None, "nothing read: the stored cursor stays");
    assert_eq!(page.newest, None);
}

#[tokio::test]
async fn a_last_page_without_after_ends_the_run_and_keeps_its_last_id() {
    let server = MockServer::start().await;
    let deleted = directory_user("directory_user_1", "ada@example.com", "active");
    Mock::given(method("GET"))
        .and(path("/events"))
        .respond_with(ResponseTemplate::new(200).set_body_json(list(
            vec![event(
                "event_10",
                "dsync.user.deleted",
                "2026-12-01T10:00:00.000Z",
                deleted,
            )],
            None,
        )))
        .mount(&server)
        .await;
    let page = connector(&server)
        .events(Some("event_09"), &no_progress)
        .await
        .expect("page");
    assert!(!page.more);
    assert_eq!(page.cursor.as_deref(), Some("event_10"));
    match &page.items[0] {
        Parsed::Event(e) => assert_eq!(e.event_type, EventType::UserOffboarded),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_refused_cursor_is_expired_but_a_refused_first_request_is_an_error() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/events"))
        .respond_with(ResponseTemplate::new(422).set_body_json(json!({
            "code": "invalid_request_parameters", "message": "Validation failed",
            "errors": [{"field": "after", "code": "invalid_cursor"}]})))
        .mount(&server)
        .await;
    let workos = connector(&server);
    let err = workos
        .events(Some("event_unknown"), &no_progress)
        .await
        .expect_err("refused");
    assert_eq!(
        err,
        PullError::CursorExpired(
            "WorkOS refused it: Validation failed: after invalid_cursor".into()
        )
    );
    let err = workos
        .events(None, &no_progress)
        .await
        .expect_err("refused");
    assert!(
        matches!(err, PullError::Provider { status: 422, .. }),
        "{err:?}"
    );
    assert_eq!(workos.cursor_ttl(), Some(Duration::from_secs(30 * 86_400)));
}

#[tokio::test]
async fn an_unmappable_event_is_recorded_as_ignored_and_counted() {
    let server = MockServer::start().await;
    let mut nameless = directory_user("directory_user_1", "ada@example.com", "active");
    let user = nameless.as_object_mut().expect("object");
    user.remove("email");
    Mock::given(method("GET"))
        .and(path("/events"))
        .respond_with(ResponseTemplate::new(200).set_body_json(list(
            vec![
                event(
                    "event_11",
                    "dsync.user.created",
                    "2026-12-01T10:00:00.000Z",
                    nameless,
                ),
                event(
                    "event_12",
                    "dsync.user.deleted",
                    "2026-12-01T10:00:01.000Z",
                    directory_user("directory_user_2", "bob@example.com", "inactive"),
                ),
            ],
            None,
        )))
        .mount(&server)
        .await;
    let page = connector(&server)
        .events(None, &no_progress)
        .await
        .expect("page");
    assert_eq!(page.unmappable, 1);
    assert_eq!(
        page.items[0],
        Parsed::Ignored {
            id: "event_11".into(),
            kind: "dsync.user.created".into()
        }
    );
    assert_eq!(page.items[1].id(), "event_12");
    assert_eq!(page.cursor.as_deref(), Some("event_12"));
}

#[tokio::test]
async fn a_429_is_waited_out_as_retry_after_says_and_a_bad_key_is_unauthorized() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/events"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "1")
                .set_body_json(json!({"message": "Too many requests"})),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/events"))
        .respond_with(ResponseTemplate::new(200).set_body_json(list(Vec::new(), None)))
        .expect(1)
        .mount(&server)
        .await;
    let waits = std::sync::Mutex::new(Vec::new());
    let progress = |s: Step| {
        if let Step::Waiting { secs, .. } = s {
            waits.lock().expect("lock").push(secs);
        }
    };
    let page = connector(&server)
        .events(None, &progress)
        .await
        .expect("retried");
    assert!(!page.more);
    assert_eq!(*waits.lock().expect("lock"), [1], "Retry-After: 1");

    let refused = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"message": "Unauthorized"})))
        .expect(1)
        .mount(&refused)
        .await;
    let err = connector(&refused)
        .events(None, &no_progress)
        .await
        .expect_err("refused");
    assert_eq!(err, PullError::Unauthorized("401: Unauthorized".into()));
    assert!(!err.to_string().contains("sk_test_key"));
}
