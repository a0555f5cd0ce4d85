//! Domo misbehaving, with the real service and the simulator over TCP: rate limits, server
//! errors, expired tokens, permanent refusals, unknown users.

use dgs_sims::domo::{Faults, RequestRecord};

use crate::helpers::*;

const ADA: &str = "ada@example.com";

fn onboard(id: &str, at: &str, email: &str, groups: &[&str]) -> String {
    canonical(id, "user.onboarded", at, email, Some(groups))
}

/// Waits until the simulator's log holds at least `n` answers with this status.
async fn wait_for_status(app: &TestApp, status: u16, n: usize) {
    app.wait_until(&format!("{n} answer(s) {status}"), || async {
        app.sim
            .requests()
            .iter()
            .filter(|r| r.status == status)
            .count()
            >= n
    })
    .await;
}

/// Requests that arrived more than `in_flight_ms` after a 429 with `Retry-After` was answered
/// (requests already on their way when the service got the 429 cannot know of it), but before
/// the delay it asked for had passed.
fn too_early(log: &[RequestRecord], in_flight_ms: u64) -> Vec<(RequestRecord, RequestRecord)> {
    let mut bad = Vec::new();
    for limited in log.iter().filter(|r| r.status == 429) {
        let Some(secs) = limited.retry_after_secs else {
            continue;
        };
        let until = limited.done_ms + secs * 1000;
        for r in log {
            if r.at_ms > limited.done_ms + in_flight_ms && r.at_ms < until {
                bad.push((limited.clone(), r.clone()));
            }
        }
    }
    bad
}

#[tokio::test]
async fn a_429_with_retry_after_is_waited_out() {
    let app = spawn_app().await;
    app.sim.set_faults(Faults {
        rate_429: 1.0,
        retry_after_share: 1.0,
        retry_after_secs: 1,
        ..Faults::default()
    });
    app.send_event(&onboard(
        "evt_429",
        "2026-11-28T10:00:00Z",
        ADA,
        &["Marketing"],
    ))
    .await;
    wait_for_status(&app, 429, 1).await;
    app.sim.set_faults(Faults::default());
    app.wait_idle().await;

    let row = app.event_row("sw", "evt_429").await.expect("stored");
    let log = app.sim.requests();
    assert!(
        app.groups_of(ADA).contains(&"Marketing".to_owned()),
        "{row:?} {log:?}"
    );
    let limited = log.iter().filter(|r| r.status == 429).count();
    assert!(limited >= 1);
    let bad = too_early(&log, 0);
    assert!(
        bad.is_empty(),
        "requests sent before Retry-After passed: {bad:?}"
    );
    let row = app.event_row("sw", "evt_429").await.expect("stored");
    assert_eq!(row.status, "done");
    assert!(row.attempts >= 2, "{row:?}");
}

#[tokio::test]
async fn a_429_with_retry_after_pauses_every_worker() {
    // Several users at once: while one job waits out the 429, the others must not keep
    // calling Domo either (Domo's limit is per client, not per user).
    let users: Vec<String> = (0..6).map(|i| format!("user{i}@example.com")).collect();
    let app = spawn_app_with(Options {
        users: users.clone(),
        worker_concurrency: 6,
        ..Options::default()
    })
    .await;
    // Warm the caches and the token, so the test is about membership calls.
    let warm: Vec<String> = users
        .iter()
        .enumerate()
        .map(|(i, e)| onboard(&format!("evt_w{i}"), "2026-11-28T09:00:00Z", e, &[]))
        .collect();
    app.send_event(&format!("[{}]", warm.join(","))).await;
    app.wait_idle().await;

    app.sim.set_faults(Faults {
        rate_429: 1.0,
        retry_after_share: 1.0,
        retry_after_secs: 1,
        ..Faults::default()
    });
    let events: Vec<String> = users
        .iter()
        .enumerate()
        .map(|(i, e)| onboard(&format!("evt_{i}"), "2026-11-28T10:00:00Z", e, &["Finance"]))
        .collect();
    app.send_event(&format!("[{}]", events.join(","))).await;
    wait_for_status(&app, 429, 1).await;
    app.sim.set_faults(Faults::default());
    app.wait_idle().await;

    for e in &users {
        assert!(app.groups_of(e).contains(&"Finance".to_owned()), "{e}");
    }
    // Requests sent in the same instant as the refused one may still arrive just after it.
    let bad = too_early(&app.sim.requests(), 50);
    assert!(
        bad.is_empty(),
        "requests sent before Retry-After passed: {bad:?}"
    );
}

#[tokio::test]
async fn a_429_without_retry_after_5xx_and_dropped_connections_are_retried_until_success() {
    let app = spawn_app_with(Options {
        max_attempts: 15,
        ..Options::default()
    })
    .await;
    app.sim.set_faults(Faults {
        rate_5xx: 1.0,
        ..Faults::default()
    });
    app.send_event(&onboard(
        "evt_5xx",
        "2026-11-28T10:00:00Z",
        ADA,
        &["Marketing"],
    ))
    .await;
    app.wait_until("two 5xx answers", || async {
        app.sim
            .requests()
            .iter()
            .filter(|r| r.status >= 500)
            .count()
            >= 2
    })
    .await;
    app.sim.set_faults(Faults {
        rate_429: 1.0,
        retry_after_share: 0.0,
        ..Faults::default()
    });
    wait_for_status(&app, 429, 1).await;
    // And a connection dropped with no answer at all.
    app.sim.set_faults(Faults {
        drop_rate: 1.0,
        ..Faults::default()
    });
    wait_for_status(&app, 0, 1).await;
    app.sim.set_faults(Faults::default());
    app.wait_idle().await;

    let row = app.event_row("sw", "evt_5xx").await.expect("stored");
    assert!(
        app.groups_of(ADA).contains(&"Marketing".to_owned()),
        "{row:?} {:?}",
        app.sim.requests()
    );
    assert_eq!(row.status, "done", "{row:?}");
    assert!(row.attempts >= 4, "{row:?}");
    let log = app.sim.requests();
    assert!(
        log.iter()
            .all(|r| r.status != 429 || r.retry_after_secs.is_none())
    );
    // The group was created once, whatever the failures around it.
    assert_eq!(
        app.sim_state()
            .groups
            .iter()
            .filter(|g| g.name == "Marketing")
            .count(),
        1
    );
}

#[tokio::test]
async fn a_token_that_expires_mid_run_is_refreshed_once() {
    let users = ["ada@example.com", "grace@example.com", "alan@example.com"];
    let app = spawn_app().await;
    let first: Vec<String> = users
        .iter()
        .enumerate()
        .map(|(i, e)| {
            onboard(
                &format!("evt_a{i}"),
                "2026-11-28T10:00:00Z",
                e,
                &["Marketing"],
            )
        })
        .collect();
    app.send_event(&format!("[{}]", first.join(","))).await;
    app.wait_idle().await;
    let issued = app.sim_state().tokens_issued;
    assert_eq!(issued, 1);

    assert!(app.sim.expire_tokens() >= 1);
    // Three workers meet the expired token at about the same time.
    let second: Vec<String> = users
        .iter()
        .enumerate()
        .map(|(i, e)| {
            onboard(
                &format!("evt_b{i}"),
                "2026-11-28T11:00:00Z",
                e,
                &["Marketing", "Finance"],
            )
        })
        .collect();
    app.send_event(&format!("[{}]", second.join(","))).await;
    app.wait_idle().await;

    assert_eq!(app.sim_state().tokens_issued, issued + 1);
    for e in users {
        assert!(app.groups_of(e).contains(&"Finance".to_owned()), "{e}");
    }
    assert_eq!(app.store.count_events("dead").await.expect("count"), 0);
}

#[tokio::test]
async fn a_permanent_refusal_is_dead_lettered_with_its_reason() {
    let app = spawn_app().await;
    // An admin made the Finance group inactive: Domo answers 400 to adding anyone.
    app.hand_group("Finance", false).await;
    app.send_event(&onboard(
        "evt_inactive",
        "2026-11-28T10:00:00Z",
        ADA,
        &["Finance"],
    ))
    .await;
    let row = app.wait_status("sw", "evt_inactive", "dead").await;
    let reason = row.last_error.unwrap_or_default();
    assert!(reason.contains("Domo refused"), "{reason}");
    assert!(reason.contains("400"), "{reason}");
    assert!(reason.contains("Finance"), "{reason}");
    // Permanent: not retried.
    assert_eq!(row.attempts, 1);
    assert_eq!(app.calls("PUT /v1/groups/{id}/users/{id}"), 1);
}

#[tokio::test]
async fn an_unknown_user_is_created_when_configured() {
    let app = spawn_app_with(Options {
        create_missing_users: true,
        ..Options::default()
    })
    .await;
    let email = "newbie@example.com";
    app.send_event(&onboard(
        "evt_new",
        "2026-11-28T10:00:00Z",
        email,
        &["Marketing"],
    ))
    .await;
    app.wait_idle().await;
    assert!(app.sim_state().user_with_email(email).is_some());
    assert!(app.groups_of(email).contains(&"Marketing".to_owned()));
    assert_eq!(app.calls("POST /v1/users"), 1);
}

#[tokio::test]
async fn an_unknown_user_is_waited_for_then_dead_lettered() {
    let app = spawn_app().await;
    let email = "stranger@example.com";
    app.send_event(&onboard(
        "evt_stranger",
        "2026-11-28T10:00:00Z",
        email,
        &["Marketing"],
    ))
    .await;
    let row = app.wait_status("sw", "evt_stranger", "dead").await;
    assert_eq!(row.last_error.as_deref(), Some("user not found in Domo"));
    assert!(row.attempts >= 2, "it waited first: {row:?}");
    assert_eq!(app.calls("POST /v1/users"), 0);
    assert!(app.sim_state().user_with_email(email).is_none());
}
