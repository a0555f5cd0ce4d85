//! OpenTelemetry: the real binary, configured only by the standard `OTEL_*` variables,
//! exports its spans over OTLP/HTTP (JSON) to a small collector on 127.0.0.1. One trace
//! follows a webhook: the request span → the job that applied it (across the queue) → each
//! Domo call; the attributes an operator searches by are there, and no email or secret is.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use domo_group_sync::config::{Scheme, Secret};
use serde_json::Value;

use crate::helpers::{
    Options, SW_SECRET, adhoc_source, canonical, sign_with, spawn_binary_env, start_domo,
};

type Spans = Arc<Mutex<Vec<Value>>>;

/// An OTLP/HTTP collector stand-in: `POST /v1/traces` with JSON bodies; keeps every span.
async fn collector() -> (String, Spans, Arc<Mutex<Vec<String>>>) {
    let spans: Spans = Arc::default();
    let types: Arc<Mutex<Vec<String>>> = Arc::default();
    let (sink, kinds) = (spans.clone(), types.clone());
    let app = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(
            move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                let (sink, kinds) = (sink.clone(), kinds.clone());
                async move {
                    kinds.lock().expect("types").push(
                        headers
                            .get("content-type")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("")
                            .to_owned(),
                    );
                    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    let mut out = sink.lock().expect("spans");
                    for rs in v["resourceSpans"].as_array().into_iter().flatten() {
                        for ss in rs["scopeSpans"].as_array().into_iter().flatten() {
                            for s in ss["spans"].as_array().into_iter().flatten() {
                                let mut s = s.clone();
                                s["resource"] = rs["resource"].clone();
                                out.push(s);
                            }
                        }
                    }
                    "{}"
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), spans, types)
}

fn attr<'a>(span: &'a Value, key: &str) -> Option<&'a Value> {
    span["attributes"]
        .as_array()?
        .iter()
        .find(|a| a["key"] == key)
        .map(|a| &a["value"])
}

fn attr_str<'a>(span: &'a Value, key: &str) -> Option<&'a str> {
    attr(span, key)?["stringValue"].as_str()
}

#[tokio::test]
async fn one_trace_follows_a_webhook_through_its_job_to_each_domo_call() {
    // Arrange: Domo, a collector, and the binary told where to export by OTEL_* alone.
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, sim_addr) = start_domo(["ada@example.com"]).await;
    let (endpoint, spans, content_types) = collector().await;
    let db = crate::db::TestDb::create(dir.path()).await;
    let options = Options {
        store_url: Some(db.url.clone()),
        ..Options::default()
    };
    let bin = spawn_binary_env(
        dir.path(),
        sim_addr,
        &options,
        "",
        "warn",
        None,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
            ("OTEL_SERVICE_NAME", "dgs-under-test"),
            ("OTEL_TRACES_SAMPLER", "always_on"),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ],
    )
    .await;

    // Act: one signed webhook with a request id.
    let body = canonical(
        "evt-traced",
        "user.onboarded",
        "2026-11-28T10:00:00Z",
        "ada@example.com",
        Some(&["Marketing"]),
    );
    let src = adhoc_source(Scheme::StandardWebhooks, SW_SECRET);
    let headers = sign_with(
        &src,
        &Secret::new(SW_SECRET),
        &body,
        chrono::Utc::now().timestamp(),
        "msg_traced",
    );
    let mut req = reqwest::Client::new()
        .post(format!("{}/webhooks/sw", bin.base))
        .header("x-request-id", "req-traced-1")
        .body(body);
    for (k, v) in headers {
        req = req.header(k, v);
    }
    assert_eq!(req.send().await.expect("sent").status(), 202);

    // Assert: the spans arrive (batched every 100 ms).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let all = loop {
        let all = spans.lock().expect("spans").clone();
        // The job span ends (and is exported) after its Domo calls: wait for both.
        if all.iter().any(|s| s["name"] == "domo add_member")
            && all.iter().any(|s| s["name"] == "job")
        {
            break all;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no Domo call span; got {:#?}",
            all.iter().map(|s| &s["name"]).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        content_types
            .lock()
            .expect("types")
            .iter()
            .all(|t| t == "application/json"),
        "OTLP/HTTP with the JSON encoding"
    );
    let by_id: HashMap<&str, &Value> = all
        .iter()
        .filter_map(|s| s["spanId"].as_str().map(|id| (id, s)))
        .collect();
    let request = all
        .iter()
        .find(|s| s["name"] == "POST /webhooks/{source}")
        .expect("the webhook's request span");
    assert_eq!(request["kind"], 2, "a server span");
    assert_eq!(attr_str(request, "request.id"), Some("req-traced-1"));
    assert_eq!(attr_str(request, "webhook.source"), Some("sw"));
    assert_eq!(attr_str(request, "http.route"), Some("/webhooks/{source}"));
    assert_eq!(
        attr(request, "http.response.status_code").and_then(|v| v["intValue"].as_str()),
        Some("202"),
        "{request:#}"
    );
    let trace = request["traceId"].as_str().expect("trace id");
    assert_eq!(trace.len(), 32);
    let service = request["resource"]["attributes"]
        .as_array()
        .and_then(|a| a.iter().find(|a| a["key"] == "service.name"))
        .map(|a| a["value"]["stringValue"].clone());
    assert_eq!(service, Some(Value::from("dgs-under-test")));

    let ingest = all
        .iter()
        .find(|s| s["name"] == "ingest")
        .expect("ingest span");
    assert_eq!(ingest["parentSpanId"], request["spanId"]);

    // The job is a child of the request span, across the queue.
    let job = all
        .iter()
        .find(|s| s["name"] == "job" && s["traceId"] == trace)
        .expect("the job, in the webhook's trace");
    assert_eq!(job["parentSpanId"], request["spanId"], "{job:#}");
    assert_eq!(job["kind"], 5, "a consumer span");
    assert_eq!(attr_str(job, "event.ids"), Some("evt-traced"));
    assert_eq!(attr_str(job, "request.id"), Some("req-traced-1"));
    assert_eq!(attr_str(job, "source"), Some("sw"));
    assert_eq!(attr_str(job, "job.kind"), Some("user"));
    assert!(
        attr(job, "user.email").is_none(),
        "no email unless configured"
    );

    // Every Domo call of the job is a client span under it, in the same trace.
    let domo: Vec<&Value> = all
        .iter()
        .filter(|s| s["name"].as_str().is_some_and(|n| n.starts_with("domo ")))
        .collect();
    let names: Vec<&str> = domo.iter().filter_map(|s| s["name"].as_str()).collect();
    for needed in ["domo get_user", "domo add_member"] {
        assert!(names.contains(&needed), "{needed} in {names:?}");
    }
    for d in &domo {
        assert_eq!(d["traceId"], trace, "{d:#}");
        assert_eq!(d["kind"], 3, "a client span");
        // Walk up to the job.
        let mut at: &Value = d;
        let mut hops = 0;
        while at["spanId"] != job["spanId"] {
            let parent = at["parentSpanId"].as_str().expect("a parent");
            at = by_id.get(parent).expect("the parent was exported");
            hops += 1;
            assert!(hops < 5);
        }
        assert_eq!(hops, 1, "a Domo call is a direct child of its job: {d:#}");
    }
    let add = domo
        .iter()
        .find(|s| s["name"] == "domo add_member")
        .expect("add");
    assert_eq!(
        attr(add, "http.response.status_code").and_then(|v| v["intValue"].as_str()),
        Some("204")
    );
    assert!(attr(add, "domo.group_id").is_some() && attr(add, "domo.user_id").is_some());

    // Never an email, a secret or a signature in any span.
    let text = serde_json::to_string(&all).expect("json");
    for needle in ["ada@example.com", SW_SECRET, "sim-secret", "v1,"] {
        assert!(!text.contains(needle), "`{needle}` was exported");
    }
    drop(bin);
}
