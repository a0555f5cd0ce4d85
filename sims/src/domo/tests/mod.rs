//! Simulator tests over real TCP: each test binds 127.0.0.1:0, spawns `Simulator::serve`
//! and talks to it with reqwest, as the service and the end-to-end tests do.

mod args;
mod auth;
mod faults;
mod groups;
mod state;
mod users;

use reqwest::{Method, Response, StatusCode};
use serde_json::Value;
use tokio::sync::oneshot;

use super::{SimConfig, Simulator};

/// A simulator served on a random local port.
struct TestSim {
    sim: Simulator,
    base: String,
    http: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    served: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn spawn(config: SimConfig) -> TestSim {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let base = format!("http://{}", listener.local_addr().expect("local addr"));
    let sim = Simulator::new(config);
    let (tx, rx) = oneshot::channel::<()>();
    let served = tokio::spawn(sim.clone().serve(listener, async {
        let _ = rx.await;
    }));
    TestSim {
        sim,
        base,
        http: reqwest::Client::new(),
        shutdown: Some(tx),
        served,
    }
}

async fn spawn_default() -> TestSim {
    spawn(SimConfig::default()).await
}

impl TestSim {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A token with the `user` scope, fetched with GET as the Node and Rust SDKs do.
    async fn token(&self) -> String {
        let response = self
            .http
            .get(self.url("/oauth/token?grant_type=client_credentials&scope=user"))
            .basic_auth("sim-client", Some("sim-secret"))
            .send()
            .await
            .expect("token request");
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.expect("token json");
        body["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }

    /// An authenticated API call with an optional JSON body.
    async fn call(&self, token: &str, method: Method, path: &str, body: Option<Value>) -> Response {
        let mut request = self
            .http
            .request(method, self.url(path))
            .header("Authorization", format!("bearer {token}"));
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.expect("api request")
    }

    /// An authenticated call that must answer `status`; returns the JSON body (`Null` if empty).
    async fn expect(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
        status: StatusCode,
    ) -> Value {
        let response = self.call(token, method.clone(), path, body).await;
        let got = response.status();
        let text = response.text().await.expect("body");
        assert_eq!(got, status, "{method} {path} answered {text}");
        if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).expect("json body")
        }
    }

    /// `POST /v1/groups {name}` → the created group's id.
    async fn create_group(&self, token: &str, name: &str) -> u64 {
        let body = serde_json::json!({ "name": name });
        let group = self
            .expect(
                token,
                Method::POST,
                "/v1/groups",
                Some(body),
                StatusCode::CREATED,
            )
            .await;
        group["id"].as_u64().expect("group id")
    }

    /// A control call (no auth) that must answer `status`; returns the JSON body.
    async fn control(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        status: StatusCode,
    ) -> Value {
        let mut request = self.http.request(method, self.url(path));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("control request");
        assert_eq!(response.status(), status, "{path}");
        let text = response.text().await.expect("body");
        if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).expect("json body")
        }
    }

    /// Stops the server and waits until `serve` returns.
    async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let served = tokio::time::timeout(std::time::Duration::from_secs(10), &mut self.served)
            .await
            .expect("serve stops after shutdown")
            .expect("serve task");
        served.expect("serve result");
    }
}

/// Asserts a Domo bedrock error body with this status.
fn assert_bedrock(body: &Value, status: u16) {
    assert_eq!(body["status"], status, "{body}");
    assert!(body["statusReason"].is_string(), "{body}");
    assert!(body["message"].is_string(), "{body}");
    assert!(
        body["toe"].as_str().is_some_and(|t| !t.is_empty()),
        "{body}"
    );
}

#[tokio::test]
async fn serve_stops_on_shutdown() {
    let sim = spawn_default().await;
    sim.control(Method::GET, "/_sim/state", None, StatusCode::OK)
        .await;
    sim.stop().await;
}

#[tokio::test]
async fn unknown_path_is_a_bedrock_404_with_path() {
    let sim = spawn_default().await;
    let body = sim
        .control(Method::GET, "/v1/nothing-here", None, StatusCode::NOT_FOUND)
        .await;
    assert_bedrock(&body, 404);
    assert_eq!(body["path"], "/v1/nothing-here");
    assert_eq!(sim.sim.snapshot().calls_to("GET (unmatched)").total, 1);
}

#[tokio::test]
async fn wrong_method_is_a_bedrock_405() {
    let sim = spawn_default().await;
    let body = sim
        .control(
            Method::PATCH,
            "/v1/groups",
            None,
            StatusCode::METHOD_NOT_ALLOWED,
        )
        .await;
    assert_bedrock(&body, 405);
    let body = sim
        .control(
            Method::DELETE,
            "/_sim/state",
            None,
            StatusCode::METHOD_NOT_ALLOWED,
        )
        .await;
    assert_bedrock(&body, 405);
}
