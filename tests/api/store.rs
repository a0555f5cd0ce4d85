//! The store's queue guarantees, on the pass's backend, with several `Store`s on one database
//! standing in for replicas: claims are exclusive per key, an expired lease is taken over,
//! the dedup key is unique under concurrent ingest, group commit answers every request.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use domo_group_sync::config::{Secret, StoreConfig};
use domo_group_sync::ingest::Ingestor;
use domo_group_sync::store::{
    IngestItem, IngestStatus, JobOutcome, JobResult, OutboxFilter, OutboxItem, Store, UserRow,
};

use crate::helpers::{Backend, TestDb, backend};

/// A fresh database of the pass's backend and `n` stores (pools) on it, migrated.
async fn stores(n: usize) -> (tempfile::TempDir, TestDb, Vec<Store>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = TestDb::create(dir.path()).await;
    let config = StoreConfig {
        url: Secret::new(db.url.clone()),
        group_commit: true,
        max_batch: 64,
        max_connections: 4,
    };
    let mut all = Vec::new();
    for _ in 0..n {
        all.push(Store::open(&config).await.expect("store opens"));
    }
    (dir, db, all)
}

fn item(id: &str, user: &str) -> IngestItem {
    IngestItem {
        event_id: id.to_owned(),
        event_type: "user.updated".to_owned(),
        job_key: Some(format!("user:{user}")),
        user_key: Some(user.to_owned()),
        occurred_at: Some(1),
        payload: Some("{}".to_owned()),
        replay_of: None,
        request_id: None,
        trace_context: None,
    }
}

async fn ingest_one(store: &Store, id: &str, user: &str, now_ms: i64) -> IngestStatus {
    let items = [item(id, user)];
    let out = store
        .ingest(&[("src", &items)], now_ms)
        .await
        .expect("ingest");
    out[0][0].status
}

#[tokio::test]
async fn claims_are_exclusive_per_key_across_concurrent_claimers() {
    const USERS: usize = 12;
    const EVENTS: usize = 240;
    let (_dir, _db, stores) = stores(3).await;
    // Half the events are there before the claimers start; the rest arrive while they run, so
    // that new events of a key being worked are due while its job runs.
    for i in 0..EVENTS / 2 {
        ingest_one(
            &stores[i % 3],
            &format!("e{i}"),
            &format!("u{}", i % USERS),
            0,
        )
        .await;
    }
    let holders: Arc<Mutex<HashMap<String, String>>> = Arc::default();
    let violations: Arc<Mutex<Vec<String>>> = Arc::default();
    let done: Arc<Mutex<BTreeMap<String, usize>>> = Arc::default();
    let mut tasks = Vec::new();
    for w in 0..9 {
        let store = stores[w % 3].clone();
        let (holders, violations, done) = (holders.clone(), violations.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            let mut idle = 0;
            while idle < 50 {
                let owner = format!("w{w}-{}", uuid::Uuid::new_v4().simple());
                let Some(c) = store.claim(&owner, 1, i64::MAX).await.expect("claim") else {
                    idle += 1;
                    tokio::task::yield_now().await;
                    continue;
                };
                idle = 0;
                if let Some(other) = holders
                    .lock()
                    .expect("lock")
                    .insert(c.job_key.clone(), owner.clone())
                {
                    violations
                        .lock()
                        .expect("lock")
                        .push(format!("{} held by {other} and {owner}", c.job_key));
                }
                for _ in 0..3 {
                    tokio::task::yield_now().await;
                }
                // Leave the map BEFORE the finish commits: the next claim of the key can only
                // succeed after that commit, so an overlap seen here is a real one.
                holders.lock().expect("lock").remove(&c.job_key);
                let n = store.finish_claim(&owner, 2).await.expect("finish");
                assert_eq!(n as usize, c.events.len(), "the claim was ours to finish");
                let mut d = done.lock().expect("lock");
                for e in &c.events {
                    *d.entry(e.event_id.clone()).or_default() += 1;
                }
            }
        }));
    }
    for i in EVENTS / 2..EVENTS {
        ingest_one(
            &stores[i % 3],
            &format!("e{i}"),
            &format!("u{}", i % USERS),
            0,
        )
        .await;
    }
    for t in tasks {
        t.await.expect("claimer task");
    }
    // Whatever the claimers left when they went idle.
    while let Some(c) = stores[0].claim("late", 1, i64::MAX).await.expect("claim") {
        stores[0].finish_claim("late", 2).await.expect("finish");
        let mut d = done.lock().expect("lock");
        for e in &c.events {
            *d.entry(e.event_id.clone()).or_default() += 1;
        }
    }
    let violations = violations.lock().expect("lock").clone();
    assert!(
        violations.is_empty(),
        "two claimers held one key: {violations:?}"
    );
    let done = done.lock().expect("lock").clone();
    assert_eq!(done.len(), EVENTS, "every event was claimed");
    assert!(done.values().all(|&n| n == 1), "an event was claimed twice");
    assert_eq!(
        stores[1].count_events("done").await.expect("count"),
        EVENTS as i64
    );
}

#[tokio::test]
async fn an_expired_lease_is_taken_over_and_the_old_owner_cannot_finish() {
    // Real clocks: on PostgreSQL leases run on the database's clock, whatever `now` says.
    let now = || chrono::Utc::now().timestamp_millis();
    let (_dir, _db, stores) = stores(2).await;
    let (a, b) = (&stores[0], &stores[1]);
    let t0 = now();
    ingest_one(a, "e1", "ada", t0).await;
    ingest_one(a, "e2", "ada", t0).await;
    let first = a
        .claim("A", t0, t0 + 1_500)
        .await
        .expect("claim")
        .expect("due");
    assert_eq!(first.events.len(), 2);
    // While the lease runs, the key is held even when a new event of it is due.
    ingest_one(b, "e3", "ada", now()).await;
    assert!(
        b.claim("B", now(), now() + 9_000)
            .await
            .expect("claim")
            .is_none()
    );
    let t = now();
    assert_eq!(a.renew_lease("A", t + 1_500, t).await.expect("renew"), 2);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(b.reap_expired(now()).await.expect("reap"), 0, "renewed");
    assert!(
        b.claim("B", now(), now() + 9_000)
            .await
            .expect("claim")
            .is_none()
    );
    // The worker dies: once its lease expires, B's next claim takes the job over whole,
    // without waiting for a reaper.
    tokio::time::sleep(std::time::Duration::from_millis(1_600)).await;
    let t = now();
    let taken = b
        .claim("B", t, t + 9_000)
        .await
        .expect("claim")
        .expect("an expired lease is taken over");
    let mut ids: Vec<_> = taken.events.iter().map(|e| e.event_id.clone()).collect();
    ids.sort();
    assert_eq!(ids, ["e1", "e2", "e3"]);
    assert_eq!(taken.attempts(), 2, "the lost attempt counts");
    // An expired lease never comes back: the old owner cannot renew it.
    assert_eq!(
        a.renew_lease("A", now() + 9_000, now())
            .await
            .expect("renew"),
        0
    );
    // The old owner's results do not overwrite what the new owner will write.
    let stale = JobResult {
        owner: "A".to_owned(),
        user: Some(UserRow {
            user_key: "ada".to_owned(),
            state: "{}".to_owned(),
            domo_user_id: Some(7),
            synced: true,
            last_event: None,
            updated_ms: 2_700,
        }),
        memberships_replace: Some(vec![(1, "Sales".to_owned())]),
        memberships_add: Vec::new(),
        memberships_remove: Vec::new(),
        audit: Vec::new(),
        outcome: JobOutcome::Done,
        notices: vec![OutboxItem {
            subscriber: "it".to_owned(),
            msg_id: "msg_stale".to_owned(),
            event_type: "offboarding.completed".to_owned(),
            body: "{}".to_owned(),
        }],
    };
    assert_eq!(a.finish_job(&stale, 2_700).await.expect("finish"), 0);
    assert_eq!(a.load_user("ada").await.expect("load"), None);
    assert!(
        a.outbox_list(&OutboxFilter::default(), 10)
            .await
            .expect("outbox")
            .is_empty(),
        "a job whose lease was lost tells nobody"
    );
    assert!(a.memberships("ada").await.expect("memberships").is_empty());
    assert_eq!(a.finish_claim("A", 2_700).await.expect("finish"), 0);
    assert_eq!(b.finish_claim("B", 2_700).await.expect("finish"), 3);
    assert_eq!(a.count_events("done").await.expect("count"), 3);
}

#[tokio::test]
async fn the_dedup_key_is_unique_under_concurrent_ingest_from_several_replicas() {
    const IDS: usize = 100;
    let (_dir, _db, stores) = stores(3).await;
    let mut tasks = Vec::new();
    for (r, store) in stores.iter().enumerate() {
        for round in 0..2 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                // Each sender walks the ids in its own order, in batches of 10.
                let mut ids: Vec<usize> = (0..IDS).collect();
                fastrand::Rng::with_seed((r * 2 + round) as u64).shuffle(&mut ids);
                let mut queued = Vec::new();
                for chunk in ids.chunks(10) {
                    let items: Vec<IngestItem> = chunk
                        .iter()
                        .map(|i| item(&format!("e{i}"), &format!("u{}", i % 7)))
                        .collect();
                    let out = store.ingest(&[("src", &items)], 0).await.expect("ingest");
                    for o in &out[0] {
                        if o.status == IngestStatus::Queued {
                            queued.push(o.event_id.clone());
                        }
                    }
                }
                queued
            }));
        }
    }
    let mut queued = Vec::new();
    for t in tasks {
        queued.extend(t.await.expect("sender"));
    }
    queued.sort();
    let before = queued.len();
    queued.dedup();
    assert_eq!(before, IDS, "each id was queued exactly once");
    assert_eq!(queued.len(), IDS);
    assert_eq!(
        stores[0].count_events("queued").await.expect("count"),
        IDS as i64
    );
}

#[tokio::test]
async fn group_commit_answers_every_concurrent_request_once_committed() {
    let (_dir, _db, stores) = stores(1).await;
    let store = stores[0].clone();
    let ingestor = Ingestor::start(store.clone(), true, 16, Arc::default());
    let mut tasks = Vec::new();
    for i in 0..200 {
        let ingestor = ingestor.clone();
        tasks.push(tokio::spawn(async move {
            // Every id twice, in separate requests: one is queued, the other a duplicate.
            let id = format!("e{}", i / 2);
            let out = ingestor
                .submit("src", vec![item(&id, "ada")])
                .await
                .expect("submit");
            out[0].status
        }));
    }
    let mut counts: HashMap<String, usize> = HashMap::new();
    for t in tasks {
        *counts
            .entry(format!("{:?}", t.await.expect("task")))
            .or_default() += 1;
    }
    assert_eq!(counts.get("Queued"), Some(&100));
    assert_eq!(counts.get("Duplicate"), Some(&100));
    assert_eq!(store.count_events("queued").await.expect("count"), 100);
}

#[tokio::test]
async fn group_creation_is_serialised_across_replicas() {
    if backend() != Backend::Postgres {
        eprintln!("SQLite runs one replica: its in-process lock serialises group creation");
        return;
    }
    let (_dir, _db, stores) = stores(2).await;
    let first = stores[0]
        .lock_group_creation("sales")
        .await
        .expect("first lock");
    let released = Arc::new(Mutex::new(false));
    let (store, flag) = (stores[1].clone(), released.clone());
    let waiter = tokio::spawn(async move {
        let _second = store.lock_group_creation("sales").await.expect("second");
        *flag.lock().expect("lock")
    });
    // Another name is not blocked by it.
    drop(
        stores[1]
            .lock_group_creation("finance")
            .await
            .expect("other"),
    );
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
    *released.lock().expect("lock") = true;
    drop(first);
    assert!(
        waiter.await.expect("waiter"),
        "the second replica got the lock only after the first released it"
    );
}

fn notice(subscriber: &str, n: usize) -> OutboxItem {
    OutboxItem {
        subscriber: subscriber.to_owned(),
        msg_id: format!("msg_{subscriber}_{n}"),
        event_type: "event.dead".to_owned(),
        body: format!("{{\"n\":{n}}}"),
    }
}

/// One delivery at a time per subscriber across replicas: a subscriber's lane is held by one
/// replica (a lease, on PostgreSQL on the database's clock) until it is released or expires;
/// another subscriber's lane is free meanwhile; messages go oldest first.
#[tokio::test]
async fn a_subscriber_lane_is_held_by_one_replica_at_a_time() {
    let (_dir, _db, stores) = stores(3).await;
    let now = chrono::Utc::now().timestamp_millis();
    let items: Vec<OutboxItem> = (0..3)
        .map(|n| notice("it", n))
        .chain([notice("ops", 0)])
        .collect();
    stores[0].write_notices(&items, now).await.expect("write");
    let later = move |_| now + 3_600_000;

    // Three replicas race for the lane: exactly one gets a message.
    let mut tasks = Vec::new();
    for (r, s) in stores.iter().enumerate() {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.outbox_start_attempt("it", &format!("r{r}"), 60_000, now, later)
                .await
                .expect("attempt")
                .map(|row| (r, row))
        }));
    }
    let mut winners = Vec::new();
    for t in tasks {
        if let Some(w) = t.await.expect("task") {
            winners.push(w);
        }
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    let (holder, first) = winners.remove(0);
    assert_eq!(first.msg_id, "msg_it_0", "oldest first");
    assert_eq!(first.attempts, 1);
    let other = (holder + 1) % 3;
    assert!(
        stores[other]
            .outbox_start_attempt("it", &format!("r{other}"), 60_000, now, later)
            .await
            .expect("attempt")
            .is_none(),
        "the lane is held"
    );
    // Another subscriber's lane is free.
    let ops = stores[other]
        .outbox_start_attempt("ops", &format!("r{other}"), 60_000, now, later)
        .await
        .expect("attempt")
        .expect("the ops lane is free");
    assert_eq!(ops.msg_id, "msg_ops_0");
    // The holder goes on (its lease renewed), the next message in order.
    let second = stores[holder]
        .outbox_start_attempt("it", &format!("r{holder}"), 60_000, now, later)
        .await
        .expect("attempt")
        .expect("the holder keeps its lane");
    assert_eq!(second.msg_id, "msg_it_1");

    // Released: another replica takes over.
    stores[holder]
        .outbox_release_lane("it", &format!("r{holder}"))
        .await
        .expect("release");
    let third = stores[other]
        .outbox_start_attempt("it", &format!("r{other}"), 1, now, later)
        .await
        .expect("attempt")
        .expect("free after release");
    assert_eq!(third.msg_id, "msg_it_2");
    // A lease of 1 ms that its holder does not renew expires: the lane moves on.
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let next = holder;
    let none_due = stores[next]
        .outbox_start_attempt("it", &format!("r{next}"), 60_000, now + 1, later)
        .await
        .expect("attempt");
    assert!(none_due.is_none(), "the three are waiting for their retry");
    let row = stores[next]
        .outbox_start_attempt("it", &format!("r{next}"), 60_000, now + 3_600_000, later)
        .await
        .expect("attempt")
        .expect("due again after the retry delay, and the lane taken over");
    assert_eq!(row.msg_id, "msg_it_0");
    assert_eq!(row.attempts, 2);
}

/// The outbox stays bounded: past the cap the oldest undelivered messages are dead-lettered
/// (still replayable), delivered and dead ones go after the retention, and a removed
/// subscriber's messages are dead-lettered.
#[tokio::test]
async fn the_outbox_is_bounded_by_the_cap_the_retention_and_the_configured_subscribers() {
    use domo_group_sync::store::AttemptOutcome;
    let (_dir, _db, stores) = stores(1).await;
    let s = &stores[0];
    let items: Vec<OutboxItem> = (0..5).map(|n| notice("it", n)).collect();
    s.write_notices(&items, 1_000).await.expect("write");
    s.write_notices(&[notice("gone", 0)], 1_000)
        .await
        .expect("write");

    // Cap: keep the newest 2 of "it".
    assert_eq!(
        s.outbox_cap("it", 2, "outbox full", 2_000)
            .await
            .expect("cap"),
        3
    );
    let dead = s
        .outbox_list(
            &OutboxFilter {
                subscriber: Some("it".into()),
                status: Some("dead".into()),
                ..OutboxFilter::default()
            },
            10,
        )
        .await
        .expect("list");
    let mut ids: Vec<&str> = dead.iter().map(|r| r.msg_id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["msg_it_0", "msg_it_1", "msg_it_2"], "the oldest go");
    assert!(
        dead.iter()
            .all(|r| r.last_error.as_deref() == Some("outbox full"))
    );
    assert_eq!(
        s.outbox_cap("it", 2, "outbox full", 2_000)
            .await
            .expect("cap"),
        0
    );

    // Orphans: "gone" is no longer configured.
    assert_eq!(
        s.outbox_orphans(&["it".to_owned()], 2_000)
            .await
            .expect("orphans"),
        1
    );

    // One delivered; then retention removes delivered and dead rows changed before the cutoff.
    let pending = s
        .outbox_list(
            &OutboxFilter {
                status: Some("pending".into()),
                ..OutboxFilter::default()
            },
            10,
        )
        .await
        .expect("list");
    assert_eq!(pending.len(), 2);
    s.outbox_finish(
        pending[0].id,
        &AttemptOutcome::Delivered { status: 204 },
        3_000,
    )
    .await
    .expect("finish");
    assert_eq!(s.outbox_prune(2_500, 2).await.expect("prune"), 2, "a batch");
    assert_eq!(
        s.outbox_prune(2_500, 2).await.expect("prune"),
        2,
        "the rest of the dead"
    );
    assert_eq!(
        s.outbox_prune(2_500, 2).await.expect("prune"),
        0,
        "newer rows stay"
    );
    let left = s
        .outbox_list(&OutboxFilter::default(), 10)
        .await
        .expect("list");
    let mut states: Vec<&str> = left.iter().map(|r| r.status.as_str()).collect();
    states.sort_unstable();
    assert_eq!(states, ["delivered", "pending"]);

    // A replay of the dead since a time brings back only those.
    s.write_notices(&[notice("it", 7)], 5_000)
        .await
        .expect("write");
    let newest = s
        .outbox_list(&OutboxFilter::default(), 1)
        .await
        .expect("list")
        .remove(0);
    s.outbox_finish(
        newest.id,
        &AttemptOutcome::Dead {
            status: Some(500),
            error: "gave up".into(),
        },
        5_100,
    )
    .await
    .expect("dead");
    assert_eq!(
        s.outbox_replay_dead("it", 6_000, 7_000)
            .await
            .expect("replay"),
        0
    );
    assert_eq!(
        s.outbox_replay_dead("it", 5_000, 7_000)
            .await
            .expect("replay"),
        1
    );
    let back = s.outbox_get(newest.id).await.expect("get").expect("row");
    assert_eq!(
        (back.status.as_str(), back.attempts, back.next_ms),
        ("pending", 0, 7_000)
    );
    assert_eq!(back.msg_id, "msg_it_7", "a replay keeps the webhook-id");
}
