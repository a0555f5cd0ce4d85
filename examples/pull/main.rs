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

mod directory;

use anyhow::{Context, bail};
use chrono::Utc;
use clap::Parser;
use serde_json::{Value, json};

#[derive(Parser, Debug)]
#[command(about = "Pull benchmark driver")]
pub(crate) struct Args {
    /// `feed` or `directory`.
    #[arg(long)]
    pub(crate) mode: String,
    /// `okta` or `workos` (feed mode; directory mode is Okta's).
    #[arg(long, default_value = "okta")]
    pub(crate) provider: String,
    /// The service's base URL.
    #[arg(long)]
    pub(crate) service: String,
    /// An admin bearer token of the service.
    #[arg(long)]
    pub(crate) token: String,
    /// The provider simulator's base URL.
    #[arg(long)]
    pub(crate) sim: String,
    /// The provider's API credential (Okta SSWS token, WorkOS API key).
    #[arg(long, default_value = "sim-okta-token")]
    pub(crate) key: String,
    /// The Domo simulator's base URL (directory mode).
    #[arg(long)]
    pub(crate) domo: Option<String>,
    /// Events to pull (feed mode).
    #[arg(long, default_value_t = 2000)]
    pub(crate) events: usize,
    /// Users the Okta simulator generated (directory mode).
    #[arg(long, default_value_t = 500)]
    pub(crate) users: usize,
    /// Groups it generated.
    #[arg(long, default_value_t = 5)]
    pub(crate) groups: usize,
    /// Give up waiting for the queue after this many seconds.
    #[arg(long, default_value_t = 900)]
    pub(crate) timeout_secs: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(args.timeout_secs))
        .build()?;
    match args.mode.as_str() {
        "feed" => feed(&client, &args).await,
        "directory" => directory::run(&client, &args).await,
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
pub(crate) async fn pull_now(
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
