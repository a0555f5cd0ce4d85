//! SIGHUP reloads the real binary's configuration: after the file changes and the signal is
//! sent, the new secret verifies and the old one no longer does, without a restart.

use std::time::Duration;

use domo_group_sync::config::{Scheme, Secret};

use crate::helpers::*;

const NEW: &str = "whsec_c2lnaHVwLXJlbG9hZC1uZXctc2VjcmV0LTAxMjM0";

async fn post(client: &reqwest::Client, base: &str, secret: &str, n: u32) -> u16 {
    let body = canonical(
        &format!("evt-hup-{n}"),
        "user.updated",
        "2026-12-01T00:00:00Z",
        "ada@example.com",
        Some(&["Marketing"]),
    );
    let src = adhoc_source(Scheme::StandardWebhooks, secret);
    let headers = sign_with(
        &src,
        &Secret::new(secret),
        &body,
        chrono::Utc::now().timestamp(),
        &format!("msg_hup_{n}"),
    );
    let mut req = client.post(format!("{base}/webhooks/sw")).body(body);
    for (k, v) in headers {
        req = req.header(k, v);
    }
    req.send().await.expect("sent").status().as_u16()
}

#[tokio::test]
async fn sighup_reloads_the_sources_of_the_running_binary() {
    // Arrange
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, sim_addr) = start_domo(NO_USERS).await;
    let db = crate::db::TestDb::create(dir.path()).await;
    let options = Options {
        store_url: Some(db.url.clone()),
        ..Options::default()
    };
    let bin = spawn_binary(dir.path(), sim_addr, &options, "", "warn", None).await;
    let client = reqwest::Client::new();
    assert_eq!(post(&client, &bin.base, SW_SECRET, 1).await, 202);
    assert_eq!(post(&client, &bin.base, NEW, 2).await, 401);

    // Act: the file gets the new secret, then the process a SIGHUP.
    let path = dir.path().join("config.toml");
    let text = std::fs::read_to_string(&path).expect("config");
    let old_line = format!("secrets = [\"{SW_SECRET}\", \"{SW_OLD_SECRET}\"]");
    assert!(text.contains(&old_line));
    std::fs::write(
        &path,
        text.replace(&old_line, &format!("secrets = [\"{NEW}\"]")),
    )
    .expect("write");
    let status = std::process::Command::new("kill")
        .args(["-HUP", &bin.child.id().to_string()])
        .status()
        .expect("kill -HUP");
    assert!(status.success());

    // Assert: the new secret verifies within a bound; the old one stops; the process lives.
    let mut n = 10;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while post(&client, &bin.base, NEW, n).await != 202 {
        assert!(tokio::time::Instant::now() < deadline, "NEW never verified");
        n += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(post(&client, &bin.base, SW_SECRET, 3).await, 401);
    let health = client
        .get(format!("{}/healthz", bin.base))
        .send()
        .await
        .expect("healthz");
    assert_eq!(health.status(), 200);
}
