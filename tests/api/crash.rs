//! Ack means durable: the real binary is killed with SIGKILL while it takes signed events, and
//! every event it answered 2xx for is found in the reopened store.

use std::sync::Arc;
use std::time::Duration;

use domo_group_sync::config::StoreConfig;
use domo_group_sync::sim::{SimConfig, Simulator};
use domo_group_sync::store::Store;
use tokio::sync::Mutex;

use crate::helpers::*;

#[tokio::test]
async fn every_acknowledged_event_survives_sigkill() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = Simulator::new(SimConfig::default());
    let sim_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let sim_addr = sim_listener.local_addr().expect("addr");
    tokio::spawn(sim.clone().serve(sim_listener, std::future::pending()));

    let mut bin = spawn_binary(dir.path(), sim_addr, &Options::default(), "", "warn", None).await;
    let base = bin.base.clone();
    let client = reqwest::Client::new();
    let config = bin.config.clone();

    // 8 senders, up to 400 events; the service is killed once 150 are acknowledged.
    let source = config
        .sources
        .iter()
        .find(|s| s.name == "sw")
        .cloned()
        .expect("sw source");
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
