//! The real binary: graceful shutdown on SIGTERM and SIGINT (exit 0, jobs in hand released),
//! and JSON logs in which the webhook's request id finds the job and its Domo calls.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use dgs_sims::domo::{Faults, Simulator};
use domo_group_sync::config::{Config, ConfigInput};
use domo_group_sync::store::Store;

use crate::helpers::*;

const AT: &str = "2026-11-28T10:00:00Z";
/// Generous bound on a graceful exit (the drain is configured to 1 s).
const EXIT_BOUND: Duration = Duration::from_secs(20);

/// The running binary and the log lines it has written so far.
struct Service {
    child: Child,
    lines: mpsc::Receiver<String>,
    log: Vec<String>,
    addr: String,
}

impl Service {
    fn start(config: &Path) -> Service {
        let mut child = Command::new(env!("CARGO_BIN_EXE_domo-group-sync"))
            .args(["serve", "--config"])
            .arg(config)
            .env_remove("RUST_LOG")
            .env_remove("DGS_CONFIG")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary starts");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut s = Service {
            child,
            lines,
            log: Vec::new(),
            addr: String::new(),
        };
        let line = s.wait_for_line(|l| l.contains("\"listening\""));
        let v: serde_json::Value = serde_json::from_str(&line).expect("a JSON log line");
        s.addr = v["addr"].as_str().expect("addr field").to_owned();
        s
    }

    fn wait_for_line(&mut self, pred: impl Fn(&str) -> bool) -> String {
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(30))
                .expect("the service logs");
            self.log.push(line.clone());
            if pred(&line) {
                return line;
            }
        }
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(ok.success());
    }

    /// Waits for the exit within `EXIT_BOUND`, then collects the rest of the log.
    fn wait_exit(&mut self) -> ExitStatus {
        let deadline = std::time::Instant::now() + EXIT_BOUND;
        let status = loop {
            if let Some(s) = self.child.try_wait().expect("try_wait") {
                break s;
            }
            if std::time::Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("no exit within {EXIT_BOUND:?}:\n{}", self.log.join("\n"));
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.log.push(line);
        }
        status
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

async fn post(addr: &str, config: &Config, body: &str, request_id: &str) {
    let src = source_of(config, "sw");
    let id = format!("msg_{}", uuid::Uuid::new_v4().simple());
    let headers = sign_with(
        &src,
        &src.secrets[0],
        body,
        chrono::Utc::now().timestamp(),
        &id,
    );
    let mut req = reqwest::Client::new()
        .post(format!("http://{addr}/webhooks/sw"))
        .header("x-request-id", request_id)
        .body(body.to_owned());
    for (k, v) in headers {
        req = req.header(k, v);
    }
    let resp = req.send().await.expect("sent");
    assert_eq!(resp.status(), 202);
    assert_eq!(
        resp.headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok()),
        Some(request_id),
        "the request id is echoed"
    );
}

async fn wait_count(store: &Store, status: &str, n: i64) {
    for _ in 0..1500 {
        if store.count_events(status).await.expect("count") == n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("never {n} event(s) {status}");
}

#[tokio::test]
async fn sigterm_drains_and_releases_the_job_in_hand_then_sigint_stops_the_restart() {
    let (sim, sim_addr) = start_domo(["ada@example.com", "grace@example.com"]).await;

    let dir = tempfile::tempdir().expect("tempdir");
    let toml = config_toml(dir.path(), sim_addr, &Options::default())
        .replace(
            "request_timeout_secs = 10\n",
            "request_timeout_secs = 10\nshutdown_timeout_secs = 1\n",
        )
        .replace("request_timeout_secs = 5\n", "request_timeout_secs = 60\n")
        + "\n[log]\nformat = \"json\"\nlevel = \"info\"\n";
    let path = dir.path().join("config.toml");
    std::fs::write(&path, &toml).expect("write config");
    let config = Config::parse(ConfigInput {
        toml: Some(&toml),
        env: &BTreeMap::new(),
    })
    .expect("config");

    let mut svc = Service::start(&path);
    // The container's health check: the binary asks itself.
    assert!(healthcheck(&format!("http://{}/healthz", svc.addr)).success());
    assert!(!healthcheck(&format!("http://{}/no-such-path", svc.addr)).success());
    let store = Store::open(&config.store).await.expect("store");
    let ada = canonical(
        "evt_sd_1",
        "user.onboarded",
        AT,
        "ada@example.com",
        Some(&["Marketing"]),
    );
    post(&svc.addr, &config, &ada, "req-sd-ada").await;
    wait_count(&store, "done", 1).await;

    // Domo hangs: the next job is in hand when SIGTERM comes, and cannot finish in the drain.
    sim.set_faults(Faults {
        latency_ms: 30_000,
        ..Faults::default()
    });
    let grace = canonical(
        "evt_sd_2",
        "user.onboarded",
        AT,
        "grace@example.com",
        Some(&["Finance"]),
    );
    post(&svc.addr, &config, &grace, "req-sd-grace").await;
    wait_count(&store, "running", 1).await;
    svc.signal("-TERM");
    let status = svc.wait_exit();
    assert!(status.success(), "exit {status:?}:\n{}", svc.log.join("\n"));
    let log = svc.log.join("\n");
    assert_eq!(
        store.count_events("running").await.expect("count"),
        0,
        "no lease left behind:\n{log}"
    );
    assert_eq!(
        store.count_events("queued").await.expect("count"),
        1,
        "released, not lost:\n{log}"
    );
    assert!(
        svc.log
            .iter()
            .any(|l| l.contains("released the job in hand"))
    );

    // One search for the webhook's request id finds the delivery, the job and its Domo calls.
    let ada_lines: Vec<&String> = svc
        .log
        .iter()
        .filter(|l| l.contains("req-sd-ada"))
        .collect();
    for message in ["delivery stored", "Domo call", "user synced"] {
        assert!(
            ada_lines.iter().any(|l| l.contains(message)),
            "no `{message}` line with the request id:\n{}",
            svc.log.join("\n")
        );
    }
    // Never a secret, a signature or a body.
    for secret in [SW_SECRET, "sim-secret", "v1,", "\"groups\""] {
        assert!(
            !svc.log.iter().any(|l| l.contains(secret)),
            "`{secret}` appears in the logs"
        );
    }

    // Restarted with Domo back, the released job runs; SIGINT stops it cleanly too.
    sim.set_faults(Faults::default());
    let mut again = Service::start(&path);
    wait_count(&store, "done", 2).await;
    assert!(app_groups(&sim, "grace@example.com").contains(&"Finance".to_owned()));
    again.signal("-INT");
    let status = again.wait_exit();
    assert!(
        status.success(),
        "exit {status:?}:\n{}",
        again.log.join("\n")
    );
    store.close().await;
}

fn app_groups(sim: &Simulator, email: &str) -> Vec<String> {
    let state = sim.snapshot();
    let Some(user) = state.users.iter().find(|u| u.email == email) else {
        return Vec::new();
    };
    state
        .groups
        .iter()
        .filter(|g| g.members.contains(&user.id))
        .map(|g| g.name.clone())
        .collect()
}

fn healthcheck(url: &str) -> ExitStatus {
    Command::new(env!("CARGO_BIN_EXE_domo-group-sync"))
        .args(["healthcheck", "--url", url])
        .stderr(Stdio::null())
        .status()
        .expect("healthcheck runs")
}
