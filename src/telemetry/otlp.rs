//! An OTLP/HTTP span exporter (OTLP 1.x, JSON encoding) over the reqwest client the service
//! already uses, configured by the standard `OTEL_*` variables.
//!
//! Why not `opentelemetry-otlp`: its HTTP exporters still depend on tonic and its generated
//! types. The JSON encoding of the trace request is small and fixed by the specification
//! (ids in hex, 64-bit integers as strings, enums as numbers), so it is written here.
//!
//! The SDK's batch processor calls `export` from its own thread; the request itself runs on
//! the service's tokio runtime (captured when the exporter is built), so reqwest has its
//! reactor and the processor thread only waits for the result.

use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry::trace::{SpanKind, Status};
use opentelemetry::{Array, KeyValue, Value};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use serde_json::{Value as Json, json};

pub use super::settings::{Disabled, OtlpSettings};

/// The exporter.
#[derive(Debug)]
pub struct OtlpExporter {
    settings: OtlpSettings,
    http: reqwest::Client,
    runtime: tokio::runtime::Handle,
    resource: Json,
}

impl OtlpExporter {
    /// Builds the exporter; must be called inside the tokio runtime it will send from.
    pub fn new(settings: OtlpSettings) -> Result<OtlpExporter, String> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| "the OTLP exporter must be built inside the runtime".to_owned())?;
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("domo-group-sync/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the OTLP client: {e}"))?;
        Ok(OtlpExporter {
            settings,
            http,
            runtime,
            resource: json!({ "attributes": [] }),
        })
    }
}

impl SpanExporter for OtlpExporter {
    fn export(&self, batch: Vec<SpanData>) -> impl Future<Output = OTelSdkResult> + Send {
        let body = encode(&self.resource, &batch);
        let mut request = self
            .http
            .post(self.settings.endpoint.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
        for (k, v) in &self.settings.headers {
            request = request.header(k.as_str(), v.expose());
        }
        let sent = self.runtime.spawn(async move {
            let resp = request
                .send()
                .await
                .map_err(|e| format!("OTLP export failed: {}", e.without_url()))?;
            let status = resp.status();
            if status.is_success() {
                Ok(())
            } else {
                Err(format!(
                    "OTLP export refused with status {}",
                    status.as_u16()
                ))
            }
        });
        async move {
            match sent.await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(OTelSdkError::InternalFailure(e)),
                Err(e) => Err(OTelSdkError::InternalFailure(format!(
                    "OTLP export task failed: {e}"
                ))),
            }
        }
    }

    fn set_resource(&mut self, resource: &Resource) {
        let attributes: Vec<Json> = resource
            .iter()
            .map(|(k, v)| attribute(k.as_str(), v))
            .collect();
        self.resource = json!({ "attributes": attributes });
    }
}

/// The OTLP/JSON `ExportTraceServiceRequest` of a batch.
pub fn encode(resource: &Json, batch: &[SpanData]) -> Vec<u8> {
    // Spans grouped by instrumentation scope, in order of first appearance.
    let mut scopes: Vec<(Json, Vec<Json>)> = Vec::new();
    for span in batch {
        let scope = json!({
            "name": span.instrumentation_scope.name(),
            "version": span.instrumentation_scope.version().unwrap_or_default(),
        });
        let encoded = encode_span(span);
        match scopes.iter_mut().find(|(s, _)| *s == scope) {
            Some((_, spans)) => spans.push(encoded),
            None => scopes.push((scope, vec![encoded])),
        }
    }
    let scope_spans: Vec<Json> = scopes
        .into_iter()
        .map(|(scope, spans)| json!({ "scope": scope, "spans": spans }))
        .collect();
    let request = json!({
        "resourceSpans": [{ "resource": resource, "scopeSpans": scope_spans }]
    });
    serde_json::to_vec(&request).unwrap_or_default()
}

fn encode_span(s: &SpanData) -> Json {
    let cx = &s.span_context;
    let mut span = json!({
        "traceId": cx.trace_id().to_string(),
        "spanId": cx.span_id().to_string(),
        "name": s.name,
        "kind": kind_number(&s.span_kind),
        "startTimeUnixNano": nanos(s.start_time),
        "endTimeUnixNano": nanos(s.end_time),
        "attributes": s.attributes.iter().map(|kv| attribute(kv.key.as_str(), &kv.value)).collect::<Vec<_>>(),
        "droppedAttributesCount": s.dropped_attributes_count,
        "events": s.events.events.iter().map(|e| json!({
            "timeUnixNano": nanos(e.timestamp),
            "name": e.name,
            "attributes": key_values(&e.attributes),
        })).collect::<Vec<_>>(),
        "links": s.links.links.iter().map(|l| json!({
            "traceId": l.span_context.trace_id().to_string(),
            "spanId": l.span_context.span_id().to_string(),
            "attributes": key_values(&l.attributes),
        })).collect::<Vec<_>>(),
        "status": match &s.status {
            Status::Unset => json!({ "code": 0 }),
            Status::Ok => json!({ "code": 1 }),
            Status::Error { description } => json!({ "code": 2, "message": description }),
        },
        "flags": u32::from(cx.trace_flags().to_u8()) | 0x100 | if s.parent_span_is_remote { 0x200 } else { 0 },
    });
    if s.parent_span_id != opentelemetry::trace::SpanId::INVALID {
        span["parentSpanId"] = json!(s.parent_span_id.to_string());
    }
    let state = cx.trace_state().header();
    if !state.is_empty() {
        span["traceState"] = json!(state);
    }
    span
}

fn key_values(kvs: &[KeyValue]) -> Vec<Json> {
    kvs.iter()
        .map(|kv| attribute(kv.key.as_str(), &kv.value))
        .collect()
}

fn attribute(key: &str, value: &Value) -> Json {
    json!({ "key": key, "value": any_value(value) })
}

fn any_value(v: &Value) -> Json {
    match v {
        Value::Bool(b) => json!({ "boolValue": b }),
        Value::I64(i) => json!({ "intValue": i.to_string() }),
        Value::F64(f) if f.is_finite() => json!({ "doubleValue": f }),
        Value::F64(f) => json!({ "stringValue": f.to_string() }),
        Value::String(s) => json!({ "stringValue": s.as_str() }),
        Value::Array(a) => {
            let values: Vec<Json> = match a {
                Array::Bool(v) => v.iter().map(|b| json!({ "boolValue": b })).collect(),
                Array::I64(v) => v
                    .iter()
                    .map(|i| json!({ "intValue": i.to_string() }))
                    .collect(),
                Array::F64(v) => v.iter().map(|f| json!({ "doubleValue": f })).collect(),
                Array::String(v) => v
                    .iter()
                    .map(|s| json!({ "stringValue": s.as_str() }))
                    .collect(),
                _ => Vec::new(),
            };
            json!({ "arrayValue": { "values": values } })
        }
        other => json!({ "stringValue": other.to_string() }),
    }
}

fn kind_number(k: &SpanKind) -> u8 {
    match k {
        SpanKind::Internal => 1,
        SpanKind::Server => 2,
        SpanKind::Client => 3,
        SpanKind::Producer => 4,
        SpanKind::Consumer => 5,
    }
}

fn nanos(t: SystemTime) -> String {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
        .to_string()
}
