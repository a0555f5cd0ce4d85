//! The pull benchmark's driver, against a running service and running simulators (bench/run
//! starts them). Two measurements, each printed as one JSON line:
//!
//! - `--mode feed --provider okta|workos`: appends `--events N` events of a mapped type to the
//!   provider simulator, reads them with a bare client (the same requests the connector makes:
//!   same filter, page size and cursor, each page parsed as JSON, nothing else) before and after
//!   the service's own pull (`POST /api/v1/sources/{provider}/pull`, which maps every event and
//!   commits every page with its cursor), and reports both rates and their ratio: the
//!   simulator's answer rate is the bound.
//! - `--mode directory`: directory passes of the `okta` source over the Okta simulator's
//!   generated users (`--generate-users U --generate-groups G`; every group mapped): cold (the
//!   service knows nobody: every membership is an add), again without drift, and after a
//!   drift made silently at Okta (1 % of users leave their group, 0.5 % are deactivated),
//!   each with the provider's calls (by route) and Domo's calls once the queue has drained.
//!
//! ```sh
//! cargo run --release --example pull -- --mode feed --provider okta --events 20000 \
//!     --service http://127.0.0.1:8080 --token T --sim http://127.0.0.1:8091
//! ```

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::Utc;
use clap::Parser;
use serde_json::{Value, json};

#[derive(Parser, Debug)]
#[command(about = "Pull benchmark driver")]
struct Args {
    /// `feed` or `directory`.
    #[arg(long)]
    mode: String,
    /// `okta` or `workos` (feed mode; directory mode is Okta's).
    #[arg(long, default_value = "okta")]
    provider: String,
    /// The service's base URL.
    #[arg(long)]
    service: String,
    /// An admin bearer token of the service.
    #[arg(long)]
    token: String,
    /// The provider simulator's base URL.
    #[arg(long)]
    sim: String,
    /// The provider's API credential (Okta SSWS token, WorkOS API key).
    #[arg(long, default_value = "sim-okta-token")]
    key: String,
    /// The Domo simulator's base URL (directory mode).
    #[arg(long)]
    domo: Option<String>,
    /// Events to pull (feed mode).
    #[arg(long, default_value_t = 2000)]
    events: usize,
    /// Users the Okta simulator generated (directory mode).
    #[arg(long, default_value_t = 500)]
    users: usize,
    /// Groups it generated.
    #[arg(long, default_value_t = 5)]
    groups: usize,
    /// Give up waiting for the queue after this many seconds.
    #[arg(long, default_value_t = 900)]
    timeout_secs: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(args.timeout_secs))
        .build()?;
    match args.mode.as_str() {
        "feed" => feed(&client, &args).await,
        "directory" => directory(&client, &args).await,
        other => bail!("--mode feed or directory, not {other}"),
    }
}

/// Fills the feed, then times the bare client, the service, and the bare client again.
async fn feed(client: &reqwest::Client, args: &Args) -> anyhow::Result<()> {
    fill(client, args).await?;
    let before = bare(client, args).await?;
    let started = Instant::now();
    let report = pull_now(client, args, &args.provider, false).await?;
    let service_s = started.elapsed().as_secs_f64();
    let after = bare(client, args).await?;
    let read = report["events"]["read"].as_u64().unwrap_or(0);
    let pages = report["events"]["pages"].as_u64().unwrap_or(0);
    if report["ok"] != true || read < args.events as u64 {
        bail!(
            "the service's pull read {read} of {} events: {report}",
            args.events
        );
    }
    let bare_s = (before.1 + after.1) / 2.0;
    let bare_eps = before.0 as f64 / bare_s;
    let service_eps = read as f64 / service_s;
    println!(
        "{}",
        json!({"provider": args.provider, "events": read, "pages": pages,
               "bare_pages": before.2, "bare_s": bare_s, "service_s": service_s,
               "bare_eps": bare_eps, "service_eps": service_eps,
               "ratio": service_eps / bare_eps})
    );
    Ok(())
}

/// Appends `--events` events of a mapped type, 1,000 per control call.
async fn fill(client: &reqwest::Client, args: &Args) -> anyhow::Result<()> {
    let mut left = args.events;
    let mut i = 0usize;
    while left > 0 {
        let n = left.min(1000);
        let events: Vec<Value> = (i..i + n).map(|k| event(&args.provider, k)).collect();
        let resp = client
            .post(format!("{}/_sim/events", args.sim))
            .json(&json!({ "events": events }))
            .send()
            .await?;
        if !resp.status().is_success() {
            bail!("filling the simulator: {}", resp.text().await?);
        }
        left -= n;
        i += n;
    }
    Ok(())
}

/// Event `k`: user k joins a group, as Okta logs it or as WorkOS does.
fn event(provider: &str, k: usize) -> Value {
    let email = format!("user{k}@example.com");
    if provider == "okta" {
        json!({"eventType": "group.user_membership.add", "outcome": {"result": "SUCCESS"},
        "target": [
            {"id": format!("00u{k}"), "type": "User", "alternateId": email, "displayName": "U"},
            {"id": "00g1", "type": "UserGroup", "alternateId": "unknown", "displayName": "Group 1"}
        ]})
    } else {
        json!({"event": "dsync.group.user_added", "data": {
            "directory_id": "directory_1",
            "user": {"object": "directory_user", "id": format!("directory_user_{k}"),
                     "email": email, "state": "active", "first_name": "U", "last_name": "K"},
            "group": {"object": "directory_group", "id": "directory_group_1", "name": "Group 1"}}})
    }
}

/// Reads the whole feed as the connector would, parsing each page: (events, seconds, pages).
async fn bare(client: &reqwest::Client, args: &Args) -> anyhow::Result<(usize, f64, usize)> {
    let since = (Utc::now() - chrono::Duration::minutes(15))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let started = Instant::now();
    let (mut events, mut pages) = (0usize, 0usize);
    if args.provider == "okta" {
        let filter = domo_group_sync::sources::okta::MAPPED_TYPES
            .iter()
            .map(|t| format!("eventType eq \"{t}\""))
            .collect::<Vec<_>>()
            .join(" or ");
        let mut url = url::Url::parse(&format!("{}/api/v1/logs", args.sim))?;
        url.query_pairs_mut()
            .append_pair("since", &since)
            .append_pair("sortOrder", "ASCENDING")
            .append_pair("limit", "1000")
            .append_pair("filter", &filter);
        loop {
            let resp = client
                .get(url.clone())
                .header("authorization", format!("SSWS {}", args.key))
                .header("accept", "application/json")
                .send()
                .await?
                .error_for_status()?;
            let next = domo_group_sync::pull::http::next_link(resp.headers());
            let page: Vec<Value> = serde_json::from_slice(&resp.bytes().await?)?;
            pages += 1;
            if page.is_empty() {
                break;
            }
            events += page.len();
            url = url::Url::parse(&next.context("a polling page without `next`")?)?;
        }
    } else {
        let types = domo_group_sync::sources::workos::MAPPED_TYPES.join(",");
        let mut after: Option<String> = None;
        loop {
            let mut url = url::Url::parse(&format!("{}/events", args.sim))?;
            {
                let mut q = url.query_pairs_mut();
                q.append_pair("events", &types)
                    .append_pair("limit", "100")
                    .append_pair("order", "asc");
                match &after {
                    Some(a) => q.append_pair("after", a),
                    None => q.append_pair("range_start", &since),
                };
            }
            let resp = client
                .get(url)
                .bearer_auth(&args.key)
                .send()
                .await?
                .error_for_status()?;
            let page: Value = serde_json::from_slice(&resp.bytes().await?)?;
            pages += 1;
            let data = page["data"].as_array().context("a list without `data`")?;
            events += data.len();
            match data.last().and_then(|e| e["id"].as_str()) {
                Some(last) if page["list_metadata"]["after"].is_string() => {
                    after = Some(last.to_owned());
                }
                _ => break,
            }
        }
    }
    Ok((events, started.elapsed().as_secs_f64(), pages))
}

/// `POST /api/v1/sources/{source}/pull[?full=true]`: the report.
async fn pull_now(
    client: &reqwest::Client,
    args: &Args,
    source: &str,
    full: bool,
) -> anyhow::Result<Value> {
    let resp = client
        .post(format!(
            "{}/api/v1/sources/{source}/pull?full={full}",
            args.service
        ))
        .bearer_auth(&args.token)
        .send()
        .await?;
    let status = resp.status();
    let body: Value = resp.json().await?;
    if !status.is_success() {
        bail!("pull: {status} {body}");
    }
    Ok(body)
}

/// Three directory passes: cold, without drift, with drift.
async fn directory(client: &reqwest::Client, args: &Args) -> anyhow::Result<()> {
    let domo = args.domo.as_deref().context("--domo is required")?;
    pass(client, args, domo, "cold").await?;
    pass(client, args, domo, "no_drift").await?;
    // Drift made silently at Okta: user i is in `Group {i mod G + 1}`.
    let (moved, deactivated) = ((args.users / 100).max(1), (args.users / 200).max(1));
    for i in 1..=moved {
        let group = i % args.groups.max(1) + 1;
        let path = format!("/_sim/groups/Group%20{group}/users/user{i}@example.com");
        control(
            client,
            reqwest::Method::DELETE,
            &format!("{}{path}", args.sim),
        )
        .await?;
    }
    for i in (moved + 1)..=(moved + deactivated) {
        let path = format!("/_sim/users/user{i}@example.com/lifecycle/deactivate");
        control(
            client,
            reqwest::Method::POST,
            &format!("{}{path}", args.sim),
        )
        .await?;
    }
    pass(client, args, domo, "drift").await
}

async fn control(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
) -> anyhow::Result<()> {
    let resp = client
        .request(method, url)
        .json(&json!({"silent": true}))
        .send()
        .await?;
    if !resp.status().is_success() {
        bail!("{url}: {}", resp.text().await?);
    }
    Ok(())
}

/// One pass of the `okta` source: provider calls by route, Domo calls after the queue drained.
async fn pass(
    client: &reqwest::Client,
    args: &Args,
    domo: &str,
    phase: &str,
) -> anyhow::Result<()> {
    let (bare_requests, bare_s) = bare_listing(client, args).await?;
    for base in [args.sim.as_str(), domo] {
        client
            .post(format!("{base}/_sim/reset-counters"))
            .send()
            .await?
            .error_for_status()?;
    }
    let started = Instant::now();
    let report = pull_now(client, args, "okta", true).await?;
    let pass_s = started.elapsed().as_secs_f64();
    let plan = &report["directory"]["plan"]["directory"][0];
    if plan["complete"] != true || report["directory"]["status"] != "queued" {
        bail!("the {phase} pass did not apply: {report}");
    }
    drain(client, args).await?;
    let apply_s = started.elapsed().as_secs_f64();
    let provider = calls(client, &format!("{}/_sim/calls", args.sim), false).await?;
    let domo_calls = calls(client, &format!("{domo}/_sim/state"), true).await?;
    let count = |v: &Value| v.as_array().map_or(0, Vec::len);
    println!(
        "{}",
        json!({"phase": phase, "users": args.users, "groups": args.groups,
               "listing_requests": plan["requests"], "provider_calls": provider,
               "domo_calls": domo_calls, "events": count(&plan["events"]),
               "offboard": count(&plan["offboard"]), "add": count(&plan["add"]),
               "remove": count(&plan["remove"]), "pass_s": pass_s, "applied_s": apply_s,
               "bare_requests": bare_requests, "bare_s": bare_s, "pass_ratio": pass_s / bare_s})
    );
    Ok(())
}

/// The listing the connector reads (users, deprovisioned users, groups, each mapped group's
/// members; 200 a page, `next` links), read by a bare client parsing each page: (requests,
/// seconds).
async fn bare_listing(client: &reqwest::Client, args: &Args) -> anyhow::Result<(u64, f64)> {
    let started = Instant::now();
    let mut requests = 0u64;
    let base = &args.sim;
    let walk = |first: String| {
        let client = client.clone();
        let key = args.key.clone();
        async move {
            let mut url = Some(first);
            let mut pages: Vec<Vec<Value>> = Vec::new();
            while let Some(u) = url {
                let resp = client
                    .get(&u)
                    .header("authorization", format!("SSWS {key}"))
                    .send()
                    .await?
                    .error_for_status()?;
                url = domo_group_sync::pull::http::next_link(resp.headers());
                pages.push(serde_json::from_slice(&resp.bytes().await?)?);
            }
            anyhow::Ok(pages)
        }
    };
    let users = walk(format!("{base}/api/v1/users?limit=200")).await?;
    let gone = walk(format!(
        "{base}/api/v1/users?filter=status%20eq%20%22DEPROVISIONED%22&limit=200"
    ))
    .await?;
    let groups = walk(format!("{base}/api/v1/groups?limit=200")).await?;
    requests += (users.len() + gone.len() + groups.len()) as u64;
    let ids: Vec<String> = groups
        .iter()
        .flatten()
        .filter(|g| {
            g["profile"]["name"]
                .as_str()
                .is_some_and(|n| n.starts_with("Group "))
        })
        .filter_map(|g| g["id"].as_str().map(str::to_owned))
        .collect();
    for id in ids {
        requests += walk(format!("{base}/api/v1/groups/{id}/users?limit=200"))
            .await?
            .len() as u64;
    }
    Ok((requests, started.elapsed().as_secs_f64()))
}

/// API calls by route (Domo's OAuth token left out), and their total.
async fn calls(client: &reqwest::Client, url: &str, domo: bool) -> anyhow::Result<Value> {
    let body: Value = client
        .get(url)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let map = if domo { &body["calls"] } else { &body };
    let mut out = serde_json::Map::new();
    let mut total = 0;
    for (route, count) in map.as_object().into_iter().flatten() {
        let n = count["total"].as_u64().unwrap_or(0);
        if route.contains("/oauth/token") || n == 0 {
            continue;
        }
        total += n;
        out.insert(route.clone(), json!(n));
    }
    out.insert("total".into(), json!(total));
    Ok(Value::Object(out))
}

/// Waits until the service has no queued or running job.
async fn drain(client: &reqwest::Client, args: &Args) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(args.timeout_secs);
    while Instant::now() < deadline {
        let text = client
            .get(format!("{}/metrics", args.service))
            .send()
            .await?
            .text()
            .await?;
        let busy: f64 = text
            .lines()
            .filter(|l| {
                l.starts_with("dgs_jobs{")
                    && (l.contains("state=\"queued\"") || l.contains("state=\"running\""))
            })
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum();
        if busy == 0.0 {
            // Let a Domo call answered after the last job's commit land.
            tokio::time::sleep(Duration::from_millis(300)).await;
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("the queue did not drain in {} s", args.timeout_secs)
}
