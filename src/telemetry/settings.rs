//! The OTLP exporter's settings from the standard `OTEL_*` variables. Pure (the environment is
//! passed in).

use std::collections::BTreeMap;
use std::time::Duration;

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
