//! Secrets that rotate without a restart: a Kubernetes-style Secret volume swapped under a
//! running service while a sender keeps sending, a reload of a broken file that changes
//! nothing, secrets with a lifecycle, and the metrics an operator follows.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use domo_group_sync::config::{Scheme, Secret};
use reqwest::Method;

use crate::helpers::*;

/// The secret a sender used before the rotation, and the one after.
const OLD: &str = SW_SECRET;
const NEW: &str = "whsec_cm90YXRpb24tbmV3LXNlY3JldC0wMTIzNDU2Nzg5";

/// A Secret volume laid out as the kubelet does: `key -> ..data/key`, `..data -> ..<stamp>/`,
/// updated by writing a new stamped folder and renaming a new `..data` link over the old one.
struct SecretVolume {
    root: PathBuf,
    generation: usize,
}

impl SecretVolume {
    fn new(root: &Path, files: &[(&str, &str)]) -> Self {
        std::fs::create_dir_all(root).expect("volume dir");
        let mut v = SecretVolume {
            root: root.to_path_buf(),
            generation: 0,
        };
        v.swap(files);
        for (key, _) in files {
            std::os::unix::fs::symlink(format!("..data/{key}"), root.join(key)).expect("key link");
        }
        v
    }

    /// Atomically replaces the volume's content (the kubelet's `AtomicWriter`).
    fn swap(&mut self, files: &[(&str, &str)]) {
        self.generation += 1;
        let stamp = format!("..2026_12_04_21_00_00.{}", self.generation);
        let dir = self.root.join(&stamp);
        std::fs::create_dir(&dir).expect("stamped dir");
        for (key, value) in files {
            std::fs::write(dir.join(key), value).expect("secret file");
        }
        let tmp = self.root.join("..data_tmp");
        std::os::unix::fs::symlink(&stamp, &tmp).expect("tmp link");
        std::fs::rename(&tmp, self.root.join("..data")).expect("atomic swap");
        if self.generation > 1 {
            let old = self
                .root
                .join(format!("..2026_12_04_21_00_00.{}", self.generation - 1));
            std::fs::remove_dir_all(old).expect("old dir");
        }
    }

    fn path(&self, key: &str) -> String {
        self.root.join(key).display().to_string()
    }
}

/// The value of the series `name` whose labels include all of `labels`, if it exists.
pub async fn metric(app: &TestApp, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let text = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .filter(|l| {
            labels
                .iter()
                .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
        })
        .find_map(|l| l.rsplit(' ').next()?.parse().ok())
}

fn event(n: usize) -> String {
    canonical(
        &format!("evt-rot-{n}-{}", uuid::Uuid::new_v4().simple()),
        "user.updated",
        "2026-12-01T00:00:00Z",
        "ada@example.com",
        Some(&["Marketing"]),
    )
}

/// POSTs one event to `source` signed with `secret`; the status.
async fn post(app: &TestApp, source: &str, secret: &str, n: usize) -> u16 {
    let body = event(n);
    let src = adhoc_source(Scheme::StandardWebhooks, secret);
    let id = format!("msg_{}", uuid::Uuid::new_v4().simple());
    let headers = sign_with(
        &src,
        &Secret::new(secret),
        &body,
        chrono::Utc::now().timestamp(),
        &id,
    );
    app.post_with(source, &body, &headers)
        .await
        .status()
        .as_u16()
}

/// Sends events signed with `secret` until `stop`; returns every status.
async fn keep_sending(app: Arc<TestApp>, secret: &'static str, stop: Arc<AtomicBool>) -> Vec<u16> {
    let mut statuses = Vec::new();
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) && n < 2_000 {
        statuses.push(post(&app, "rot", secret, n).await);
        n += 1;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    statuses
}

async fn run_sender_while<F: std::future::Future<Output = ()>>(
    app: &Arc<TestApp>,
    secret: &'static str,
    during: F,
) -> Vec<u16> {
    let stop = Arc::new(AtomicBool::new(false));
    let sender = tokio::spawn(keep_sending(app.clone(), secret, stop.clone()));
    tokio::time::sleep(Duration::from_millis(150)).await;
    during.await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    stop.store(true, Ordering::Relaxed);
    sender.await.expect("sender")
}

#[tokio::test]
async fn a_secret_rotated_by_a_volume_swap_is_used_without_a_restart_or_a_401() {
    // Arrange: the source reads both keys of a Secret volume.
    let volume_dir = tempfile::tempdir().expect("tempdir");
    let mut volume = SecretVolume::new(
        &volume_dir.path().join("sources"),
        &[("current", OLD), ("previous", OLD)],
    );
    let rules = format!(
        "{DEFAULT_RULES}\n[secrets]\npoll_interval_ms = 50\n\n[[sources]]\nname = \"rot\"\n\
         format = \"canonical\"\nscheme = \"standard-webhooks\"\n\
         secrets = [\"file:{}\", \"file:{}\"]\n",
        volume.path("current"),
        volume.path("previous")
    );
    let app = Arc::new(
        spawn_app_with(Options {
            rules,
            ..Options::default()
        })
        .await,
    );
    assert_eq!(
        post(&app, "rot", NEW, 0).await,
        401,
        "NEW is not configured yet"
    );

    // Act 1: the operator adds NEW as current and keeps OLD as previous, while the sender
    // still signs with OLD.
    let old_statuses = run_sender_while(&app, OLD, async {
        volume.swap(&[("current", NEW), ("previous", OLD)]);
        app.wait_until("NEW to verify", || async {
            post(&app, "rot", NEW, 1).await == 202
        })
        .await;
    })
    .await;

    // Act 2: the sender moves to NEW; the operator removes OLD.
    let new_statuses = run_sender_while(&app, NEW, async {
        volume.swap(&[("current", NEW), ("previous", NEW)]);
        app.wait_until("OLD to stop verifying", || async {
            post(&app, "rot", OLD, 2).await == 401
        })
        .await;
    })
    .await;

    // Assert: not one request signed with a live secret was refused.
    for (what, statuses) in [("OLD", &old_statuses), ("NEW", &new_statuses)] {
        assert!(
            statuses.len() >= 10,
            "{what}: only {} requests",
            statuses.len()
        );
        let refused = statuses.iter().filter(|s| **s != 202).count();
        assert_eq!(
            refused,
            0,
            "{what}: {refused} of {} refused",
            statuses.len()
        );
    }
    // OLD matched as `current` (0) before the swap and as `previous` (1) after it.
    for position in ["0", "1"] {
        let n = metric(
            &app,
            "dgs_webhook_verifications_total",
            &[("source", "rot"), ("secret", position)],
        )
        .await;
        assert!(n.is_some_and(|n| n >= 1.0), "secret {position}: {n:?}");
    }
    let reloads = metric(
        &app,
        "dgs_config_reloads_total",
        &[("trigger", "file"), ("result", "ok")],
    )
    .await;
    assert!(reloads.is_some_and(|n| n >= 2.0), "{reloads:?}");
}

#[tokio::test]
async fn a_reload_of_a_broken_file_changes_nothing_and_a_good_one_takes_effect() {
    // Arrange
    let app = spawn_app_with(Options {
        config_file: true,
        ..Options::default()
    })
    .await;
    let path = app.dir().join("config.toml");
    let good = std::fs::read_to_string(&path).expect("config");
    let sw_secrets = format!("secrets = [\"{SW_SECRET}\", \"{SW_OLD_SECRET}\"]");
    assert!(good.contains(&sw_secrets));
    let broken = good.replace(
        &sw_secrets,
        "secrets = [\"env:DGS_TEST_NEVER_SET\", { value = \"whsec_AAAA\", not_after = \"soon\" }]",
    );
    std::fs::write(&path, broken).expect("write");

    // Act: a reload without the admin scope, then one with it.
    let forbidden = app
        .client
        .post(app.url("/api/v1/admin/reload"))
        .bearer_auth(TOKEN_NO_ADMIN)
        .send()
        .await
        .expect("reload");
    let refused = app
        .api(Method::POST, "/api/v1/admin/reload")
        .send()
        .await
        .expect("reload");

    // Assert: refused, counted, and the old secrets still verify.
    assert_eq!(forbidden.status(), 403);
    assert_eq!(refused.status(), 422);
    assert_eq!(
        refused.headers()["content-type"],
        "application/problem+json"
    );
    let problem = json_body(refused).await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("2 problem"),
        "{problem}"
    );
    assert_eq!(app.post_signed("sw", &event(1)).await.status(), 202);
    let failed = metric(
        &app,
        "dgs_config_reloads_total",
        &[("trigger", "api"), ("result", "failed")],
    )
    .await;
    assert_eq!(failed, Some(1.0));

    // Act: a valid file that replaces the secrets.
    std::fs::write(
        &path,
        good.replace(&sw_secrets, &format!("secrets = [\"{NEW}\"]")),
    )
    .expect("write");
    let ok = app
        .api(Method::POST, "/api/v1/admin/reload")
        .send()
        .await
        .expect("reload");
    assert_eq!(ok.status(), 200);
    let body = json_body(ok).await;
    assert_eq!(body["status"], "reloaded");
    assert_eq!(body["sources"], 4);

    // Assert: the old secret no longer verifies, the new one does.
    assert_eq!(post(&app, "sw", SW_SECRET, 2).await, 401);
    assert_eq!(post(&app, "sw", NEW, 3).await, 202);
    app.wait_idle().await;
}

#[tokio::test]
async fn an_expired_secret_no_longer_verifies_and_expiry_is_published() {
    let soon = chrono::Utc::now().timestamp() + 3600;
    let soon_text = chrono::DateTime::from_timestamp(soon, 0)
        .expect("time")
        .to_rfc3339();
    let rules = format!(
        "{DEFAULT_RULES}\n[[sources]]\nname = \"exp\"\nformat = \"canonical\"\n\
         scheme = \"standard-webhooks\"\nsecrets = [\n  \
         {{ value = \"{OLD}\", name = \"2025\", not_after = 2026-01-01T00:00:00Z }},\n  \
         {{ value = \"{NEW}\", name = \"2026\", not_after = \"{soon_text}\" }},\n]\n"
    );
    let app = spawn_app_with(Options {
        rules,
        ..Options::default()
    })
    .await;

    assert_eq!(post(&app, "exp", OLD, 1).await, 401, "expired");
    assert_eq!(post(&app, "exp", NEW, 2).await, 202, "live");
    let used = metric(
        &app,
        "dgs_webhook_verifications_total",
        &[("source", "exp"), ("secret", "2026")],
    )
    .await;
    assert_eq!(used, Some(1.0));
    assert_eq!(
        metric(
            &app,
            "dgs_webhook_verifications_total",
            &[("source", "exp"), ("secret", "2025")],
        )
        .await,
        None
    );
    let failures = metric(
        &app,
        "dgs_webhook_signature_failures_total",
        &[("source", "exp"), ("reason", "mismatch")],
    )
    .await;
    assert_eq!(failures, Some(1.0));
    let expiry = metric(
        &app,
        "dgs_secret_expiry_timestamp_seconds",
        &[("kind", "source"), ("owner", "exp"), ("secret", "2026")],
    )
    .await;
    assert_eq!(expiry, Some(soon as f64));
    app.wait_idle().await;
}
