//! From events to Domo, with the real service and the simulator over TCP: onboarding,
//! offboarding, updates, duplicates, reordering, concurrent group creation, dry run.

use serde_json::json;

use crate::helpers::*;

const ADA: &str = "ada@example.com";
const GRACE: &str = "grace@example.com";

/// The user's groups in the simulator, Domo's default group left out.
fn managed(app: &TestApp, email: &str) -> Vec<String> {
    let default = app.default_group();
    app.groups_of(email)
        .into_iter()
        .filter(|g| *g != default)
        .collect()
}

fn names(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

#[tokio::test]
async fn onboarding_creates_the_missing_group_and_adds_the_user() {
    let app = spawn_app().await;
    assert!(app.sim_state().group_named("Marketing").is_none());
    let ev = canonical(
        "evt_on",
        "user.onboarded",
        "2026-11-28T10:00:00Z",
        ADA,
        Some(&["Marketing"]),
    );
    app.send_event(&ev).await;
    app.wait_idle().await;

    assert_eq!(managed(&app, ADA), names(&["Marketing"]));
    assert_eq!(app.calls("POST /v1/groups"), 1);
    assert_eq!(app.calls("PUT /v1/groups/{id}/users/{id}"), 1);
    let row = app.event_row("sw", "evt_on").await.expect("stored");
    assert_eq!(row.status, "done");
    // Every Domo call is audited against the event.
    let audit = app.store.audit_for_event(row.pk).await.expect("audit");
    let ops: Vec<&str> = audit.iter().map(|a| a.op.as_str()).collect();
    assert!(ops.contains(&"create_group"), "{ops:?}");
    assert!(ops.contains(&"add_member"), "{ops:?}");
}

#[tokio::test]
async fn offboarding_removes_every_managed_group_and_leaves_the_others_alone() {
    let app = spawn_app().await;
    let ev = canonical(
        "evt_on",
        "user.onboarded",
        "2026-11-28T10:00:00Z",
        ADA,
        Some(&["Marketing", "Finance"]),
    );
    app.send_event(&ev).await;
    app.wait_idle().await;
    assert_eq!(managed(&app, ADA), names(&["Finance", "Marketing"]));

    let ada = app.sim_user_id(ADA);
    // An admin adds Ada by hand to a group no rule names, and to a rule's group the service
    // has not used for her yet: the first is not the service's, the second is.
    let board = app.hand_group("Board", true).await;
    app.hand_add(board, ada).await;
    let eng = app.hand_group("Engineering", true).await;
    app.hand_add(eng, ada).await;
    let default = app.default_group();
    assert!(app.groups_of(ADA).contains(&default));

    let off = canonical(
        "evt_off",
        "user.offboarded",
        "2026-11-28T11:00:00Z",
        ADA,
        None,
    );
    app.send_event(&off).await;
    app.wait_idle().await;

    let mut expected = names(&["Board", &default]);
    expected.sort();
    assert_eq!(app.groups_of(ADA), expected);
    assert_eq!(app.calls("DELETE /v1/groups/{id}/users/{id}"), 3);
}

#[tokio::test]
async fn an_update_moves_the_user_between_groups_with_one_call_each() {
    let app = spawn_app().await;
    let on = canonical(
        "evt_on",
        "user.onboarded",
        "2026-11-28T10:00:00Z",
        ADA,
        Some(&["Marketing", "Finance"]),
    );
    app.send_event(&on).await;
    app.wait_idle().await;
    let before = app.api_calls();

    let up = canonical(
        "evt_up",
        "user.updated",
        "2026-11-28T10:05:00Z",
        ADA,
        Some(&["Finance", "eng-platform"]),
    );
    app.send_event(&up).await;
    app.wait_idle().await;

    assert_eq!(managed(&app, ADA), names(&["Engineering", "Finance"]));
    assert_eq!(app.calls("DELETE /v1/groups/{id}/users/{id}"), 1);
    // The move costs: a group list (Engineering is new), its creation, one add, one removal.
    assert_eq!(app.api_calls() - before, 4);
}

#[tokio::test]
async fn a_duplicate_event_makes_no_further_domo_calls() {
    let app = spawn_app().await;
    let ev = canonical(
        "evt_dup",
        "user.onboarded",
        "2026-11-28T10:00:00Z",
        ADA,
        Some(&["Marketing"]),
    );
    app.send_event(&ev).await;
    app.wait_idle().await;
    let before = app.sim_state().calls;

    // The sender retries the same message: answered `duplicate`, nothing runs.
    let again = json_body(app.post_signed("sw", &ev).await).await;
    assert_eq!(again["events"][0]["status"], "duplicate");
    // The same content under a new id (a sender that re-sends a snapshot): nothing to change.
    let same = canonical(
        "evt_same",
        "user.onboarded",
        "2026-11-28T10:00:01Z",
        ADA,
        Some(&["Marketing"]),
    );
    app.send_event(&same).await;
    app.wait_idle().await;

    assert_eq!(app.sim_state().calls, before);
    assert_eq!(managed(&app, ADA), names(&["Marketing"]));
}

#[tokio::test]
async fn onboarding_delivered_before_an_older_offboarding_ends_onboarded() {
    // Rehire: offboarded at 10:00, onboarded at 11:00; the IdP delivers them the other way.
    let app = spawn_app().await;
    let on = canonical(
        "evt_on",
        "user.onboarded",
        "2026-11-28T11:00:00Z",
        ADA,
        Some(&["Marketing"]),
    );
    let off = canonical(
        "evt_off",
        "user.offboarded",
        "2026-11-28T10:00:00Z",
        ADA,
        None,
    );
    app.send_event(&on).await;
    app.wait_idle().await;
    app.send_event(&off).await;
    app.wait_idle().await;
    assert_eq!(managed(&app, ADA), names(&["Marketing"]));
}

#[tokio::test]
async fn offboarding_delivered_before_an_older_onboarding_ends_offboarded() {
    let app = spawn_app().await;
    let first = canonical(
        "evt_0",
        "user.onboarded",
        "2026-11-28T09:00:00Z",
        ADA,
        Some(&["Finance"]),
    );
    app.send_event(&first).await;
    app.wait_idle().await;
    assert_eq!(managed(&app, ADA), names(&["Finance"]));

    // Onboarded into Marketing at 10:00, offboarded at 11:00; delivered offboarding first.
    let on = canonical(
        "evt_on",
        "user.onboarded",
        "2026-11-28T10:00:00Z",
        ADA,
        Some(&["Marketing"]),
    );
    let off = canonical(
        "evt_off",
        "user.offboarded",
        "2026-11-28T11:00:00Z",
        ADA,
        None,
    );
    app.send_event(&off).await;
    app.wait_idle().await;
    app.send_event(&on).await;
    app.wait_idle().await;
    assert!(managed(&app, ADA).is_empty(), "{:?}", managed(&app, ADA));

    // Both in one delivery, in the wrong order: the same result.
    let late = canonical(
        "evt_on2",
        "user.onboarded",
        "2026-11-28T10:30:00Z",
        ADA,
        Some(&["Finance"]),
    );
    let body = format!("[{late}]");
    app.send_event(&body).await;
    app.wait_idle().await;
    assert!(managed(&app, ADA).is_empty(), "{:?}", managed(&app, ADA));
}

#[tokio::test]
async fn concurrent_onboardings_into_one_new_group_create_it_once() {
    let users: Vec<String> = (0..8).map(|i| format!("user{i}@example.com")).collect();
    let app = spawn_app_with(Options {
        users: users.clone(),
        worker_concurrency: 8,
        ..Options::default()
    })
    .await;
    // One delivery with every onboarding: the workers take the users at the same time.
    let events: Vec<String> = users
        .iter()
        .enumerate()
        .map(|(i, email)| {
            canonical(
                &format!("evt_{i}"),
                "user.onboarded",
                "2026-11-28T10:00:00Z",
                email,
                Some(&["Marketing"]),
            )
        })
        .collect();
    app.send_event(&format!("[{}]", events.join(","))).await;
    app.wait_idle().await;

    let state = app.sim_state();
    let marketing: Vec<_> = state
        .groups
        .iter()
        .filter(|g| g.name.eq_ignore_ascii_case("Marketing"))
        .collect();
    assert_eq!(marketing.len(), 1);
    assert_eq!(app.calls("POST /v1/groups"), 1);
    // Those who waited for the creator find the group in the cache: no list each.
    assert!(
        app.calls("GET /v1/groups") <= 2,
        "{:?}",
        app.sim_state().calls
    );
    for email in &users {
        assert_eq!(managed(&app, email), names(&["Marketing"]), "{email}");
    }
}

#[tokio::test]
async fn dry_run_plans_and_audits_but_writes_nothing() {
    let app = spawn_app_with(Options {
        dry_run: true,
        ..Options::default()
    })
    .await;
    let finance = app.hand_group("Finance", true).await;
    app.hand_add(finance, app.sim_user_id(GRACE)).await;
    let on = canonical(
        "evt_on",
        "user.onboarded",
        "2026-11-28T10:00:00Z",
        ADA,
        Some(&["Marketing", "Finance"]),
    );
    let off = canonical(
        "evt_off",
        "user.offboarded",
        "2026-11-28T10:00:00Z",
        GRACE,
        None,
    );
    app.send_event(&format!("[{on},{off}]")).await;
    app.wait_idle().await;

    assert_eq!(app.write_calls(), 0, "{:?}", app.sim_state().calls);
    assert!(managed(&app, ADA).is_empty());
    assert_eq!(managed(&app, GRACE), names(&["Finance"]));
    let row = app.event_row("sw", "evt_on").await.expect("stored");
    assert_eq!(row.status, "done");
    let audit = app.store.audit_for_event(row.pk).await.expect("audit");
    let planned: Vec<(&str, Option<&str>)> = audit
        .iter()
        .filter(|a| a.outcome == "dry_run")
        .map(|a| (a.op.as_str(), a.group_name.as_deref()))
        .collect();
    assert!(
        planned.contains(&("create_group", Some("Marketing"))),
        "{planned:?}"
    );
    assert!(
        planned.contains(&("add_member", Some("Marketing"))),
        "{planned:?}"
    );
    assert!(
        planned.contains(&("add_member", Some("Finance"))),
        "{planned:?}"
    );
    let row = app.event_row("sw", "evt_off").await.expect("stored");
    let audit = app.store.audit_for_event(row.pk).await.expect("audit");
    assert!(
        audit
            .iter()
            .any(|a| a.op == "remove_member" && a.outcome == "dry_run"),
        "{audit:?}"
    );
}

/// A Clerk event as Svix delivers it.
fn clerk(kind: &str, at_ms: i64, data: serde_json::Value) -> String {
    json!({ "type": kind, "object": "event", "timestamp": at_ms, "data": data }).to_string()
}

#[tokio::test]
async fn a_clerk_offboarding_by_user_id_is_resolved_through_an_earlier_event() {
    let app = spawn_app().await;
    let t0: i64 = 1_795_000_000_000;
    let created = clerk(
        "user.created",
        t0,
        json!({
            "id": "user_ada", "object": "user", "first_name": "Ada", "last_name": "Lovelace",
            "primary_email_address_id": "idn_1",
            "email_addresses": [{ "id": "idn_1", "email_address": ADA }]
        }),
    );
    let joined = clerk(
        "organizationMembership.created",
        t0 + 1_000,
        json!({
            "object": "organization_membership",
            "organization": { "id": "org_1", "name": "Marketing" },
            "public_user_data": { "identifier": ADA, "user_id": "user_ada" }
        }),
    );
    for body in [created, joined] {
        assert_eq!(app.post_signed("clerk", &body).await.status(), 202);
        app.wait_idle().await;
    }
    assert_eq!(managed(&app, ADA), names(&["Marketing"]));

    let deleted = clerk(
        "user.deleted",
        t0 + 2_000,
        json!({ "id": "user_ada", "object": "user", "deleted": true }),
    );
    assert_eq!(app.post_signed("clerk", &deleted).await.status(), 202);
    app.wait_idle().await;
    assert!(managed(&app, ADA).is_empty(), "{:?}", managed(&app, ADA));
    assert_eq!(app.store.count_events("dead").await.expect("count"), 0);
}
