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

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry::trace::{SpanKind, Status};
use opentelemetry::{Array, KeyValue, Value};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use serde_json::{Value as Json, json};

use crate::config::Secret;

/// Where and how to export, read from the environment.
#[derive(Debug, Clone, PartialEq)]
pub struct OtlpSettings {
    /// The traces endpoint (`…/v1/traces`).
    pub endpoint: url::Url,
    /// Extra headers (`OTEL_EXPORTER_OTLP_HEADERS`): often an API key, so kept as secrets.
    pub headers: Vec<(String, Secret)>,
    pub timeout: Duration,
}

/// Why the environment does not configure an export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disabled {
    /// Nothing asks for traces: no endpoint, `OTEL_SDK_DISABLED=true` or
    /// `OTEL_TRACES_EXPORTER=none`.
    Off,
    /// Traces were asked for but cannot be sent as configured (the message says why).
    Invalid(String),
}

impl OtlpSettings {
    /// Reads `OTEL_SDK_DISABLED`, `OTEL_TRACES_EXPORTER`, `OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT`,
    /// `…_PROTOCOL`, `…_HEADERS` and `…_TIMEOUT` from `env`. The traces-specific variable
    /// wins over the general one; the general endpoint gets `/v1/traces` appended, the
    /// specific one is used as is.
    pub fn from_env(env: &BTreeMap<String, String>) -> Result<OtlpSettings, Disabled> {
        let get = |k: &str| env.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
        let either = |specific: &str, general: &str| get(specific).or_else(|| get(general));
        if get("OTEL_SDK_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
            return Err(Disabled::Off);
        }
        match get("OTEL_TRACES_EXPORTER") {
            None | Some("otlp") => {}
            Some("none") => return Err(Disabled::Off),
            Some(other) => {
                return Err(Disabled::Invalid(format!(
                    "OTEL_TRACES_EXPORTER={other} is not supported; use otlp (or none)"
                )));
            }
        }
        let endpoint = match (
            get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
            get("OTEL_EXPORTER_OTLP_ENDPOINT"),
        ) {
            (Some(e), _) => e.to_owned(),
            (None, Some(base)) => format!("{}/v1/traces", base.trim_end_matches('/')),
            (None, None) => return Err(Disabled::Off),
        };
        let endpoint = match url::Url::parse(&endpoint) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => u,
            _ => {
                return Err(Disabled::Invalid(
                    "the OTLP endpoint is not an http(s) URL".into(),
                ));
            }
        };
        match either(
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
            "OTEL_EXPORTER_OTLP_PROTOCOL",
        ) {
            None | Some("http/json") => {}
            Some(p) => {
                return Err(Disabled::Invalid(format!(
                    "OTEL_EXPORTER_OTLP_PROTOCOL={p} is not supported: this service exports \
                     OTLP over HTTP with the JSON encoding; set http/json (every OpenTelemetry \
                     Collector, and most backends, accept it on their OTLP/HTTP port)"
                )));
            }
        }
        let mut headers = Vec::new();
        for h in [
            get("OTEL_EXPORTER_OTLP_HEADERS"),
            get("OTEL_EXPORTER_OTLP_TRACES_HEADERS"),
        ]
        .into_iter()
        .flatten()
        {
            for pair in h.split(',').filter(|p| !p.trim().is_empty()) {
                let Some((k, v)) = pair.split_once('=') else {
                    return Err(Disabled::Invalid(
                        "OTEL_EXPORTER_OTLP_HEADERS: write key=value pairs separated by commas"
                            .into(),
                    ));
                };
                let key = k.trim().to_ascii_lowercase();
                let value = percent_decode(v.trim());
                if reqwest::header::HeaderName::from_bytes(key.as_bytes()).is_err()
                    || reqwest::header::HeaderValue::from_str(&value).is_err()
                {
                    return Err(Disabled::Invalid(format!(
                        "OTEL_EXPORTER_OTLP_HEADERS: `{key}` is not a valid header"
                    )));
                }
                headers.retain(|(k, _): &(String, Secret)| *k != key);
                headers.push((key, Secret::new(value)));
            }
        }
        let timeout = either(
            "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
            "OTEL_EXPORTER_OTLP_TIMEOUT",
        )
        .map(|t| {
            t.parse::<u64>().map_err(|_| {
                Disabled::Invalid("OTEL_EXPORTER_OTLP_TIMEOUT must be milliseconds".into())
            })
        })
        .transpose()?
        .unwrap_or(10_000);
        Ok(OtlpSettings {
            endpoint,
            headers,
            timeout: Duration::from_millis(timeout.max(1)),
        })
    }
}

/// `%XX` escapes decoded (header values in `OTEL_EXPORTER_OTLP_HEADERS` are URL-encoded).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(h), Some(l)) = (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            )
        {
            out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn nothing_set_is_off() {
        assert_eq!(OtlpSettings::from_env(&env(&[])), Err(Disabled::Off));
        let with = |extra: (&str, &str)| {
            OtlpSettings::from_env(&env(&[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
                extra,
            ]))
        };
        assert_eq!(with(("OTEL_SDK_DISABLED", "true")), Err(Disabled::Off));
        assert_eq!(with(("OTEL_TRACES_EXPORTER", "none")), Err(Disabled::Off));
        assert!(matches!(
            with(("OTEL_TRACES_EXPORTER", "zipkin")),
            Err(Disabled::Invalid(_))
        ));
        assert!(matches!(
            with(("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")),
            Err(Disabled::Invalid(_))
        ));
    }

    #[test]
    fn the_general_endpoint_gets_the_traces_path_and_the_specific_one_wins() {
        let s = OtlpSettings::from_env(&env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318/")]))
            .expect("on");
        assert_eq!(s.endpoint.as_str(), "http://c:4318/v1/traces");
        assert_eq!(s.timeout, Duration::from_secs(10));
        let s = OtlpSettings::from_env(&env(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
            (
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                "https://t.example/custom",
            ),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "2500"),
        ]))
        .expect("on");
        assert_eq!(s.endpoint.as_str(), "https://t.example/custom");
        assert_eq!(s.timeout, Duration::from_millis(2500));
    }

    #[test]
    fn headers_are_decoded_and_never_printed() {
        let s = OtlpSettings::from_env(&env(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
            (
                "OTEL_EXPORTER_OTLP_HEADERS",
                "x-api-key=s3cr%3Dt, tenant=acme",
            ),
        ]))
        .expect("on");
        let names: Vec<&str> = s.headers.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["x-api-key", "tenant"]);
        assert_eq!(s.headers[0].1.expose(), "s3cr=t");
        assert!(!format!("{s:?}").contains("s3cr"));
        assert!(matches!(
            OtlpSettings::from_env(&env(&[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
                ("OTEL_EXPORTER_OTLP_HEADERS", "novalue"),
            ])),
            Err(Disabled::Invalid(_))
        ));
    }
}
