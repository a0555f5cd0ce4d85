//! A load generator for the webhook endpoint: signs every request itself with a fresh event id
//! (so dedup does not turn the run into a no-op), and reports throughput and latency
//! percentiles at a fixed concurrency or a fixed rate.
//!
//! `--scheme standard-webhooks` (default) sends `webhook-id/-timestamp/-signature`;
//! `--scheme github` sends `X-Hub-Signature-256: sha256=<hex>` (the peer, adnanh/webhook's
//! `payload-hmac-sha256` rule, checks that). `--scheme none` sends no signature (the baseline).
//!
//! ```sh
//! cargo run --release --example loadgen -- --url http://127.0.0.1:8080/webhooks/demo \
//!     --secret whsec_… --concurrency 64 --requests 20000 --size 1024
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use domo_group_sync::config::{Format, Scheme, Secret, SourceConfig};

#[derive(Parser, Debug, Clone)]
#[command(about = "Signed webhook load generator")]
struct Args {
    /// The webhook URL, e.g. http://127.0.0.1:8080/webhooks/demo.
    #[arg(long)]
    url: String,
    /// The source's secret (Standard Webhooks: `whsec_…`; github: used as is).
    #[arg(long, default_value = "")]
    secret: String,
    /// How requests are signed: `standard-webhooks`, `github` or `none`.
    #[arg(long, default_value = "standard-webhooks")]
    scheme: String,
    /// Concurrent requests in flight (closed loop).
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Requests to send in all.
    #[arg(long, default_value_t = 10_000)]
    requests: usize,
    /// Open loop: send at this many requests per second instead of as fast as possible.
    #[arg(long)]
    rate: Option<f64>,
    /// Approximate body size in bytes (a canonical event padded with an attribute).
    #[arg(long, default_value_t = 1024)]
    size: usize,
    /// Print one machine-readable JSON line instead of text.
    #[arg(long)]
    json: bool,
}

fn body(n: usize, size: usize) -> String {
    let base = format!(
        r#"{{"id":"load_{n}_{}","type":"user.updated","occurred_at":"2026-11-28T10:00:00Z","user":{{"email":"user{}@example.com","attributes":{{"pad":""}}}},"groups":["Marketing"]}}"#,
        uuid::Uuid::new_v4().simple(),
        n % 1000
    );
    let pad = size.saturating_sub(base.len());
    base.replace(r#""pad":"""#, &format!(r#""pad":"{}""#, "x".repeat(pad)))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let scheme = match args.scheme.as_str() {
        "standard-webhooks" => Some(Scheme::StandardWebhooks),
        "github" => Some(Scheme::Github),
        "none" => None,
        other => anyhow::bail!("unknown --scheme {other}: standard-webhooks, github or none"),
    };
    let source = SourceConfig {
        name: "load".into(),
        format: Format::Canonical,
        scheme: scheme.unwrap_or(Scheme::StandardWebhooks),
        secrets: vec![Secret::new(args.secret.clone()).into()],
        tolerance_secs: 300,
        header: "Authorization".into(),
        hmac: None,
        allow_ips: Vec::new(),
        pull: None,
    };
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .build()?;
    let next = Arc::new(AtomicUsize::new(0));
    let errors = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let interval = args
        .rate
        .map(|r| Duration::from_secs_f64(1.0 / r.max(0.001)));
    let mut tasks = Vec::new();
    for _ in 0..args.concurrency {
        let (client, next, errors, source, args) = (
            client.clone(),
            next.clone(),
            errors.clone(),
            source.clone(),
            args.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= args.requests {
                    return Ok::<_, anyhow::Error>(lat);
                }
                // Open loop: request n is due at n × interval from the start, and its latency
                // counts from then (a late send is the server's delay, not hidden by the
                // generator: no coordinated omission).
                let mut t = Instant::now();
                if let Some(iv) = interval {
                    let due = started + iv.mul_f64(n as f64);
                    tokio::time::sleep_until(due.into()).await;
                    t = due;
                }
                let b = body(n, args.size);
                // Signed per request, as a sender does: fresh id, current timestamp.
                let headers = match scheme {
                    None => Vec::new(),
                    Some(_) => domo_group_sync::signature::sign(
                        &source,
                        &source.secrets[0],
                        b.as_bytes(),
                        chrono::Utc::now().timestamp(),
                        &format!("msg_{n}_{}", uuid::Uuid::new_v4().simple()),
                    )
                    .map_err(|e| anyhow::anyhow!("cannot sign: {e}"))?,
                };
                let mut req = client
                    .post(&args.url)
                    .header("content-type", "application/json")
                    .body(b);
                for (k, v) in headers {
                    req = req.header(k, v);
                }
                if interval.is_none() {
                    t = Instant::now();
                }
                match req.send().await {
                    Ok(r) if r.status().is_success() => {
                        // Read the answer, so the connection goes back to the pool.
                        let _ = r.bytes().await;
                        lat.push(t.elapsed());
                    }
                    _ => {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    let elapsed = started.elapsed();
    all.sort();
    let pct = |p: f64| -> f64 {
        if all.is_empty() {
            return 0.0;
        }
        let i = ((all.len() as f64 - 1.0) * p).round() as usize;
        all[i].as_secs_f64() * 1000.0
    };
    let ok = all.len();
    let rps = ok as f64 / elapsed.as_secs_f64();
    let errs = errors.load(Ordering::Relaxed);
    if args.json {
        println!(
            r#"{{"ok":{ok},"errors":{errs},"seconds":{:.3},"rps":{rps:.1},"p50_ms":{:.3},"p99_ms":{:.3},"p999_ms":{:.3}}}"#,
            elapsed.as_secs_f64(),
            pct(0.5),
            pct(0.99),
            pct(0.999)
        );
    } else {
        println!(
            "{ok} ok, {errs} errors in {:.2} s: {rps:.0} req/s; latency p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms",
            elapsed.as_secs_f64(),
            pct(0.5),
            pct(0.99),
            pct(0.999)
        );
    }
    Ok(())
}
