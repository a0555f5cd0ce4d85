//! A `slack` subscriber gets a short human-readable message at its incoming-webhook URL: no
//! signature headers (Slack does not check any; the URL is the credential), a `text` body.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::HeaderMap;
use domo_group_sync::notify::source::PullReport;
use serde_json::Value;

use crate::helpers::{Options, spawn_app_with};

type Seen = Arc<Mutex<Vec<(HeaderMap, Value)>>>;

/// An incoming-webhook stand-in on 127.0.0.1 that answers `ok` as Slack does.
async fn slack() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let sink = seen.clone();
    let app = axum::Router::new().route(
        "/services/T000/B000/XXXX",
        axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let sink = sink.clone();
            async move {
                let v = serde_json::from_slice(&body).unwrap_or(Value::Null);
                sink.lock().expect("seen").push((headers, v));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/services/T000/B000/XXXX"), seen)
}

#[tokio::test]
async fn a_slack_subscriber_gets_a_readable_line_without_signature_headers() {
    let (url, seen) = slack().await;
    let app = spawn_app_with(Options {
        extra_toml: format!(
            "[[subscribers]]\nkind = \"slack\"\nurl = \"{url}\"\nevents = [\"source.failing\"]\n\n\
             [notify]\nsource_error_threshold = 1\npoll_interval_ms = 50\n"
        ),
        ..Options::default()
    })
    .await;
    let now = chrono::Utc::now().timestamp_millis();
    app.source_watch
        .report(
            "bamboohr",
            PullReport::Failed {
                error: "BambooHR answered 503 <Service Unavailable>",
            },
            now,
        )
        .await
        .expect("report");

    app.wait_until("the Slack message", || async {
        !seen.lock().expect("seen").is_empty()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let got = seen.lock().expect("seen").clone();
    assert_eq!(got.len(), 1);
    let (headers, body) = &got[0];
    assert!(headers.get("webhook-signature").is_none());
    assert_eq!(headers["content-type"], "application/json");
    let text = body["text"].as_str().expect("a text body");
    assert!(text.contains("Pull source `bamboohr` is failing"), "{text}");
    assert!(
        text.contains("&lt;Service Unavailable&gt;"),
        "escaped for Slack: {text}"
    );
    assert_eq!(body.as_object().map(|o| o.len()), Some(1), "only `text`");
    // The subscriber is named `slack` by default and shows in the API without its URL.
    let subs = app.get_json("/api/v1/subscribers").await;
    assert_eq!(subs["subscribers"][0]["name"], "slack");
    assert_eq!(subs["subscribers"][0]["kind"], "slack");
    assert!(!subs.to_string().contains("XXXX"), "{subs}");
}
