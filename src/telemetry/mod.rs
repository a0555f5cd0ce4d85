//! Logging and tracing.
//!
//! Logs: `tracing` with a compact format for people or JSON for production; `RUST_LOG` wins
//! over `log.level`. Nothing here, or anywhere, logs a secret, token, signature or body.
//!
//! Traces: when the standard `OTEL_*` variables name an OTLP endpoint, the service's own spans
//! (only the service's, and only spans: log lines are not exported) go to it over OTLP/HTTP
//! (`otlp`). One trace follows a delivery: the request span (`POST /webhooks/{source}`) →
//! `ingest` → the `job` that applied it, across the queue (the request's `traceparent` is
//! stored with each event, see `context`) → a `domo <op>` span per Domo call. Without an
//! endpoint no layer is installed and [`traceparent`] returns at once: no cost.

pub mod context;
pub mod otlp;
pub mod settings;

use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use opentelemetry::trace::{TraceContextExt as _, TracerProvider as _};
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer as _;
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

use crate::config::LogFormat;

/// Set once the OpenTelemetry layer is installed.
static TRACING_ON: AtomicBool = AtomicBool::new(false);
static PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();

/// Installs the global subscriber (once; later calls are ignored): logs, plus trace export
/// when the environment configures it. Call inside the tokio runtime.
pub fn init(format: LogFormat, level: &str) {
    let env: BTreeMap<String, String> = std::env::vars().collect();
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    // Colours only on a terminal: escape codes in a log file or a collector are noise,
    // and formatting them is a measurable share of a request's CPU (BENCHMARKS.md).
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let fmt = tracing_subscriber::fmt::layer()
        .with_ansi(ansi)
        // A log line that cannot be written (stderr on a full disk, a reader gone) is dropped.
        // Reporting it would `eprintln!` to the same stderr, which panics on failure: every
        // request that logs would die with it.
        .log_internal_errors(false)
        .with_writer(std::io::stderr);
    let logs = match format {
        LogFormat::Json => fmt
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_filter(filter)
            .boxed(),
        LogFormat::Compact => fmt.compact().with_filter(filter).boxed(),
    };
    let (traces, problem) = match otlp::OtlpSettings::from_env(&env) {
        Ok(settings) => match tracer_layer(settings) {
            Ok(layer) => (Some(layer), None),
            Err(e) => (None, Some(e)),
        },
        Err(otlp::Disabled::Off) => (None, None),
        Err(otlp::Disabled::Invalid(e)) => (None, Some(e)),
    };
    let on = traces.is_some();
    let layers: Vec<BoxedLayer> = std::iter::once(logs).chain(traces).collect();
    if tracing_subscriber::registry()
        .with(layers)
        .try_init()
        .is_ok()
        && on
    {
        TRACING_ON.store(true, Ordering::SeqCst);
        tracing::info!("exporting traces over OTLP/HTTP");
    }
    if let Some(e) = problem {
        tracing::error!(problem = %e, "traces are not exported");
    }
}

type BoxedLayer = Box<dyn tracing_subscriber::Layer<tracing_subscriber::Registry> + Send + Sync>;

fn tracer_layer(settings: otlp::OtlpSettings) -> Result<BoxedLayer, String> {
    let exporter = otlp::OtlpExporter::new(settings)?;
    // The SDK reads OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES into the resource, and
    // OTEL_TRACES_SAMPLER(_ARG) and OTEL_BSP_* itself.
    let mut resource = opentelemetry_sdk::Resource::builder();
    if std::env::var_os("OTEL_SERVICE_NAME").is_none()
        && !std::env::var("OTEL_RESOURCE_ATTRIBUTES").is_ok_and(|v| v.contains("service.name"))
    {
        resource = resource.with_service_name("domo-group-sync");
    }
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            resource
                .with_attribute(opentelemetry::KeyValue::new(
                    "service.version",
                    env!("CARGO_PKG_VERSION"),
                ))
                .build(),
        )
        .build();
    let tracer = provider.tracer("domo-group-sync");
    let _ = PROVIDER.set(provider);
    let layer = tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_location(false)
        .with_threads(false)
        .with_target(false)
        .with_level(false)
        .with_tracked_inactivity(false)
        // Only the service's own spans: no log lines (they may name a user), no spans of the
        // libraries (hyper, sqlx).
        .with_filter(filter_fn(|m| {
            m.is_span()
                && m.target().starts_with("domo_group_sync")
                && *m.level() <= tracing::Level::INFO
        }));
    Ok(Box::new(layer))
}

/// Whether spans are exported.
pub fn tracing_on() -> bool {
    TRACING_ON.load(Ordering::Relaxed)
}

/// Sends the spans still buffered (call before the process exits). Blocking: run it where a
/// thread may block (the runtime keeps working meanwhile).
pub fn flush() {
    if let Some(p) = PROVIDER.get()
        && let Err(e) = p.force_flush()
    {
        tracing::warn!(error = %e, "could not flush the last spans");
    }
}

/// The `traceparent` of the current span, to store with an event; `None` when spans are not
/// exported (at the cost of one atomic load).
pub fn traceparent() -> Option<String> {
    if !tracing_on() {
        return None;
    }
    let cx = tracing::Span::current().context();
    context::format(cx.span().span_context())
}

/// Makes `span` continue the trace of the first stored context and link to the others (a job
/// applies several events, each delivered in its own trace). Nothing when tracing is off.
pub fn continue_traces<'a>(span: &tracing::Span, contexts: impl IntoIterator<Item = &'a str>) {
    if !tracing_on() {
        return;
    }
    let mut parsed = contexts.into_iter().filter_map(context::parse);
    if let Some(first) = parsed.next() {
        let _ =
            span.set_parent(opentelemetry::Context::new().with_remote_span_context(first.clone()));
        let mut seen = vec![first];
        for cx in parsed {
            if !seen.contains(&cx) {
                span.add_link(cx.clone());
                seen.push(cx);
            }
        }
    }
}

/// Makes `span` a child of a caller's `traceparent` header, if it sent a valid one.
pub fn continue_caller(span: &tracing::Span, header: Option<&str>) {
    if tracing_on() {
        continue_traces(span, header);
    }
}
