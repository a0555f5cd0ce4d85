//! The SCIM front door (issue 18), against the real service and the Domo simulator over TCP:
//! the provisioning cycles Microsoft documents for Entra ID and Okta documents for its SCIM apps,
//! replayed request by request; the protocol (auth, discovery, errors, paging, filters); the
//! SCIM view and its guarantees (durable with its events, retries change nothing, stable ids,
//! deactivated users keep their groups); and replicas writing at once.

mod entra;
mod okta;
mod protocol;
mod queries;
mod replicas;
mod view;

use reqwest::Method;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::helpers::{Options, TestApp, spawn_app_with};

/// The bearer token of the test source `scim`.
pub const SCIM_TOKEN: &str = "scim-test-token-5f0c";

/// The `[[sources]]` entry of a SCIM source named `name` taking [`SCIM_TOKEN`].
pub fn source_toml(name: &str) -> String {
    let digest = hex::encode(Sha256::digest(SCIM_TOKEN.as_bytes()));
    format!(
        "[[sources]]\nname = \"{name}\"\nformat = \"scim\"\nscheme = \"scim\"\nsecrets = [\"{digest}\"]\n"
    )
}

/// A test app with the SCIM source `scim`.
pub async fn spawn_scim() -> TestApp {
    spawn_app_with(Options {
        scim: true,
        ..Options::default()
    })
    .await
}

impl TestApp {
    /// A request to `/scim/scim/v2{path}` with the source's token.
    pub fn scim(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(&format!("/scim/scim/v2{path}")))
            .bearer_auth(SCIM_TOKEN)
            .header("content-type", "application/scim+json")
    }

    /// Sends a SCIM request with an optional JSON body; returns the status and the body
    /// (`Null` when empty), after checking the media type of any body.
    pub async fn scim_call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self.scim(method, path);
        if let Some(b) = body {
            req = req.body(b.to_string());
        }
        let resp = req.send().await.expect("SCIM request sent");
        scim_answer(resp).await
    }

    /// `scim_call` for a GET.
    pub async fn scim_get(&self, path: &str) -> (u16, Value) {
        self.scim_call(Method::GET, path, None).await
    }

    /// The SCIM base URL of the source `scim`, as served.
    pub fn scim_base(&self) -> String {
        self.url("/scim/scim/v2")
    }

    /// The Domo groups of a user (the default group left out), once the queue has drained.
    pub async fn domo_groups_of(&self, email: &str) -> Vec<String> {
        self.wait_idle().await;
        let default = self.default_group();
        self.groups_of(email)
            .into_iter()
            .filter(|g| *g != default)
            .collect()
    }
}

/// The status and JSON body of a SCIM answer; a body must be `application/scim+json`.
pub async fn scim_answer(resp: reqwest::Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    let media = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = resp.text().await.expect("body");
    if text.is_empty() {
        return (status, Value::Null);
    }
    assert_eq!(media, "application/scim+json", "{status}: {text}");
    (status, serde_json::from_str(&text).expect("JSON body"))
}

/// A filter as a query string value.
pub fn q(filter: &str) -> String {
    url::form_urlencoded::byte_serialize(filter.as_bytes()).collect()
}
