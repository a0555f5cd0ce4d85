//! Start-to-ready probe: starts a command (the service), polls a readiness URL every
//! millisecond, and prints `{"pid":…,"ready_ms":…}` once it answers 200. The command keeps
//! running (its output goes to `--log`); the caller stops it by pid. On timeout the command
//! is killed and the probe fails.
//!
//! ```sh
//! cargo run --release --example ready -- --url http://127.0.0.1:8080/readyz --log serve.log \
//!     -- target/release/domo-group-sync serve --config bench.toml
//! ```

use std::fs::File;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;

#[derive(Parser, Debug)]
#[command(about = "Time from process start to readiness")]
struct Args {
    /// The readiness URL.
    #[arg(long)]
    url: String,
    /// Where the command's stdout and stderr go.
    #[arg(long)]
    log: String,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 30)]
    timeout_secs: u64,
    /// The command and its arguments.
    #[arg(last = true, required = true)]
    command: Vec<String>,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(500))
        .build()?;
    let log = File::create(&args.log).context("log file")?;
    let (program, rest) = args.command.split_first().context("no command")?;
    let started = Instant::now();
    let mut child = Command::new(program)
        .args(rest)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .with_context(|| format!("cannot start {program}"))?;
    let deadline = started + Duration::from_secs(args.timeout_secs);
    loop {
        if let Ok(r) = client.get(&args.url).send().await
            && r.status().is_success()
        {
            break;
        }
        if let Some(status) = child.try_wait()? {
            anyhow::bail!("{program} exited before ready: {status}");
        }
        if Instant::now() > deadline {
            child.kill().ok();
            child.wait().ok();
            anyhow::bail!("not ready after {} s", args.timeout_secs);
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    println!(r#"{{"pid":{},"ready_ms":{ms:.1}}}"#, child.id());
    Ok(())
}
