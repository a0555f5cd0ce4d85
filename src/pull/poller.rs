//! The pollers: one task per pulling source on every replica, started and stopped as reloads
//! add and remove `[sources.pull]` tables. Each wakes when the shared schedule in `pull_state`
//! says something is due, takes the source's lease (only one replica gets it), checks again
//! that the run is still due (another replica may have just done it), and runs it.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::Pulls;
use super::schedule::{Due, next_due};
use crate::store::StoreError;

/// How often the supervisor looks for sources added or removed by a reload.
const SUPERVISE_EVERY: Duration = Duration::from_secs(1);
/// Bounds of a poller's sleep: it looks at the shared schedule at least this often (another
/// replica may have moved it, an operator may have asked for a pass).
const MIN_SLEEP: Duration = Duration::from_millis(100);
const MAX_SLEEP: Duration = Duration::from_secs(15);

impl Pulls {
    /// Runs a poller per pulling source until `token` is cancelled.
    pub async fn run(self: Arc<Self>, token: CancellationToken) {
        let tracker = TaskTracker::new();
        let mut running: HashMap<String, CancellationToken> = HashMap::new();
        loop {
            let names: BTreeSet<String> = self.sources().iter().map(|s| s.name.clone()).collect();
            running.retain(|name, t| {
                let keep = names.contains(name);
                if !keep {
                    tracing::info!(pull.source = %name, "the source no longer pulls: poller stopped");
                    t.cancel();
                }
                keep
            });
            for name in names {
                if running.contains_key(&name) {
                    continue;
                }
                crate::prometheus::pull_source_series(&name);
                if self
                    .live
                    .load()
                    .sources
                    .get(&name)
                    .is_some_and(|s| s.scheme == crate::config::Scheme::Graph)
                {
                    crate::prometheus::graph_source_series(&name);
                }
                let t = token.child_token();
                tracker.spawn(self.clone().poll(name.clone(), t.clone()));
                running.insert(name, t);
            }
            tokio::select! {
                () = token.cancelled() => break,
                () = tokio::time::sleep(SUPERVISE_EVERY) => {}
            }
        }
        tracker.close();
        tracker.wait().await;
    }

    async fn poll(self: Arc<Self>, source: String, token: CancellationToken) {
        tracing::debug!(pull.source = %source, "poller started");
        let waker = self.waker(&source);
        loop {
            // A run in progress is dropped on shutdown: its pages are committed one by one
            // (with their cursor), and the lease is released.
            let wait = tokio::select! {
                () = token.cancelled() => return,
                w = self.tick(&source) => w,
            };
            let wait = wait.unwrap_or_else(|e| {
                tracing::warn!(pull.source = %source, error = %e, "poller: the store failed");
                Duration::from_secs(5)
            });
            tokio::select! {
                () = token.cancelled() => return,
                () = tokio::time::sleep(wait) => {}
                () = waker.notified() => {
                    tracing::debug!(pull.source = %source, "poller woken");
                }
            }
        }
    }

    /// Runs what is due (if this replica gets the lease); returns how long to sleep.
    async fn tick(&self, source: &str) -> Result<Duration, StoreError> {
        let (cfg, connector) = match self.connector(source) {
            None => return Ok(SUPERVISE_EVERY),
            Some(Err(e)) => {
                tracing::warn!(pull.source = %source, error = %e, "the pull cannot run");
                return Ok(Duration::from_secs(60));
            }
            Some(Ok(c)) => c,
        };
        let Some(pull) = cfg.pull.clone() else {
            return Ok(SUPERVISE_EVERY);
        };
        let now = Utc::now().timestamp_millis();
        let state = match self.store.pull_state(source).await? {
            Some(s) => s,
            None => {
                self.store.ensure_pull_state(source, now).await?;
                self.store.pull_state(source).await?.unwrap_or_default()
            }
        };
        let due = Due::of(&state, &pull, now);
        let held = if due.any() {
            self.try_lease(source).await?
        } else {
            None
        };
        if due.any() && held.is_none() {
            // Another replica runs it: look again in a second.
            return Ok(Duration::from_secs(1));
        }
        if let Some(held) = held {
            // Read again under the lease: another replica may have run it meanwhile.
            let state = self.store.pull_state(source).await?.unwrap_or_default();
            let due = Due::of(&state, &pull, Utc::now().timestamp_millis());
            if due.any() {
                let report = self
                    .run_locked(&cfg, connector.as_ref(), &held, due, "schedule", &|_| {})
                    .await;
                if let Some(ev) = &report.events {
                    tracing::debug!(pull.source = %source, read = ev.read, queued = ev.queued,
                        duplicate = ev.duplicate, "pulled");
                }
            }
            drop(held);
        }
        let state = self.store.pull_state(source).await?.unwrap_or_default();
        let now = Utc::now().timestamp_millis();
        let (events, directory) = next_due(&state, &pull);
        let next = [
            (pull.interval_secs > 0).then_some(events).flatten(),
            directory,
        ]
        .into_iter()
        .flatten()
        .min();
        let wait = next.map_or(MAX_SLEEP, |t| {
            Duration::from_millis(u64::try_from(t.saturating_sub(now)).unwrap_or(0))
        });
        Ok(wait.clamp(MIN_SLEEP, MAX_SLEEP))
    }
}
