//! The soak: three replicas (the real binary) on one PostgreSQL and a Domo simulator process
//! (the multi-replica harness of `replicas/`), for a long time: mixed signed traffic (canonical
//! events under three signature schemes, and Okta event hooks), duplicates and out-of-order
//! delivery, the fault suite's Domo faults (429 with and without `Retry-After`, 5xx, dropped
//! connections, writes applied and their answer lost; `resilience::domo_faults`), hand edits
//! in Domo, and a periodic reconcile that repairs them.
//!
//! At the end: every acknowledged event is applied (acknowledged = done, exactly), no dead
//! letter, Domo holds for every user what the fault suite's independent model says, no group
//! twice; each replica's resident memory at the start (after the warm-up) and at the end is
//! reported, and in the long mode its growth must stay within 10 %.
//!
//! CI runs a short version (`TEST_SOAK_SECS`, default 60 s of traffic). The long mode:
//! `TEST_SOAK_SECS=1800` (README "Proving it survives"). PostgreSQL pass only.

mod traffic;
mod watch;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use sqlx::postgres::PgPool;

use crate::helpers::{Backend, TestDb, backend, pg_admin_url_or_skip};
use crate::replicas::procs::{Procs, free_port, wait_ok};
use crate::resilience::{Ev, MANAGED, domo_faults, expected};
use traffic::{Delivery, SOURCES, Tally};

const REPLICAS: usize = 3;
const USERS: usize = 200;
/// Events per user per round (a round's events are shuffled; the next round's are later).
const PER_USER: usize = 2;
/// Growth of a replica's resident memory from the warm-up to the end, at most (long mode).
const MAX_GROWTH: f64 = 0.10;
/// Runs at least this long are the long mode (the memory bound is asserted).
const LONG_SECS: u64 = 600;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_replicas_soak_under_mixed_traffic_domo_faults_and_reconciles() {
    if backend() != Backend::Postgres {
        eprintln!("PostgreSQL only: runs in the PostgreSQL pass (TEST_STORE_BACKEND=postgres)");
        return;
    }
    let secs = env_u64("TEST_SOAK_SECS", 60);
    let rate = env_u64("TEST_SOAK_RATE", 10).max(1);
    let long = secs >= LONG_SECS;
    let warmup = Duration::from_secs((secs / 10).clamp(20, 180));
    let reconcile_every = if long { 60 } else { 15 };
    let duration = Duration::from_secs(secs);

    let admin = pg_admin_url_or_skip("soak");
    let db = TestDb::postgres(&admin).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let client = reqwest::Client::new();
    let mut procs = Procs::default();

    let sim_port = free_port();
    let sim = format!("http://127.0.0.1:{sim_port}");
    let sim_log = dir.path().join("sim.log");
    let users = USERS.to_string();
    let listen = format!("127.0.0.1:{sim_port}");
    let sim_pid = procs.spawn(
        &[
            "domo-sim",
            "--listen",
            &listen,
            "--generate-users",
            &users,
            "--seed",
            "9",
        ],
        &sim_log,
    );
    wait_ok(
        &client,
        &format!("{sim}/_sim/state"),
        &mut procs,
        sim_pid,
        &sim_log,
    )
    .await;
    let mut ports = Vec::new();
    let mut pids = Vec::new();
    for r in 0..REPLICAS {
        let port = free_port();
        let cfg = dir.path().join(format!("replica{r}.toml"));
        let text = traffic::config(port, sim_port, &db.url, reconcile_every);
        std::fs::write(&cfg, text).expect("write config");
        let log = dir.path().join(format!("replica{r}.log"));
        pids.push(procs.spawn(&["serve", "--config", &cfg.display().to_string()], &log));
        ports.push(port);
    }
    for r in 0..REPLICAS {
        let url = format!("http://127.0.0.1:{}/healthz", ports[r]);
        let log = dir.path().join(format!("replica{r}.log"));
        wait_ok(&client, &url, &mut procs, pids[r], &log).await;
    }
    let pool = PgPool::connect(&db.url).await.expect("connect");
    // A quarter of the fault suite's rates, for long: enough of every kind, and the replicas
    // keep up with the traffic (every `Retry-After` holds back all of a replica's calls).
    let faults = domo_faults(0.25);
    let put = client
        .put(format!("{sim}/_sim/faults"))
        .json(&faults)
        .send()
        .await
        .expect("set faults");
    assert!(
        put.status().is_success(),
        "faults refused: {}",
        put.status()
    );

    let tally = Arc::new(Tally::default());
    let (tx, rx) = tokio::sync::mpsc::channel::<Delivery>(64);
    let rx = Arc::new(tokio::sync::Mutex::new(rx));
    let senders = traffic::start_senders(8, Arc::new(ports.clone()), rx, tally.clone());
    let stop_rss = Arc::new(AtomicBool::new(false));
    let samples = watch::sample_rss(pids.clone(), Duration::from_secs(5), stop_rss.clone());

    // The traffic, paced; hand edits every 10 s from the warm-up to three quarters of the run.
    let started = Instant::now();
    let mut rng = fastrand::Rng::with_seed(9);
    let mut events: BTreeMap<String, Ev> = BTreeMap::new();
    let (mut duplicates, mut edits, mut last_edit_ms) = (0usize, 0usize, 0i64);
    let mut next_edit = warmup;
    let step = Duration::from_secs(1) / u32::try_from(rate).unwrap_or(u32::MAX);
    let mut due = Instant::now();
    'traffic: for r in 0.. {
        let (evs, deliveries) = traffic::round(USERS, PER_USER, r, &mut rng);
        events.extend(evs.into_iter().map(|e| (e.id.clone(), e)));
        for d in deliveries {
            let elapsed = started.elapsed();
            if elapsed >= duration {
                break 'traffic;
            }
            if elapsed >= next_edit && elapsed < duration * 3 / 4 {
                if watch::hand_remove(&client, &sim, &mut rng).await.is_some() {
                    edits += 1;
                    last_edit_ms = chrono::Utc::now().timestamp_millis();
                }
                next_edit += Duration::from_secs(10);
            }
            duplicates += usize::from(d.duplicate);
            tx.send(d).await.expect("senders run");
            due += step;
            tokio::time::sleep_until(due.into()).await;
        }
    }
    let end_of_traffic = started.elapsed();
    drop(tx);
    for s in senders {
        s.await.expect("sender");
    }
    stop_rss.store(true, Ordering::SeqCst);
    let stopped_ms = chrono::Utc::now().timestamp_millis();
    let traffic_secs = end_of_traffic.as_secs_f64();

    // Drain, then one periodic reconcile after everything (it repairs the last hand edits),
    // then its repairs.
    watch::drain(&pool, Duration::from_secs(600)).await;
    let run = watch::applied_reconcile_after(
        &pool,
        stopped_ms.max(last_edit_ms),
        Duration::from_secs(reconcile_every * 4 + 120),
    )
    .await;
    watch::drain(&pool, Duration::from_secs(300)).await;
    let drained_secs = started.elapsed().as_secs_f64() - traffic_secs;
    for (r, pid) in pids.iter().enumerate() {
        assert!(!procs.exited(*pid), "replica {r} exited");
    }

    // Acknowledged = applied, exactly; nothing dead.
    let acked = tally.acked.lock().expect("lock").clone();
    let rows: Vec<(String, String, String)> =
        sqlx::query_as("SELECT source, event_id, status FROM events WHERE source = ANY($1)")
            .bind(SOURCES.map(str::to_owned).to_vec())
            .fetch_all(&pool)
            .await
            .expect("events");
    let done: BTreeSet<(String, String)> = rows
        .iter()
        .filter(|(_, _, st)| st == "done")
        .map(|(s, id, _)| (s.clone(), id.clone()))
        .collect();
    let dead: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM events WHERE status = 'dead'")
        .fetch_one(&pool)
        .await
        .expect("dead");
    let repairs: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM events WHERE source = 'reconcile'")
        .fetch_one(&pool)
        .await
        .expect("repairs");
    let runs: Vec<(String, i64)> = sqlx::query_as(
        "SELECT status, COUNT(*) FROM reconcile_runs GROUP BY status ORDER BY status",
    )
    .fetch_all(&pool)
    .await
    .expect("runs");
    let refused = tally.refused.lock().expect("lock").clone();
    assert!(
        refused.is_empty(),
        "deliveries refused: {:?}",
        &refused[..refused.len().min(5)]
    );
    assert_eq!(rows.len(), done.len(), "stored events not done");
    assert_eq!(acked, done, "acknowledged and applied differ");
    assert_eq!(dead, 0, "dead letters without a permanent refusal");

    // Domo ends as the model of the acknowledged events says; no group twice.
    let state = watch::sim_state(&client, &sim).await;
    let mut by_user: BTreeMap<&str, Vec<Ev>> = BTreeMap::new();
    for (_, id) in &acked {
        let e = &events[id];
        by_user.entry(e.email.as_str()).or_default().push(e.clone());
    }
    let mut wrong = Vec::new();
    for (email, evs) in &by_user {
        let uid = state.user_with_email(email).expect("seeded user").id;
        let have: BTreeSet<String> = state
            .groups
            .iter()
            .filter(|g| MANAGED.contains(&g.name.as_str()) && g.members.contains(&uid))
            .map(|g| g.name.clone())
            .collect();
        let want = expected(evs);
        if have != want {
            wrong.push(format!("{email}: want {want:?}, have {have:?}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} users differ from the model, e.g. {:?}",
        wrong.len(),
        &wrong[..wrong.len().min(5)]
    );
    for name in MANAGED {
        let n = state.groups.iter().filter(|g| g.name == name).count();
        assert!(n <= 1, "{name} exists {n} times");
    }

    // Resident memory: after the warm-up, and at the end of the traffic.
    let samples = samples.lock().expect("lock").clone();
    let window = Duration::from_secs(30);
    let start_kb = watch::median_kb(&samples, warmup, warmup + window);
    let end_kb = watch::median_kb(
        &samples,
        end_of_traffic.saturating_sub(window),
        end_of_traffic,
    );
    let growth: Vec<f64> = start_kb
        .iter()
        .zip(&end_kb)
        .map(|(s, e)| *e as f64 / (*s).max(1) as f64 - 1.0)
        .collect();
    let [requests, n429, with_ra, n5xx, dropped, lost_answers] =
        watch::injected(&client, &sim).await;
    // (A short run makes about five writes whose answer is lost: that one is only required of
    // the long mode.)
    assert!(
        n429 > 0 && with_ra > 0 && n5xx > 0 && dropped > 0 && (lost_answers > 0 || !long),
        "every fault kind was injected: {n429} 429, {with_ra} with Retry-After, {n5xx} 5xx, \
         {dropped} dropped, {lost_answers} applied and dropped"
    );
    eprintln!(
        "soak: {traffic_secs:.0} s of traffic at {rate} events/s on {REPLICAS} replicas (PostgreSQL), {USERS} users: \
         {} events acknowledged ({duplicates} duplicate deliveries, {} deliveries in all), {} applied, dead 0; \
         {edits} hand edits in Domo, reconcile runs {runs:?} ({repairs} repairs; the last after the traffic: run {run}); \
         Domo: {requests} requests, {n429} answered 429 ({with_ra} with Retry-After {} s), {n5xx} 5xx, {dropped} dropped, \
         {lost_answers} writes applied and their answer dropped; drained {drained_secs:.0} s after the traffic; \
         RSS (kB) after the {} s warm-up {start_kb:?}, at the end {end_kb:?}, growth {:?}",
        acked.len(),
        tally.sent.load(Ordering::SeqCst),
        done.len(),
        faults.retry_after_secs,
        warmup.as_secs(),
        growth
            .iter()
            .map(|g| format!("{:+.1} %", g * 100.0))
            .collect::<Vec<_>>(),
    );
    if long {
        for (r, g) in growth.iter().enumerate() {
            assert!(
                *g <= MAX_GROWTH,
                "replica {r}: resident memory grew {:.1} % after the warm-up ({} → {} kB)",
                g * 100.0,
                start_kb[r],
                end_kb[r]
            );
        }
    }
    pool.close().await;
}
