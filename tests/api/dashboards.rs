//! Every metric the chart's Grafana dashboard and alert rules use exists in a scrape of the
//! real service after ordinary traffic (a webhook, a dead letter, a refused signature, a
//! reconcile, a delivery to a subscriber, a pull from the Okta simulator).

use std::collections::BTreeSet;

use domo_group_sync::config::Scheme;
use reqwest::Method;
use serde_json::json;

use crate::api_v1::call;
use crate::helpers::*;

/// The pull sources' metrics (issue 13), by their exact names.
const PULL_METRICS: [&str; 6] = [
    "dgs_pull_lag_seconds",
    "dgs_pull_errors_total",
    "dgs_pull_events_total",
    "dgs_pull_last_success_timestamp_seconds",
    "dgs_pull_cursor_resets_total",
    "dgs_directory_drift_total",
];

fn chart_file(path: &str) -> String {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("charts/domo-group-sync")
        .join(path);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The `dgs_*` names a text mentions.
fn metric_names(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(at) = text[i..].find("dgs_") {
        let start = i + at;
        let boundary =
            start == 0 || !(bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_');
        let end = start
            + text[start..]
                .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
                .unwrap_or(text.len() - start);
        if boundary {
            out.insert(text[start..end].to_owned());
        }
        i = end;
    }
    out
}

/// A subscriber stand-in that answers 204.
async fn sink() -> String {
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(|| async { axum::http::StatusCode::NO_CONTENT }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/hook")
}

#[tokio::test]
async fn every_metric_of_the_dashboard_and_the_alerts_is_in_a_scrape() {
    // What the chart uses.
    let dashboard = chart_file("dashboards/domo-group-sync.json");
    let rules = chart_file("templates/prometheusrule.yaml");
    let used: BTreeSet<String> = metric_names(&dashboard)
        .into_iter()
        .chain(metric_names(&rules))
        .collect();
    assert!(used.len() > 15, "the extraction works: {used:?}");
    for m in PULL_METRICS {
        assert!(used.contains(m), "the chart uses {m}");
    }

    // Ordinary traffic on the real service, with the `okta` source pulling from a simulator.
    let okta = crate::pull::OktaSim::start().await;
    let app = spawn_app_with(Options {
        okta_pull: Some(okta.pull_toml(3600, 0)),
        extra_toml: format!(
            "[[subscribers]]\nname = \"it\"\nurl = \"{}\"\nsecret = \"{SW_SECRET}\"\n\n[notify]\npoll_interval_ms = 50\n",
            sink().await
        ),
        ..Options::default()
    })
    .await;
    let body = canonical(
        "evt-scrape",
        "user.onboarded",
        "2026-11-28T10:00:00Z",
        "ada@example.com",
        Some(&["Marketing"]),
    );
    app.send_event(&body).await;
    app.send_event(&canonical(
        "evt-ghost",
        "user.onboarded",
        "2026-11-28T10:00:00Z",
        "ghost@example.com",
        Some(&["Marketing"]),
    ))
    .await;
    let other = adhoc_source(
        Scheme::StandardWebhooks,
        "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oA",
    );
    let forged = sign_with(
        &other,
        &other.secrets[0],
        &body,
        chrono::Utc::now().timestamp(),
        "msg_x",
    );
    assert_eq!(app.post_with("sw", &body, &forged).await.status(), 401);
    app.wait_idle().await;
    let (status, run) = call(
        &app,
        Method::POST,
        "/api/v1/reconcile/runs",
        Some(json!({"apply": true})),
    )
    .await;
    assert_eq!(status, 201, "{run}");
    app.wait_until("a delivery", || async {
        let (_, page) = call(
            &app,
            Method::GET,
            "/api/v1/deliveries?status=delivered",
            None,
        )
        .await;
        page["deliveries"].as_array().is_some_and(|d| !d.is_empty())
    })
    .await;

    // The scrape.
    // A pull now (the source's interval is an hour) that reads an event: lag and last success.
    okta.add_user("grace@example.com").await;
    let pulled = app.pull_now("okta", false).await;
    assert_eq!(pulled["ok"], true, "{pulled}");
    let text = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("scrape")
        .text()
        .await
        .expect("text");
    let has = |name: &str| {
        text.lines().any(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with(['{', ' ']))
        })
    };
    let missing: Vec<&String> = used.iter().filter(|m| !has(m)).collect();
    assert!(missing.is_empty(), "not in the scrape: {missing:?}");
}
