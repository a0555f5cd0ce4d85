//! The apply benchmark's driver: sends `users × groups` membership changes (signed Standard
//! Webhooks deliveries of canonical events, `--batch` events each) to a running service whose
//! Domo is the simulator, waits until the simulator's groups show every change, and reports
//! changes per second and Domo calls per change (from the simulator's per-route call counts).
//!
//! `--phase add` adds user1…userU@example.com to team-0…team-(G-1); `--phase remove` removes
//! them again (later `occurred_at`, so latest wins). Run `add` on a fresh service for the cold
//! figure, then `remove` for the warm one (groups known, users synced).
//!
//! ```sh
//! cargo run --release --example apply -- --url http://127.0.0.1:8080/webhooks/bench \
//!     --secret whsec_… --sim http://127.0.0.1:8090 --users 1000 --groups 10 --phase add
//! ```

use std::collections::HashSet;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use domo_group_sync::config::{Format, Scheme, Secret, SourceConfig};
use serde_json::{Value, json};

#[derive(Parser, Debug)]
#[command(about = "Membership-change apply benchmark driver")]
struct Args {
    /// The service's webhook URL (a canonical, standard-webhooks source).
    #[arg(long)]
    url: String,
    /// The source's secret (`whsec_…`).
    #[arg(long)]
    secret: String,
    /// The simulator's base URL.
    #[arg(long)]
    sim: String,
    /// Users user1…userN@example.com (the simulator's `--generate-users N`).
    #[arg(long, default_value_t = 1000)]
    users: usize,
    /// Groups team-0…team-(G-1) (a rule maps `team-*` to `{group}`).
    #[arg(long, default_value_t = 10)]
    groups: usize,
    /// `add` or `remove`.
    #[arg(long)]
    phase: String,
    /// Events per delivery.
    #[arg(long, default_value_t = 100)]
    batch: usize,
    /// The service's `/metrics` URL: when given, the mean Domo call time the workers saw
    /// (from `dgs_domo_request_duration_seconds`) is reported as `call_ms`.
    #[arg(long)]
    metrics: Option<String>,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 300)]
    timeout_secs: u64,
    /// Print one JSON line.
    #[arg(long)]
    json: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let (kind, at, want_member) = match args.phase.as_str() {
        "add" => ("group.member_added", "2026-11-28T10:00:00Z", true),
        "remove" => ("group.member_removed", "2026-11-28T11:00:00Z", false),
        other => anyhow::bail!("unknown --phase {other}: add or remove"),
    };
    let source = SourceConfig {
        name: "apply".into(),
        format: Format::Canonical,
        scheme: Scheme::StandardWebhooks,
        secrets: vec![Secret::new(args.secret.clone()).into()],
        tolerance_secs: 300,
        header: "Authorization".into(),
        hmac: None,
        allow_ips: Vec::new(),
        pull: None,
    };
    let client = reqwest::Client::new();
    let events: Vec<Value> = (0..args.groups)
        .flat_map(|g| (1..=args.users).map(move |u| (u, g)))
        .map(|(u, g)| {
            json!({ "id": format!("{}_{u}_{g}", args.phase), "type": kind, "occurred_at": at,
                    "user": { "email": format!("user{u}@example.com") },
                    "groups": [format!("team-{g}")] })
        })
        .collect();
    let changes = events.len();
    let calls_before = api_calls(&client, &args.sim).await?.0;
    let timing_before = domo_timing(&client, args.metrics.as_deref()).await?;

    let started = Instant::now();
    for (i, chunk) in events.chunks(args.batch.max(1)).enumerate() {
        let body = Value::Array(chunk.to_vec()).to_string();
        let headers = domo_group_sync::signature::sign(
            &source,
            &source.secrets[0],
            body.as_bytes(),
            chrono::Utc::now().timestamp(),
            &format!("apply_{}_{i}_{}", args.phase, uuid::Uuid::new_v4().simple()),
        )
        .map_err(|e| anyhow::anyhow!("cannot sign: {e}"))?;
        let mut req = client
            .post(&args.url)
            .header("content-type", "application/json")
            .body(body);
        for (k, v) in headers {
            req = req.header(k, v);
        }
        let resp = req.send().await.context("delivery")?;
        anyhow::ensure!(
            resp.status().is_success(),
            "delivery {i}: {}",
            resp.status()
        );
    }
    let sent = started.elapsed();

    // Done when every pair is (or is no longer) a member.
    let deadline = started + Duration::from_secs(args.timeout_secs);
    let mut applied;
    loop {
        let (_, state) = api_calls(&client, &args.sim).await?;
        applied = count_applied(&state, args.users, args.groups, want_member);
        if applied == changes || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = started.elapsed();
    // Let stragglers (a late cache refresh) land before counting calls.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let calls = api_calls(&client, &args.sim).await?.0 - calls_before;
    let rate = applied as f64 / elapsed.as_secs_f64();
    let per_change = calls as f64 / changes.max(1) as f64;
    let call_ms = match (
        timing_before,
        domo_timing(&client, args.metrics.as_deref()).await?,
    ) {
        (Some((s0, n0)), Some((s1, n1))) if n1 > n0 => {
            format!("{:.3}", (s1 - s0) * 1000.0 / (n1 - n0))
        }
        _ => "null".to_owned(),
    };
    if args.json {
        println!(
            r#"{{"phase":"{}","changes":{changes},"applied":{applied},"sent_s":{:.3},"seconds":{:.3},"changes_per_s":{rate:.1},"calls":{calls},"calls_per_change":{per_change:.3},"call_ms":{call_ms}}}"#,
            args.phase,
            sent.as_secs_f64(),
            elapsed.as_secs_f64()
        );
    } else {
        println!(
            "{}: {applied}/{changes} changes in {:.2} s = {rate:.0}/s; {calls} Domo calls = {per_change:.3} per change",
            args.phase,
            elapsed.as_secs_f64()
        );
    }
    anyhow::ensure!(
        applied == changes,
        "timed out with {applied}/{changes} applied"
    );
    Ok(())
}

/// The simulator's total API calls (every route), and its state.
async fn api_calls(client: &reqwest::Client, sim: &str) -> anyhow::Result<(u64, Value)> {
    let state: Value = client
        .get(format!("{sim}/_sim/state"))
        .send()
        .await
        .context("simulator state")?
        .json()
        .await?;
    let calls = state["calls"]
        .as_object()
        .map(|m| m.values().filter_map(|c| c["total"].as_u64()).sum())
        .unwrap_or(0);
    Ok((calls, state))
}

/// The service's Domo call latency so far: (sum of seconds, count) over every label of
/// `dgs_domo_request_duration_seconds`; `None` without a metrics URL.
async fn domo_timing(
    client: &reqwest::Client,
    metrics: Option<&str>,
) -> anyhow::Result<Option<(f64, f64)>> {
    let Some(url) = metrics else { return Ok(None) };
    let text = client
        .get(url)
        .send()
        .await
        .context("service metrics")?
        .text()
        .await?;
    let total = |name: &str| -> f64 {
        text.lines()
            .filter(|l| {
                l.strip_prefix(name)
                    .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
            })
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    };
    Ok(Some((
        total("dgs_domo_request_duration_seconds_sum"),
        total("dgs_domo_request_duration_seconds_count"),
    )))
}

/// How many (user, team group) pairs are in the wanted state.
fn count_applied(state: &Value, users: usize, groups: usize, want_member: bool) -> usize {
    let emails: HashSet<String> = (1..=users)
        .map(|u| format!("user{u}@example.com"))
        .collect();
    let ids: HashSet<u64> = state["users"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|u| u["email"].as_str().is_some_and(|e| emails.contains(e)))
        .filter_map(|u| u["id"].as_u64())
        .collect();
    let teams: HashSet<String> = (0..groups).map(|g| format!("team-{g}")).collect();
    let members: usize = state["groups"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|g| g["name"].as_str().is_some_and(|n| teams.contains(n)))
        .map(|g| {
            g["members"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_u64)
                .filter(|m| ids.contains(m))
                .count()
        })
        .sum();
    if want_member {
        members
    } else {
        users * groups - members
    }
}
