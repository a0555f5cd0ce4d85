//! The subcommands' work: `serve`, `sign`, `check-config`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};

use crate::app::{Application, DemoDomo};
use crate::config::{Config, Scheme, Secret, SourceConfig};

/// Starts a stand-in Domo on the address given, for the demo (the binary passes the
/// simulator's; the service's modules never import it).
pub type DemoDomoStarter =
    fn(
        std::net::SocketAddr,
    ) -> std::pin::Pin<Box<dyn Future<Output = anyhow::Result<DemoDomo>> + Send>>;

/// Runs the service until Ctrl-C or SIGTERM. With no Domo credentials configured it runs the
/// stand-in Domo `start_demo_domo` starts on `domo.sim_listen`.
pub async fn serve(
    config_path: Option<&Path>,
    start_demo_domo: Option<DemoDomoStarter>,
) -> anyhow::Result<()> {
    let config = Config::load(config_path).map_err(|e| anyhow::anyhow!("{e}"))?;
    crate::telemetry::init(config.log.format, &config.log.level);
    let demo_domo = match start_demo_domo {
        Some(start) if config.domo.uses_simulator() => Some(start(config.domo.sim_listen).await?),
        _ => None,
    };
    let app = Application::build_with_demo(config, demo_domo).await?;
    let addr = app.local_addr()?;
    if let Some((name, secret)) = &app.demo {
        eprintln!(
            "domo-group-sync is running a demo on http://{addr}\n  \
             webhook source `{name}` (Standard Webhooks, canonical events) at POST http://{addr}/webhooks/{name}\n  \
             its signing secret: {secret}\n  \
             sign an event:  domo-group-sync sign --scheme standard-webhooks --secret '{secret}' --body event.json --url http://{addr}/webhooks/{name}",
            secret = secret.expose()
        );
    }
    if let Some(token) = &app.demo_token {
        eprintln!(
            "  operators' console: http://{addr}/console\n  \
             demo admin token (sign in with it; also a bearer token for /api/v1): {}",
            token.expose()
        );
    }
    if let Some(sim) = app.sim_addr() {
        eprintln!("  built-in Domo simulator: http://{sim} (state: http://{sim}/_sim/state)");
    }
    tracing::info!(%addr, console = %format!("http://{addr}/console"), "listening");
    let result = app.run_until_stopped(shutdown_signal()).await;
    // The spans of the last moments (the batch exporter sends every few seconds).
    let _ = tokio::task::spawn_blocking(crate::telemetry::flush).await;
    result
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

/// `check-config`: exit 0 and a summary, or exit 1 and every problem.
pub fn check_config(path: Option<&Path>) -> ExitCode {
    match Config::load(path) {
        Ok(c) => {
            println!(
                "configuration is valid: {} source(s), {} rule(s), {} API token(s), store {}",
                c.sources.len(),
                c.rules.len(),
                c.api.tokens.len(),
                if c.store.url.expose().starts_with("sqlite") {
                    "sqlite"
                } else {
                    "postgres"
                },
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprint!("{e}");
            ExitCode::FAILURE
        }
    }
}

/// Arguments of `sign`.
#[derive(Debug, clap::Args)]
pub struct SignArgs {
    /// The body to sign (a file; `-` reads standard input).
    #[arg(long)]
    pub body: PathBuf,
    /// The scheme (standard-webhooks, svix, github, stripe, workos, bamboohr, okta). For the
    /// generic `hmac` scheme use --config and --source.
    #[arg(long, value_parser = parse_scheme)]
    pub scheme: Option<Scheme>,
    /// The secret: inline, `env:NAME` or `file:PATH`.
    #[arg(long)]
    pub secret: Option<String>,
    /// Take scheme, profile and first secret from this configured source…
    #[arg(long, requires = "config")]
    pub source: Option<String>,
    /// …of this configuration file.
    #[arg(long, env = "DGS_CONFIG")]
    pub config: Option<PathBuf>,
    /// The message id, for schemes that sign one (default: a fresh one).
    #[arg(long)]
    pub id: Option<String>,
    /// Unix seconds to sign at (default: now).
    #[arg(long)]
    pub timestamp: Option<i64>,
    /// Print a complete curl command posting the body to this URL.
    #[arg(long)]
    pub url: Option<String>,
}

fn parse_scheme(s: &str) -> Result<Scheme, String> {
    serde_json::from_value(serde_json::Value::String(s.to_owned()))
        .map_err(|_| format!("unknown scheme `{s}`"))
}

/// `sign`: prints `Name: value` header lines, or a curl command with `--url`.
pub fn sign(args: &SignArgs) -> anyhow::Result<()> {
    let body = if args.body.as_os_str() == "-" {
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut b)?;
        b
    } else {
        std::fs::read(&args.body).with_context(|| format!("cannot read {}", args.body.display()))?
    };
    let (source, secret) = match (&args.source, &args.scheme) {
        (Some(name), _) => {
            let config =
                Config::load(args.config.as_deref()).map_err(|e| anyhow::anyhow!("{e}"))?;
            let src = config
                .sources
                .into_iter()
                .find(|s| &s.name == name)
                .with_context(|| format!("no source named `{name}` in the configuration"))?;
            let secret = match &args.secret {
                Some(s) => resolve_secret(s)?,
                None => src
                    .secrets
                    .first()
                    .map(|s| s.value.clone())
                    .context("the source has no secret")?,
            };
            (src, secret)
        }
        (None, Some(scheme)) => {
            let secret = resolve_secret(
                args.secret
                    .as_deref()
                    .context("--secret is required with --scheme")?,
            )?;
            if *scheme == Scheme::Hmac {
                bail!("the hmac scheme needs its profile: use --config and --source");
            }
            let src = SourceConfig {
                name: "cli".into(),
                format: crate::config::Format::Canonical,
                scheme: *scheme,
                secrets: vec![secret.clone().into()],
                tolerance_secs: crate::signature::default_tolerance_secs(*scheme),
                header: "Authorization".into(),
                hmac: None,
                allow_ips: Vec::new(),
                pull: None,
            };
            (src, secret)
        }
        (None, None) => bail!("give --scheme and --secret, or --config and --source"),
    };
    crate::signature::check_signing_secret(source.scheme, &secret)
        .map_err(|e| anyhow::anyhow!("secret: {e}"))?;
    let now = args
        .timestamp
        .unwrap_or_else(|| chrono::Utc::now().timestamp());
    let id = args
        .id
        .clone()
        .unwrap_or_else(|| format!("msg_{}", uuid::Uuid::new_v4().simple()));
    let headers = crate::signature::sign(&source, &secret, &body, now, &id)
        .map_err(|e| anyhow::anyhow!("cannot sign: {e}"))?;
    match &args.url {
        None => {
            for (name, value) in headers {
                println!("{name}: {value}");
            }
        }
        Some(url) => {
            let mut cmd = format!("curl -sS -X POST {}", shell_quote(url));
            cmd.push_str(" -H 'Content-Type: application/json'");
            for (name, value) in headers {
                cmd.push_str(&format!(" -H {}", shell_quote(&format!("{name}: {value}"))));
            }
            cmd.push_str(&format!(
                " --data-binary @{}",
                shell_quote(&args.body.display().to_string())
            ));
            println!("{cmd}");
        }
    }
    Ok(())
}

fn resolve_secret(s: &str) -> anyhow::Result<Secret> {
    if let Some(name) = s.strip_prefix("env:") {
        Ok(Secret::new(std::env::var(name).with_context(|| {
            format!("environment variable {name} is not set")
        })?))
    } else if let Some(path) = s.strip_prefix("file:") {
        let v = std::fs::read_to_string(path).with_context(|| format!("cannot read {path}"))?;
        Ok(Secret::new(v.trim_end_matches(['\n', '\r']).to_owned()))
    } else {
        Ok(Secret::new(s.to_owned()))
    }
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// Arguments of `healthcheck`.
#[derive(Debug, clap::Args)]
pub struct HealthcheckArgs {
    /// The URL to check (plain http). Default: `/healthz` on the configured listen address.
    #[arg(long)]
    pub url: Option<String>,
    /// The configuration file whose `server.listen` is checked.
    #[arg(long, env = "DGS_CONFIG")]
    pub config: Option<PathBuf>,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 3)]
    pub timeout_secs: u64,
}

/// `healthcheck`: one GET with a tiny std-only HTTP/1.1 client (the container image has no
/// curl); 200 exits 0, anything else exits 1 with the reason on stderr.
pub fn healthcheck(args: &HealthcheckArgs) -> ExitCode {
    let url = match &args.url {
        Some(u) => u.clone(),
        None => {
            // Only the listen address matters; a config that fails to load (a secret file not
            // readable here) still gives the address from the environment or the default.
            let listen = Config::load(args.config.as_deref()).map_or_else(
                |_| {
                    std::env::var("DGS_SERVER__LISTEN")
                        .ok()
                        .and_then(|s| s.parse().ok())
                        .unwrap_or_else(|| std::net::SocketAddr::from(([127, 0, 0, 1], 8080)))
                },
                |c| c.server.listen,
            );
            let host = if listen.ip().is_unspecified() {
                std::net::SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), listen.port())
            } else {
                listen
            };
            format!("http://{host}/healthz")
        }
    };
    match http_get_status(&url, std::time::Duration::from_secs(args.timeout_secs)) {
        Ok(200) => ExitCode::SUCCESS,
        Ok(status) => {
            eprintln!("unhealthy: {url} answered {status}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("unhealthy: {url}: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn http_get_status(url: &str, timeout: std::time::Duration) -> anyhow::Result<u16> {
    use std::io::{Read, Write};
    use std::net::ToSocketAddrs;
    let url = url::Url::parse(url).context("not a URL")?;
    if url.scheme() != "http" {
        bail!("only http URLs can be checked");
    }
    let host = url.host_str().context("no host in the URL")?;
    let port = url.port_or_known_default().unwrap_or(80);
    let addr = (host, port)
        .to_socket_addrs()?
        .next()
        .context("the host does not resolve")?;
    let mut stream = std::net::TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let path = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    };
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: domo-group-sync-healthcheck\r\nConnection: close\r\n\r\n"
    )?;
    let mut head = [0u8; 64];
    let n = stream.read(&mut head)?;
    let line = std::str::from_utf8(&head[..n]).unwrap_or("");
    // "HTTP/1.1 200 OK"
    line.split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("not an HTTP answer")
}
