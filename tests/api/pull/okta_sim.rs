//! The Okta simulator of `dgs-sims`, served on 127.0.0.1:0, and the calls the tests make: its
//! control API (users, groups, lifecycle, raw events), the hook deliveries a real Okta would
//! have sent, and "pull now" on the service.

use serde_json::{Value, json};
use tokio::sync::oneshot;

use dgs_sims::okta::{OktaConfig, Simulator};

use crate::helpers::TestApp;

/// The SSWS token the simulator accepts.
pub const OKTA_TOKEN: &str = "sim-okta-token";

/// A running Okta simulator; stopped when dropped.
pub struct OktaSim {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    client: reqwest::Client,
    _stop: oneshot::Sender<()>,
}

impl OktaSim {
    /// A simulator with no visibility delay and no rate limit (`OktaConfig::default()`).
    pub async fn start() -> OktaSim {
        OktaSim::start_with(OktaConfig::default()).await
    }

    pub async fn start_with(config: OktaConfig) -> OktaSim {
        let sim = Simulator::new(config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the Okta simulator");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let (stop, rx) = oneshot::channel::<()>();
        tokio::spawn(sim.clone().serve(listener, async {
            let _ = rx.await;
        }));
        OktaSim {
            base,
            client: reqwest::Client::new(),
            _stop: stop,
        }
    }

    /// The body of a `[sources.pull]` table reading this simulator with its SSWS token.
    pub fn pull_toml(&self, interval_secs: u64, directory_interval_secs: u64) -> String {
        format!(
            "api_base = \"{}\"\ntoken = \"{OKTA_TOKEN}\"\ninterval_secs = {interval_secs}\n\
             directory_interval_secs = {directory_interval_secs}\n",
            self.base
        )
    }

    /// A control request; panics unless it succeeds.
    pub async fn control(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let resp = self
            .client
            .request(method, format!("{}{path}", self.base))
            .json(&body)
            .send()
            .await
            .expect("Okta simulator control request");
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        assert!(status.is_success(), "{path}: {status} {text}");
        if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).expect("json")
        }
    }

    fn silent(silent: bool) -> Value {
        json!({ "silent": silent })
    }

    /// Creates a group; returns the LogEvents it logged.
    pub async fn add_group(&self, name: &str) -> Vec<Value> {
        let r = self
            .control(
                reqwest::Method::POST,
                "/_sim/groups",
                json!({ "name": name }),
            )
            .await;
        events(&r)
    }

    /// Creates an active user whose login is `login`; returns (id, LogEvents).
    pub async fn add_user(&self, login: &str) -> (String, Vec<Value>) {
        let r = self
            .control(
                reqwest::Method::POST,
                "/_sim/users",
                json!({ "profile": { "login": login, "firstName": "F", "lastName": login } }),
            )
            .await;
        let id = r["user"]["id"].as_str().expect("user id").to_owned();
        (id, events(&r))
    }

    /// Adds (or removes) a member; `silent` logs nothing (directory drift).
    pub async fn member(&self, group: &str, login: &str, add: bool, silent: bool) -> Vec<Value> {
        let method = if add {
            reqwest::Method::PUT
        } else {
            reqwest::Method::DELETE
        };
        let path = format!("/_sim/groups/{group}/users/{login}");
        events(&self.control(method, &path, Self::silent(silent)).await)
    }

    /// `activate`, `deactivate`, `suspend`, `unsuspend`, `delete`.
    pub async fn lifecycle(&self, login: &str, action: &str, silent: bool) -> Vec<Value> {
        let path = format!("/_sim/users/{login}/lifecycle/{action}");
        events(
            &self
                .control(reqwest::Method::POST, &path, Self::silent(silent))
                .await,
        )
    }

    /// Appends raw LogEvents (`uuid`, `published` filled when absent); returns them.
    pub async fn append(&self, events_: Vec<Value>) -> Vec<Value> {
        events(
            &self
                .control(
                    reqwest::Method::POST,
                    "/_sim/events",
                    json!({ "events": events_ }),
                )
                .await,
        )
    }

    /// Sets the shared faults (`Faults` as JSON).
    pub async fn faults(&self, faults: Value) {
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

fn events(answer: &Value) -> Vec<Value> {
    answer["events"].as_array().cloned().unwrap_or_default()
}

/// Delivers LogEvents as Okta's event hook would (signed with the source's header).
pub async fn push_okta(app: &TestApp, events: &[Value]) {
    let body = json!({
        "eventType": "com.okta.event_hook",
        "eventTypeVersion": "1.0",
        "data": { "events": events }
    })
    .to_string();
    let resp = app.post_signed("okta", &body).await;
    let status = resp.status();
    assert_eq!(status, 200, "{}", resp.text().await.unwrap_or_default());
}

impl TestApp {
    /// `POST /api/v1/sources/{source}/pull[?full=true]`: the report (200 expected).
    pub async fn pull_now(&self, source: &str, full: bool) -> Value {
        let path = format!("/api/v1/sources/{source}/pull?full={full}");
        let resp = self
            .api(reqwest::Method::POST, &path)
            .send()
            .await
            .expect("pull request");
        let status = resp.status();
        let body: Value = resp.json().await.expect("json");
        assert_eq!(status, 200, "{body}");
        body
    }

    /// Stored events of `source` whose id starts with `prefix`: (event id, status).
    pub async fn events_of(&self, source: &str, prefix: &str) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut path = format!("/api/v1/events?source={source}&limit=500");
            if let Some(c) = &cursor {
                path.push_str(&format!("&cursor={c}"));
            }
            let page: Value = self
                .api(reqwest::Method::GET, &path)
                .send()
                .await
                .expect("events")
                .json()
                .await
                .expect("json");
            for e in page["events"].as_array().into_iter().flatten() {
                let id = e["event_id"].as_str().unwrap_or("");
                if id.starts_with(prefix) {
                    out.push((id.to_owned(), e["status"].as_str().unwrap_or("").to_owned()));
                }
            }
            match page["next_cursor"].as_str() {
                Some(c) if !c.is_empty() => cursor = Some(c.to_owned()),
                _ => return out,
            }
        }
    }

    /// The Domo groups the user is in, Domo's default group left out.
    pub fn managed_groups_of(&self, email: &str) -> Vec<String> {
        let default = self.default_group();
        let mut groups = self.groups_of(email);
        groups.retain(|g| *g != default);
        groups
    }

    /// The text of `GET /metrics`.
    pub async fn metrics_text(&self) -> String {
        self.client
            .get(self.url("/metrics"))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text")
    }
}
