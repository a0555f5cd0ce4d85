//! The Okta connector against wiremock: the exact requests it makes and how it reads the
//! answers (the end-to-end tests run it against the Okta simulator over TCP).

use serde_json::{Value, json};
use wiremock::matchers::{
    body_string_contains, header, method, path, query_param, query_param_is_missing,
};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use super::*;
use crate::config::{Format, Provider, PullConfig, Scheme, Secret, SourceConfig};
use crate::event::EventType;
use crate::pull::budget::Budget;
use crate::pull::connector::Step;
use crate::sources::Parsed;

const KEY: &str = include_str!("../../../tests/fixtures/test-only-rsa-key.pem");

fn pull(base: &str, token: Option<&str>, oauth: bool) -> PullConfig {
    PullConfig {
        provider: Provider::Okta,
        api_base: base.parse().expect("url"),
        token: token.map(Secret::new),
        client_id: oauth.then(|| Secret::new("0oa1app")),
        client_secret: None,
        tenant_id: None,
        login_base: None,
        private_key: oauth.then(|| Secret::new(KEY)),
        interval_secs: 60,
        directory_interval_secs: 0,
        budget_share: 1.0,
        max_requests_per_minute: 0,
    }
}

pub(super) fn connector(server: &MockServer, oauth: bool) -> Box<dyn Connector> {
    let p = pull(&server.uri(), (!oauth).then_some("ssws-token"), oauth);
    let source = SourceConfig {
        name: "okta".into(),
        format: Format::Okta,
        scheme: Scheme::PullOnly,
        secrets: Vec::new(),
        tolerance_secs: 300,
        header: "Authorization".into(),
        hmac: None,
        allow_ips: Vec::new(),
        pull: Some(p.clone()),
    };
    let http = Http::new(reqwest::Client::new(), Budget::new(1.0, 0), "okta");
    build(&source, &p, http).expect("builds")
}

pub(super) fn no_progress(_: Step) {}

fn log_event(uuid: &str, kind: &str, published: &str) -> Value {
    json!({
        "uuid": uuid, "published": published, "eventType": kind, "outcome": {"result": "SUCCESS"},
        "target": [
            {"id": "00u1", "type": "User", "alternateId": "ada@example.com", "displayName": "Ada"},
            {"id": "00g1", "type": "UserGroup", "alternateId": "unknown", "displayName": "Marketing"}
        ]
    })
}

pub(super) fn link(url: &str) -> String {
    format!("<{url}>; rel=\"next\"")
}

#[tokio::test]
async fn the_first_poll_is_a_filtered_polling_request_and_keeps_the_whole_next_url() {
    let server = MockServer::start().await;
    let next = format!(
        "{}/api/v1/logs?after=1627500044869_1&limit=1000&filter=x",
        server.uri()
    );
    Mock::given(method("GET"))
        .and(path("/api/v1/logs"))
        .and(header("authorization", "SSWS ssws-token"))
        .and(query_param("sortOrder", "ASCENDING"))
        .and(query_param("limit", "1000"))
        .and(query_param_is_missing("until"))
        .and(query_param_is_missing("after"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("link", link(&next).as_str())
                .set_body_json(json!([
                    log_event(
                        "u-1",
                        "group.user_membership.add",
                        "2026-12-01T10:00:00.000Z"
                    ),
                    log_event(
                        "u-2",
                        "user.lifecycle.deactivate",
                        "2026-12-01T10:00:05.000Z"
                    ),
                ])),
        )
        .expect(1)
        .mount(&server)
        .await;
    let okta = connector(&server, false);
    let page = okta.events(None, &no_progress).await.expect("page");
    assert!(page.more, "a non-empty page: read on");
    assert_eq!(
        page.cursor.as_deref(),
        Some(next.as_str()),
        "stored verbatim"
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
        [EventType::GroupMemberAdded, EventType::UserOffboarded]
    );
    assert_eq!(
        page.items[0].id(),
        "u-1",
        "the dedup id is the uuid, as for the hook"
    );

    let requests = server.received_requests().await.expect("recorded");
    let url = &requests[0].url;
    let q: std::collections::BTreeMap<String, String> = url.query_pairs().into_owned().collect();
    assert!(q["since"].ends_with('Z'), "since is UTC: {}", q["since"]);
    let filter = &q["filter"];
    for kind in crate::sources::okta::MAPPED_TYPES {
        assert!(
            filter.contains(&format!("eventType eq \"{kind}\"")),
            "{filter}"
        );
    }
}

#[tokio::test]
async fn a_stored_cursor_is_followed_as_is_and_an_empty_page_ends_the_run() {
    let server = MockServer::start().await;
    let cursor = format!(
        "{}/api/v1/logs?limit=1000&after=B1&filter=f%20x",
        server.uri()
    );
    let next = format!(
        "{}/api/v1/logs?limit=1000&after=B2&filter=f%20x",
        server.uri()
    );
    Mock::given(method("GET"))
        .and(path("/api/v1/logs"))
        .and(query_param("after", "B1"))
        .and(query_param("filter", "f x"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("link", link(&next).as_str())
                .set_body_json(json!([])),
        )
        .expect(1)
        .mount(&server)
        .await;
    let page = connector(&server, false)
        .events(Some(&cursor), &no_progress)
        .await
        .expect("page");
    assert!(!page.more, "an empty page: caught up");
    assert!(page.items.is_empty());
    assert_eq!(page.cursor.as_deref(), Some(next.as_str()));
}

#[tokio::test]
async fn a_refused_or_foreign_cursor_is_an_expired_cursor() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/logs"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "errorCode": "E0000001", "errorSummary": "Api validation failed: after",
            "errorCauses": [{"errorSummary": "after: not a bookmark this server issued"}]
        })))
        .expect(1)
        .mount(&server)
        .await;
    let okta = connector(&server, false);
    let stale = format!("{}/api/v1/logs?after=gone", server.uri());
    let err = okta
        .events(Some(&stale), &no_progress)
        .await
        .expect_err("400");
    assert!(
        matches!(&err, PullError::CursorExpired(why) if why.contains("not a bookmark")),
        "{err:?}"
    );
    // A cursor on another host is never requested (the token would go there).
    let err = okta
        .events(
            Some("https://evil.example/api/v1/logs?after=1"),
            &no_progress,
        )
        .await
        .expect_err("foreign");
    assert!(matches!(err, PullError::CursorExpired(_)), "{err:?}");
    let err = okta
        .events(Some("not a url"), &no_progress)
        .await
        .expect_err("garbage");
    assert!(matches!(err, PullError::CursorExpired(_)), "{err:?}");
}

#[tokio::test]
async fn a_next_link_off_api_base_is_refused() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/logs"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header(
                    "link",
                    link("https://evil.example/api/v1/logs?after=2").as_str(),
                )
                .set_body_json(json!([log_event(
                    "u-1",
                    "group.user_membership.add",
                    "2026-12-01T10:00:00Z"
                )])),
        )
        .mount(&server)
        .await;
    let err = connector(&server, false)
        .events(None, &no_progress)
        .await
        .expect_err("foreign next");
    assert!(
        matches!(err, PullError::BadResponse(ref m) if m.contains("leaves api_base")),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_429_is_retried_after_the_wait_okta_gives() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/logs"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "0")
                .insert_header("x-rate-limit-limit", "20")
                .insert_header("x-rate-limit-remaining", "0")
                .set_body_json(json!({"errorCode": "E0000047"})),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/logs"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header(
                    "link",
                    link(&format!("{}/api/v1/logs?after=9", server.uri())).as_str(),
                )
                .set_body_json(json!([])),
        )
        .expect(1)
        .mount(&server)
        .await;
    let waits = std::sync::Mutex::new(Vec::new());
    let progress = |s: Step| {
        if let Step::Waiting { why, .. } = s {
            waits.lock().expect("lock").push(why);
        }
    };
    let page = connector(&server, false)
        .events(None, &progress)
        .await
        .expect("retried");
    assert!(!page.more);
    assert_eq!(
        waits.lock().expect("lock").len(),
        1,
        "one wait was reported"
    );
}

#[tokio::test]
async fn a_service_app_gets_a_bearer_token_with_a_signed_assertion_and_renews_it_on_401() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth2/v1/token"))
        .and(body_string_contains("grant_type=client_credentials"))
        .and(body_string_contains(
            "scope=okta.logs.read+okta.users.read+okta.groups.read",
        ))
        .and(body_string_contains(
            "client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer",
        ))
        .respond_with(|req: &Request| {
            let n = req.body.len(); // each assertion differs (jti), the token too
            ResponseTemplate::new(200).set_body_json(json!({
                "token_type": "Bearer", "expires_in": 3600,
                "access_token": format!("tok-{n}-{}", uuid::Uuid::new_v4().simple()),
                "scope": "okta.logs.read okta.users.read okta.groups.read"
            }))
        })
        .expect(2)
        .mount(&server)
        .await;
    // The first token is refused once (revoked), the second works.
    Mock::given(method("GET"))
        .and(path("/api/v1/logs"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"errorCode": "E0000011"})))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/logs"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .expect(1)
        .mount(&server)
        .await;
    connector(&server, true)
        .events(None, &no_progress)
        .await
        .expect("renewed");
    let requests = server.received_requests().await.expect("recorded");
    let token_call = requests
        .iter()
        .find(|r| r.url.path() == "/oauth2/v1/token")
        .expect("token call");
    let form: std::collections::BTreeMap<String, String> =
        url::form_urlencoded::parse(&token_call.body)
            .into_owned()
            .collect();
    assert!(!form.contains_key("client_secret"));
    let claims = form["client_assertion"].split('.').nth(1).expect("claims");
    let claims: Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, claims)
            .expect("base64url"),
    )
    .expect("json");
    assert_eq!(claims["iss"], "0oa1app");
    assert_eq!(claims["sub"], "0oa1app");
    assert_eq!(claims["aud"], format!("{}/oauth2/v1/token", server.uri()));
    let bearer: Vec<String> = requests
        .iter()
        .filter(|r| r.url.path() == "/api/v1/logs")
        .map(|r| {
            r.headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned()
        })
        .collect();
    assert_eq!(bearer.len(), 2);
    assert!(bearer.iter().all(|b| b.starts_with("Bearer tok-")));
    assert_ne!(bearer[0], bearer[1], "a fresh token after the 401");
}
