//! Token fetching, caching, single flight and the 401 refresh-once rule, over HTTP.

use std::time::Duration;

use serde_json::json;
use wiremock::matchers::{any, bearer_token, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::*;
use crate::domo::DomoError;

fn group_json(id: i64) -> serde_json::Value {
    json!({"id": id, "name": "Sales", "active": true, "memberCount": 2})
}

#[tokio::test]
async fn token_is_fetched_once_for_many_calls() {
    // Arrange
    let server = MockServer::start().await;
    mount_token(&server, "tok-1", 1).await;
    Mock::given(method("GET"))
        .and(path("/v1/groups/42"))
        .and(bearer_token("tok-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(group_json(42)))
        .expect(5)
        .mount(&server)
        .await;
    let client = client(&server);

    // Act
    client.check_token().await.expect("token");
    for _ in 0..4 {
        client.get_group(42).await.expect("group");
    }
    client
        .clone()
        .get_group(42)
        .await
        .expect("group via a clone");

    // Assert (wiremock checks the `expect` counts on drop)
    assert_eq!(client.token_refreshes(), 1);
}

#[tokio::test]
async fn concurrent_first_calls_share_one_token_request() {
    let server = MockServer::start().await;
    token_request()
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(token_body("tok-1", 3600))
                .set_delay(Duration::from_millis(200)),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/groups/7"))
        .respond_with(ResponseTemplate::new(200).set_body_json(group_json(7)))
        .expect(12)
        .mount(&server)
        .await;
    let mut settings = settings(&server.uri());
    settings.max_in_flight = 3;
    let client = DomoClient::new(settings).expect("client");

    let calls = (0..12).map(|_| {
        let client = client.clone();
        tokio::spawn(async move { client.get_group(7).await })
    });
    for call in calls.collect::<Vec<_>>() {
        bounded(call).await.expect("joined").expect("group");
    }
    assert_eq!(client.token_refreshes(), 1);
}

#[tokio::test]
async fn a_token_past_its_refresh_time_is_fetched_again() {
    let server = MockServer::start().await;
    // `expires_in: 0` makes every cached token due at once.
    token_request()
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body("short", 0)))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/groups/1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(group_json(1)))
        .expect(2)
        .mount(&server)
        .await;
    let client = client(&server);
    client.get_group(1).await.expect("first");
    client.get_group(1).await.expect("second");
    assert_eq!(client.token_refreshes(), 2);
}

#[tokio::test]
async fn the_api_user_is_the_token_answers_user_id_and_kept_when_a_later_one_lacks_it() {
    let server = MockServer::start().await;
    // The first token is due at once, so the next call fetches a second; its answer has no
    // `userId`.
    token_request()
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body("first", 0)))
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    let mut without = token_body("second", 3600);
    if let Some(o) = without.as_object_mut() {
        o.remove("userId");
    }
    token_request()
        .respond_with(ResponseTemplate::new(200).set_body_json(without))
        .with_priority(2)
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);
    assert_eq!(client.api_user_id(), None, "no token yet");

    assert_eq!(client.api_user().await.expect("token"), Some(964_382_593));
    client.check_token().await.expect("second token");
    assert_eq!(client.token_refreshes(), 2);
    assert_eq!(client.api_user_id(), Some(964_382_593));
}

/// Token endpoint issuing `old` first, then `new`.
async fn mount_rotating_tokens(server: &MockServer) {
    token_request()
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body("old-token-1", 3600)))
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(server)
        .await;
    token_request()
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body("new-token-2", 3600)))
        .with_priority(2)
        .expect(1)
        .mount(server)
        .await;
}

#[tokio::test]
async fn a_401_refreshes_the_token_once_and_retries_the_call() {
    // Arrange: the first token is refused, the second accepted.
    let server = MockServer::start().await;
    mount_rotating_tokens(&server).await;
    let expired =
        json!({"error": "invalid_token", "error_description": "Access token expired: old-token-1"});
    Mock::given(method("PUT"))
        .and(path("/v1/groups/5/users/9"))
        .and(bearer_token("old-token-1"))
        .respond_with(ResponseTemplate::new(401).set_body_json(expired))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/v1/groups/5/users/9"))
        .and(bearer_token("new-token-2"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);

    // Act: max_in_flight is 1, so this also shows the refresh does not wait on its own permit.
    bounded(client.add_user_to_group(5, 9))
        .await
        .expect("added after refresh");

    // Assert
    assert_eq!(client.token_refreshes(), 2);
}

#[tokio::test]
async fn a_second_401_is_unauthorized_after_exactly_one_refresh() {
    let server = MockServer::start().await;
    mount_rotating_tokens(&server).await;
    let body =
        json!({"error": "invalid_token", "error_description": "Access token expired: new-token-2"});
    Mock::given(method("GET"))
        .and(path("/v1/groups/5"))
        .respond_with(ResponseTemplate::new(401).set_body_json(body))
        .expect(2)
        .mount(&server)
        .await;
    let client = client(&server);

    let err = bounded(client.get_group(5))
        .await
        .expect_err("unauthorized");

    let DomoError::Unauthorized { message } = &err else {
        panic!("expected Unauthorized, got {err:?}");
    };
    assert_eq!(message, "invalid_token: Access token expired: ***");
    assert!(!err.is_retryable());
    assert_eq!(client.token_refreshes(), 2);
}

#[tokio::test]
async fn a_refused_token_request_is_unauthorized_and_calls_nothing() {
    let server = MockServer::start().await;
    token_request()
        .respond_with(ResponseTemplate::new(401).set_body_json(
            json!({"error": "unauthorized", "error_description": "Bad credentials"}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/v1/groups/1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(group_json(1)))
        .expect(0)
        .mount(&server)
        .await;
    let client = client(&server);

    let err = client.get_group(1).await.expect_err("refused");

    assert!(matches!(err, DomoError::Unauthorized { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("Bad credentials"), "{text}");
    assert!(!text.contains(CLIENT_SECRET), "{text}");
    assert_eq!(client.token_refreshes(), 0);
}

#[tokio::test]
async fn a_token_request_rejected_with_400_is_unauthorized_too() {
    let server = MockServer::start().await;
    token_request()
        .respond_with(ResponseTemplate::new(400).set_body_json(
            json!({"error": "invalid_scope", "error_description": "Invalid scope: user"}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server).check_token().await.expect_err("refused");
    let DomoError::Unauthorized { message } = err else {
        panic!("expected Unauthorized, got {err:?}");
    };
    assert_eq!(
        message,
        "token endpoint answered 400: invalid_scope: Invalid scope: user"
    );
}

#[tokio::test]
async fn an_unavailable_token_endpoint_is_retryable() {
    let server = MockServer::start().await;
    token_request()
        .respond_with(ResponseTemplate::new(503))
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server).check_token().await.expect_err("down");
    assert!(
        matches!(
            err,
            DomoError::Unavailable {
                status: Some(503),
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_retryable());
}

#[tokio::test]
async fn an_unreadable_token_answer_is_a_decode_error() {
    let server = MockServer::start().await;
    token_request()
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"token_type": "bearer"})))
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server).check_token().await.expect_err("no token");
    assert!(matches!(err, DomoError::Decode { .. }), "{err:?}");
}

#[tokio::test]
async fn a_path_prefix_in_api_base_is_kept_for_every_endpoint() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/domo/oauth/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body("t", 3600)))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/domo/v1/groups/3"))
        .respond_with(ResponseTemplate::new(200).set_body_json(group_json(3)))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(404))
        .with_priority(10)
        .expect(0)
        .mount(&server)
        .await;
    let client = DomoClient::new(settings(&format!("{}/domo", server.uri()))).expect("client");
    assert_eq!(client.get_group(3).await.expect("group").id, 3);
}

#[tokio::test]
async fn every_request_names_the_service_in_user_agent() {
    let server = MockServer::start().await;
    let agent = concat!("domo-group-sync/", env!("CARGO_PKG_VERSION"));
    token_request()
        .and(header("user-agent", agent))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body("t", 3600)))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/v1/groups/1/users/2"))
        .and(header("user-agent", agent))
        .and(header("accept", "application/json"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    client(&server)
        .remove_user_from_group(1, 2)
        .await
        .expect("removed");
}

#[test]
fn an_api_base_that_is_not_http_is_refused() {
    for base in ["ftp://api.domo.com", "mailto:ops@example.com"] {
        let err = DomoClient::new(settings(base)).expect_err("refused");
        assert!(err.to_string().contains("api_base"), "{base}: {err}");
    }
}

#[test]
fn debug_output_shows_no_secret() {
    let client = DomoClient::new(settings("https://api.domo.com")).expect("client");
    let text = format!("{client:?} {:?}", settings("https://api.domo.com"));
    assert!(!text.contains(CLIENT_SECRET), "{text}");
    assert!(text.contains("api.domo.com"), "{text}");
}
