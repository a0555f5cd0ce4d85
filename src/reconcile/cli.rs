//! `domo-group-sync reconcile --config … [--apply]`: a run from the terminal, with progress
//! and a summary. A dry run unless `--apply`; with it, the repairs are queued and this process
//! works the queue until nothing is due (a running service's workers may take some too).

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use tokio::sync::Notify;

use super::{Progress, RunReport};
use crate::config::Config;
use crate::domo::{ClientSettings, DomoClient};
use crate::store::Store;

/// Runs one reconcile. Exit 0 when planned/queued/held, 1 when the run failed.
pub async fn run(config_path: Option<&Path>, apply: bool) -> anyhow::Result<ExitCode> {
    let config = Config::load(config_path).map_err(|e| anyhow::anyhow!("{e}"))?;
    let (Some(id), Some(secret)) = (&config.domo.client_id, &config.domo.client_secret) else {
        anyhow::bail!(
            "reconcile needs Domo credentials: set domo.client_id and domo.client_secret"
        );
    };
    let store = Store::open(&config.store)
        .await
        .context("cannot open the store")?;
    let domo = DomoClient::new(ClientSettings::from_config(
        &config.domo,
        id.clone(),
        secret.clone(),
    ))
    .map_err(|e| anyhow::anyhow!("cannot build the Domo client: {e}"))?;
    let live = Arc::new(crate::reload::Live::new(
        crate::reload::Snapshot::from_config(&config),
    ));
    let (worker, reconciler) =
        crate::app::build_worker(&config, &store, &domo, Arc::new(Notify::new()), live).await?;
    let progress = |p: Progress| match p {
        Progress::Started { run } => eprintln!("reconcile run {run}: reading Domo…"),
        Progress::GroupRead {
            name,
            members,
            done,
            of,
        } => {
            eprintln!("  [{done}/{of}] {name}: {members} member(s)");
        }
        Progress::Planned { run } => eprintln!("reconcile run {run}: planned"),
        Progress::Pull(step) => crate::pull::cli::print_step(&step),
    };
    let mut report = reconciler
        .run("cli", apply, &progress)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if report.status == "queued" {
        eprintln!("applying the repairs…");
        worker.run_until_idle().await?;
        if let Some(r) = reconciler.report(report.id).await? {
            report = r;
        }
    }
    print_summary(&report);
    store.close().await;
    Ok(if report.status == "failed" {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn print_summary(r: &RunReport) {
    println!(
        "run {} ({}): {}",
        r.id,
        if r.apply { "apply" } else { "dry run" },
        r.status
    );
    if let Some(e) = &r.error {
        println!("  error: {e}");
    }
    let Some(p) = &r.plan else { return };
    let t = &p.totals;
    println!(
        "  {} group(s) read, {} user(s) seen: {} to create, {} to add, {} to remove, {} unknown member(s) ({}), {} user(s) missing in Domo",
        t.groups,
        t.users_seen,
        t.create,
        t.add,
        t.remove,
        t.unknown,
        if p.remove_unknown { "removed" } else { "kept" },
        t.missing_in_domo
    );
    if t.skipped > 0 {
        println!(
            "  {} membership(s) of the Domo API client's own user (id {}) left alone",
            t.skipped,
            p.api_user_id.map_or("?".to_owned(), |id| id.to_string())
        );
    }
    for g in p
        .groups
        .iter()
        .filter(|g| !(g.add.is_empty() && g.remove.is_empty() && g.unknown.is_empty()))
    {
        println!(
            "  {:<30} members {:>5}  +{} -{} unknown {}",
            g.name,
            g.members,
            g.add.len(),
            g.remove.len(),
            g.unknown.len()
        );
    }
    for d in &p.directory {
        println!("  directory of `{}`: {}", d.source, d.summary());
    }
    if let Some(h) = &p.held {
        print_held("  ", h, r.id);
    }
    if r.status == "queued" {
        let j = &r.jobs;
        println!(
            "  repairs: {} done, {} dead, {} still queued, {} running",
            j.done, j.dead, j.queued, j.running
        );
        for f in &j.failures {
            println!("    {}: {}", f.job, f.error.as_deref().unwrap_or("?"));
        }
    }
}

/// The lines of a held plan: why, and how to approve it.
pub(crate) fn print_held(indent: &str, reason: &str, run: i64) {
    println!(
        "{indent}HELD for approval: {reason}\n{indent}approve with POST /api/v1/reconcile/runs/{run}/approve"
    );
}
