//! PostgreSQL stopped for 10 s under a steady signed load, then started again, with the
//! service (the real binary, reconciling every 3 s) running throughout on a private cluster of
//! its own. PostgreSQL
//! pass only (`TEST_STORE_BACKEND=postgres`); it needs the server binaries (`initdb`,
//! `pg_ctl`), else it is skipped loudly, or fails in CI.

use std::time::{Duration, Instant};

use dgs_sims::domo::{Faults, Simulator};

use super::cluster::Cluster;
use super::*;
use crate::helpers::{Backend, Options, backend, spawn_binary, start_domo};

/// How long the store stays away.
const OUTAGE: Duration = Duration::from_secs(10);

/// Skips loudly (or fails in CI) when the machine cannot run the test.
pub fn skip_or_fail(test: &str, why: &str) {
    if std::env::var_os("CI").is_some() {
        panic!("`{test}` cannot run here ({why}), and in CI it must");
    }
    eprintln!("\n######## SKIPPED: `{test}` did not run: {why} ########\n");
}

/// Starts the Domo simulator in this process with the load's users; every call takes
/// `latency_ms`, so that jobs are in flight when the store goes away.
pub async fn simulator(latency_ms: u64) -> (Simulator, std::net::SocketAddr) {
    let (sim, addr) = start_domo((0..USERS).map(email)).await;
    sim.set_faults(Faults {
        latency_ms,
        ..Faults::default()
    });
    (sim, addr)
}

/// Waits for `cond`, or panics after `limit` naming `what`.
pub async fn wait_for(what: &str, limit: Duration, mut cond: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_stopped_for_ten_seconds_under_load_costs_only_503s() {
    const TEST: &str = "outage::postgres";
    if backend() != Backend::Postgres {
        eprintln!("PostgreSQL only: runs in the PostgreSQL pass (TEST_STORE_BACKEND=postgres)");
        return;
    }
    let cluster = match Cluster::start_new() {
        Ok(c) => c,
        Err(why) => return skip_or_fail(TEST, &why),
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let (sim, sim_addr) = simulator(150).await;
    let options = Options {
        store_url: Some(cluster.url()),
        users: (0..USERS).map(email).collect(),
        worker_concurrency: 4,
        ..Options::default()
    };
    let log = dir.path().join("service.log");
    // A reconcile every 3 s: one is likely running when the store goes, and the schedule must
    // run again afterwards (its lease given back, not left to expire in 15 minutes).
    let reconcile = "\n[reconcile]\ninterval_secs = 3\n";
    let mut bin = spawn_binary(
        dir.path(),
        sim_addr,
        &options,
        reconcile,
        "warn",
        Some(log.clone()),
    )
    .await;
    let source = bin.source("sw");
    let store = own_store(&bin, cluster.url()).await;

    let mut load = Load::start(&bin.base, &source, 4, Duration::from_millis(150));
    let (ready_stop, readiness) = poll_readiness(&bin.base);
    wait_for(
        "events to be acknowledged",
        Duration::from_secs(30),
        async || load.acked_count() >= 40,
    )
    .await;
    // Stop while a job holds a claim (it is interrupted, and must be taken back, not re-run
    // with its attempt counted again) and a reconcile holds its lease.
    wait_for(
        "a job and a reconcile in flight",
        Duration::from_secs(60),
        async || {
            store.count_events("running").await.unwrap_or(0) > 0
                && store
                    .list_runs(1)
                    .await
                    .is_ok_and(|r| r.first().is_some_and(|r| r.status == "running"))
        },
    )
    .await;
    cluster.stop().expect("stop PostgreSQL");
    let from = Instant::now();
    let acked_before = load.acked_count();
    tokio::time::sleep(OUTAGE).await;
    let until = Instant::now();
    let acked_during = load.acked_count() - acked_before;
    cluster
        .start()
        .unwrap_or_else(|e| panic!("start PostgreSQL again: {e}\n{}", cluster.log()));
    wait_for(
        "events acknowledged again",
        Duration::from_secs(60),
        async || load.acked_count() >= acked_before + acked_during + 40,
    )
    .await;
    load.stop().await;
    let back_ms = chrono::Utc::now().timestamp_millis()
        - i64::try_from((Instant::now() - until).as_millis()).unwrap_or(0);
    wait_for(
        "a reconcile after the outage",
        Duration::from_secs(60),
        async || {
            store.list_runs(20).await.is_ok_and(|runs| {
                runs.iter().any(|r| {
                    r.started_ms > back_ms
                        && ["queued", "planned", "held"].contains(&r.status.as_str())
                })
            })
        },
    )
    .await;
    wait_drained(&store, Duration::from_secs(90)).await;
    ready_stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let seen = readiness.await.expect("readiness poller");

    assert!(
        matches!(bin.child.try_wait(), Ok(None)),
        "the service stopped: {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    let service_log = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(!service_log.contains("panicked"), "{service_log}");
    // A margin for answers already on their way when the server stopped.
    let window = (from + Duration::from_millis(200), until);
    let answers = load.answers.lock().expect("lock").clone();
    let (refused, _) = check_answers(&answers, window.0, window.1, true);
    assert!(
        refused > 0,
        "no request was refused while the store was away"
    );
    check_readiness(&seen, window.0, window.1, true);
    let stored = stored(&store).await;
    let sent = load.sent.lock().expect("lock").clone();
    let acked = load.acked.lock().expect("lock").clone();
    check_outcome(&stored, &sent, &acked, &sim.snapshot());
    let ingest = metric(
        &bin.base,
        r#"dgs_store_unavailable_total{component="ingest"}"#,
    )
    .await;
    let worker = metric(
        &bin.base,
        r#"dgs_store_unavailable_total{component="worker"}"#,
    )
    .await;
    let resumed = metric(&bin.base, "dgs_job_resumes_total").await;
    assert!(
        ingest > 0.0 && worker > 0.0,
        "ingest {ingest}, worker {worker}"
    );
    assert!(resumed >= 1.0, "the job in flight was not taken back");
    let slowest = answers
        .iter()
        .filter(|a| a.status == 503)
        .map(|a| a.got - a.sent)
        .max()
        .unwrap_or_default();
    eprintln!(
        "outage (PostgreSQL): stopped {:.1} s under load; {} events sent, {} acknowledged ({acked_during} while down), \
         {refused} requests answered 503 while down (slowest 503 in {:.1} s), readiness 503 × {}; \
         {resumed} jobs taken back; all {} stored events done with 1 attempt each; service never restarted (pid {})",
        (until - from).as_secs_f64(),
        sent.len(),
        acked.len(),
        slowest.as_secs_f64(),
        seen.iter().filter(|r| r.status == 503).count(),
        stored.len(),
        bin.child.id(),
    );
    store.close().await;
    let _ = bin.child.kill();
}
