//! The background machinery over one store and Domo client: the workers, and the reconciler
//! with the pulls of every source. `serve` builds it with the application; the CLI's
//! `reconcile` builds it alone.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use crate::config::Config;
use crate::domo::DomoClient;
use crate::reconcile::Reconciler;
use crate::reload::Live;
use crate::rules::RuleSet;
use crate::store::Store;
use crate::worker::{Directory, RetryPolicy, Worker, WorkerSettings};

/// The workers and the reconciler (with the pulls of every source, whose configuration
/// `live` holds) over one store and Domo client (`serve` and the CLI's `reconcile` share this).
pub async fn build_worker(
    config: &Config,
    store: &Store,
    domo: &DomoClient,
    notify: Arc<Notify>,
    live: Arc<Live>,
) -> anyhow::Result<(Arc<Worker>, Arc<Reconciler>)> {
    let rules = Arc::new(
        RuleSet::compile(&config.rules)
            .map_err(|p| anyhow::anyhow!("invalid rules: {}", p.join("; ")))?,
    );
    let protected: BTreeSet<String> = config.reconcile.protected_groups.iter().cloned().collect();
    let directory = Arc::new(
        Directory::load(
            store.clone(),
            domo.clone(),
            rules.static_targets(),
            protected,
            Duration::from_secs(10),
        )
        .await?,
    );
    let w = &config.worker;
    let notifier = Arc::new(crate::notify::build::Notifier::new(
        &config.subscribers,
        config.server.public_url.as_ref(),
    ));
    let worker = Arc::new(Worker {
        store: store.clone(),
        domo: domo.clone(),
        rules: rules.clone(),
        directory: directory.clone(),
        settings: WorkerSettings {
            concurrency: w.concurrency,
            retry: RetryPolicy {
                max_attempts: w.max_attempts,
                base: Duration::from_millis(w.backoff_base_ms),
                max: Duration::from_secs(w.backoff_max_secs),
            },
            lease: Duration::from_secs(w.lease_secs),
            clock_offset_ms: w.test_clock_offset_ms,
            poll_interval: Duration::from_millis(w.poll_interval_ms),
            dry_run: config.domo.dry_run,
            create_missing_users: config.domo.create_missing_users,
            send_invite: config.domo.send_invite,
            new_user_role: config.domo.new_user_role.clone(),
            user_wait: Duration::from_secs(config.domo.user_wait_secs),
            trace_email: config.telemetry.include_email,
        },
        notify: notify.clone(),
        notifier: notifier.clone(),
        outage: Arc::default(),
    });
    let watch = Arc::new(crate::notify::source::SourceWatch::new(
        store.clone(),
        notifier.clone(),
        config.notify.clone(),
    ));
    let pulls = crate::pull::Pulls::new(crate::pull::PullsSettings {
        store: store.clone(),
        live,
        notify: notify.clone(),
        rules: rules.clone(),
        reconcile: config.reconcile.clone(),
        notifier: notifier.clone(),
        watch,
    });
    let reconciler = Arc::new(Reconciler {
        store: store.clone(),
        domo: domo.clone(),
        rules,
        directory,
        settings: config.reconcile.clone(),
        notify,
        pulls: Some(pulls),
        notifier,
    });
    Ok((worker, reconciler))
}
