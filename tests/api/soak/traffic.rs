//! The soak's traffic: the replicas' configuration (four sources: canonical events signed
//! with Standard Webhooks, GitHub's and Stripe's schemes, and Okta event hooks), the events of
//! the fault suite (`resilience::generate`, round after round, later rounds later in time)
//! rendered for a source each, with duplicates (later, probably to another replica), and
//! senders that post them to random replicas, each until it is acknowledged.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use domo_group_sync::config::{Config, ConfigInput, SourceConfig};
use serde_json::json;

use crate::helpers::{DEFAULT_RULES, GITHUB_SECRET, OKTA_SECRET, SW_SECRET, sign_with, source_of};
use crate::replicas::procs::free_port;
use crate::resilience::{Ev, generate};

/// Stripe's signing secret for the `st` source.
const STRIPE_SECRET: &str = "whsec_soak_stripe_0123456789";

/// The sources, by index in deliveries.
pub const SOURCES: [&str; 4] = ["sw", "gh", "st", "okta"];

/// A replica's whole configuration.
pub fn config(port: u16, sim_port: u16, db_url: &str, reconcile_every_secs: u64) -> String {
    crate::replicas::base_config(port, sim_port, db_url, 0, "max_attempts = 200")
        + &format!(
            r#"
[[sources]]
name = "sw"
format = "canonical"
scheme = "standard-webhooks"
secrets = ["{SW_SECRET}"]
[[sources]]
name = "gh"
format = "canonical"
scheme = "github"
secrets = ["{GITHUB_SECRET}"]
[[sources]]
name = "st"
format = "canonical"
scheme = "stripe"
secrets = ["{STRIPE_SECRET}"]
[[sources]]
name = "okta"
format = "okta"
scheme = "okta"
secrets = ["{OKTA_SECRET}"]
{DEFAULT_RULES}
[reconcile]
interval_secs = {reconcile_every_secs}
"#
        )
}

/// The parsed sources of that configuration (to sign as each sender would).
pub fn sources() -> Vec<SourceConfig> {
    let text = config(free_port(), 1, "postgres://x@127.0.0.1/x", 60);
    let env = std::collections::BTreeMap::new();
    let cfg = Config::parse(ConfigInput {
        toml: Some(&text),
        env: &env,
    })
    .expect("the soak's configuration is valid");
    SOURCES.iter().map(|name| source_of(&cfg, name)).collect()
}

/// One delivery: an event rendered for one source.
#[derive(Clone)]
pub struct Delivery {
    pub source: usize,
    pub id: String,
    pub body: String,
    pub duplicate: bool,
}

/// The Okta event hook of a membership change or an offboarding (other kinds stay canonical).
fn okta_body(ev: &Ev, user: usize) -> Option<String> {
    let kind = match ev.kind {
        "group.member_added" => "group.user_membership.add",
        "group.member_removed" => "group.user_membership.remove",
        "user.offboarded" => "user.lifecycle.deactivate",
        _ => return None,
    };
    let at = chrono::DateTime::from_timestamp(1_795_000_000 + ev.at * 60, 0)?.to_rfc3339();
    let mut targets = vec![json!({
        "id": format!("00u{user}"), "type": "User", "alternateId": ev.email,
        "displayName": format!("User {user}")
    })];
    if let Some(group) = ev.groups.first().filter(|_| kind.starts_with("group.")) {
        targets
            .push(json!({"id": format!("00g{group}"), "type": "UserGroup", "displayName": group}));
    }
    Some(
        json!({
            "eventType": "com.okta.event_hook",
            "eventTypeVersion": "1.0",
            "source": "https://acme.okta.com/api/v1/eventHooks/soak",
            "data": {"events": [{
                "uuid": ev.id, "published": at, "eventType": kind,
                "outcome": {"result": "SUCCESS"}, "target": targets
            }]}
        })
        .to_string(),
    )
}

/// Round `round` of events for users `1..=users`, rendered and shuffled: the events (for the
/// model) and the deliveries, where one event in ten is delivered a second time up to 200
/// deliveries later (a sender's retry after a lost answer: same body, the same source).
pub fn round(
    users: usize,
    per_user: usize,
    round: i64,
    rng: &mut fastrand::Rng,
) -> (Vec<Ev>, Vec<Delivery>) {
    let mut out: Vec<(Ev, Delivery)> = generate(1..=users, per_user, round, rng)
        .into_iter()
        .map(|ev| {
            let user: usize = ev
                .email
                .trim_start_matches("user")
                .split('@')
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            let okta = okta_body(&ev, user).filter(|_| rng.bool());
            let (source, body) = match okta {
                Some(body) => (3, body),
                None => (rng.usize(..3), ev.body.clone()),
            };
            let d = Delivery {
                source,
                id: ev.id.clone(),
                body,
                duplicate: false,
            };
            (ev, d)
        })
        .collect();
    rng.shuffle(&mut out);
    let (events, mut deliveries): (Vec<Ev>, Vec<Delivery>) = out.into_iter().unzip();
    let n = deliveries.len();
    let mut dups: Vec<(usize, Delivery)> = Vec::new();
    for (i, d) in deliveries.iter().enumerate() {
        if rng.u8(..10) == 0 {
            let at = (i + 1 + rng.usize(..200)).min(n);
            dups.push((
                at,
                Delivery {
                    duplicate: true,
                    ..d.clone()
                },
            ));
        }
    }
    // From the back, so that each position still counts in the original order.
    dups.sort_by_key(|(at, _)| std::cmp::Reverse(*at));
    for (at, d) in dups {
        deliveries.insert(at, d);
    }
    (events, deliveries)
}

/// What the senders saw.
#[derive(Default)]
pub struct Tally {
    /// (source, event id) acknowledged (202 queued or duplicate; Okta: 200).
    pub acked: Mutex<BTreeSet<(String, String)>>,
    /// Answers other than 2xx, by status (0: no answer), e.g. a replica refusing.
    pub refused: Mutex<Vec<(u16, String)>>,
    /// Deliveries acknowledged (duplicates included).
    pub sent: AtomicUsize,
}

/// Posts `d` to the replica on `port`, signed now; the status (0 when no answer) and body.
async fn post(
    client: &reqwest::Client,
    port: u16,
    src: &SourceConfig,
    d: &Delivery,
) -> (u16, String) {
    let msg = format!("msg_{}", uuid::Uuid::new_v4().simple());
    let headers = sign_with(
        src,
        &src.secrets[0],
        &d.body,
        chrono::Utc::now().timestamp(),
        &msg,
    );
    let mut req = client
        .post(format!("http://127.0.0.1:{port}/webhooks/{}", src.name))
        .header("content-type", "application/json")
        .body(d.body.clone());
    for (k, v) in &headers {
        req = req.header(k.as_str(), v.as_str());
    }
    match req.send().await {
        Ok(r) => {
            let status = r.status().as_u16();
            (status, r.text().await.unwrap_or_default())
        }
        Err(e) => (0, e.to_string()),
    }
}

/// Senders: each takes the next delivery and posts it to a random replica until it is
/// acknowledged (trying the next replica after a refusal), until the channel closes.
pub fn start_senders(
    n: usize,
    ports: Arc<Vec<u16>>,
    rx: Arc<tokio::sync::Mutex<tokio::sync::mpsc::Receiver<Delivery>>>,
    tally: Arc<Tally>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let sources = Arc::new(sources());
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    (0..n)
        .map(|s| {
            let (ports, rx) = (ports.clone(), rx.clone());
            let (tally, sources, client) = (tally.clone(), sources.clone(), client.clone());
            tokio::spawn(async move {
                let mut rng = fastrand::Rng::with_seed(1000 + s as u64);
                loop {
                    let Some(d) = rx.lock().await.recv().await else {
                        return;
                    };
                    let src = &sources[d.source];
                    let mut replica = rng.usize(..ports.len());
                    loop {
                        let (status, body) = post(&client, ports[replica], src, &d).await;
                        if (200..300).contains(&status) {
                            tally
                                .acked
                                .lock()
                                .expect("lock")
                                .insert((src.name.clone(), d.id.clone()));
                            tally.sent.fetch_add(1, Ordering::SeqCst);
                            break;
                        }
                        tally.refused.lock().expect("lock").push((status, body));
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        replica = (replica + 1) % ports.len();
                    }
                }
            })
        })
        .collect()
}
