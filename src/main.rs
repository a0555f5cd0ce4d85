//! The `domo-group-sync` binary: parse the command line and hand off.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use domo_group_sync::app::DemoDomo;
use domo_group_sync::cli;
use domo_group_sync::config::Secret;

/// Keeps Domo groups in step with an identity provider or HR system.
#[derive(Parser)]
#[command(name = "domo-group-sync", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the service. Without a config file it runs a demo: SQLite in ./domo-group-sync.db,
    /// a `demo` source whose secret it prints, and a built-in Domo simulator.
    Serve {
        /// The TOML configuration file.
        #[arg(long, env = "DGS_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Run a local simulator of the Domo API (for tests and trying the service).
    DomoSim(dgs_sims::domo::SimArgs),
    /// Run a local simulator of Okta's System Log, users and groups APIs.
    OktaSim(dgs_sims::okta::OktaArgs),
    /// Run a local simulator of Microsoft Entra ID (Graph delta queries, client credentials).
    EntraSim(dgs_sims::entra::EntraArgs),
    /// Run a local simulator of the WorkOS Events API and Directory Sync listings.
    WorkosSim(dgs_sims::workos::WorkosArgs),
    /// Run a local simulator of BambooHR's changed-employees, directory and employee APIs.
    BamboohrSim(dgs_sims::bamboohr::BambooArgs),
    /// Print the headers a sender would send for a body, to test a source with curl.
    Sign(cli::SignArgs),
    /// Print the OpenAPI document.
    Openapi,
    /// Exit 0 when the service answers 200 on /healthz (or --url): for a container HEALTHCHECK.
    Healthcheck(cli::HealthcheckArgs),
    /// Load and validate a configuration, printing every problem.
    CheckConfig {
        /// The TOML configuration file.
        #[arg(long, env = "DGS_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Pull a source's missed events from its provider now (and with `--full`, list its
    /// directory), printing progress and a summary; the service's workers apply what is queued.
    Pull {
        /// The TOML configuration file.
        #[arg(long, env = "DGS_CONFIG")]
        config: Option<PathBuf>,
        /// The source (a `[[sources]]` entry with a `[sources.pull]` table).
        #[arg(long)]
        source: String,
        /// Also run a directory pass (its removals pass the reconcile caps).
        #[arg(long)]
        full: bool,
    },
    /// Compare Domo's managed groups with the desired membership and print the plan; with
    /// `--apply`, repair the drift (a plan over the removal cap is held for approval).
    Reconcile {
        /// The TOML configuration file.
        #[arg(long, env = "DGS_CONFIG")]
        config: Option<PathBuf>,
        /// Apply the plan (default: a dry run).
        #[arg(long)]
        apply: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve { config } => cli::serve(config.as_deref(), Some(start_demo_domo)).await,
            Command::DomoSim(args) => dgs_sims::domo::run(args).await,
            Command::OktaSim(args) => dgs_sims::okta::run(args).await,
            Command::EntraSim(args) => dgs_sims::entra::run(args).await,
            Command::WorkosSim(args) => dgs_sims::workos::run(args).await,
            Command::BamboohrSim(args) => dgs_sims::bamboohr::run(args).await,
            Command::Sign(args) => cli::sign(&args),
            Command::Openapi => {
                let doc = domo_group_sync::api::openapi()
                    .to_pretty_json()
                    .context("cannot render the document")?;
                println!("{doc}");
                Ok(())
            }
            Command::CheckConfig { config } => return Ok(cli::check_config(config.as_deref())),
            Command::Healthcheck(args) => return Ok(cli::healthcheck(&args)),
            Command::Pull {
                config,
                source,
                full,
            } => {
                domo_group_sync::telemetry::init(
                    domo_group_sync::config::LogFormat::Compact,
                    "warn",
                );
                return domo_group_sync::pull::cli::run(config.as_deref(), &source, full).await;
            }
            Command::Reconcile { config, apply } => {
                domo_group_sync::telemetry::init(
                    domo_group_sync::config::LogFormat::Compact,
                    "warn",
                );
                return domo_group_sync::reconcile::cli::run(config.as_deref(), apply).await;
            }
        }
        .map(|()| ExitCode::SUCCESS)
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The demo's Domo: the simulator with three users, on `listen`.
fn start_demo_domo(
    listen: std::net::SocketAddr,
) -> std::pin::Pin<Box<dyn Future<Output = anyhow::Result<DemoDomo>> + Send>> {
    Box::pin(async move {
        let demo = dgs_sims::domo::Demo::bind(listen).await?;
        let (client_id, client_secret) = demo.credentials();
        Ok(DemoDomo {
            addr: demo.addr,
            client_id: Secret::new(client_id),
            client_secret: Secret::new(client_secret),
            serve: Box::new(move |stop| Box::pin(demo.serve(stop.cancelled_owned()))),
        })
    })
}
