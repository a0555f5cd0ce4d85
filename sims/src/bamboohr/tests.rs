//! BambooHR simulator tests over real TCP.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{BambooConfig, Simulator};
use crate::shared::testing::{Served, serve};

const V1: &str = "/api/gateway.php/simco/v1";

async fn control(s: &Served, method: Method, path: &str, body: Value) -> Value {
    let response = s
        .http
        .request(method, s.url(path))
        .json(&body)
        .send()
        .await
        .expect("control");
    assert!(
        response.status().is_success(),
        "{path}: {}",
        response.status()
    );
    response.json().await.unwrap_or(Value::Null)
}

async fn get(s: &Served, path: &str, key: &str) -> (StatusCode, Option<String>, Value) {
    let response = s
        .http
        .get(s.url(path))
        .basic_auth(key, Some("x"))
        .send()
        .await
        .expect("get");
    let message = response
        .headers()
        .get("x-bamboohr-error-message")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (
        response.status(),
        message,
        response.json().await.unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn changed_since_reports_the_last_action_per_employee() {
    let s = serve(Simulator::new(BambooConfig::default()).router()).await;
    let old = json!({"firstName": "Old", "lastName": "Timer", "at": "2020-01-01T00:00:00Z"});
    control(&s, Method::POST, "/_sim/employees", old).await;
    let a = control(
        &s,
        Method::POST,
        "/_sim/employees",
        json!({"firstName": "Ann", "department": "Sales", "jobTitle": "AE"}),
    )
    .await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let b = control(
        &s,
        Method::POST,
        "/_sim/employees",
        json!({"firstName": "Bob", "division": "EMEA", "location": "Oslo"}),
    )
    .await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    control(
        &s,
        Method::PATCH,
        &format!("/_sim/employees/{a}"),
        json!({"status": "Inactive", "terminationDate": "2026-12-01"}),
    )
    .await;
    control(
        &s,
        Method::DELETE,
        &format!("/_sim/employees/{b}"),
        json!({}),
    )
    .await;
    let (status, _, body) = get(
        &s,
        &format!("{V1}/employees/changed?since=2025-01-01T00:00:00%2B00:00"),
        "sim-bamboo-key",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let employees = body["employees"].as_object().expect("employees");
    assert_eq!(employees.len(), 2, "the 2020 hire is before since");
    assert_eq!(employees[&a]["action"], "Updated");
    assert_eq!(employees[&b]["action"], "Deleted");
    assert!(
        body["latest"]
            .as_str()
            .is_some_and(|l| l.ends_with("+00:00"))
    );
    let (_, _, deleted) = get(
        &s,
        &format!("{V1}/employees/changed?since=2025-01-01T00:00:00Z&type=deleted"),
        "sim-bamboo-key",
    )
    .await;
    assert_eq!(deleted["employees"].as_object().map(|m| m.len()), Some(1));
    let (_, _, ann) = get(
        &s,
        &format!("{V1}/employees/{a}?fields=status,terminationDate,department,jobTitle"),
        "sim-bamboo-key",
    )
    .await;
    assert_eq!(
        ann,
        json!({"id": a, "status": "Inactive", "terminationDate": "2026-12-01", "department": "Sales", "jobTitle": "AE"})
    );
    let (status, message, _) = get(&s, &format!("{V1}/employees/changed"), "sim-bamboo-key").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(message.is_some());
}

#[tokio::test]
async fn directory_lists_active_only_and_fails_as_bamboohr() {
    let s = serve(Simulator::new(BambooConfig::default()).router()).await;
    assert_eq!(
        get(&s, &format!("{V1}/employees/directory"), "sim-bamboo-key")
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    control(
        &s,
        Method::POST,
        "/_sim/employees",
        json!({"firstName": "Ann"}),
    )
    .await;
    let gone = control(
        &s,
        Method::POST,
        "/_sim/employees",
        json!({"firstName": "Cy"}),
    )
    .await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    control(
        &s,
        Method::PATCH,
        &format!("/_sim/employees/{gone}"),
        json!({"status": "Inactive"}),
    )
    .await;
    let (status, _, body) = get(&s, &format!("{V1}/employees/directory"), "sim-bamboo-key").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["employees"].as_array().map(Vec::len), Some(1));
    control(
        &s,
        Method::PUT,
        "/_sim/directory",
        json!({"enabled": false}),
    )
    .await;
    assert_eq!(
        get(&s, &format!("{V1}/employees/directory"), "sim-bamboo-key")
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    for _ in 0..5 {
        assert_eq!(
            get(
                &s,
                &format!("{V1}/employees/changed?since=2025-01-01T00:00:00Z"),
                "wrong"
            )
            .await
            .0,
            StatusCode::UNAUTHORIZED
        );
    }
    let (status, _, _) = get(
        &s,
        &format!("{V1}/employees/changed?since=2025-01-01T00:00:00Z"),
        "sim-bamboo-key",
    )
    .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "locked out after repeated bad keys"
    );
}

#[tokio::test]
async fn throttling_is_503_with_retry_after() {
    let s = serve(Simulator::new(BambooConfig::default()).router()).await;
    control(
        &s,
        Method::PUT,
        "/_sim/faults",
        json!({"rate_429": 1.0, "retry_after_share": 1.0, "retry_after_secs": 9}),
    )
    .await;
    let response = s
        .http
        .get(s.url(&format!("{V1}/employees/directory")))
        .basic_auth("sim-bamboo-key", Some("x"))
        .send()
        .await
        .expect("get");
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("9")
    );
}
