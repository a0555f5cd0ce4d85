//! The real binary as a separate process: started with the harness config against a given
//! simulator, killed with SIGKILL when dropped (crash, secrets, shutdown and replica tests).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use domo_group_sync::config::{Config, ConfigInput};

use crate::helpers::{Options, config_toml};

/// The real binary running `serve`, killed (SIGKILL) when dropped.
pub struct Binary {
    pub child: std::process::Child,
    pub base: String,
    pub config: Config,
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
