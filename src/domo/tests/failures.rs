//! How each kind of failure from Domo, or on the way to it, comes back as a `DomoError`.

use std::time::Duration;

use chrono::Utc;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::*;
use crate::domo::DomoError;

/// A server with a working token endpoint and `GET /v1/groups/1` answering `response`.
async fn group_answering(response: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    mount_token(&server, "tok", 1).await;
    Mock::given(method("GET"))
        .and(path("/v1/groups/1"))
        .respond_with(response)
        .expect(1)
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn a_429_with_retry_after_in_seconds() {
    let server =
        group_answering(ResponseTemplate::new(429).insert_header("Retry-After", "7")).await;
    let err = client(&server).get_group(1).await.expect_err("limited");
    assert_eq!(
        err,
        DomoError::RateLimited {
            retry_after: Some(Duration::from_secs(7))
        }
    );
    assert!(err.is_retryable());
    assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
}

#[tokio::test]
async fn a_429_without_retry_after() {
    let server = group_answering(ResponseTemplate::new(429)).await;
    let err = client(&server).get_group(1).await.expect_err("limited");
    assert_eq!(err, DomoError::RateLimited { retry_after: None });
    assert!(err.is_retryable());
}

#[tokio::test]
async fn a_429_with_retry_after_as_an_http_date() {
    let at = Utc::now() + chrono::Duration::seconds(120);
    let date = at.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    let server =
        group_answering(ResponseTemplate::new(429).insert_header("Retry-After", date)).await;
    let err = client(&server).get_group(1).await.expect_err("limited");
    let wait = err.retry_after().expect("a delay from the date");
    // The date has one-second resolution and a little time passes before it is read.
    assert!(
        wait > Duration::from_secs(100) && wait <= Duration::from_secs(120),
        "{wait:?}"
    );
}

#[tokio::test]
async fn a_5xx_is_unavailable_with_its_status_and_message() {
    let body = bedrock(503, "Service Unavailable", "Try again later");
    let server = group_answering(ResponseTemplate::new(503).set_body_json(body)).await;
    let err = client(&server).get_group(1).await.expect_err("down");
    assert_eq!(
        err,
        DomoError::Unavailable {
            status: Some(503),
            message: "Try again later (toe ABC-123)".into()
        }
    );
    assert!(err.is_retryable());
}

#[tokio::test]
async fn a_500_with_an_empty_body_is_unavailable() {
    let server = group_answering(ResponseTemplate::new(500)).await;
    let err = client(&server).get_group(1).await.expect_err("down");
    assert_eq!(err.status(), Some(500));
    assert!(err.is_retryable());
}

#[tokio::test]
async fn a_request_timeout_is_unavailable() {
    let server = group_answering(
        ResponseTemplate::new(200)
            .set_body_json(json!({"id": 1}))
            .set_delay(Duration::from_secs(3)),
    )
    .await;
    let mut settings = settings(&server.uri());
    settings.request_timeout = Duration::from_millis(300);
    let client = DomoClient::new(settings).expect("client");

    let err = bounded(client.get_group(1)).await.expect_err("timed out");

    let DomoError::Unavailable { status, message } = &err else {
        panic!("expected Unavailable, got {err:?}");
    };
    assert_eq!(*status, None);
    assert!(message.starts_with("request timed out"), "{message}");
    assert!(err.is_retryable());
}

#[tokio::test]
async fn a_refused_connection_is_unavailable() {
    // A port that was free a moment ago and has no listener now.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let client = DomoClient::new(settings(&format!("http://{addr}"))).expect("client");

    for err in [
        client.check_token().await.expect_err("refused"),
        client.add_user_to_group(1, 2).await.expect_err("refused"),
    ] {
        let DomoError::Unavailable {
            status: None,
            message,
        } = &err
        else {
            panic!("expected Unavailable, got {err:?}");
        };
        assert!(message.starts_with("connection failed"), "{message}");
        assert!(err.is_retryable());
    }
    assert_eq!(client.token_refreshes(), 0);
}

#[tokio::test]
async fn other_4xx_are_rejected_with_domo_s_message() {
    let cases = [
        (
            400,
            ResponseTemplate::new(400).set_body_json(bedrock(
                400,
                "Bad Request",
                "Group is not active",
            )),
            "Group is not active (toe ABC-123)",
        ),
        (
            403,
            ResponseTemplate::new(403).set_body_json(json!({
                "error": "insufficient_scope",
                "error_description": "Insufficient scope for this resource",
                "scope": "user"
            })),
            "insufficient_scope: Insufficient scope for this resource",
        ),
        (
            404,
            ResponseTemplate::new(404),
            "HTTP 404 Not Found (empty body)",
        ),
        (
            404,
            ResponseTemplate::new(404)
                .set_body_json(json!({"status": 404, "statusReason": "Not Found", "toe": "8VG"})),
            "Not Found (toe 8VG)",
        ),
    ];
    for (status, response, expected) in cases {
        let server = group_answering(response).await;
        let err = client(&server).get_group(1).await.expect_err("rejected");
        assert_eq!(
            err,
            DomoError::Rejected {
                status,
                message: expected.into()
            },
            "status {status}"
        );
        assert!(!err.is_retryable());
    }
}

#[tokio::test]
async fn an_unreadable_success_body_is_a_decode_error() {
    for response in [
        ResponseTemplate::new(200).set_body_string("<html>maintenance</html>"),
        ResponseTemplate::new(200).set_body_json(json!({"name": "no id"})),
        ResponseTemplate::new(200),
    ] {
        let server = group_answering(response).await;
        let err = client(&server).get_group(1).await.expect_err("unreadable");
        assert!(matches!(err, DomoError::Decode { .. }), "{err:?}");
        assert!(!err.is_retryable());
    }
}
