//! `domo-group-sync pull --source NAME [--full]`: one pull from the terminal, with progress and
//! a summary. It takes the source's lease like the service's poller (so the two never run at
//! once) and queues what it finds in the store; the service's workers apply it.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use tokio::sync::Notify;

use super::connector::Step;
use super::{PullReport, Pulls, PullsSettings};
use crate::config::Config;
use crate::reload::{Live, Snapshot};
use crate::rules::RuleSet;
use crate::store::Store;

/// Runs one pull of `source`. Exit 0 when it succeeded, 1 when it failed.
pub async fn run(config_path: Option<&Path>, source: &str, full: bool) -> anyhow::Result<ExitCode> {
    let config = Config::load(config_path).map_err(|e| anyhow::anyhow!("{e}"))?;
    let store = Store::open(&config.store)
        .await
        .context("cannot open the store")?;
    let rules = Arc::new(
        RuleSet::compile(&config.rules)
            .map_err(|p| anyhow::anyhow!("invalid rules: {}", p.join("; ")))?,
    );
    // What the run finds is written with its notices; the running service delivers them.
    let notifier = Arc::new(crate::notify::build::Notifier::new(
        &config.subscribers,
        config.server.public_url.as_ref(),
    ));
    let pulls = Pulls::new(PullsSettings {
        store: store.clone(),
        live: Arc::new(Live::new(Snapshot::from_config(&config))),
        notify: Arc::new(Notify::new()),
        rules,
        reconcile: config.reconcile.clone(),
        watch: Arc::new(crate::notify::source::SourceWatch::new(
            store.clone(),
            notifier.clone(),
            config.notify.clone(),
        )),
        notifier,
    });
    eprintln!(
        "pulling `{source}`{}…",
        if full {
            " (events, then a directory pass)"
        } else {
            ""
        }
    );
    let result = pulls
        .run_now(source, full, "cli", &|s| print_step(&s))
        .await;
    store.close().await;
    let report = result.map_err(|e| anyhow::anyhow!("{e}"))?;
    print_report(&report);
    Ok(if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// One progress line on stderr.
pub fn print_step(step: &Step) {
    match step {
        Step::Page { what, items } => eprintln!("  {what}: a page of {items}"),
        Step::Waiting { secs, why } => eprintln!("  waiting {secs} s: {why}"),
    }
}

fn print_report(r: &PullReport) {
    println!(
        "pull of `{}`: {}",
        r.source,
        if r.ok { "done" } else { "FAILED" }
    );
    if let Some(e) = &r.error {
        println!("  error: {e}");
    }
    if let Some(ev) = &r.events {
        println!(
            "  events: {} read in {} page(s): {} queued, {} already stored, {} ignored{}",
            ev.read,
            ev.pages,
            ev.queued,
            ev.duplicate,
            ev.ignored,
            ev.newest
                .as_deref()
                .map_or(String::new(), |t| format!("; newest {t}"))
        );
    }
    if let Some(run) = &r.directory {
        println!(
            "  directory pass: reconcile run {} ({})",
            run.id, run.status
        );
        for d in run.plan.iter().flat_map(|p| &p.directory) {
            println!("    {}", d.summary());
        }
        if let Some(h) = run.plan.as_ref().and_then(|p| p.held.as_ref()) {
            crate::reconcile::cli::print_held("    ", h, run.id);
        }
    }
    for w in &r.warnings {
        println!("  warning: {w}");
    }
    if r.events.as_ref().is_some_and(|e| e.queued > 0)
        || r.directory.as_ref().is_some_and(|d| d.status == "queued")
    {
        println!("  what was queued is applied by the service's workers");
    }
}
