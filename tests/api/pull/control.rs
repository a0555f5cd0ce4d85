//! A provider simulator of `dgs-sims` served on 127.0.0.1:0 for a test, and its `/_sim`
//! control API (shared by the WorkOS and BambooHR harnesses).

use serde_json::Value;
use tokio::sync::oneshot;

use crate::helpers::TestApp;

/// A running simulator; stopped when dropped.
pub struct Served {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    client: reqwest::Client,
    _stop: oneshot::Sender<()>,
}

impl Served {
    /// Serves `router` (a simulator's) on a random local port.
    pub async fn start(router: axum::Router) -> Served {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a simulator");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let (stop, rx) = oneshot::channel::<()>();
        tokio::spawn(dgs_sims::shared::serve(router, listener, async {
            let _ = rx.await;
        }));
        Served {
            base,
            client: reqwest::Client::new(),
            _stop: stop,
        }
    }

    /// A control request; panics unless it succeeds.
    pub async fn control(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if !body.is_null() {
            req = req.json(&body);
        }
        let resp = req.send().await.expect("simulator control request");
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        assert!(status.is_success(), "{path}: {status} {text}");
        if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).expect("json")
        }
    }

    /// Sets the shared faults (`Faults` as JSON), after zeroing the call counters.
    pub async fn faults(&self, faults: Value) {
        self.control(reqwest::Method::POST, "/_sim/reset-counters", Value::Null)
            .await;
        self.control(reqwest::Method::PUT, "/_sim/faults", faults)
            .await;
    }

    /// The API requests received, oldest first.
    pub async fn requests(&self) -> Vec<Value> {
        self.control(reqwest::Method::GET, "/_sim/requests", Value::Null)
            .await
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

/// POSTs `body` to `/webhooks/{source}` signed for it; asserts it was accepted and returns the
/// answer (`{events: [{id, status}]}`).
pub async fn push(app: &TestApp, source: &str, body: &Value) -> Value {
    let resp = app.post_signed(source, &body.to_string()).await;
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    assert_eq!(status, 202, "{text}");
    serde_json::from_str(&text).expect("json")
}

/// The `pull` view of `source` in `GET /api/v1/sources`.
pub async fn source_view(app: &TestApp, source: &str) -> Value {
    let sources = crate::helpers::json_body(
        app.api(reqwest::Method::GET, "/api/v1/sources")
            .send()
            .await
            .expect("sources"),
    )
    .await;
    sources["sources"]
        .as_array()
        .expect("list")
        .iter()
        .find(|s| s["name"] == source)
        .cloned()
        .expect("the source is listed")
}
