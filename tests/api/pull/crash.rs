//! SIGKILL of the real binary in the middle of a pull: every page is committed with its
//! cursor, so the restarted service re-reads the page in flight and goes on; in the end every
//! event of the System Log is stored exactly once, none skipped.

use std::collections::BTreeSet;
use std::time::Duration;

use dgs_sims::domo::{SimConfig, Simulator};
use domo_group_sync::store::Store;
use serde_json::{Value, json};

use super::OktaSim;
use crate::helpers::*;

/// Events in the log; one in ten is a membership the workers apply, the rest failed attempts
/// (recorded as ignored).
const EVENTS: usize = 6_000;

fn log_event(i: usize) -> Value {
    let ok = i.is_multiple_of(10);
    let user = ["ada@example.com", "grace@example.com", "alan@example.com"][i % 3];
    json!({
        "eventType": "group.user_membership.add",
        "outcome": {"result": if ok { "SUCCESS" } else { "FAILURE" }, "reason": null},
        "target": [
            {"id": format!("00u-{user}"), "type": "User", "alternateId": user, "displayName": user},
            {"id": "00gm", "type": "UserGroup", "alternateId": "unknown", "displayName": "Marketing"}
        ]
    })
}

async fn events_pulled(client: &reqwest::Client, base: &str) -> i64 {
    let Ok(resp) = client
        .get(format!("{base}/api/v1/sources"))
        .bearer_auth(TOKEN_ALL)
        .send()
        .await
    else {
        return -1;
    };
    let Ok(body) = resp.json::<Value>().await else {
        return -1;
    };
    body["sources"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| s["name"] == "okta")
        .and_then(|s| s["pull"]["events_pulled"].as_i64())
        .unwrap_or(-1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_a_pull_loses_nothing_and_skips_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let domo = Simulator::new(SimConfig {
        users: ["ada@example.com", "grace@example.com", "alan@example.com"]
            .iter()
            .map(|e| dgs_sims::domo::SeedUser {
                email: (*e).to_owned(),
                name: (*e).to_owned(),
                role: "Participant".into(),
            })
            .collect(),
        ..SimConfig::default()
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let domo_addr = listener.local_addr().expect("addr");
    tokio::spawn(domo.clone().serve(listener, std::future::pending()));

    let okta = OktaSim::start().await;
    let mut uuids = BTreeSet::new();
    for chunk in (0..EVENTS).collect::<Vec<_>>().chunks(1000) {
        for e in okta
            .append(chunk.iter().map(|i| log_event(*i)).collect())
            .await
        {
            uuids.insert(e["uuid"].as_str().expect("uuid").to_owned());
        }
    }
    assert_eq!(uuids.len(), EVENTS);
    // Slow pages: the pull spans seconds, so the kill lands in the middle of it.
    okta.faults(json!({"latency_ms": 250})).await;

    let db = crate::db::TestDb::create(dir.path()).await;
    let options = Options {
        store_url: Some(db.url.clone()),
        okta_pull: Some(okta.pull_toml(1, 0)),
        ..Options::default()
    };
    let client = reqwest::Client::new();
    let mut bin = spawn_binary(dir.path(), domo_addr, &options, "", "warn", None).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let at_kill = loop {
        let n = events_pulled(&client, &bin.base).await;
        if n > 0 {
            break n;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the pull never started"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    bin.child.kill().expect("SIGKILL");
    let _ = bin.child.wait();
    assert!(
        (at_kill as usize) < EVENTS,
        "killed after {at_kill} of {EVENTS}: not in the middle"
    );

    // Restarted on the same database: it waits out the dead run's lease, then goes on.
    okta.faults(json!({})).await;
    let bin = spawn_binary(dir.path(), domo_addr, &options, "", "warn", None).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    loop {
        let n = events_pulled(&client, &bin.base).await;
        if n >= EVENTS as i64 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {n} of {EVENTS} events pulled after the restart"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let store = Store::open(&bin.config.store).await.expect("open store");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while store.count_pending().await.expect("count") > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "events still pending"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(bin);

    let mut missing = Vec::new();
    for id in &uuids {
        if !store.has_event("okta", id).await.expect("query") {
            missing.push(id.clone());
        }
    }
    let stored = store.count_events("ignored").await.expect("count")
        + store.count_events("done").await.expect("count");
    let state = store.pull_state("okta").await.expect("state").expect("row");
    eprintln!(
        "pull crash test: killed after {at_kill} of {EVENTS} events were committed; after the \
         restart {stored} stored, {} missing, {} read in all (the page in flight at the kill was not committed: it was read again)",
        missing.len(),
        state.events_pulled
    );
    assert!(missing.is_empty(), "skipped: {missing:?}");
    assert_eq!(stored as usize, EVENTS, "each stored once");
    assert!(state.events_pulled >= EVENTS as i64);
    assert_eq!(store.count_events("dead").await.expect("count"), 0);
    let marketing = domo
        .snapshot()
        .groups
        .iter()
        .find(|g| g.name == "Marketing")
        .map(|g| g.members.len())
        .unwrap_or(0);
    assert!(
        marketing >= 3,
        "the applied memberships reached Domo: {marketing}"
    );
    store.close().await;
}
