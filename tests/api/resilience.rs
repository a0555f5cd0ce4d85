//! Domo faults: the simulator answers a share of calls with 429 (half with `Retry-After`),
//! 5xx, drops connections and adds jittered latency, while events for many users arrive
//! shuffled and duplicated. The final state must equal an independent model's, every event must
//! end done (or dead with a reason), no group may be created twice (also when a creation is
//! applied and its answer lost: the service never asks for an existing group again), unmanaged
//! groups stay as they were, and nothing may reach Domo sooner than a `Retry-After` allowed.
//!
//! Bounded by default (1,000 events, 100 users); `DGS_FAULT_EVENTS` and `DGS_FAULT_USERS` make
//! the long run (e.g. 5,000 and 500).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use dgs_sims::domo::Faults;
use serde_json::json;

use crate::helpers::*;

/// The IdP groups events name: three mapped by `DEFAULT_RULES` (`eng-*` → Engineering), one not.
pub(crate) const GROUPS: [&str; 5] = ["Marketing", "Finance", "eng-a", "eng-b", "Unmapped"];
/// The Domo groups `DEFAULT_RULES` make of `GROUPS`.
pub(crate) const MANAGED: [&str; 3] = ["Marketing", "Finance", "Engineering"];

/// One generated canonical event (also used by the soak, `soak/`).
#[derive(Clone)]
pub(crate) struct Ev {
    pub id: String,
    pub email: String,
    pub kind: &'static str,
    /// The minute it happened, from the generator's epoch.
    pub at: i64,
    pub groups: Vec<&'static str>,
    pub body: String,
}

/// The Domo faults of the suite: 20 % of calls answered 429 (half with `Retry-After`), 10 %
/// 5xx, 5 % dropped connections, 5 % of writes applied and then dropped, jittered latency.
/// `scale` multiplies every rate (the soak runs for long at a lower one).
pub(crate) fn domo_faults(scale: f64) -> Faults {
    Faults {
        rate_429: 0.2 * scale,
        retry_after_share: 0.5,
        retry_after_secs: 2,
        rate_5xx: 0.1 * scale,
        latency_ms: 1,
        latency_jitter_ms: 5,
        drop_rate: 0.05 * scale,
        // Domo did it but the answer was lost: writes applied, then the connection dropped.
        drop_after_write_rate: 0.05 * scale,
        omit_user_groups: false,
        ..Faults::default()
    }
}

/// The independent model: replay a user's events in time order over a plain set.
pub(crate) fn expected(events: &[Ev]) -> BTreeSet<String> {
    let mut sorted: Vec<&Ev> = events.iter().collect();
    sorted.sort_by_key(|e| e.at);
    let (mut set, mut active) = (BTreeSet::<&str>::new(), true);
    for e in sorted {
        match e.kind {
            "user.onboarded" | "user.updated" => {
                set = e.groups.iter().copied().collect();
                active = true;
            }
            "user.offboarded" => active = false,
            "group.member_added" => {
                set.insert(e.groups[0]);
            }
            _ => {
                set.remove(e.groups[0]);
            }
        }
    }
    if !active {
        return BTreeSet::new();
    }
    set.iter()
        .filter_map(|g| match *g {
            "Marketing" | "Finance" => Some((*g).to_owned()),
            g if g.starts_with("eng-") => Some("Engineering".to_owned()),
            _ => None,
        })
        .collect()
}

/// `per_user` events for each user in `users` (`user{u}@example.com`), their times shuffled
/// so that they arrive out of order. `round` n's events all happen after round n-1's.
pub(crate) fn generate(
    users: impl IntoIterator<Item = usize>,
    per_user: usize,
    round: i64,
    rng: &mut fastrand::Rng,
) -> Vec<Ev> {
    let mut all = Vec::new();
    for u in users {
        let email = format!("user{u}@example.com");
        let first = round * per_user as i64;
        let mut times: Vec<i64> = (first..first + per_user as i64).collect();
        rng.shuffle(&mut times);
        for (j, t) in times.into_iter().enumerate() {
            let kind = match rng.u8(0..9) {
                0 | 1 => "user.onboarded",
                2 | 3 => "user.updated",
                4 => "user.offboarded",
                5 | 6 => "group.member_added",
                _ => "group.member_removed",
            };
            let groups: Vec<&'static str> = if kind.starts_with("group.") {
                vec![GROUPS[rng.usize(..GROUPS.len())]]
            } else {
                GROUPS.iter().copied().filter(|_| rng.bool()).collect()
            };
            let id = format!("evt_{round}_{u}_{j}");
            let at = chrono::DateTime::from_timestamp(1_795_000_000 + t * 60, 0)
                .expect("time")
                .to_rfc3339();
            let mut ev =
                json!({"id": id, "type": kind, "occurred_at": at, "user": {"email": email}});
            if kind != "user.offboarded" {
                ev["groups"] = json!(groups);
            }
            all.push(Ev {
                id,
                email: email.clone(),
                kind,
                at: t,
                groups,
                body: ev.to_string(),
            });
        }
    }
    all
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn domo_faults_end_in_the_models_state_without_early_retries() {
    let events_n = env_usize("DGS_FAULT_EVENTS", 1000);
    let users_n = env_usize("DGS_FAULT_USERS", 100);
    let app = spawn_app_with(Options {
        users: (0..users_n)
            .map(|u| format!("user{u}@example.com"))
            .collect(),
        worker_concurrency: 8,
        max_attempts: 200,
        ..Options::default()
    })
    .await;
    // An unmanaged group everyone is in: it must stay exactly so.
    let unmanaged = app
        .client
        .post(format!("http://{}/_sim/groups", app.sim_addr))
        .json(&json!({"name": "Hand Made"}))
        .send()
        .await
        .expect("sent");
    let unmanaged: serde_json::Value = unmanaged.json().await.expect("json");
    let unmanaged_id = unmanaged["id"].as_u64().expect("id");
    for u in app
        .sim_state()
        .users
        .iter()
        .filter(|u| u.email.starts_with("user"))
    {
        let r = app
            .client
            .put(format!(
                "http://{}/_sim/groups/{unmanaged_id}/users/{}",
                app.sim_addr, u.id
            ))
            .send()
            .await
            .expect("sent");
        assert_eq!(r.status(), 204);
    }
    let before_unmanaged = app
        .sim_state()
        .groups
        .iter()
        .find(|g| g.id == unmanaged_id)
        .map(|g| g.members.clone());

    app.sim.set_faults(domo_faults(1.0));

    let mut rng = fastrand::Rng::with_seed(42);
    let events = generate(0..users_n, events_n / users_n, 0, &mut rng);
    let mut deliveries: Vec<Ev> = events.clone();
    let dups: Vec<Ev> = events
        .iter()
        .filter(|_| rng.u8(0..10) == 0)
        .cloned()
        .collect();
    deliveries.extend(dups.iter().cloned());
    rng.shuffle(&mut deliveries);

    let app = Arc::new(app);
    let queue = Arc::new(tokio::sync::Mutex::new(deliveries));
    let mut senders = Vec::new();
    for _ in 0..16 {
        let (app, queue) = (app.clone(), queue.clone());
        senders.push(tokio::spawn(async move {
            loop {
                let Some(ev) = queue.lock().await.pop() else {
                    return;
                };
                let resp = app.post_signed("sw", &ev.body).await;
                assert_eq!(resp.status(), 202, "event {} not accepted", ev.id);
            }
        }));
    }
    for s in senders {
        s.await.expect("sender");
    }
    let started = std::time::Instant::now();
    app.wait_idle_for(std::time::Duration::from_secs(240)).await;
    let elapsed = started.elapsed();

    // Every event ended; dead ones say why.
    let done = app.store.count_events("done").await.expect("count");
    let dead = app.store.count_events("dead").await.expect("count");
    assert_eq!(
        done + dead,
        events.len() as i64,
        "every event ends done or dead"
    );
    assert_eq!(dead, 0, "with 200 attempts no job should give up");

    // The final state equals the model's.
    let mut by_user: BTreeMap<&str, Vec<Ev>> = BTreeMap::new();
    for e in &events {
        by_user.entry(e.email.as_str()).or_default().push(e.clone());
    }
    let managed = MANAGED;
    let mut wrong = Vec::new();
    for (email, evs) in &by_user {
        let want = expected(evs);
        let have: BTreeSet<String> = app
            .groups_of(email)
            .into_iter()
            .filter(|g| managed.contains(&g.as_str()))
            .collect();
        if want != have {
            wrong.push(format!("{email}: want {want:?}, have {have:?}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} users differ from the model, e.g. {:?}",
        wrong.len(),
        &wrong[..wrong.len().min(5)]
    );

    // No group created twice; unmanaged and default groups untouched.
    let state = app.sim_state();
    for name in managed {
        assert!(
            state.groups.iter().filter(|g| g.name == name).count() <= 1,
            "{name} created twice"
        );
    }
    // Each creation that took effect made one of the groups, and none was asked for again
    // once it existed (Domo refuses a duplicate name with a 400).
    let made = state
        .groups
        .iter()
        .filter(|g| managed.contains(&g.name.as_str()))
        .count() as u64;
    assert_eq!(
        state.calls_to("POST /v1/groups").ok,
        made,
        "creations applied"
    );
    let log = app.sim.requests();
    let again = log
        .iter()
        .filter(|r| r.method == "POST" && r.route == "/v1/groups" && r.status == 400)
        .count();
    assert_eq!(again, 0, "a group was asked for again after it was created");
    let lost_answers = log.iter().filter(|r| r.applied_status.is_some()).count();
    let after_unmanaged = state
        .groups
        .iter()
        .find(|g| g.id == unmanaged_id)
        .map(|g| g.members.clone());
    assert_eq!(
        before_unmanaged, after_unmanaged,
        "the hand-made group was touched"
    );
    let default = state
        .groups
        .iter()
        .find(|g| g.default)
        .expect("default group");
    for u in state.users.iter().filter(|u| u.email.starts_with("user")) {
        assert!(
            default.members.contains(&u.id),
            "{} left the default group",
            u.email
        );
    }

    // Nothing reached Domo sooner than a Retry-After allowed (100 ms for requests already past
    // the client's gate when the 429 arrived).
    let mut early = 0;
    let (mut n429, mut with_ra, mut n5xx, mut dropped) = (0, 0, 0, 0);
    for r in &log {
        match r.status {
            429 => n429 += 1,
            500..=599 => n5xx += 1,
            0 => dropped += 1,
            _ => {}
        }
        if let Some(secs) = r.retry_after_secs {
            with_ra += 1;
            let from = r.done_ms + 500;
            let until = r.done_ms + secs * 1000;
            for x in log.iter().filter(|x| x.at_ms > from && x.at_ms < until) {
                early += 1;
                eprintln!(
                    "early: {} {} at {} ms, after a 429 answered at {} ms with Retry-After {secs}",
                    x.method, x.route, x.at_ms, r.done_ms
                );
            }
        }
    }
    eprintln!(
        "fault suite: {} events ({} duplicates) for {users_n} users, {} Domo requests: {n429} × 429 ({with_ra} with Retry-After), \
         {n5xx} × 5xx, {dropped} dropped ({lost_answers} of them writes applied first); drained in {:.1} s; done {done}, dead {dead}, lost 0",
        events.len(),
        dups.len(),
        log.len(),
        elapsed.as_secs_f64()
    );
    assert!(
        n429 > 0 && with_ra > 0 && n5xx > 0 && dropped > 0 && lost_answers > 0,
        "every fault kind was injected"
    );
    assert_eq!(early, 0, "requests sent before a Retry-After elapsed");
}
