//! Tests of `DomoClient` against a `wiremock` server standing in for Domo, counting exact
//! calls with `expect(n)` (STYLE.md c.9). Pure logic is tested next to its code.

mod auth;
mod calls;
mod failures;

use std::time::Duration;

use serde_json::{Value, json};
use wiremock::matchers::{basic_auth, body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::{ClientSettings, DomoClient};
use crate::config::Secret;

pub(super) const CLIENT_ID: &str = "test-client-id";
pub(super) const CLIENT_SECRET: &str = "test-client-secret-value";

/// Settings for a server at `base`: short timeouts, a small in-flight bound (so a missing
/// permit release would hang a test) and no rate limit.
pub(super) fn settings(base: &str) -> ClientSettings {
    ClientSettings {
        api_base: url::Url::parse(base).expect("valid base URL"),
        client_id: Secret::new(CLIENT_ID),
        client_secret: Secret::new(CLIENT_SECRET),
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(5),
        requests_per_second: 0.0,
        max_in_flight: 1,
    }
}

/// A client of `server`.
pub(super) fn client(server: &MockServer) -> DomoClient {
    DomoClient::new(settings(&server.uri())).expect("client builds")
}

/// A token answer like the one in reference/domo-api.md §1.3.
pub(super) fn token_body(token: &str, expires_in: u64) -> Value {
    json!({
        "access_token": token,
        "customer": "acmecompany",
        "expires_in": expires_in,
        "jti": "81dece4c-df73-4569-853c-2d1a328897fd",
        "role": "Admin",
        "scope": "user",
        "token_type": "bearer",
        "userId": 964382593
    })
}

/// The token request exactly as the client must send it.
pub(super) fn token_request() -> wiremock::MockBuilder {
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(basic_auth(CLIENT_ID, CLIENT_SECRET))
        .and(body_string_contains("grant_type=client_credentials"))
        .and(body_string_contains("scope=user"))
}

/// Mounts a token endpoint that issues `token` (valid for an hour), expected `times` times.
pub(super) async fn mount_token(server: &MockServer, token: &str, times: u64) {
    token_request()
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body(token, 3600)))
        .expect(times)
        .named("token")
        .mount(server)
        .await;
}

/// A bedrock-shaped error body.
pub(super) fn bedrock(status: u16, reason: &str, message: &str) -> Value {
    json!({"status": status, "statusReason": reason, "message": message, "toe": "ABC-123", "path": "/v1/x"})
}

/// Runs `fut`, failing the test instead of hanging (a leaked permit or a refresh loop would).
pub(super) async fn bounded<T>(fut: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(20), fut)
        .await
        .expect("call finished in time")
}
