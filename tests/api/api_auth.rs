//! Auth of the internal API, for EVERY `/api/v1` operation in the generated OpenAPI document
//! (the document is built from the router, so a new route is covered without editing this).

use reqwest::Method;
use serde_json::Value;

use crate::helpers::{TOKEN_ALL, spawn_app, token_without};

/// Every `/api/v1` operation: (method, path template, required scope).
fn api_operations() -> Vec<(Method, String, String)> {
    let doc = serde_json::to_value(domo_group_sync::api::openapi()).expect("document serialises");
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        if !path.starts_with("/api/v1") {
            continue;
        }
        for (method, op) in item.as_object().expect("path item") {
            let security = op["security"].as_array().unwrap_or_else(|| {
                panic!("{method} {path} declares no security: every /api/v1 route needs a scope")
            });
            assert_eq!(
                security.len(),
                1,
                "{method} {path}: one security requirement"
            );
            let scopes = security[0]["bearer"]
                .as_array()
                .unwrap_or_else(|| panic!("{method} {path}: the requirement is not `bearer`"));
            assert_eq!(scopes.len(), 1, "{method} {path}: exactly one scope");
            let scope = scopes[0].as_str().expect("scope").to_owned();
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            out.push((m, path.clone(), scope));
        }
    }
    assert!(out.len() >= 14, "the document lists the API: {out:?}");
    out
}

/// Fills path parameters with plausible values.
fn concrete(path: &str) -> String {
    path.replace("{id}", "1")
        .replace("{email}", "ada@example.com")
        .replace("{group}", "Marketing")
}

async fn send(
    app: &crate::helpers::TestApp,
    method: &Method,
    path: &str,
    token: Option<&str>,
) -> (u16, String, Value) {
    let mut req = app
        .client
        .request(method.clone(), app.url(path))
        .header("content-type", "application/json")
        .body("{}");
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.expect("request sent");
    let status = resp.status().as_u16();
    let ctype = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = resp.json().await.unwrap_or(Value::Null);
    (status, ctype, body)
}

#[tokio::test]
async fn every_api_route_answers_401_without_a_valid_token_and_403_without_its_scope() {
    // Arrange
    let app = spawn_app().await;
    for (method, template, scope) in api_operations() {
        let path = concrete(&template);
        let what = format!("{method} {template} (scope {scope})");

        // Act + Assert: no token
        let resp = app
            .client
            .request(method.clone(), app.url(&path))
            .send()
            .await
            .expect("sent");
        assert_eq!(
            resp.headers()
                .get("www-authenticate")
                .and_then(|v| v.to_str().ok()),
            Some("Bearer"),
            "{what}: a 401 names the scheme"
        );
        let (status, ctype, body) = send(&app, &method, &path, None).await;
        assert_eq!(status, 401, "{what} without a token");
        assert_eq!(ctype, "application/problem+json", "{what}");
        assert_eq!(
            body["type"], "urn:domo-group-sync:problem:unauthorized",
            "{what}"
        );

        // an unknown token, and a malformed header
        let (status, _, _) = send(&app, &method, &path, Some("not-a-configured-token")).await;
        assert_eq!(status, 401, "{what} with an unknown token");
        let resp = app
            .client
            .request(method.clone(), app.url(&path))
            .header("authorization", format!("Basic {TOKEN_ALL}"))
            .send()
            .await
            .expect("sent");
        assert_eq!(resp.status(), 401, "{what} with a non-bearer scheme");

        // a valid token without the scope
        let (status, ctype, body) = send(&app, &method, &path, Some(token_without(&scope))).await;
        assert_eq!(status, 403, "{what} with a token lacking `{scope}`: {body}");
        assert_eq!(ctype, "application/problem+json", "{what}");
        assert_eq!(
            body["type"], "urn:domo-group-sync:problem:forbidden",
            "{what}"
        );

        // the scope the document names is enough
        let (status, _, body) = send(&app, &method, &path, Some(TOKEN_ALL)).await;
        assert!(
            status != 401 && status != 403,
            "{what} with every scope answered {status}: {body}"
        );
    }
}
