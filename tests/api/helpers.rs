//! Test harness: `spawn_app()` starts a Domo simulator and the service (its real config loader,
//! store, ingestor, workers and router) on 127.0.0.1:0; `TestApp` signs and sends webhooks and
//! waits for the outcome.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use domo_group_sync::app::Application;
use domo_group_sync::config::{Config, ConfigInput, Format, Scheme, Secret, SourceConfig};

pub use crate::binary::*;
pub use crate::options::*;
pub use crate::tokens::*;
use dgs_sims::domo::{SeedUser, SimConfig, SimState, Simulator};
use domo_group_sync::store::Store;
use domo_group_sync::worker::Worker;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub use crate::db::{Backend, TestDb, backend, pg_admin_url_or_skip};

/// Current and previous Standard Webhooks secrets of the `sw` source (rotation).
pub const SW_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
pub const SW_OLD_SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
pub const GITHUB_SECRET: &str = "It's a Secret to Everybody";
pub const OKTA_SECRET: &str = "Basic YWRtaW46c3VwZXJzZWNyZXQ=";
/// The Clerk (Svix) source's secret.
pub const CLERK_SECRET: &str = "whsec_dGVzdC1jbGVyay1zZWNyZXQtMDEyMzQ1Njc4OQ==";

/// A running service with its simulator. Stopped when dropped.
pub struct TestApp {
    pub addr: SocketAddr,
    pub sim_addr: SocketAddr,
    pub sim: Simulator,
    pub store: Store,
    pub worker: Arc<Worker>,
    /// Where a pull poller reports its pulls (`source.failing`).
    pub source_watch: Arc<domo_group_sync::notify::source::SourceWatch>,
    pub client: reqwest::Client,
    pub config: Config,
    _dir: tempfile::TempDir,
    /// Dropped after the app is told to stop (a PostgreSQL test database is dropped with it).
    pub db: TestDb,
    stop: Option<oneshot::Sender<()>>,
    sim_stop: Option<oneshot::Sender<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(s) = self.sim_stop.take() {
            let _ = s.send(());
        }
    }
}

/// Starts the service with the default options.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(Options::default()).await
}

/// Starts a simulator and the service.
pub async fn spawn_app_with(mut o: Options) -> TestApp {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = TestDb::create(dir.path()).await;
    o.store_url = Some(db.url.clone());
    let sim = Simulator::new(SimConfig {
        users: o
            .users
            .iter()
            .map(|e| SeedUser {
                email: e.clone(),
                name: e.split('@').next().unwrap_or("user").to_owned(),
                role: "Participant".to_owned(),
            })
            .collect(),
        token_ttl_secs: o.token_ttl_secs,
        ..SimConfig::default()
    });
    let sim_listener = TcpListener::bind("127.0.0.1:0").await.expect("bind sim");
    let sim_addr = sim_listener.local_addr().expect("sim addr");
    let (sim_stop, sim_rx) = oneshot::channel::<()>();
    tokio::spawn(sim.clone().serve(sim_listener, async move {
        let _ = sim_rx.await;
    }));

    let toml = config_toml(dir.path(), sim_addr, &o);
    let env = BTreeMap::new();
    let mut config = if o.config_file {
        let path = dir.path().join("config.toml");
        std::fs::write(&path, &toml).expect("write config");
        Config::load(Some(&path)).expect("test config is valid")
    } else {
        Config::parse(ConfigInput {
            toml: Some(&toml),
            env: &env,
        })
        .expect("test config is valid")
    };
    if let Some(adjust) = o.adjust {
        adjust(&mut config);
    }
    let app = Application::build(config.clone())
        .await
        .expect("app builds");
    let addr = app.local_addr().expect("addr");
    let store = app.store();
    let worker = app.worker();
    let source_watch = app.source_watch();
    let (stop, rx) = oneshot::channel::<()>();
    tokio::spawn(app.run_until_stopped(async move {
        let _ = rx.await;
    }));
    TestApp {
        addr,
        sim_addr,
        sim,
        store,
        worker,
        source_watch,
        // Idle connections are dropped before the server would close them (its header read
        // timeout also bounds an idle keep-alive connection), so that no request races a close.
        client: reqwest::Client::builder()
            .pool_idle_timeout(Duration::from_millis(o.header_read_timeout_ms / 2))
            .build()
            .expect("HTTP client"),
        config,
        _dir: dir,
        db,
        stop: Some(stop),
        sim_stop: Some(sim_stop),
    }
}

/// A canonical event as JSON text.
pub fn canonical(id: &str, kind: &str, at: &str, email: &str, groups: Option<&[&str]>) -> String {
    let mut ev = json!({ "id": id, "type": kind, "occurred_at": at, "user": { "email": email } });
    if let Some(g) = groups {
        ev["groups"] = json!(g);
    }
    ev.to_string()
}

impl TestApp {
    /// The app's own folder (its `config.toml` when `Options::config_file`).
    pub fn dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    /// The URL of a path on the service.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The configured source of this name.
    pub fn source(&self, name: &str) -> SourceConfig {
        source_of(&self.config, name)
    }

    /// Headers signing `body` for source `name` with its first secret, now.
    pub fn sign(&self, name: &str, body: &str, msg_id: &str) -> Vec<(String, String)> {
        let src = self.source(name);
        let secret = src.secrets[0].value.clone();
        sign_with(&src, &secret, body, chrono::Utc::now().timestamp(), msg_id)
    }

    /// POSTs `body` to `/webhooks/{name}` signed for that source.
    pub async fn post_signed(&self, name: &str, body: &str) -> reqwest::Response {
        let id = format!("msg_{}", uuid::Uuid::new_v4().simple());
        let headers = self.sign(name, body, &id);
        self.post_with(name, body, &headers).await
    }

    /// POSTs `body` to `/webhooks/{name}` with exactly these headers.
    pub async fn post_with(
        &self,
        name: &str,
        body: &str,
        headers: &[(String, String)],
    ) -> reqwest::Response {
        let mut req = self
            .client
            .post(self.url(&format!("/webhooks/{name}")))
            .header("content-type", "application/json")
            .body(body.to_owned());
        for (k, v) in headers {
            req = req.header(k.as_str(), v.as_str());
        }
        req.send().await.expect("request sent")
    }

    /// Sends a canonical event through the `sw` source and asserts it was queued.
    pub async fn send_event(&self, body: &str) {
        let resp = self.post_signed("sw", body).await;
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        assert_eq!(status, 202, "{text}");
        assert!(text.contains("\"queued\""), "not queued: {text}");
    }

    /// Tells the service to stop (as SIGTERM would) without waiting for it.
    pub fn signal_stop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }

    /// Stops the service (HTTP and workers) and waits until it has, leaving the simulator and
    /// the database up, so that another replica can carry on.
    pub async fn stop_service(&mut self) {
        self.signal_stop();
        // The app closes its store last, after its workers have stopped.
        self.wait_until("the service to stop", || async {
            self.store.ping().await.is_err()
        })
        .await;
    }

    /// The simulator's state.
    pub fn sim_state(&self) -> SimState {
        self.sim.snapshot()
    }

    /// Waits until no event is queued or running (the workers run on their own), or panics
    /// after 30 s.
    pub async fn wait_idle(&self) {
        self.wait_idle_for(Duration::from_secs(30)).await;
    }

    /// `wait_idle` with another bound.
    pub async fn wait_idle_for(&self, limit: Duration) {
        self.wait_until_for("the queue to drain", limit, || async {
            self.store.count_pending().await.unwrap_or(1) == 0
        })
        .await;
    }

    /// Polls `cond` every 20 ms until it holds, or panics after 30 s naming `what`.
    pub async fn wait_until<F, Fut>(&self, what: &str, cond: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        self.wait_until_for(what, Duration::from_secs(30), cond)
            .await;
    }

    /// `wait_until` with another bound.
    pub async fn wait_until_for<F, Fut>(&self, what: &str, limit: Duration, mut cond: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if cond().await {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {what}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The Domo group ids of which the user with this email is a member, by group name.
    pub fn groups_of(&self, email: &str) -> Vec<String> {
        let state = self.sim_state();
        let Some(user) = state
            .users
            .iter()
            .find(|u| u.email.eq_ignore_ascii_case(email))
        else {
            return Vec::new();
        };
        let mut names: Vec<String> = state
            .groups
            .iter()
            .filter(|g| g.members.contains(&user.id))
            .map(|g| g.name.clone())
            .collect();
        names.sort();
        names
    }
}

/// Signs with an explicit secret and time.
pub fn sign_with(
    src: &SourceConfig,
    secret: &Secret,
    body: &str,
    now: i64,
    msg_id: &str,
) -> Vec<(String, String)> {
    domo_group_sync::signature::sign(src, secret, body.as_bytes(), now, msg_id).expect("sign")
}

/// A source config for ad-hoc signing in tests.
pub fn adhoc_source(scheme: Scheme, secret: &str) -> SourceConfig {
    SourceConfig {
        name: "adhoc".into(),
        format: Format::Canonical,
        scheme,
        secrets: vec![Secret::new(secret).into()],
        tolerance_secs: 300,
        header: "Authorization".into(),
        hmac: None,
        allow_ips: Vec::new(),
        pull: None,
    }
}

/// Reads a JSON body.
pub async fn json_body(resp: reqwest::Response) -> Value {
    resp.json().await.expect("json body")
}

impl TestApp {
    /// A request to the internal API with the all-scopes token.
    pub fn api(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(TOKEN_ALL)
    }

    /// `POST /api/v1/admin/reload` (the config file was edited), asserting it reloaded.
    pub async fn reload(&self) {
        let resp = self
            .api(reqwest::Method::POST, "/api/v1/admin/reload")
            .send()
            .await
            .expect("reload");
        assert_eq!(resp.status(), 200, "the reload was refused");
    }
}
