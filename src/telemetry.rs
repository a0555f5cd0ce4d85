//! Logging: `tracing` with a compact format for people or JSON for production. `RUST_LOG`
//! wins over `log.level`. Nothing here, or anywhere, logs a secret, token, signature or body.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::FmtSpan;

use crate::config::LogFormat;

/// Installs the global subscriber (once; later calls are ignored).
pub fn init(format: LogFormat, level: &str) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_span_events(FmtSpan::NONE)
        // Colours only on a terminal: escape codes in a log file or a collector are noise,
        // and formatting them is a measurable share of a request's CPU (BENCHMARKS.md).
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        // A log line that cannot be written (stderr on a full disk, a reader gone) is dropped.
        // Reporting it would `eprintln!` to the same stderr, which panics on failure: every
        // request that logs would die with it.
        .log_internal_errors(false)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
        LogFormat::Compact => builder.compact().try_init(),
    };
}
