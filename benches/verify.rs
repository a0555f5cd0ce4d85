//! Verification cost: each scheme's `signature::verify` on a 1 KB body, against the raw
//! HMAC-SHA256 of the same bytes (the floor: every HMAC scheme must at least hash the body).
//!
//! A plain timing loop, not criterion: criterion (even with `default-features = false`) brings
//! a few dozen crates (clap, regex, ciborium, tinytemplate, itertools, …) into every CI build on
//! a busy 2-core machine, for a figure we report as a ratio anyway. Each case runs batches of
//! iterations for a fixed time and reports the median batch's time per call.
//!
//! ```sh
//! cargo bench --bench verify             # full: ~0.3 s per case
//! cargo test --bench verify -- --smoke   # CI: a few milliseconds per case
//! cargo bench --bench verify -- --json   # one JSON object per line (bench/run reads these)
//! ```

use std::hint::black_box;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use domo_group_sync::config::{
    Format, HmacAlgorithm, HmacEncoding, HmacProfile, Scheme, Secret, SignedContent, SourceConfig,
};
use domo_group_sync::signature::{sign, verify};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

const NOW: i64 = 1_795_860_000;
const SW_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const PLAIN_SECRET: &str = "bench-secret-0123456789abcdef";

fn source(scheme: Scheme) -> SourceConfig {
    let secret = match scheme {
        Scheme::StandardWebhooks | Scheme::Svix => SW_SECRET,
        Scheme::Okta => "Basic YWRtaW46c3VwZXJzZWNyZXQ=",
        _ => PLAIN_SECRET,
    };
    let hmac = (scheme == Scheme::Hmac).then(|| HmacProfile {
        header: "X-Signature".into(),
        algorithm: HmacAlgorithm::Sha256,
        encoding: HmacEncoding::Hex,
        prefix: Some("sha256=".into()),
        signed: SignedContent::Body,
        timestamp_header: None,
        id_header: None,
    });
    SourceConfig {
        name: "bench".into(),
        format: Format::Canonical,
        scheme,
        secrets: vec![Secret::new(secret.to_owned()).into()],
        tolerance_secs: 300,
        header: "Authorization".into(),
        hmac,
        allow_ips: Vec::new(),
        pull: None,
    }
}

/// Times `f` in batches for about `budget`; returns the median batch's nanoseconds per call.
fn time_per_call(budget: Duration, mut f: impl FnMut()) -> f64 {
    // Size a batch to about 1/20 of the budget.
    let probe = Instant::now();
    let mut n = 0u64;
    while probe.elapsed() < budget / 100 || n < 10 {
        f();
        n += 1;
    }
    let per = probe.elapsed().as_secs_f64() / n as f64;
    let batch = ((budget.as_secs_f64() / 20.0 / per) as u64).max(10);
    let mut samples = Vec::new();
    let start = Instant::now();
    while start.elapsed() < budget || samples.len() < 5 {
        let t = Instant::now();
        for _ in 0..batch {
            f();
        }
        samples.push(t.elapsed().as_secs_f64() * 1e9 / batch as f64);
    }
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let smoke = args.iter().any(|a| a == "--smoke");
    let json = args.iter().any(|a| a == "--json");
    let budget = Duration::from_millis(if smoke { 5 } else { 300 });

    let body = {
        let base = r#"{"id":"evt_bench","type":"user.updated","occurred_at":"2026-11-28T10:00:00Z","user":{"email":"ada@example.com","attributes":{"pad":"PAD"}},"groups":["Marketing"]}"#;
        base.replace("PAD", &"x".repeat(1024 - base.len() + 3))
    };
    assert_eq!(body.len(), 1024, "the benchmark body is 1 KB");
    let bytes = body.as_bytes();

    let raw_key = PLAIN_SECRET.as_bytes();
    let raw_ns = time_per_call(budget, || {
        let mut mac = Hmac::<Sha256>::new_from_slice(black_box(raw_key)).expect("any key length");
        mac.update(black_box(bytes));
        black_box(mac.finalize().into_bytes());
    });
    report(json, "raw HMAC-SHA256 (1 KB)", raw_ns, raw_ns);

    let schemes = [
        ("standard-webhooks", Scheme::StandardWebhooks),
        ("svix", Scheme::Svix),
        ("github", Scheme::Github),
        ("stripe", Scheme::Stripe),
        ("workos", Scheme::Workos),
        ("bamboohr", Scheme::Bamboohr),
        ("hmac (sha256, hex)", Scheme::Hmac),
        ("okta (static header)", Scheme::Okta),
    ];
    for (name, scheme) in schemes {
        let src = source(scheme);
        let signed = sign(&src, &src.secrets[0], bytes, NOW, "msg_bench")
            .map_err(|e| anyhow::anyhow!("{name}: cannot sign: {e}"))?;
        let mut headers = HeaderMap::new();
        for (k, v) in signed {
            headers.insert(HeaderName::try_from(k)?, HeaderValue::try_from(v)?);
        }
        verify(&src, &headers, bytes, NOW).map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
        let ns = time_per_call(budget, || {
            black_box(verify(&src, black_box(&headers), black_box(bytes), NOW)).ok();
        });
        report(json, &format!("verify {name}"), ns, raw_ns);
    }
    Ok(())
}

fn report(json: bool, name: &str, ns: f64, raw_ns: f64) {
    let ratio = ns / raw_ns;
    if json {
        println!(r#"{{"case":"{name}","ns":{ns:.0},"ratio_to_raw_hmac":{ratio:.2}}}"#);
    } else {
        println!(
            "{name:<32} {:>9.2} µs  {ratio:>5.2} × raw HMAC",
            ns / 1000.0
        );
    }
}
