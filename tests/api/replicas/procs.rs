//! The child processes of the replica test: started with their output in a log file, all
//! killed (SIGKILL) and reaped on every exit path.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The binary under test. `TEST_SERVICE_BIN` overrides it (when a target directory is shared by
/// several checkouts, the uplifted binary may be another checkout's).
pub fn bin() -> String {
    std::env::var("TEST_SERVICE_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_domo-group-sync").to_owned())
}

/// Child processes, all killed (SIGKILL) and reaped on every exit path.
#[derive(Default)]
pub struct Procs(Vec<Child>);

impl Procs {
    pub fn spawn(&mut self, args: &[&str], log: &std::path::Path) -> u32 {
        let log = std::fs::File::create(log).expect("log file");
        let child = Command::new(bin())
            .args(args)
            .env("RUST_LOG", "warn")
            // The service reads every DGS_* variable as configuration: none must leak in.
            .env_remove("DGS_CONFIG")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start a child process");
        let pid = child.id();
        self.0.push(child);
        pid
    }

    /// Whether the child has exited (a bad config, a crash).
    pub fn exited(&mut self, pid: u32) -> bool {
        self.0
            .iter_mut()
            .find(|c| c.id() == pid)
            .is_none_or(|c| !matches!(c.try_wait(), Ok(None)))
    }

    /// `kill -KILL`: no shutdown, no drain, leases left behind.
    pub fn kill(&mut self, pid: u32) {
        if let Some(c) = self.0.iter_mut().find(|c| c.id() == pid) {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Procs {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

pub async fn wait_ok(
    client: &reqwest::Client,
    url: &str,
    procs: &mut Procs,
    pid: u32,
    logs: &std::path::Path,
) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = client.get(url).send().await
            && r.status().is_success()
        {
            return;
        }
        if procs.exited(pid) || Instant::now() > deadline {
            let log = std::fs::read_to_string(logs).unwrap_or_default();
            panic!("{url} did not come up; its log:\n{log}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
