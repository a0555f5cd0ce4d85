//! The log's own disk full: stderr is `/dev/full`, where every write fails with ENOSPC. The
//! service loses log lines, not requests (tracing's report of a failed write would itself
//! write to stderr, and `eprintln!` panics when it cannot).

use super::postgres::simulator;
use crate::helpers::{Options, canonical, sign_with, spawn_binary_via};

#[tokio::test]
async fn a_log_that_cannot_be_written_costs_log_lines_not_requests() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (sim, sim_addr) = simulator(0).await;
    let db = crate::db::TestDb::create(dir.path()).await;
    let options = Options {
        store_url: Some(db.url.clone()),
        users: vec!["o0@example.com".into()],
        ..Options::default()
    };
    let launcher = ["sh", "-c", r#"exec "$0" "$@" 2>/dev/full"#];
    let bin = spawn_binary_via(&launcher, dir.path(), sim_addr, &options, "", "debug", None).await;
    let source = bin.source("sw");
    let client = reqwest::Client::new();
    let body = canonical(
        "evt_log_1",
        "user.onboarded",
        "2026-11-28T10:00:00Z",
        "o0@example.com",
        Some(&["Marketing"]),
    );
    let headers = sign_with(
        &source,
        &source.secrets[0],
        &body,
        chrono::Utc::now().timestamp(),
        "msg_log_1",
    );
    let mut req = client
        .post(format!("{}/webhooks/sw", bin.base))
        .body(body.clone());
    for (k, v) in &headers {
        req = req.header(k.as_str(), v.as_str());
    }
    let resp = req.send().await.expect("answered");
    assert_eq!(resp.status(), 202);
    // A refused signature logs too.
    let refused = client
        .post(format!("{}/webhooks/sw", bin.base))
        .header("webhook-id", "msg_x")
        .header(
            "webhook-timestamp",
            chrono::Utc::now().timestamp().to_string(),
        )
        .header("webhook-signature", "v1,AAAA")
        .body(body)
        .send()
        .await
        .expect("answered");
    assert_eq!(refused.status(), 401);
    let ready = client
        .get(format!("{}/readyz", bin.base))
        .send()
        .await
        .expect("answered");
    assert_eq!(ready.status(), 200);
    // The worker logs as it applies the event: it still applies it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !sim
        .snapshot()
        .groups
        .iter()
        .any(|g| g.name == "Marketing" && !g.members.is_empty())
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the event was not applied"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
