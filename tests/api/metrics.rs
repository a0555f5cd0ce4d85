//! `GET /metrics`: after some traffic, the expected series appear with bounded labels.

use domo_group_sync::config::Scheme;

use crate::helpers::*;

const AT: &str = "2026-11-28T10:00:00Z";

/// The value of the first series line starting with `prefix` (name and labels).
fn value(text: &str, prefix: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test]
async fn metrics_show_http_webhook_event_job_and_domo_series() {
    let app = spawn_app().await;
    let body = canonical(
        "evt_metrics_1",
        "user.onboarded",
        AT,
        "ada@example.com",
        Some(&["Marketing"]),
    );
    app.send_event(&body).await;
    // A signature made with another secret, an unknown path, and a duplicate.
    let other = adhoc_source(
        Scheme::StandardWebhooks,
        "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oA",
    );
    let forged = sign_with(
        &other,
        &other.secrets[0],
        &body,
        chrono::Utc::now().timestamp(),
        "msg_forged",
    );
    let bad = app.post_with("sw", &body, &forged).await;
    assert_eq!(bad.status(), 401);
    let nope = app
        .client
        .get(app.url("/no/such/path/ada@example.com"))
        .send()
        .await
        .expect("sent");
    assert_eq!(nope.status(), 404);
    let odd = reqwest::Method::from_bytes(b"BREW").expect("method");
    let brew = app
        .client
        .request(odd, app.url("/healthz"))
        .send()
        .await
        .expect("sent");
    assert_eq!(brew.status(), 405);
    let dup = app.post_signed("sw", &body).await;
    assert_eq!(dup.status(), 202);
    app.wait_idle().await;
    assert_eq!(
        app.worker.run_until_idle().await.expect("worker"),
        0,
        "nothing left"
    );
    assert!(
        app.groups_of("ada@example.com")
            .contains(&"Marketing".to_owned())
    );

    let resp = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("scrape");
    assert_eq!(resp.status(), 200);
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(ct.starts_with("text/plain"), "{ct}");
    let text = resp.text().await.expect("text");

    // Counters are process-wide (other tests run in this process): check presence and floors.
    let expect = [
        r#"dgs_http_requests_total{method="POST",route="/webhooks/{source}",status="202"}"#,
        r#"dgs_http_requests_total{method="POST",route="/webhooks/{source}",status="401"}"#,
        r#"dgs_http_requests_total{method="GET",route="unmatched",status="404"}"#,
        r#"dgs_http_requests_total{method="other",route="/healthz",status="405"}"#,
        r#"dgs_http_request_duration_seconds_bucket{method="POST",route="/webhooks/{source}",status="202",le="0.5"}"#,
        r#"dgs_webhook_signature_failures_total{source="sw",reason="mismatch"}"#,
        r#"dgs_events_total{source="sw",type="user.onboarded",outcome="queued"}"#,
        r#"dgs_events_total{source="sw",type="user.onboarded",outcome="duplicate"}"#,
        r#"dgs_events_total{source="sw",type="user.onboarded",outcome="done"}"#,
        r#"dgs_job_attempts_total"#,
        r#"dgs_domo_requests_total{op="add_member",status="204"}"#,
        r#"dgs_domo_request_duration_seconds_bucket{op="add_member",status="204",le="30"}"#,
        r#"dgs_domo_request_duration_seconds_count{op="add_member",status="204"}"#,
        r#"dgs_jobs{state="done"}"#,
        r#"dgs_jobs{state="queued"}"#,
        r#"dgs_oldest_queued_job_age_seconds"#,
        r#"dgs_domo_token_refreshes_total"#,
    ];
    for prefix in expect {
        let v = value(&text, prefix).unwrap_or_else(|| panic!("no series {prefix} in:\n{text}"));
        if !prefix.starts_with("dgs_jobs{state=\"queued\"") && !prefix.starts_with("dgs_oldest") {
            assert!(v >= 1.0, "{prefix} = {v}");
        }
    }
    assert!(text.contains("# TYPE dgs_http_request_duration_seconds histogram"));
    // Bounded labels: no raw path, no email, no event id.
    assert!(!text.contains("/no/such/path"), "a raw path leaked");
    assert!(!text.contains("example.com"), "an email leaked");
    assert!(!text.contains("BREW"), "an arbitrary method became a label");
    assert!(!text.contains("evt_metrics_1"), "an event id leaked");
    assert!(
        !text.contains("route=\"/webhooks/sw\""),
        "a raw webhook path leaked"
    );
}

#[tokio::test]
async fn dead_letters_are_counted() {
    let app = spawn_app_with(Options {
        user_wait_secs: 0,
        ..Options::default()
    })
    .await;
    app.send_event(&canonical(
        "evt_metrics_dead",
        "user.onboarded",
        AT,
        "nobody@example.com",
        Some(&["Marketing"]),
    ))
    .await;
    app.wait_idle().await;
    assert_eq!(app.store.count_events("dead").await.expect("count"), 1);
    let text = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("scrape")
        .text()
        .await
        .expect("text");
    for prefix in [
        r#"dgs_dead_letters_total{source="sw"}"#,
        r#"dgs_events_total{source="sw",type="user.onboarded",outcome="dead"}"#,
        r#"dgs_jobs{state="dead"}"#,
    ] {
        let v = value(&text, prefix).unwrap_or_else(|| panic!("no series {prefix} in:\n{text}"));
        assert!(v >= 1.0, "{prefix} = {v}");
    }
}
