//! `/docs` renders the document in a real browser, with no network: headless Chromium loads
//! the page from the service and the operations must be on it.

use std::process::Command;

fn chromium() -> Option<String> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|c| {
            Command::new(c)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .map(str::to_owned)
}

#[tokio::test]
async fn docs_page_lists_the_operations_in_headless_chromium() {
    let Some(browser) = chromium() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "chromium is not installed: CI must install it (apt-get install -y chromium)"
        );
        eprintln!(
            "SKIPPED: docs_page_lists_the_operations_in_headless_chromium: no chromium on this machine"
        );
        return;
    };
    let app = crate::helpers::spawn_app().await;
    let resp = app
        .client
        .get(app.url("/docs/"))
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), 200);
    let profile = tempfile::tempdir().expect("tempdir");
    let url = app.url("/docs/");
    let out = tokio::task::spawn_blocking(move || {
        Command::new(browser)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
                "--virtual-time-budget=15000",
                "--run-all-compositor-stages-before-draw",
                "--dump-dom",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg(url)
            .output()
    })
    .await
    .expect("joined")
    .expect("chromium runs");
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for needle in [
        "/api/v1/events",
        "/api/v1/users/{email}",
        "/webhooks/{source}",
        "/api/v1/plan",
    ] {
        assert!(
            dom.contains(needle),
            "the rendered page lists {needle}; page was {} bytes",
            dom.len()
        );
    }
    assert!(
        dom.contains("opblock"),
        "Swagger UI rendered its operation blocks"
    );
}
