//! Outgoing operational events, end to end: the service delivers to a subscriber on
//! 127.0.0.1 that verifies every request with the Python `standardwebhooks` package from PyPI
//! (`receiver.py`, installed into `.venv/` by `.ci/webhook-verifier`), an implementation
//! independent of the service's. Without that venv the tests print SKIPPED, except in CI.

mod deliveries;
mod events;
mod slack;
mod traces;

use std::io::BufRead as _;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use crate::helpers::TestApp;

/// The subscriber's signing secret.
pub const SUB_SECRET: &str = "whsec_c3Vic2NyaWJlci1zZWNyZXQtZm9yLXRoZS10ZXN0cw==";

/// The venv's Python with `standardwebhooks`, or SKIPPED (a failure in CI).
fn python_or_skip(test: &str) -> PathBuf {
    let python = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    let ok = Command::new(&python)
        .args(["-c", "import standardwebhooks"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        return python;
    }
    if std::env::var_os("CI").is_some() {
        panic!("the standardwebhooks verifier is missing: run .ci/webhook-verifier");
    }
    eprintln!(
        "\n######## SKIPPED: .venv has no standardwebhooks (run .ci/webhook-verifier); `{test}` did not run ########\n"
    );
    std::process::exit(0);
}

/// A running `receiver.py`; killed when dropped.
pub struct Receiver {
    child: Child,
    pub port: u16,
    lines: Arc<Mutex<Vec<Value>>>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Receiver {
    /// Starts a receiver with extra environment (`FAIL_FIRST`, `FAIL_WHILE`, `DELAY_SECS`).
    pub fn start(test: &str, env: &[(&str, &str)]) -> Receiver {
        let python = python_or_skip(test);
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/api/notify/receiver.py");
        let mut child = Command::new(python)
            .arg(script)
            .env("WEBHOOK_SECRET", SUB_SECRET)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start receiver.py");
        let mut out = std::io::BufReader::new(child.stdout.take().expect("stdout"));
        let mut first = String::new();
        out.read_line(&mut first).expect("the receiver's port");
        let port = serde_json::from_str::<Value>(&first).expect("json")["port"]
            .as_u64()
            .and_then(|p| u16::try_from(p).ok())
            .expect("port");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in out.lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str::<Value>(&line) {
                    sink.lock().expect("lines").push(v);
                }
            }
        });
        Receiver { child, port, lines }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Value> {
        self.lines.lock().expect("lines").clone()
    }

    /// The requests whose body has this type.
    pub fn of_type(&self, kind: &str) -> Vec<Value> {
        self.requests()
            .into_iter()
            .filter(|r| r["body"]["type"] == kind)
            .collect()
    }

    /// Waits until `cond` holds on the requests, or panics after `limit`.
    pub async fn wait_for(&self, what: &str, limit: Duration, cond: impl Fn(&[Value]) -> bool) {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if cond(&self.requests()) {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {what}; received: {:#?}",
                self.requests()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

/// A `[[subscribers]]` entry (webhook kind) and fast `[notify]` settings.
pub fn subscriber_toml(name: &str, url: &str, events: &[&str], max_attempts: u32) -> String {
    let events: Vec<String> = events.iter().map(|e| format!("\"{e}\"")).collect();
    format!(
        r#"
[[subscribers]]
name = "{name}"
url = "{url}"
secret = "{SUB_SECRET}"
events = [{events}]

[notify]
max_attempts = {max_attempts}
backoff_base_ms = 50
backoff_max_secs = 1
timeout_secs = 2
poll_interval_ms = 50
"#,
        events = events.join(", ")
    )
}

/// Every event type.
pub const ALL_TYPES: [&str; 6] = [
    "membership.applied",
    "offboarding.completed",
    "event.dead",
    "reconcile.held",
    "reconcile.completed",
    "source.failing",
];

/// Asserts the independent verifier accepted the request, and that it is not a verifier that
/// accepts anything: the same request with another secret, or one byte more, is refused.
pub fn assert_verified(r: &Value) {
    assert_eq!(r["verified"], true, "{r:#}");
    assert_eq!(r["wrong_secret_refused"], true, "{r:#}");
    assert_eq!(r["tampered_refused"], true, "{r:#}");
    assert!(
        r["id"].as_str().is_some_and(|id| id.starts_with("msg_")),
        "{r:#}"
    );
}

impl TestApp {
    /// `GET` an API path with the all-scopes token, as JSON.
    pub async fn get_json(&self, path: &str) -> Value {
        let resp = self
            .api(reqwest::Method::GET, path)
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status(), 200, "{path}");
        resp.json().await.expect("json")
    }
}
