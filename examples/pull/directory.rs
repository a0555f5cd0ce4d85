//! `--mode directory`: passes of the `okta` source over the Okta simulator's generated org,
//! each with the provider's and Domo's calls and its time against a bare walk of the listing.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};

use super::{Args, pull_now};

/// Three directory passes: cold, without drift, with drift.
pub(crate) async fn run(client: &reqwest::Client, args: &Args) -> anyhow::Result<()> {
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
