//! What the soak watches and does beside the traffic: each replica's resident memory, hand
//! edits in Domo (drift for the periodic reconcile to repair), and the store's counts.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dgs_sims::domo::{RequestRecord, SimState};
use sqlx::postgres::PgPool;

use crate::resilience::MANAGED;

/// A replica's resident set size (`VmRSS`), in kB.
pub fn rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Samples every replica's RSS every `every` until `stop`: (time since start, kB per replica).
pub type Samples = Arc<Mutex<Vec<(Duration, Vec<u64>)>>>;

pub fn sample_rss(pids: Vec<u32>, every: Duration, stop: Arc<AtomicBool>) -> Samples {
    let samples: Samples = Arc::default();
    let out = samples.clone();
    let started = Instant::now();
    tokio::spawn(async move {
        while !stop.load(Ordering::SeqCst) {
            let kb: Vec<u64> = pids.iter().map(|p| rss_kb(*p).unwrap_or(0)).collect();
            out.lock().expect("lock").push((started.elapsed(), kb));
            tokio::time::sleep(every).await;
        }
    });
    samples
}

/// Per replica, the median RSS of the samples taken in `[from, to)`.
pub fn median_kb(samples: &[(Duration, Vec<u64>)], from: Duration, to: Duration) -> Vec<u64> {
    let inside: Vec<&Vec<u64>> = samples
        .iter()
        .filter(|(t, _)| *t >= from && *t < to)
        .map(|(_, kb)| kb)
        .collect();
    let replicas = inside.first().map_or(0, |k| k.len());
    (0..replicas)
        .map(|r| {
            let mut v: Vec<u64> = inside.iter().map(|k| k[r]).collect();
            v.sort_unstable();
            v[v.len() / 2]
        })
        .collect()
}

/// The Domo simulator's state, read over HTTP.
pub async fn sim_state(client: &reqwest::Client, sim: &str) -> SimState {
    client
        .get(format!("{sim}/_sim/state"))
        .send()
        .await
        .expect("sim state")
        .json()
        .await
        .expect("sim state json")
}

/// The faults the simulator injected, counted from its request log: (requests, 429, 429 with
/// `Retry-After`, 5xx, dropped, writes applied and their answer dropped).
pub async fn injected(client: &reqwest::Client, sim: &str) -> [usize; 6] {
    let log: Vec<RequestRecord> = client
        .get(format!("{sim}/_sim/requests"))
        .send()
        .await
        .expect("sim requests")
        .json()
        .await
        .expect("sim requests json");
    let count = |f: &dyn Fn(&RequestRecord) -> bool| log.iter().filter(|r| f(r)).count();
    [
        log.len(),
        count(&|r| r.status == 429),
        count(&|r| r.retry_after_secs.is_some()),
        count(&|r| r.status >= 500),
        count(&|r| r.status == 0 && r.applied_status.is_none()),
        count(&|r| r.applied_status.is_some()),
    ]
}

/// An admin removes one generated user from one managed group by hand in Domo: drift the
/// service does not hear about. Returns what was removed, if anyone could be.
pub async fn hand_remove(
    client: &reqwest::Client,
    sim: &str,
    rng: &mut fastrand::Rng,
) -> Option<(String, String)> {
    let state = sim_state(client, sim).await;
    let users: BTreeSet<u64> = state
        .users
        .iter()
        .filter(|u| u.email.starts_with("user"))
        .map(|u| u.id)
        .collect();
    let candidates: Vec<(u64, String, u64)> = state
        .groups
        .iter()
        .filter(|g| MANAGED.contains(&g.name.as_str()))
        .flat_map(|g| {
            g.members
                .iter()
                .filter(|m| users.contains(m))
                .map(|m| (g.id, g.name.clone(), *m))
        })
        .collect();
    if candidates.is_empty() {
        return None;
    }
    let (gid, name, uid) = candidates[rng.usize(..candidates.len())].clone();
    let resp = client
        .delete(format!("{sim}/_sim/groups/{gid}/users/{uid}"))
        .send()
        .await
        .expect("hand edit");
    assert_eq!(resp.status(), 204, "hand edit refused");
    let email = state
        .users
        .iter()
        .find(|u| u.id == uid)
        .map(|u| u.email.clone())?;
    Some((email, name))
}

/// Events still queued or running.
pub async fn open_events(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM events WHERE status IN ('queued', 'running')")
        .fetch_one(pool)
        .await
        .expect("count open events")
}

/// Waits until no event is queued or running, or panics after `limit`.
pub async fn drain(pool: &PgPool, limit: Duration) {
    let deadline = Instant::now() + limit;
    loop {
        let open = open_events(pool).await;
        if open == 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{open} events still open after {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Waits for a reconcile run that started after `after_ms` and applied its plan (`queued`),
/// or panics after `limit`; returns its id.
pub async fn applied_reconcile_after(pool: &PgPool, after_ms: i64, limit: Duration) -> i64 {
    let deadline = Instant::now() + limit;
    loop {
        let run: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM reconcile_runs WHERE started_ms > $1 AND status = 'queued' \
             ORDER BY id LIMIT 1",
        )
        .bind(after_ms)
        .fetch_optional(pool)
        .await
        .expect("reconcile runs");
        if let Some(id) = run {
            return id;
        }
        assert!(
            Instant::now() < deadline,
            "no reconcile applied after the last hand edit"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
