//! The real binary as a separate process: started with the harness config against a given
//! simulator, killed with SIGKILL when dropped (crash, secrets, shutdown and replica tests).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use dgs_sims::domo::{SeedUser, SimConfig, Simulator};
use domo_group_sync::config::{Config, ConfigInput, SourceConfig};

use crate::helpers::{Options, config_toml};

/// The real binary running `serve`, killed (SIGKILL) when dropped.
pub struct Binary {
    pub child: std::process::Child,
    pub base: String,
    pub config: Config,
}

impl Binary {
    /// The configured source `name` (its secrets sign the test's requests).
    pub fn source(&self, name: &str) -> SourceConfig {
        source_of(&self.config, name)
    }
}

/// The source `name` of `config`.
pub fn source_of(config: &Config, name: &str) -> SourceConfig {
    config
        .sources
        .iter()
        .find(|s| s.name == name)
        .cloned()
        .unwrap_or_else(|| panic!("no source `{name}` in the test config"))
}

/// A Domo whose directory is empty, for `start_domo`.
pub const NO_USERS: [&str; 0] = [];

/// Starts a Domo simulator on 127.0.0.1 whose directory holds `emails` (each named after the
/// part before `@`); it serves until the test ends.
pub async fn start_domo<E: Into<String>>(
    emails: impl IntoIterator<Item = E>,
) -> (Simulator, SocketAddr) {
    let sim = Simulator::new(SimConfig {
        users: emails
            .into_iter()
            .map(|e| {
                let email: String = e.into();
                SeedUser {
                    name: email.split('@').next().unwrap_or("user").to_owned(),
                    email,
                    role: "Participant".to_owned(),
                }
            })
            .collect(),
        ..SimConfig::default()
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the simulator");
    let addr = listener.local_addr().expect("the simulator's address");
    tokio::spawn(sim.clone().serve(listener, std::future::pending()));
    (sim, addr)
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free TCP port on 127.0.0.1 (bound, read, released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Starts `domo-group-sync serve` with the harness config (on a fixed free port, against the
/// simulator at `sim`), with `RUST_LOG=log_level`; stderr goes to `stderr_to` when given.
/// Waits until `/healthz` answers.
pub async fn spawn_binary(
    dir: &std::path::Path,
    sim: SocketAddr,
    o: &Options,
    extra_toml: &str,
    log_level: &str,
    stderr_to: Option<std::path::PathBuf>,
) -> Binary {
    spawn_binary_full(&[], &[], dir, sim, o, extra_toml, log_level, stderr_to).await
}

/// `spawn_binary` with extra environment variables (e.g. `OTEL_*`).
pub async fn spawn_binary_env(
    dir: &std::path::Path,
    sim: SocketAddr,
    o: &Options,
    extra_toml: &str,
    log_level: &str,
    stderr_to: Option<std::path::PathBuf>,
    envs: &[(&str, &str)],
) -> Binary {
    spawn_binary_full(&[], envs, dir, sim, o, extra_toml, log_level, stderr_to).await
}

/// `spawn_binary` through a launcher: `launcher` is a command line that runs the program and
/// arguments appended to it (e.g. `sh -c 'trap "" XFSZ; exec "$0" "$@"'`, whose ignored
/// signal the service inherits). The launcher must `exec`, so that the child is the service.
pub async fn spawn_binary_via(
    launcher: &[&str],
    dir: &std::path::Path,
    sim: SocketAddr,
    o: &Options,
    extra_toml: &str,
    log_level: &str,
    stderr_to: Option<std::path::PathBuf>,
) -> Binary {
    spawn_binary_full(launcher, &[], dir, sim, o, extra_toml, log_level, stderr_to).await
}

#[expect(
    clippy::too_many_arguments,
    reason = "the two variants above name the common cases"
)]
async fn spawn_binary_full(
    launcher: &[&str],
    envs: &[(&str, &str)],
    dir: &std::path::Path,
    sim: SocketAddr,
    o: &Options,
    extra_toml: &str,
    log_level: &str,
    stderr_to: Option<std::path::PathBuf>,
) -> Binary {
    let port = free_port();
    let toml = config_toml(dir, sim, o).replace(
        "listen = \"127.0.0.1:0\"",
        &format!("listen = \"127.0.0.1:{port}\""),
    ) + extra_toml;
    let path = dir.join("config.toml");
    std::fs::write(&path, &toml).expect("write config");
    let env = BTreeMap::new();
    let config = Config::parse(ConfigInput {
        toml: Some(&toml),
        env: &env,
    })
    .expect("valid config");
    let stderr = match &stderr_to {
        Some(p) => std::process::Stdio::from(std::fs::File::create(p).expect("stderr file")),
        None => std::process::Stdio::null(),
    };
    let program = env!("CARGO_BIN_EXE_domo-group-sync");
    let mut cmd = match launcher.split_first() {
        Some((first, rest)) => {
            let mut c = std::process::Command::new(first);
            c.args(rest).arg(program);
            c
        }
        None => std::process::Command::new(program),
    };
    let child = cmd
        .args(["serve", "--config"])
        .arg(&path)
        .env("RUST_LOG", log_level)
        .envs(envs.iter().copied())
        .stdout(std::process::Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("start the binary");
    let bin = Binary {
        child,
        base: format!("http://127.0.0.1:{port}"),
        config,
    };
    let client = reqwest::Client::new();
    for _ in 0..400 {
        if client
            .get(format!("{}/healthz", bin.base))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            return bin;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the service did not start");
}
