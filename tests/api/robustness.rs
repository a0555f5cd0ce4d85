//! Hostile input, as property tests (the bounded twins of the cargo-fuzz targets in `fuzz/`):
//! header parsers, format adapters and the config loader never panic on arbitrary input, a
//! forged request is never accepted, and whatever an adapter accepts is a valid event. Plus
//! the HTTP edge: huge header values and deeply nested JSON are refused cleanly.

use std::collections::BTreeMap;

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use domo_group_sync::config::{Config, ConfigInput, Format, Scheme, Secret, SourceConfig};
use domo_group_sync::sources::{Parsed, parse};
use proptest::prelude::*;

use crate::helpers::*;

const HEADERS: [&str; 10] = [
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "svix-signature",
    "x-hub-signature-256",
    "stripe-signature",
    "workos-signature",
    "x-bamboohr-signature",
    "x-bamboohr-timestamp",
    "authorization",
];
const SCHEMES: [Scheme; 7] = [
    Scheme::StandardWebhooks,
    Scheme::Svix,
    Scheme::Github,
    Scheme::Stripe,
    Scheme::Workos,
    Scheme::Bamboohr,
    Scheme::Okta,
];
const FORMATS: [Format; 5] = [
    Format::Canonical,
    Format::Workos,
    Format::Okta,
    Format::Clerk,
    Format::Bamboohr,
];

/// Header-ish values: printable text with the separators the parsers split on.
fn header_value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,80}",
        "(t=[0-9]{0,14}, ?v[01]=[0-9a-f]{0,70},?){0,3}",
        "(v1,[A-Za-z0-9+/=]{0,50} ?){0,3}",
        "sha256=[0-9a-fA-F]{0,70}",
        "[0-9]{0,20}",
    ]
}

proptest! {
    #[test]
    fn signature_parsers_never_panic_and_never_accept_a_forgery(
        scheme in 0..SCHEMES.len(),
        values in proptest::collection::vec(proptest::option::of(header_value()), HEADERS.len()),
        body in proptest::collection::vec(any::<u8>(), 0..200),
        now in 0i64..4_000_000_000,
    ) {
        let mut headers = HeaderMap::new();
        for (name, v) in HEADERS.iter().zip(values) {
            if let Some(v) = v.and_then(|v| HeaderValue::from_str(&v).ok()) {
                headers.insert(HeaderName::from_static(name), v);
            }
        }
        let source = SourceConfig {
            name: "p".into(),
            format: Format::Canonical,
            scheme: SCHEMES[scheme],
            secrets: vec![Secret::new(SW_SECRET).into()],
            tolerance_secs: 300,
            header: "authorization".into(),
            hmac: None,
            allow_ips: Vec::new(),
            pull: None,
        };
        let verdict = domo_group_sync::signature::verify(&source, &headers, &body, now);
        prop_assert!(verdict.is_err(), "accepted a forged request");
    }

    #[test]
    fn adapters_never_panic_and_what_they_accept_validates(
        format in 0..FORMATS.len(),
        body in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..300),
            "[\\[\\]{}\",:a-z0-9 ]{0,300}".prop_map(String::into_bytes),
        ],
    ) {
        let mut headers = HeaderMap::new();
        headers.insert("svix-id", HeaderValue::from_static("msg_prop"));
        if let Ok(items) = parse(FORMATS[format], &headers, &body) {
            for item in items {
                if let Parsed::Event(ev) = item {
                    prop_assert!(ev.validate().is_ok());
                }
            }
        }
    }

    #[test]
    fn the_config_loader_never_panics(text in "[\\[\\]a-z_=\"{}., 0-9\n:]{0,300}") {
        let env = BTreeMap::new();
        let _ = Config::parse(ConfigInput { toml: Some(&text), env: &env });
    }
}

#[tokio::test]
async fn a_huge_header_value_is_refused_cleanly() {
    let app = spawn_app().await;
    let huge = "a".repeat(200_000);
    let resp = app
        .client
        .post(app.url("/webhooks/sw"))
        .header("webhook-signature", huge.as_str())
        .body("{}")
        .send()
        .await;
    // Either the server refuses the header block (431) or the request is a plain 401: never a
    // 5xx, and the service keeps serving.
    if let Ok(r) = resp {
        let s = r.status().as_u16();
        assert!(s == 431 || s == 401 || s == 400, "status {s}");
    }
    assert_eq!(
        app.client
            .get(app.url("/healthz"))
            .send()
            .await
            .expect("alive")
            .status(),
        200
    );
}

#[tokio::test]
async fn deeply_nested_json_is_refused_cleanly() {
    let app = spawn_app().await;
    let nested = format!("{}{}", "[".repeat(20_000), "]".repeat(20_000));
    let resp = app.post_signed("sw", &nested).await;
    assert_eq!(resp.status(), 400);
    assert_eq!(
        app.client
            .get(app.url("/healthz"))
            .send()
            .await
            .expect("alive")
            .status(),
        200
    );
}

#[tokio::test]
async fn a_slow_loris_body_is_cut_off_with_408() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app_with(Options {
        request_timeout_secs: 1,
        ..Options::default()
    })
    .await;
    let mut stream = tokio::net::TcpStream::connect(app.addr)
        .await
        .expect("connect");
    let head = "POST /webhooks/sw HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{";
    stream.write_all(head.as_bytes()).await.expect("write");
    // The body never finishes: the server must give up after server.request_timeout_secs.
    let mut answer = Vec::new();
    let read = async {
        let mut buf = [0u8; 1024];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            }
            if answer.windows(4).any(|w| w == b"\r\n\r\n") {
                return;
            }
        }
    };
    let bounded = tokio::time::timeout(std::time::Duration::from_secs(20), read).await;
    assert!(bounded.is_ok(), "the server kept a slow request open");
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 408"), "answer: {text}");
    assert_eq!(
        app.client
            .get(app.url("/healthz"))
            .send()
            .await
            .expect("alive")
            .status(),
        200
    );
}

/// The RFC 8032 test 1 public key (its private key is in the signature unit tests, not here).
const V1A_PUBLIC: &str = "whpk_11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";

/// Signature lists mixing `v1` and `v1a` entries of any length.
fn v1a_header() -> impl Strategy<Value = String> {
    prop_oneof!["(v1a?,[A-Za-z0-9+/]{0,90}={0,2} ?){0,4}", "[ -~]{0,120}",]
}

/// Forwarding headers: addresses, ports, brackets, quotes, separators and junk.
fn forwarding_header() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,120}",
        "(([0-9]{1,3}\\.){3}[0-9]{1,3}(:[0-9]{1,5})?, ?){0,5}",
        "((for|by|proto)=(\"?\\[?[0-9a-f:.]{0,20}\\]?(:[0-9]{0,5})?\"?|_x|unknown)[;,] ?){0,6}",
    ]
}

proptest! {
    #[test]
    fn v1a_signature_lists_never_panic_and_never_verify_a_forgery(
        signature in v1a_header(),
        body in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        let mut headers = HeaderMap::new();
        headers.insert("webhook-id", HeaderValue::from_static("msg_prop"));
        headers.insert("webhook-timestamp", HeaderValue::from_static("1700000000"));
        if let Ok(v) = HeaderValue::from_str(&signature) {
            headers.insert("webhook-signature", v);
        }
        let mut source = adhoc_source(Scheme::StandardWebhooks, V1A_PUBLIC);
        source.secrets.push(Secret::new(SW_SECRET).into());
        let verdict = domo_group_sync::signature::verify(&source, &headers, &body, 1_700_000_000);
        prop_assert!(verdict.is_err(), "accepted a forged request");
    }

    #[test]
    fn forwarding_parsers_never_panic_and_stay_bounded(
        lines in proptest::collection::vec(forwarding_header(), 0..4),
    ) {
        let xff = domo_group_sync::net::parse_x_forwarded_for(lines.iter().map(String::as_str));
        let fwd = domo_group_sync::net::parse_forwarded(lines.iter().map(String::as_str));
        prop_assert!(xff.len() <= 64 && fwd.len() <= 64);
    }

    #[test]
    fn a_client_behind_a_trusted_proxy_cannot_choose_its_address(
        spoofed in proptest::collection::vec(forwarding_header(), 0..3),
        real in any::<[u8; 4]>(),
    ) {
        // The client sends any X-Forwarded-For lines; the trusted proxy appends the address
        // it saw. Unless that address is itself a trusted proxy, it is the client address.
        let real = std::net::IpAddr::from(real);
        let trusted: Vec<domo_group_sync::net::Cidr> =
            vec!["10.0.0.0/8".parse().expect("cidr")];
        prop_assume!(!domo_group_sync::net::any_contains(&trusted, real));
        let mut lines = spoofed.clone();
        lines.push(real.to_string());
        let chain = domo_group_sync::net::parse_x_forwarded_for(lines.iter().map(String::as_str));
        let peer = "10.0.0.1".parse().expect("ip");
        prop_assert_eq!(domo_group_sync::net::client_ip(peer, &trusted, &chain), Some(real));
    }
}
