//! Leases and clocks. On PostgreSQL a lease is written and compared on the database's clock:
//! a replica whose clock is minutes off (as `worker.test_clock_offset_ms` makes it in the
//! replica test) neither takes a live lease nor leaves a dead one. Here several `Store`s on
//! one database stand in for replicas, each passing its own (skewed) `now` as a worker does.

use std::time::Duration;

use domo_group_sync::config::{Secret, StoreConfig};
use domo_group_sync::store::{IngestItem, Store};

use crate::helpers::{Backend, TestDb, backend};

const FIVE_MIN: i64 = 5 * 60 * 1000;

fn now() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

async fn two_stores() -> (tempfile::TempDir, TestDb, Store, Store) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = TestDb::create(dir.path()).await;
    let config = StoreConfig {
        url: Secret::new(db.url.clone()),
        group_commit: true,
        max_batch: 8,
        max_connections: 2,
    };
    let a = Store::open(&config).await.expect("store opens");
    let b = Store::open(&config).await.expect("store opens");
    (dir, db, a, b)
}

async fn ingest(store: &Store, id: &str, user: &str) {
    let items = [IngestItem {
        event_id: id.to_owned(),
        event_type: "user.updated".to_owned(),
        job_key: Some(format!("user:{user}")),
        user_key: Some(user.to_owned()),
        occurred_at: Some(1),
        payload: Some("{}".to_owned()),
        replay_of: None,
        request_id: None,
        trace_context: None,
    }];
    store
        .ingest(&[("src", &items)], now())
        .await
        .expect("ingest");
}

#[tokio::test]
async fn a_replica_whose_clock_is_minutes_off_neither_steals_a_live_lease_nor_leaves_a_dead_one() {
    if backend() != Backend::Postgres {
        eprintln!("PostgreSQL only: one SQLite database has one process and one clock");
        return;
    }
    let (_dir, _db, a, b) = two_stores().await;

    // A (true clock) holds ada for 10 s. B, five minutes ahead, sees nothing to take, and
    // neither does its reaper.
    ingest(&a, "e1", "ada").await;
    let t = now();
    let held = a
        .claim("A", t, t + 10_000)
        .await
        .expect("claim")
        .expect("due");
    assert_eq!(held.events.len(), 1);
    let ahead = now() + FIVE_MIN;
    assert!(
        b.claim("B", ahead, ahead + 10_000)
            .await
            .expect("claim")
            .is_none(),
        "a replica five minutes ahead took a live lease"
    );
    assert_eq!(b.reap_expired(ahead).await.expect("reap"), 0);
    // A replica five minutes behind renews for 10 s from the database's clock, not from its
    // own (which would have ended the lease minutes ago).
    let behind = now() - FIVE_MIN;
    assert_eq!(
        a.renew_lease("A", behind + 10_000, behind)
            .await
            .expect("renew"),
        1
    );
    let ahead = now() + FIVE_MIN;
    assert!(
        b.claim("B", ahead, ahead + 10_000)
            .await
            .expect("claim")
            .is_none(),
        "the renewed lease was taken"
    );
    assert_eq!(a.finish_claim("A", now()).await.expect("finish"), 1);

    // C, five minutes ahead, claims grace for one second and dies. Its lease ends a second
    // later on the database's clock (not five minutes later), and B, five minutes behind,
    // takes the job over then.
    ingest(&a, "e2", "grace").await;
    let ahead = now() + FIVE_MIN;
    let dying = b
        .claim("C", ahead, ahead + 1_000)
        .await
        .expect("claim")
        .expect("due");
    assert_eq!(dying.events[0].event_id, "e2");
    let behind = now() - FIVE_MIN;
    assert!(
        b.claim("B", behind, behind + 10_000)
            .await
            .expect("claim")
            .is_none()
    );
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let behind = now() - FIVE_MIN;
    let taken = b
        .claim("B", behind, behind + 10_000)
        .await
        .expect("claim")
        .expect("a dead lease is taken over by a replica whose clock is behind");
    assert_eq!(taken.events[0].event_id, "e2");
    assert_eq!(taken.attempts(), 2);
    assert_eq!(
        b.renew_lease("C", ahead + 9_000, ahead)
            .await
            .expect("renew"),
        0
    );
}

#[tokio::test]
async fn a_lease_too_long_for_the_clock_is_capped_not_an_error() {
    // Tools and tests claim "forever" (`i64::MAX`): on PostgreSQL that must not overflow.
    let (_dir, _db, a, _b) = two_stores().await;
    ingest(&a, "e1", "ada").await;
    let c = a
        .claim("A", now(), i64::MAX)
        .await
        .expect("claim")
        .expect("due");
    assert_eq!(c.events.len(), 1);
    assert_eq!(a.renew_lease("A", i64::MAX, now()).await.expect("renew"), 1);
}

/// A worker cut off from the store by an outage takes its job back once the store answers,
/// also after its lease expired, without counting the attempt again; but never a job that
/// another worker took over meanwhile, nor one that finished.
#[tokio::test]
async fn a_claim_cut_off_by_an_outage_is_taken_back_unless_another_worker_took_it() {
    let (_dir, _db, a, b) = two_stores().await;
    ingest(&a, "e1", "ada").await;
    let t = now();
    let held = a.claim("A", t, t + 300).await.expect("claim").expect("due");
    assert!(!held.resumed);
    // The outage outlasts the lease: renewing is refused, taking back is not.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        a.renew_lease("A", now() + 10_000, now())
            .await
            .expect("renew"),
        0
    );
    let back = a
        .resume_claim("A", now(), now() + 10_000)
        .await
        .expect("resume")
        .expect("nobody took the job over: it is A's again");
    assert!(back.resumed, "a resumed job reads Domo live");
    assert_eq!(back.events.len(), 1);
    assert_eq!(back.attempts(), 1, "the attempt is not counted again");
    // The lease is live again: nobody else may take the job.
    assert!(
        b.claim("B", now(), now() + 10_000)
            .await
            .expect("claim")
            .is_none()
    );

    // This time B takes the expired job over before A is back: A gets nothing.
    ingest(&a, "e2", "grace").await;
    let t = now();
    let _ = a
        .claim("A2", t, t + 300)
        .await
        .expect("claim")
        .expect("due");
    tokio::time::sleep(Duration::from_millis(600)).await;
    let taken = b
        .claim("B", now(), now() + 10_000)
        .await
        .expect("claim")
        .expect("an expired lease is taken over");
    assert_eq!(taken.events[0].event_id, "e2");
    assert!(
        a.resume_claim("A2", now(), now() + 10_000)
            .await
            .expect("resume")
            .is_none(),
        "a job another worker took over is never taken back"
    );

    // A job whose completion committed has nothing to take back.
    assert_eq!(a.finish_claim("A", now()).await.expect("finish"), 1);
    assert!(
        a.resume_claim("A", now(), now() + 10_000)
            .await
            .expect("resume")
            .is_none()
    );
}
