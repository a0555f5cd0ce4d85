//! Several replicas on one PostgreSQL: three `serve` processes and one `domo-sim` process, at
//! least 2,000 events for 200 users sent to random replicas with duplicates, one replica
//! killed with SIGKILL while it holds a lease, one replica's clock five minutes ahead. The end
//! state must be that of one replica; only the killed replica's jobs run twice; the failover
//! time (from the kill to the last of its jobs done by the others, default lease and poll
//! settings) is printed for BENCHMARKS.md.
//!
//! PostgreSQL only: it runs in the PostgreSQL pass (`TEST_STORE_BACKEND=postgres`).

mod model;
pub(crate) mod procs;
mod pull;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dgs_sims::domo::SimState;
use domo_group_sync::config::{Scheme, Secret};
use sqlx::postgres::PgPool;

use crate::helpers::{
    Backend, SW_SECRET, TestDb, adhoc_source, backend, pg_admin_url_or_skip, sign_with,
};
use model::{USERS, expected, generate};
use procs::{Procs, free_port, wait_ok};

const REPLICAS: usize = 3;

/// An event still open, as the timeout message shows it: key, status, lease owner, attempts,
/// last error, due time, lease end.
type OpenEvent = (
    String,
    String,
    Option<String>,
    i64,
    Option<String>,
    i64,
    Option<i64>,
);

/// Replica 1's clock runs this far ahead (`worker.test_clock_offset_ms`): leases rest on the
/// database's clock, so it must not take the others' live leases.
const SKEW_MS: i64 = 5 * 60 * 1000;

/// The sections every replica shares: listen, store, Domo (the simulator process), workers
/// (`worker_extra` adds lines to `[worker]`) and logging. Sources and rules follow.
pub(crate) fn base_config(
    port: u16,
    sim_port: u16,
    db_url: &str,
    clock_offset_ms: i64,
    worker_extra: &str,
) -> String {
    format!(
        r#"
[server]
listen = "127.0.0.1:{port}"
[store]
url = "{db_url}"
[domo]
api_base = "http://127.0.0.1:{sim_port}"
client_id = "sim-client"
client_secret = "sim-secret"
requests_per_second = 2000
max_in_flight = 16
[worker]
concurrency = 4
backoff_base_ms = 50
test_clock_offset_ms = {clock_offset_ms}
backoff_max_secs = 1
{worker_extra}
[log]
level = "warn"
"#
    )
}

fn config(port: u16, sim_port: u16, db_url: &str, clock_offset_ms: i64) -> String {
    config_with(port, sim_port, db_url, clock_offset_ms, "")
}

/// `config` with `extra` TOML appended (more sources, their pulls).
fn config_with(
    port: u16,
    sim_port: u16,
    db_url: &str,
    clock_offset_ms: i64,
    extra: &str,
) -> String {
    base_config(port, sim_port, db_url, clock_offset_ms, "")
        + &format!(
            r#"
[[sources]]
name = "sw"
format = "canonical"
scheme = "standard-webhooks"
secrets = ["{SW_SECRET}"]
[[rules]]
when = {{ group = "team-*" }}
domo_groups = ["{{group}}"]
[[rules]]
when = {{ group = "all-staff" }}
domo_groups = ["All Staff"]
{extra}
"#
        )
}

async fn post(client: &reqwest::Client, port: u16, body: &str) -> Option<(u16, String)> {
    let src = adhoc_source(Scheme::StandardWebhooks, SW_SECRET);
    let msg = format!("msg_{}", uuid::Uuid::new_v4().simple());
    let headers = sign_with(
        &src,
        &Secret::new(SW_SECRET),
        body,
        chrono::Utc::now().timestamp(),
        &msg,
    );
    let mut req = client
        .post(format!("http://127.0.0.1:{port}/webhooks/sw"))
        .header("content-type", "application/json")
        .body(body.to_owned());
    for (k, v) in &headers {
        req = req.header(k.as_str(), v.as_str());
    }
    let resp = req.send().await.ok()?;
    let status = resp.status().as_u16();
    Some((status, resp.text().await.ok()?))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_replicas_on_one_postgres_end_as_one_would_through_duplicates_and_a_kill() {
    if backend() != Backend::Postgres {
        eprintln!("PostgreSQL only: runs in the PostgreSQL pass (TEST_STORE_BACKEND=postgres)");
        return;
    }
    let admin = pg_admin_url_or_skip("replicas");
    let db = TestDb::postgres(&admin).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let client = reqwest::Client::new();
    let mut procs = Procs::default();
    let started = Instant::now();

    let sim_port = free_port();
    let sim_listen = format!("127.0.0.1:{sim_port}");
    let sim_log = dir.path().join("sim.log");
    let sim_args = [
        "domo-sim",
        "--listen",
        &sim_listen,
        "--generate-users",
        "200",
        "--seed",
        "6",
        "--latency-ms",
        "5",
        "--latency-jitter-ms",
        "10",
    ];
    let sim_pid = procs.spawn(&sim_args, &sim_log);
    let sim_url = format!("http://{sim_listen}/_sim/state");
    wait_ok(&client, &sim_url, &mut procs, sim_pid, &sim_log).await;

    // The three start together: they migrate the fresh database one at a time (advisory lock).
    let mut ports = Vec::new();
    let mut pids = Vec::new();
    for r in 0..REPLICAS {
        let port = free_port();
        let cfg = dir.path().join(format!("replica{r}.toml"));
        let skew = if r == 1 { SKEW_MS } else { 0 };
        std::fs::write(&cfg, config(port, sim_port, &db.url, skew)).expect("write config");
        let log = dir.path().join(format!("replica{r}.log"));
        let cfg = cfg.display().to_string();
        pids.push(procs.spawn(&["serve", "--config", &cfg], &log));
        ports.push(port);
    }
    for r in 0..REPLICAS {
        let url = format!("http://127.0.0.1:{}/healthz", ports[r]);
        let log = dir.path().join(format!("replica{r}.log"));
        wait_ok(&client, &url, &mut procs, pids[r], &log).await;
    }
    let pool = PgPool::connect(&db.url)
        .await
        .expect("connect to the test database");

    // Every event once, 10 % of them a second time to another replica, all shuffled.
    let mut rng = fastrand::Rng::with_seed(6);
    let events = Arc::new(generate(&mut rng));
    let mut sends: Vec<(usize, bool)> = (0..events.len()).map(|i| (i, false)).collect();
    let dups = events.len() / 10;
    for _ in 0..dups {
        sends.push((rng.usize(..events.len()), true));
    }
    rng.shuffle(&mut sends);
    let total_sends = sends.len();
    let queue = Arc::new(Mutex::new(sends.into_iter().collect::<VecDeque<_>>()));
    let alive = Arc::new(Mutex::new(vec![true; REPLICAS]));
    let acked: Arc<Mutex<BTreeMap<String, Vec<String>>>> = Arc::default();
    let sent = Arc::new(AtomicUsize::new(0));
    let lost = Arc::new(AtomicUsize::new(0));
    let last_replica: Arc<Mutex<BTreeMap<usize, usize>>> = Arc::default();
    let ports = Arc::new(ports);

    let mut senders = Vec::new();
    for s in 0..16u64 {
        let (queue, alive, acked, sent) =
            (queue.clone(), alive.clone(), acked.clone(), sent.clone());
        let (last_replica, lost) = (last_replica.clone(), lost.clone());
        let (events, ports, client) = (events.clone(), ports.clone(), client.clone());
        senders.push(tokio::spawn(async move {
            let mut rng = fastrand::Rng::with_seed(100 + s);
            loop {
                let Some((i, dup)) = queue.lock().expect("lock").pop_front() else {
                    return;
                };
                let live: Vec<usize> = {
                    let a = alive.lock().expect("lock");
                    (0..REPLICAS).filter(|r| a[*r]).collect()
                };
                // A duplicate goes to another replica than the last send of the same id.
                let avoid = if dup {
                    last_replica.lock().expect("lock").get(&i).copied()
                } else {
                    None
                };
                let choices: Vec<usize> =
                    live.iter().copied().filter(|r| Some(*r) != avoid).collect();
                let r = choices[rng.usize(..choices.len())];
                last_replica.lock().expect("lock").insert(i, r);
                match post(&client, ports[r], &events[i].body).await {
                    Some((202, text)) => {
                        acked
                            .lock()
                            .expect("lock")
                            .entry(events[i].id.clone())
                            .or_default()
                            .push(text);
                        sent.fetch_add(1, Ordering::SeqCst);
                    }
                    Some((status, text)) => panic!("replica {r} answered {status}: {text}"),
                    // The replica was killed with the request in flight: the sender retries.
                    None => {
                        lost.fetch_add(1, Ordering::SeqCst);
                        queue.lock().expect("lock").push_back((i, dup));
                    }
                }
            }
        }));
    }

    // Part way, once replica 2 holds a lease on a running job, kill it.
    while sent.load(Ordering::SeqCst) < total_sends * 2 / 5 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let victim = pids[2];
    let pattern = format!("%/{victim}:%");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let held: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM events WHERE status = 'running' AND lease_owner LIKE $1",
        )
        .bind(&pattern)
        .fetch_one(&pool)
        .await
        .expect("query leases");
        if held > 0 {
            break;
        }
        assert!(Instant::now() < deadline, "replica 2 never held a lease");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    alive.lock().expect("lock")[2] = false;
    procs.kill(victim);
    let killed = Instant::now();
    let killed_at = started.elapsed();
    // Failover: from the SIGKILL to the last event the victim held being done by the others.
    let held: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM events WHERE status = 'running' AND lease_owner LIKE $1",
    )
    .bind(&pattern)
    .fetch_all(&pool)
    .await
    .expect("the victim's leases");
    let failover = {
        let pool = pool.clone();
        tokio::spawn(async move {
            loop {
                let open: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM events WHERE id = ANY($1) AND status <> 'done'",
                )
                .bind(&held)
                .fetch_one(&pool)
                .await
                .expect("count the victim's events");
                if open == 0 {
                    return (held, killed.elapsed());
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };

    for s in senders {
        s.await.expect("sender");
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let open: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM events WHERE status IN ('queued', 'running')")
                .fetch_one(&pool)
                .await
                .expect("count open");
        if open == 0 {
            break;
        }
        if Instant::now() > deadline {
            let stuck: Vec<OpenEvent> = sqlx::query_as(
                "SELECT job_key, status, lease_owner, attempts, last_error, run_at_ms, \
                     lease_until FROM events WHERE status IN ('queued', 'running') \
                     ORDER BY job_key, id LIMIT 30",
            )
            .fetch_all(&pool)
            .await
            .expect("open events");
            let now = chrono::Utc::now().timestamp_millis();
            let mut logs = String::new();
            for (r, pid) in pids.iter().enumerate() {
                let log = std::fs::read_to_string(dir.path().join(format!("replica{r}.log")));
                let log = log.unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(15).collect();
                logs.push_str(&format!("--- replica {r} (pid {pid}):\n"));
                logs.extend(tail.into_iter().rev().map(|l| format!("{l}\n")));
            }
            panic!("{open} events still open after 120 s (now {now}): {stuck:#?}\n{logs}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let elapsed = started.elapsed();
    let (held_ids, failover) = failover.await.expect("failover watcher");
    let held = held_ids.len();

    // Every event is stored once and done; every acknowledged one is among them.
    let rows: Vec<(String, String, i64)> =
        sqlx::query_as("SELECT event_id, status, attempts FROM events WHERE source = 'sw'")
            .fetch_all(&pool)
            .await
            .expect("events");
    let stored: BTreeMap<String, (String, i64)> =
        rows.into_iter().map(|(id, st, a)| (id, (st, a))).collect();
    let acked = acked.lock().expect("lock").clone();
    assert_eq!(
        acked.len(),
        events.len(),
        "every event was acknowledged once at least"
    );
    for id in acked.keys() {
        assert!(
            stored.contains_key(id),
            "acknowledged event {id} is not stored"
        );
    }
    assert_eq!(stored.len(), events.len());
    let not_done: Vec<_> = stored.iter().filter(|(_, (s, _))| s != "done").collect();
    assert!(not_done.is_empty(), "events not done: {not_done:?}");
    // (An event whose answer was lost with the killed replica is answered `duplicate` when the
    // sender retries: at most one `queued` per event.)
    for (id, answers) in &acked {
        let queued = answers.iter().filter(|t| t.contains("\"queued\"")).count();
        assert!(queued <= 1, "{id} was queued {queued} times: {answers:?}");
    }
    let taken_over = stored.values().filter(|(_, a)| *a > 1).count();
    assert!(
        taken_over > 0,
        "the killed replica's leased events were run again"
    );
    // Only those: the replica whose clock is five minutes ahead took no live lease.
    let rerun: Vec<(i64, String, i64)> = sqlx::query_as(
        "SELECT id, event_id, attempts FROM events WHERE source = 'sw' AND attempts > 1 \
         AND NOT (id = ANY($1))",
    )
    .bind(&held_ids)
    .fetch_all(&pool)
    .await
    .expect("events run again");
    assert!(
        rerun.is_empty(),
        "events run twice though their worker lived (a skewed clock took a live lease?): {rerun:?}"
    );

    // Domo ends as the model says; no group was created twice.
    let state: SimState = client
        .get(&sim_url)
        .send()
        .await
        .expect("state")
        .json()
        .await
        .expect("json");
    let (want, changes) = expected(&events);
    for (u, groups) in &want {
        let user = state
            .user_with_email(&format!("user{u}@example.com"))
            .expect("seeded user");
        let have: BTreeSet<String> = state
            .groups
            .iter()
            .filter(|g| !g.default && g.members.contains(&user.id))
            .map(|g| g.name.clone())
            .collect();
        assert_eq!(&have, groups, "groups of user{u}");
    }
    let names: Vec<&str> = state
        .groups
        .iter()
        .filter(|g| !g.default)
        .map(|g| g.name.as_str())
        .collect();
    let distinct: BTreeSet<&str> = names.iter().copied().collect();
    assert_eq!(
        names.len(),
        distinct.len(),
        "a group name exists twice: {names:?}"
    );
    let creates = state.calls_to("POST /v1/groups").total;
    assert_eq!(
        creates as usize,
        distinct.len(),
        "each group was created once: {names:?}"
    );

    let writes = state.calls_to("PUT /v1/groups/{id}/users/{id}").total
        + state.calls_to("DELETE /v1/groups/{id}/users/{id}").total
        + creates;
    let all_calls: u64 = state.calls.values().map(|c| c.total).sum();
    eprintln!(
        "replicas: {} events for {USERS} users ({dups} duplicates, {total_sends} sends acknowledged, {} lost with the killed replica and resent), \
         {REPLICAS} replicas (default lease and poll settings), 1 killed with SIGKILL at {:.1} s \
         holding leases on {held} events, done by the others {:.1} s after the kill (failover); \
         ({taken_over} events run again after the lease expired); all done in {:.1} s. Domo: {all_calls} calls in all, {writes} \
         writes ({creates} group creations) for {changes} membership changes in the events = {:.2} \
         writes per change",
        events.len(),
        lost.load(Ordering::SeqCst),
        killed_at.as_secs_f64(),
        failover.as_secs_f64(),
        elapsed.as_secs_f64(),
        writes as f64 / changes.max(1) as f64,
    );
    pool.close().await;
}
