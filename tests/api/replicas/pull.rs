//! Three replicas pulling one Okta org (the `okta-sim` process): one poller runs at a time
//! (the System Log is never read by two replicas at once, and the replicas share one
//! schedule), a replica killed with SIGKILL is taken over, and every event is stored and
//! applied once. PostgreSQL only.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use dgs_sims::domo::SimState;
use serde_json::{Value, json};
use sqlx::postgres::PgPool;

use super::procs::{Procs, free_port, wait_ok};
use super::{REPLICAS, config_with};
use crate::helpers::{Backend, TestDb, backend, pg_admin_url_or_skip};

const USERS: usize = 20;
const BATCHES: usize = 12;
const PER_BATCH: usize = 10;

fn okta_source(okta_port: u16) -> String {
    format!(
        r#"
[[sources]]
name = "okta"
format = "okta"
scheme = "none"
[sources.pull]
api_base = "http://127.0.0.1:{okta_port}"
token = "sim-okta-token"
interval_secs = 1
directory_interval_secs = 0
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_replicas_run_one_okta_poller() {
    if backend() != Backend::Postgres {
        eprintln!("PostgreSQL only: runs in the PostgreSQL pass (TEST_STORE_BACKEND=postgres)");
        return;
    }
    let admin = pg_admin_url_or_skip("replicas_pull");
    let db = TestDb::postgres(&admin).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let client = reqwest::Client::new();
    let mut procs = Procs::default();

    let domo_port = free_port();
    let domo_listen = format!("127.0.0.1:{domo_port}");
    let domo_log = dir.path().join("domo.log");
    let users = USERS.to_string();
    let pid = procs.spawn(
        &[
            "domo-sim",
            "--listen",
            &domo_listen,
            "--generate-users",
            &users,
            "--seed",
            "9",
        ],
        &domo_log,
    );
    let domo_state = format!("http://{domo_listen}/_sim/state");
    wait_ok(&client, &domo_state, &mut procs, pid, &domo_log).await;
    let okta_port = free_port();
    let okta_listen = format!("127.0.0.1:{okta_port}");
    let okta_log = dir.path().join("okta.log");
    let pid = procs.spawn(
        &[
            "okta-sim",
            "--listen",
            &okta_listen,
            "--visibility-delay-ms",
            "0",
            "--logs-rate-limit",
            "0",
            "--rate-limit",
            "0",
        ],
        &okta_log,
    );
    let okta = format!("http://{okta_listen}");
    wait_ok(
        &client,
        &format!("{okta}/_sim/state"),
        &mut procs,
        pid,
        &okta_log,
    )
    .await;

    let mut ports = Vec::new();
    let mut pids = Vec::new();
    for r in 0..REPLICAS {
        let port = free_port();
        let cfg = dir.path().join(format!("replica{r}.toml"));
        let text = config_with(port, domo_port, &db.url, 0, &okta_source(okta_port));
        std::fs::write(&cfg, text).expect("write config");
        let log = dir.path().join(format!("replica{r}.log"));
        let cfg = cfg.display().to_string();
        pids.push(procs.spawn(&["serve", "--config", &cfg], &log));
        ports.push(port);
    }
    for r in 0..REPLICAS {
        let log = dir.path().join(format!("replica{r}.log"));
        let url = format!("http://127.0.0.1:{}/healthz", ports[r]);
        wait_ok(&client, &url, &mut procs, pids[r], &log).await;
    }
    let pool = PgPool::connect(&db.url).await.expect("connect");
    let started = Instant::now();

    // Okta logs memberships in batches, none of them pushed; part way, the replica holding
    // the lease at that moment (or any, between runs) is killed.
    let mut rng = fastrand::Rng::with_seed(9);
    let mut want: BTreeSet<(usize, String)> = BTreeSet::new();
    let mut uuids = BTreeSet::new();
    let mut killed = None;
    for b in 0..BATCHES {
        let events: Vec<Value> = (0..PER_BATCH)
            .map(|_| {
                let u = rng.usize(1..=USERS);
                let team = ["team-a", "team-b", "team-c"][rng.usize(..3)];
                want.insert((u, team.to_owned()));
                let email = format!("user{u}@example.com");
                json!({
                    "eventType": "group.user_membership.add",
                    "outcome": {"result": "SUCCESS"},
                    "target": [
                        {"id": format!("00u{u}"), "type": "User", "alternateId": email, "displayName": email},
                        {"id": format!("00g{team}"), "type": "UserGroup", "alternateId": "unknown", "displayName": team}
                    ]
                })
            })
            .collect();
        let answer: Value = client
            .post(format!("{okta}/_sim/events"))
            .json(&json!({ "events": events }))
            .send()
            .await
            .expect("append")
            .json()
            .await
            .expect("json");
        for e in answer["events"].as_array().expect("events") {
            uuids.insert(e["uuid"].as_str().expect("uuid").to_owned());
        }
        if b == BATCHES / 2 {
            let holder: Option<String> =
                sqlx::query_scalar("SELECT owner FROM leases WHERE name = 'pull:okta'")
                    .fetch_optional(&pool)
                    .await
                    .expect("lease");
            let victim = holder
                .and_then(|o| pids.iter().position(|p| o.contains(&format!("/{p}:"))))
                .unwrap_or(0);
            procs.kill(pids[victim]);
            killed = Some(victim);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // Every event stored once and applied (a dead run's lease lasts 30 s at most).
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let (stored, open): (i64, i64) = sqlx::query_as(
            "SELECT COUNT(*), COUNT(*) FILTER (WHERE status IN ('queued', 'running')) \
             FROM events WHERE source = 'okta'",
        )
        .fetch_one(&pool)
        .await
        .expect("count");
        if stored as usize == uuids.len() && open == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{stored} of {} pulled events stored, {open} open",
            uuids.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let elapsed = started.elapsed();
    let ids: Vec<String> = sqlx::query_scalar("SELECT event_id FROM events WHERE source = 'okta'")
        .fetch_all(&pool)
        .await
        .expect("ids");
    assert_eq!(ids.iter().cloned().collect::<BTreeSet<_>>(), uuids);

    // One poller at a time: the System Log requests never overlap, and they come in runs
    // (a run reads until an empty page) about once per interval, not once per replica.
    let requests: Vec<Value> = client
        .get(format!("{okta}/_sim/requests"))
        .send()
        .await
        .expect("requests")
        .json()
        .await
        .expect("json");
    let mut logs: Vec<(u64, u64)> = requests
        .iter()
        .filter(|r| r["route"] == "/api/v1/logs")
        .map(|r| {
            (
                r["at_ms"].as_u64().expect("at"),
                r["done_ms"].as_u64().expect("done"),
            )
        })
        .collect();
    logs.sort_unstable();
    let overlaps = logs.windows(2).filter(|w| w[1].0 < w[0].1).count();
    let mut runs = 0;
    let mut last_done = 0;
    for (at, done) in &logs {
        if runs == 0 || *at > last_done + 300 {
            runs += 1;
        }
        last_done = *done;
    }
    let secs = elapsed.as_secs_f64();
    eprintln!(
        "replicas pull: {REPLICAS} replicas, one killed ({killed:?}); {} events pulled in {secs:.1} s \
         in {runs} runs ({} System Log requests, {overlaps} overlapping)",
        uuids.len(),
        logs.len()
    );
    assert_eq!(overlaps, 0, "two replicas read the System Log at once");
    assert!(
        (runs as f64) <= secs + 3.0,
        "{runs} runs in {secs:.1} s with a 1 s interval: more than one poller ran"
    );
    let state: BTreeMap<String, i64> =
        sqlx::query_as("SELECT source, events_pulled FROM pull_state")
            .fetch_all(&pool)
            .await
            .expect("pull state")
            .into_iter()
            .collect();
    assert!(state["okta"] >= uuids.len() as i64);

    // Domo has exactly the memberships the events add.
    let domo: SimState = client
        .get(&domo_state)
        .send()
        .await
        .expect("state")
        .json()
        .await
        .expect("json");
    for (u, team) in &want {
        let user = domo
            .user_with_email(&format!("user{u}@example.com"))
            .expect("seeded user");
        let group = domo
            .groups
            .iter()
            .find(|g| &g.name == team)
            .expect("group created");
        assert!(group.members.contains(&user.id), "user{u} in {team}");
    }
    let creates = domo.calls_to("POST /v1/groups").total;
    assert_eq!(creates, 3, "each team created once");
    pool.close().await;
}
