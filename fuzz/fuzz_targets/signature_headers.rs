//! Every scheme's header parser and verifier (`v1a` Ed25519 entries included), fed arbitrary
//! header values and bodies: must never panic, and must never accept (no secret or private
//! key is known to the fuzzer). And Microsoft Graph's notification body parser and
//! `clientState` check (`graph`), with the `validationToken` query decoder: never a panic, and
//! an accepted body always has a notification whose `clientState` is the secret.
#![no_main]

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use domo_group_sync::config::{
    Format, HmacAlgorithm, HmacEncoding, HmacProfile, Scheme, Secret, SignedContent, SourceConfig,
};
use libfuzzer_sys::fuzz_target;

const HEADERS: [&str; 12] = [
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "svix-id",
    "svix-timestamp",
    "svix-signature",
    "x-hub-signature-256",
    "stripe-signature",
    "workos-signature",
    "x-bamboohr-signature",
    "x-bamboohr-timestamp",
    "authorization",
];
const SCHEMES: [Scheme; 8] = [
    Scheme::StandardWebhooks,
    Scheme::Svix,
    Scheme::Github,
    Scheme::Stripe,
    Scheme::Workos,
    Scheme::Bamboohr,
    Scheme::Okta,
    Scheme::Hmac,
];

/// The `clientState` of the fuzzed `graph` source.
const CLIENT_STATE: &str = "fuzz-client-state";

/// Graph: the bytes are the body, and (lossily) a query string.
fn graph(data: &[u8]) {
    use domo_group_sync::signature::graph;
    let source = SourceConfig {
        name: "fuzz".into(),
        format: Format::Entra,
        scheme: Scheme::Graph,
        secrets: vec![Secret::new(CLIENT_STATE).into()],
        tolerance_secs: 300,
        header: "authorization".into(),
        hmac: None,
        allow_ips: Vec::new(),
        pull: None,
    };
    let query = String::from_utf8_lossy(data);
    let _ = graph::validation_token(Some(&query));
    let parsed = graph::parse(data);
    match graph::verify(&source, data, 1_700_000_000) {
        Ok(checked) => {
            let items = parsed.expect("an accepted body parses");
            assert_eq!(checked.len(), items.len());
            assert!(checked.iter().any(|c| c.secret == Some(0)));
            for (c, n) in checked.iter().zip(&items) {
                assert_eq!(c, &graph::check(&source, n, 1_700_000_000));
                assert!(c.secret.is_some() || !c.outcome.requests_pull());
            }
        }
        Err(graph::Refusal::Malformed(_)) => assert!(parsed.is_err()),
        Err(graph::Refusal::Unauthenticated { dropped, .. }) => {
            assert_eq!(Ok(dropped), parsed.map(|n| n.len()));
        }
    }
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    // One selector value in nine is Graph, whose secret travels in the body.
    if usize::from(data[0]) % (SCHEMES.len() + 1) == SCHEMES.len() {
        graph(&data[1..]);
        return;
    }
    let scheme = SCHEMES[usize::from(data[0]) % (SCHEMES.len() + 1)];
    // The rest: header values separated by 0xff, then the body.
    let mut parts = data[1..].split(|b| *b == 0xff);
    let mut headers = HeaderMap::new();
    for name in HEADERS {
        if let Some(v) = parts.next()
            && let Ok(v) = HeaderValue::from_bytes(v)
        {
            headers.insert(HeaderName::from_static(name), v);
        }
    }
    let body: Vec<u8> = parts.flatten().copied().collect();
    let source = SourceConfig {
        name: "fuzz".into(),
        format: Format::Canonical,
        scheme,
        // A v1a public key beside the HMAC secret: `v1a` entries are parsed and checked too.
        secrets: vec![
            Secret::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").into(),
            Secret::new("whpk_11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=").into(),
        ],
        tolerance_secs: 300,
        header: "authorization".into(),
        hmac: Some(HmacProfile {
            header: "x-hub-signature-256".into(),
            algorithm: HmacAlgorithm::Sha256,
            encoding: HmacEncoding::Hex,
            prefix: Some("sha256=".into()),
            signed: SignedContent::IdTimestampBody,
            timestamp_header: Some("webhook-timestamp".into()),
            id_header: Some("webhook-id".into()),
        }),
        allow_ips: Vec::new(),
        pull: None,
    };
    let verdict = domo_group_sync::signature::verify(&source, &headers, &body, 1_700_000_000);
    // An Okta header equal to the secret is the one way in without a MAC.
    if scheme != Scheme::Okta {
        assert!(verdict.is_err(), "accepted a forged request");
    }
});
