//! The store goes away and comes back under a steady signed load, while the service (the real
//! binary, never restarted) keeps running: PostgreSQL stopped for 10 s (`postgres.rs`, on a
//! private cluster), and SQLite's disk full (`disk.rs`). Every request answered while the
//! store is away is a 503 `store-unavailable` (never a 2xx without a commit), `/readyz` says
//! so, the workers wait without crashing and without counting an attempt, and once the store
//! is back every acknowledged event is applied and Domo ends as an independent model says.
//!
//! This file: the load (senders that retry a refused event until it is acknowledged, as a
//! webhook sender does), the readiness poller, and the checks both tests share.

mod cluster;
mod disk;
mod logs;
mod postgres;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dgs_sims::domo::SimState;
use domo_group_sync::config::{Secret, SourceConfig, StoreConfig};
use domo_group_sync::store::{EventFilter, Store};

use crate::helpers::{Binary, canonical, sign_with};

/// Users the load spreads over (seeded in the simulator as `o{n}@example.com`).
pub const USERS: usize = 30;
const GROUPS: [&str; 3] = ["Marketing", "Finance", "eng-x"];

/// One event the load made: a `user.updated` snapshot, later than every earlier one.
#[derive(Debug, Clone)]
pub struct Sent {
    pub id: String,
    pub user: usize,
    pub at: i64,
    pub groups: Vec<&'static str>,
}

/// One answer (or transport failure, `status` 0) the load got.
#[derive(Debug, Clone)]
pub struct Answer {
    pub sent: Instant,
    pub got: Instant,
    pub status: u16,
    pub body: String,
}

/// Senders posting signed events at a steady pace until stopped.
pub struct Load {
    stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    pub sent: Arc<Mutex<Vec<Sent>>>,
    pub acked: Arc<Mutex<BTreeSet<String>>>,
    pub answers: Arc<Mutex<Vec<Answer>>>,
}

pub fn email(user: usize) -> String {
    format!("o{user}@example.com")
}

/// A store of the test's own at `url`, with the service's other store settings: it watches
/// what the service commits.
pub async fn own_store(bin: &Binary, url: String) -> Store {
    Store::connect(&StoreConfig {
        url: Secret::new(url),
        ..bin.config.store.clone()
    })
    .await
    .expect("the test's own connection")
}

impl Load {
    /// `senders` tasks, each sending one event every `pace` (retrying a refused one every
    /// 100 ms until it is acknowledged or the load stops).
    pub fn start(base: &str, source: &SourceConfig, senders: usize, pace: Duration) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let counter = Arc::new(AtomicUsize::new(0));
        let sent: Arc<Mutex<Vec<Sent>>> = Arc::default();
        let acked: Arc<Mutex<BTreeSet<String>>> = Arc::default();
        let answers: Arc<Mutex<Vec<Answer>>> = Arc::default();
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("client");
        let tasks = (0..senders)
            .map(|s| {
                let (stop, counter, sent) = (stop.clone(), counter.clone(), sent.clone());
                let (acked, answers, client) = (acked.clone(), answers.clone(), client.clone());
                let (url, source) = (format!("{base}/webhooks/sw"), source.clone());
                tokio::spawn(async move {
                    let mut rng = fastrand::Rng::with_seed(s as u64);
                    while !stop.load(Ordering::SeqCst) {
                        let n = counter.fetch_add(1, Ordering::SeqCst);
                        let ev = Sent {
                            id: format!("evt_out_{n}"),
                            user: rng.usize(..USERS),
                            at: 1_800_000_000 + n as i64,
                            groups: GROUPS.into_iter().filter(|_| rng.bool()).collect(),
                        };
                        sent.lock().expect("lock").push(ev.clone());
                        let at = chrono::DateTime::from_timestamp(ev.at, 0)
                            .expect("time")
                            .to_rfc3339();
                        let body = canonical(
                            &ev.id,
                            "user.updated",
                            &at,
                            &email(ev.user),
                            Some(&ev.groups),
                        );
                        loop {
                            let msg = format!("msg_{}", uuid::Uuid::new_v4().simple());
                            let now = chrono::Utc::now().timestamp();
                            let mut req = client.post(&url).body(body.clone());
                            for (k, v) in sign_with(&source, &source.secrets[0], &body, now, &msg) {
                                req = req.header(k, v);
                            }
                            let t0 = Instant::now();
                            let (status, text) = match req.send().await {
                                Ok(r) => (r.status().as_u16(), r.text().await.unwrap_or_default()),
                                Err(e) => (0, e.to_string()),
                            };
                            let ok = (200..300).contains(&status);
                            answers.lock().expect("lock").push(Answer {
                                sent: t0,
                                got: Instant::now(),
                                status,
                                body: text,
                            });
                            if ok {
                                acked.lock().expect("lock").insert(ev.id.clone());
                                break;
                            }
                            if stop.load(Ordering::SeqCst) {
                                break;
                            }
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        }
                        tokio::time::sleep(pace).await;
                    }
                })
            })
            .collect();
        Load {
            stop,
            tasks,
            sent,
            acked,
            answers,
        }
    }

    /// Stops the senders (each finishes its request in flight).
    pub async fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.tasks.drain(..) {
            t.await.expect("sender");
        }
    }

    /// How many events were acknowledged so far.
    pub fn acked_count(&self) -> usize {
        self.acked.lock().expect("lock").len()
    }
}

/// One `/readyz?only=store` answer.
#[derive(Debug, Clone)]
pub struct Ready {
    pub got: Instant,
    pub status: u16,
    pub store: String,
}

/// Polls `/readyz?only=store` every 250 ms until the returned flag is set.
pub fn poll_readiness(base: &str) -> (Arc<AtomicBool>, tokio::task::JoinHandle<Vec<Ready>>) {
    let stop = Arc::new(AtomicBool::new(false));
    let (url, flag) = (format!("{base}/readyz?only=store"), stop.clone());
    let task = tokio::spawn(async move {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client");
        let mut seen = Vec::new();
        while !flag.load(Ordering::SeqCst) {
            if let Ok(r) = client.get(&url).send().await {
                let status = r.status().as_u16();
                let body: serde_json::Value = r.json().await.unwrap_or_default();
                let store = body["checks"]
                    .as_array()
                    .and_then(|c| c.iter().find(|c| c["name"] == "store"))
                    .and_then(|c| c["status"].as_str())
                    .unwrap_or("?")
                    .to_owned();
                seen.push(Ready {
                    got: Instant::now(),
                    status,
                    store,
                });
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        seen
    });
    (stop, task)
}

/// Every answer at all is a 2xx or a 503 `store-unavailable` (no 500, no 408, no broken
/// connection); with `strict`, every answer received within `[from, until]` is such a 503.
/// Returns how many 503s and 2xx were received in that window. (A 2xx is only ever sent after
/// the commit: `check_outcome` finds every acknowledged event stored.)
pub fn check_answers(
    answers: &[Answer],
    from: Instant,
    until: Instant,
    strict: bool,
) -> (usize, usize) {
    let (mut unavailable, mut accepted) = (0, 0);
    for a in answers {
        let refused = a.status == 503
            && a.body
                .contains("urn:domo-group-sync:problem:store-unavailable");
        assert!(
            (200..300).contains(&a.status) || refused,
            "an answer that is neither a 2xx nor a 503 store-unavailable: {} {} (after {:?})",
            a.status,
            a.body,
            a.got - a.sent
        );
        if a.got >= from && a.got <= until {
            assert!(
                refused || !strict,
                "answered {} while the store was away: {}",
                a.status,
                a.body
            );
            if refused {
                unavailable += 1;
            } else {
                accepted += 1;
            }
        }
    }
    (unavailable, accepted)
}

/// Readiness said "not ready" (503, store `unavailable…`) within `[from, until]`: for every
/// answer with `strict`, else at least once (a probe whose commit still fits is truthful);
/// and "ready" for the last answer.
pub fn check_readiness(seen: &[Ready], from: Instant, until: Instant, strict: bool) {
    let during: Vec<&Ready> = seen
        .iter()
        .filter(|r| r.got >= from && r.got <= until)
        .collect();
    assert!(
        !during.is_empty(),
        "readiness was not polled during the outage"
    );
    let not_ready = |r: &&&Ready| r.status == 503 && r.store.starts_with("unavailable");
    if strict {
        for r in &during {
            assert!(not_ready(&r), "readiness during the outage: {r:?}");
        }
    } else {
        assert!(during.iter().any(|r| not_ready(&r)), "{during:?}");
    }
    for r in &during {
        assert!(r.status == 503 || r.store == "ok", "{r:?}");
    }
    let last = seen.last().expect("readiness answers");
    assert_eq!(last.status, 200, "ready again after the outage: {last:?}");
    assert_eq!(last.store, "ok");
}

/// Every stored event of the `sw` source, by event id: (status, attempts).
pub async fn stored(store: &Store) -> BTreeMap<String, (String, i64)> {
    let filter = EventFilter {
        source: Some("sw".to_owned()),
        ..EventFilter::default()
    };
    let mut out = BTreeMap::new();
    let mut before = None;
    loop {
        let page = store
            .list_events(&filter, before, 500)
            .await
            .expect("list events");
        let Some(last) = page.last() else {
            return out;
        };
        before = Some(last.id);
        for e in page {
            out.insert(e.event_id, (e.status, e.attempts));
        }
    }
}

/// Waits until no event is queued or running, or panics after `limit`.
pub async fn wait_drained(store: &Store, limit: Duration) {
    let deadline = Instant::now() + limit;
    loop {
        if store.count_pending().await.expect("count") == 0 {
            return;
        }
        assert!(Instant::now() < deadline, "the queue did not drain");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The checks after the outage: every acknowledged event is stored and done, none was counted
/// twice (the outage burned no attempt), none is dead, and Domo holds for each user the groups
/// of their latest stored event (the model, computed from what was sent).
pub fn check_outcome(
    stored: &BTreeMap<String, (String, i64)>,
    sent: &[Sent],
    acked: &BTreeSet<String>,
    domo: &SimState,
) {
    for id in acked {
        assert!(
            stored.contains_key(id),
            "acknowledged event {id} is not stored"
        );
    }
    let not_done: Vec<_> = stored.iter().filter(|(_, (s, _))| s != "done").collect();
    assert!(not_done.is_empty(), "events not done: {not_done:?}");
    let again: Vec<_> = stored.iter().filter(|(_, (_, a))| *a != 1).collect();
    assert!(
        again.is_empty(),
        "events whose attempt was counted twice (the outage burned attempts): {again:?}"
    );
    let mut latest: BTreeMap<usize, &Sent> = BTreeMap::new();
    for s in sent.iter().filter(|s| stored.contains_key(&s.id)) {
        if latest.get(&s.user).is_none_or(|l| l.at < s.at) {
            latest.insert(s.user, s);
        }
    }
    let managed = ["Marketing", "Finance", "Engineering"];
    let mut wrong = Vec::new();
    for (user, ev) in &latest {
        let want: BTreeSet<&str> = ev
            .groups
            .iter()
            .map(|g| if *g == "eng-x" { "Engineering" } else { g })
            .collect();
        let uid = domo
            .user_with_email(&email(*user))
            .map(|u| u.id)
            .expect("seeded user");
        let have: BTreeSet<&str> = domo
            .groups
            .iter()
            .filter(|g| managed.contains(&g.name.as_str()) && g.members.contains(&uid))
            .map(|g| g.name.as_str())
            .collect();
        if want != have {
            wrong.push(format!("{}: want {want:?}, have {have:?}", email(*user)));
        }
    }
    assert!(wrong.is_empty(), "Domo differs from the model: {wrong:?}");
    for name in managed {
        assert!(
            domo.groups.iter().filter(|g| g.name == name).count() <= 1,
            "{name} was created twice"
        );
    }
}

/// The value of a counter in the service's `/metrics` text (0 when absent).
pub async fn metric(base: &str, series: &str) -> f64 {
    let text = reqwest::get(format!("{base}/metrics"))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    text.lines()
        .filter(|l| l.starts_with(series))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}
