//! Ack means durable: the real binary is killed with SIGKILL while it takes signed events, and
//! every event it answered 2xx for is found in the reopened store.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use domo_group_sync::config::StoreConfig;
use domo_group_sync::store::Store;
use tokio::sync::Mutex;

use crate::helpers::*;

#[tokio::test]
async fn every_acknowledged_event_survives_sigkill() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, sim_addr) = start_domo(NO_USERS).await;

    // The pass's backend: SQLite, or a fresh PostgreSQL database (dropped at the end).
    let db = crate::db::TestDb::create(dir.path()).await;
    let options = Options {
        store_url: Some(db.url.clone()),
        ..Options::default()
    };
    let mut bin = spawn_binary(dir.path(), sim_addr, &options, "", "warn", None).await;
    let base = bin.base.clone();
    let client = reqwest::Client::new();
    let config = bin.config.clone();

    // 8 senders, up to 400 events; the service is killed once 150 are acknowledged.
    let source = source_of(&config, "sw");
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (client, base, source, acked, next) = (
            client.clone(),
            base.clone(),
            source.clone(),
            acked.clone(),
            next.clone(),
        );
        tasks.push(tokio::spawn(async move {
            loop {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                if n >= 400 {
                    return;
                }
                let id = format!("evt_crash_{n}");
                let body = canonical(
                    &id,
                    "user.onboarded",
                    "2026-11-28T10:00:00Z",
                    &format!("u{n}@example.com"),
                    Some(&["Marketing"]),
                );
                let headers = sign_with(
                    &source,
                    &source.secrets[0],
                    &body,
                    chrono::Utc::now().timestamp(),
                    &format!("msg_{n}"),
                );
                let mut req = client.post(format!("{base}/webhooks/sw")).body(body);
                for (k, v) in headers {
                    req = req.header(k, v);
                }
                match req.send().await {
                    Ok(r) if r.status().is_success() => acked.lock().await.push(id),
                    Ok(_) => {}
                    Err(_) => return, // the service is gone
                }
            }
        }));
    }
    loop {
        if acked.lock().await.len() >= 150 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    bin.child.kill().expect("SIGKILL");
    let _ = bin.child.wait();
    for t in tasks {
        let _ = t.await;
    }

    let acked = acked.lock().await.clone();
    assert!(
        acked.len() >= 150,
        "acknowledged before the kill: {}",
        acked.len()
    );
    let store = Store::open(&StoreConfig {
        ..config.store.clone()
    })
    .await
    .expect("reopen the store");
    let mut missing = Vec::new();
    for id in &acked {
        if !store.has_event("sw", id).await.expect("query") {
            missing.push(id.clone());
        }
    }
    eprintln!(
        "crash test: {} events acknowledged before SIGKILL, {} missing after reopening",
        acked.len(),
        missing.len()
    );
    assert!(missing.is_empty(), "acknowledged but lost: {missing:?}");
}

/// Sends `n` signed `user.updated` events per call until `stop`, recording the acknowledged ids.
async fn steady_load(
    base: String,
    source: domo_group_sync::config::SourceConfig,
    users: usize,
    acked: Arc<Mutex<Vec<String>>>,
    counter: Arc<std::sync::atomic::AtomicUsize>,
    stop: Arc<std::sync::atomic::AtomicBool>,
) {
    let client = reqwest::Client::new();
    let mut rng = fastrand::Rng::new();
    while !stop.load(std::sync::atomic::Ordering::SeqCst) {
        let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let id = format!("evt_k{n}");
        let user = format!("c{}@example.com", rng.usize(..users));
        let gs: Vec<&str> = ["Marketing", "Finance", "eng-x"]
            .into_iter()
            .filter(|_| rng.bool())
            .collect();
        let at = chrono::DateTime::from_timestamp(1_790_000_000 + n as i64, 0)
            .expect("t")
            .to_rfc3339();
        let body = canonical(&id, "user.updated", &at, &user, Some(&gs));
        let headers = sign_with(
            &source,
            &source.secrets[0],
            &body,
            chrono::Utc::now().timestamp(),
            &id,
        );
        let mut req = client.post(format!("{base}/webhooks/sw")).body(body);
        for (k, v) in headers {
            req = req.header(k, v);
        }
        match req.send().await {
            Ok(r) if r.status().is_success() => acked.lock().await.push(id),
            Ok(_) => {}
            Err(_) => return, // the service was killed
        }
    }
}

/// The crash suite: under a steady signed load the service is killed with SIGKILL at random
/// moments, five times, and restarted on the same database each time. Afterwards every
/// acknowledged event is stored and done, nothing is stuck, no group was created twice, and a
/// last snapshot per user lands exactly in Domo (the queue and the recorded memberships
/// recovered).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_sigkill_under_load_loses_nothing() {
    const USERS: usize = 40;
    const KILLS: usize = 5;
    let dir = tempfile::tempdir().expect("tempdir");
    let db = crate::db::TestDb::create(dir.path()).await;
    let options = Options {
        store_url: Some(db.url.clone()),
        users: (0..USERS).map(|u| format!("c{u}@example.com")).collect(),
        ..Options::default()
    };
    let (sim, sim_addr) = start_domo(options.users.clone()).await;

    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let counter = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut rng = fastrand::Rng::with_seed(7);
    for _ in 0..KILLS {
        let mut bin = spawn_binary(dir.path(), sim_addr, &options, "", "warn", None).await;
        let source = bin.source("sw");
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let tasks: Vec<_> = (0..6)
            .map(|_| {
                tokio::spawn(steady_load(
                    bin.base.clone(),
                    source.clone(),
                    USERS,
                    acked.clone(),
                    counter.clone(),
                    stop.clone(),
                ))
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(rng.u64(200..900))).await;
        bin.child.kill().expect("SIGKILL");
        let _ = bin.child.wait();
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        for t in tasks {
            let _ = t.await;
        }
    }

    // Last run: a decisive snapshot per user, later than everything before it.
    let bin = spawn_binary(dir.path(), sim_addr, &options, "", "warn", None).await;
    let source = bin.source("sw");
    let client = reqwest::Client::new();
    let mut finals = BTreeMap::new();
    for u in 0..USERS {
        let gs: Vec<&str> = ["Marketing", "Finance", "eng-x"]
            .into_iter()
            .filter(|_| rng.bool())
            .collect();
        let id = format!("evt_final_{u}");
        let email = format!("c{u}@example.com");
        let body = canonical(
            &id,
            "user.updated",
            "2030-01-01T00:00:00Z",
            &email,
            Some(&gs),
        );
        let headers = sign_with(
            &source,
            &source.secrets[0],
            &body,
            chrono::Utc::now().timestamp(),
            &id,
        );
        let mut req = client.post(format!("{}/webhooks/sw", bin.base)).body(body);
        for (k, v) in headers {
            req = req.header(k, v);
        }
        assert!(req.send().await.expect("sent").status().is_success());
        acked.lock().await.push(id);
        let mut want: Vec<String> = gs
            .iter()
            .map(|g| {
                if g.starts_with("eng-") {
                    "Engineering".to_owned()
                } else {
                    (*g).to_owned()
                }
            })
            .collect();
        want.sort();
        finals.insert(email, want);
    }
    let store = Store::open(&bin.config.store).await.expect("open store");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    loop {
        let busy = store.count_events("queued").await.expect("count")
            + store.count_events("running").await.expect("count");
        if busy == 0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{busy} events still queued or running"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let acked = acked.lock().await.clone();
    let mut lost = 0;
    for id in &acked {
        if !store.has_event("sw", id).await.expect("query") {
            lost += 1;
        }
    }
    let dead = store.count_events("dead").await.expect("count");
    let state = sim.snapshot();
    let managed = ["Marketing", "Finance", "Engineering"];
    for name in managed {
        assert!(
            state.groups.iter().filter(|g| g.name == name).count() <= 1,
            "{name} created twice"
        );
    }
    let mut wrong = Vec::new();
    for (email, want) in &finals {
        let uid = state
            .users
            .iter()
            .find(|u| &u.email == email)
            .map(|u| u.id)
            .expect("user");
        let mut have: Vec<String> = state
            .groups
            .iter()
            .filter(|g| managed.contains(&g.name.as_str()) && g.members.contains(&uid))
            .map(|g| g.name.clone())
            .collect();
        have.sort();
        if &have != want {
            wrong.push(format!("{email}: want {want:?}, have {have:?}"));
        }
    }
    eprintln!(
        "crash suite: {KILLS} SIGKILLs, {} events acknowledged, lost {lost}, dead {dead}, users differing {}",
        acked.len(),
        wrong.len()
    );
    assert_eq!(lost, 0, "acknowledged events lost");
    assert_eq!(dead, 0, "no event should be dead");
    assert!(wrong.is_empty(), "{wrong:?}");
}
