//! The shared vector files in `../shared/vectors/`, read at test time (never copied): every
//! case must give its `expect` verdict with the scheme's default tolerance. Failures are
//! collected with the case name and reported together.
//!
//! The folder is found next to the crate (`$CARGO_MANIFEST_DIR/../shared/vectors`); a checkout
//! elsewhere (e.g. a git worktree) points at it with `DOMO_GROUP_SYNC_VECTORS=/path/to/vectors`.
//! A missing folder fails the tests: they are never skipped.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{header_map, source};
use crate::config::Scheme;
use crate::signature::verify;

/// Overrides the vectors folder for checkouts that do not sit next to `shared/`.
const VECTORS_ENV: &str = "DOMO_GROUP_SYNC_VECTORS";

fn vectors_dir() -> PathBuf {
    let dir = std::env::var_os(VECTORS_ENV).map_or_else(
        || Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/vectors")).to_path_buf(),
        PathBuf::from,
    );
    assert!(
        dir.is_dir(),
        "the shared vectors folder {} is missing; these tests need it (set {VECTORS_ENV} to \
         its path when the checkout does not sit next to shared/)",
        dir.display()
    );
    dir
}

pub(super) fn load(file: &str) -> Value {
    let path = vectors_dir().join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// The body of a case: `body`, or `body_repeat {char, count}`.
fn body(case: &Value) -> Result<Vec<u8>, String> {
    if let Some(text) = case["body"].as_str() {
        return Ok(text.as_bytes().to_vec());
    }
    let repeat = &case["body_repeat"];
    match (repeat["char"].as_str(), repeat["count"].as_u64()) {
        (Some(unit), Some(count)) => {
            let count = usize::try_from(count).map_err(|e| e.to_string())?;
            Ok(unit.repeat(count).into_bytes())
        }
        _ => Err("no body and no body_repeat".into()),
    }
}

/// `secret` or `secrets`.
fn secrets(case: &Value) -> Result<Vec<String>, String> {
    if let Some(secret) = case["secret"].as_str() {
        return Ok(vec![secret.to_owned()]);
    }
    case["secrets"]
        .as_array()
        .ok_or("no secret and no secrets")?
        .iter()
        .map(|s| {
            s.as_str()
                .map(str::to_owned)
                .ok_or_else(|| "secret is not text".into())
        })
        .collect()
}

/// Runs one HMAC case; `Err` describes a wrong verdict or an unusable case.
fn run_case(scheme: Scheme, case: &Value) -> Result<(), String> {
    let secrets = secrets(case)?;
    let secret_refs: Vec<&str> = secrets.iter().map(String::as_str).collect();
    let source = source(scheme, &secret_refs);
    let headers = case["headers"].as_object().ok_or("no headers object")?;
    let map = header_map(
        headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str().unwrap_or_default())),
    );
    let body = body(case)?;
    // Schemes without a timestamp give `null`; any `now` must do for them.
    let now = case["timestamp_now"].as_i64().unwrap_or(0);
    let expect_valid = match case["expect"].as_str() {
        Some("valid") => true,
        Some("invalid") => false,
        other => return Err(format!("unknown expect {other:?}")),
    };
    match (verify(&source, &map, &body, now), expect_valid) {
        (Ok(()), true) | (Err(_), false) => Ok(()),
        (Ok(()), false) => Err("accepted, expected invalid".into()),
        (Err(error), true) => Err(format!("rejected ({}), expected valid", error.reason())),
    }
}

/// Runs every case of `file` as `scheme`; returns the number checked and panics with every
/// failure by case name.
fn check_file(file: &str, scheme: Scheme) -> usize {
    let cases = load(file);
    let cases = cases
        .as_array()
        .unwrap_or_else(|| panic!("{file} is not an array"));
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|case| {
            let name = case["name"].as_str().unwrap_or("<unnamed>");
            run_case(scheme, case)
                .err()
                .map(|why| format!("{file}: {name}: {why}"))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} failing case(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(!cases.is_empty(), "{file} has no cases");
    cases.len()
}

#[test]
fn standard_webhooks_vectors() {
    assert!(check_file("standard-webhooks.json", Scheme::StandardWebhooks) > 0);
}

#[test]
fn standard_webhooks_large_payload_vectors() {
    assert!(
        check_file(
            "standard-webhooks-large-payloads.json",
            Scheme::StandardWebhooks
        ) > 0
    );
}

#[test]
fn standard_webhooks_vectors_also_pass_as_svix() {
    // Svix libraries accept the unbranded webhook-* headers.
    assert!(check_file("standard-webhooks.json", Scheme::Svix) > 0);
}

#[test]
fn workos_vectors() {
    assert!(check_file("workos.json", Scheme::Workos) > 0);
}

#[test]
fn github_vectors() {
    assert!(check_file("github.json", Scheme::Github) > 0);
}

#[test]
fn stripe_vectors() {
    assert!(check_file("stripe.json", Scheme::Stripe) > 0);
}

/// Okta header-auth pairs in `handshakes.json`: POSTs with a `configured_secret {header,
/// value}`; a 2xx expected response means valid, anything else invalid.
#[test]
fn okta_header_auth_handshakes() {
    let pairs = load("handshakes.json");
    let pairs = pairs.as_array().expect("handshakes.json is an array");
    let mut checked = 0;
    let mut failures = Vec::new();
    for pair in pairs {
        let request = &pair["request"];
        let configured = &pair["configured_secret"];
        let (Some(header), Some(secret)) =
            (configured["header"].as_str(), configured["value"].as_str())
        else {
            continue;
        };
        if pair["provider"] != "okta-event-hook" || request["method"] != "POST" {
            continue;
        }
        let name = pair["name"].as_str().unwrap_or("<unnamed>");
        let body = match request["body_file"].as_str() {
            Some(file) => std::fs::read(vectors_dir().join(file))
                .unwrap_or_else(|e| panic!("{name}: cannot read {file}: {e}")),
            None => request["body"]
                .as_str()
                .unwrap_or_default()
                .as_bytes()
                .to_vec(),
        };
        let mut okta = source(Scheme::Okta, &[secret]);
        okta.header = header.to_owned();
        let headers = request["headers"].as_object().expect("headers object");
        let map = header_map(
            headers
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str().unwrap_or_default())),
        );
        let status = pair["expect_response"]["status"].as_u64().expect("status");
        let expect_valid = (200..300).contains(&status);
        let result = verify(&okta, &map, &body, 0);
        if result.is_ok() != expect_valid {
            failures.push(format!(
                "handshakes.json: {name}: got {result:?}, status {status}"
            ));
        }
        checked += 1;
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        checked > 0,
        "no Okta header-auth pair found in handshakes.json"
    );
}
