//! Each event type, from the state change that writes it to the body the independent
//! verifier accepts.

use std::time::Duration;

use domo_group_sync::notify::source::PullReport;
use reqwest::Method;
use serde_json::json;

use super::{ALL_TYPES, Receiver, assert_verified, subscriber_toml};
use crate::api_v1::call;
use crate::helpers::{DEFAULT_RULES, Options, canonical, spawn_app_with};

const ADA: &str = "ada@example.com";
const WAIT: Duration = Duration::from_secs(30);

fn sorted(v: &serde_json::Value) -> Vec<String> {
    let mut out: Vec<String> = v
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

#[tokio::test]
async fn an_offboarding_and_the_memberships_it_removes_are_told_signed() {
    // Arrange: a subscriber of every type.
    let rx = Receiver::start("offboarding", &[]);
    let app = spawn_app_with(Options {
        extra_toml: subscriber_toml("it", &rx.url(), &ALL_TYPES, 5),
        ..Options::default()
    })
    .await;

    // Act: Ada joins two groups, then leaves.
    app.send_event(&canonical(
        "evt-on",
        "user.onboarded",
        "2026-11-28T10:00:00Z",
        ADA,
        Some(&["Marketing", "Finance"]),
    ))
    .await;
    app.wait_idle().await;
    app.send_event(&canonical(
        "evt-off",
        "user.offboarded",
        "2026-11-28T11:00:00Z",
        ADA,
        None,
    ))
    .await;

    // Assert
    rx.wait_for("offboarding.completed", WAIT, |rs| {
        rs.iter()
            .any(|r| r["body"]["type"] == "offboarding.completed")
    })
    .await;
    let off = rx.of_type("offboarding.completed");
    assert_eq!(off.len(), 1, "{off:#?}");
    assert_verified(&off[0]);
    let d = &off[0]["body"]["data"];
    assert_eq!(d["user"]["email"], ADA);
    assert!(d["user"]["domo_user_id"].as_i64().is_some(), "{d}");
    assert_eq!(sorted(&d["removed"]), ["Finance", "Marketing"]);
    assert_eq!(d["occurred_at"], "2026-11-28T11:00:00Z");
    assert_eq!(d["event"]["event_id"], "evt-off");
    assert_eq!(d["event"]["source"], "sw");
    assert_eq!(d["event"]["type"], "user.offboarded");
    assert!(d["event"]["request_id"].as_str().is_some(), "{d}");
    assert!(
        off[0]["body"]["timestamp"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );

    rx.wait_for("two membership.applied", WAIT, |rs| {
        rs.iter()
            .filter(|r| r["body"]["type"] == "membership.applied")
            .count()
            == 2
    })
    .await;
    let applied = rx.of_type("membership.applied");
    for r in &applied {
        assert_verified(r);
    }
    let on = &applied[0]["body"]["data"];
    assert_eq!(sorted(&on["added"]), ["Finance", "Marketing"]);
    assert_eq!(sorted(&on["removed"]), Vec::<String>::new());
    assert_eq!(on["events"][0]["event_id"], "evt-on");
    assert_eq!(
        sorted(&applied[1]["body"]["data"]["removed"]),
        ["Finance", "Marketing"]
    );

    // The API lists the same messages under the same webhook-ids.
    let page = app
        .get_json("/api/v1/deliveries?subscriber=it&type=offboarding.completed")
        .await;
    let listed = &page["deliveries"][0];
    assert_eq!(listed["status"], "delivered", "{page}");
    assert_eq!(listed["msg_id"], off[0]["id"]);
    assert_eq!(listed["attempts"], 1);
}

#[tokio::test]
async fn a_dead_letter_is_told_with_its_reason_and_its_replay() {
    let rx = Receiver::start("dead", &[]);
    let app = spawn_app_with(Options {
        extra_toml: subscriber_toml("it", &rx.url(), &["event.dead"], 5),
        ..Options::default()
    })
    .await;

    // Nobody of that email exists in Domo: after `user_wait_secs` (2 s) the event is dead.
    app.send_event(&canonical(
        "evt-ghost",
        "user.onboarded",
        "2026-11-28T10:00:00Z",
        "ghost@example.com",
        Some(&["Marketing"]),
    ))
    .await;

    rx.wait_for("event.dead", WAIT, |rs| !rs.is_empty()).await;
    let all = rx.requests();
    assert!(
        all.iter().all(|r| r["body"]["type"] == "event.dead"),
        "only the subscribed type: {all:#?}"
    );
    let r = &all[0];
    assert_verified(r);
    let d = &r["body"]["data"];
    assert_eq!(d["email"], "ghost@example.com");
    assert_eq!(d["event"]["event_id"], "evt-ghost");
    assert!(
        d["reason"]
            .as_str()
            .is_some_and(|s| s.contains("user not found in Domo")),
        "{d}"
    );
    assert!(d["attempts"].as_i64().is_some_and(|n| n >= 1), "{d}");
    let id = d["event"]["id"].as_i64().expect("stored id");
    assert_eq!(d["replay_path"], format!("/api/v1/events/{id}/replay"));
    let (status, event) = call(&app, Method::GET, &format!("/api/v1/events/{id}"), None).await;
    assert_eq!(status, 200);
    assert_eq!(
        event["status"], "dead",
        "the notice reports a stored fact: {event}"
    );
}

#[tokio::test]
async fn a_held_reconcile_links_to_its_approval_and_its_approval_completes_it() {
    let rx = Receiver::start("reconcile", &[]);
    let app = spawn_app_with(Options {
        rules: format!("{DEFAULT_RULES}\n[reconcile]\nmax_removals = 2\n"),
        extra_toml: subscriber_toml(
            "it",
            &rx.url(),
            &["reconcile.held", "reconcile.completed"],
            5,
        ),
        server_extra: "public_url = \"https://dgs.example.com\"\n".into(),
        ..Options::default()
    })
    .await;
    for u in [ADA, "grace@example.com", "alan@example.com"] {
        crate::reconcile::onboard(&app, u, &["Finance"]).await;
    }
    app.wait_idle().await;
    let marketing = app.hand_group("Marketing", true).await;
    for u in [ADA, "grace@example.com", "alan@example.com"] {
        app.hand_add(marketing, app.sim_user_id(u)).await;
    }

    // A dry run completes; an applied run over the cap is held.
    let dry = crate::reconcile::start(&app, false).await;
    let held = crate::reconcile::start(&app, true).await;
    assert_eq!(held["status"], "held", "{held}");
    let id = held["id"].as_i64().expect("run id");
    rx.wait_for("reconcile.held", WAIT, |rs| {
        rs.iter().any(|r| r["body"]["type"] == "reconcile.held")
    })
    .await;
    let h = &rx.of_type("reconcile.held")[0];
    assert_verified(h);
    let d = &h["body"]["data"];
    assert_eq!(d["run"]["id"], id);
    assert_eq!(d["totals"]["remove"], 3);
    assert!(
        d["reason"]
            .as_str()
            .is_some_and(|r| r.contains("max_removals")),
        "{d}"
    );
    let path = format!("/api/v1/reconcile/runs/{id}/approve");
    assert_eq!(
        d["approve"],
        json!({"method": "POST", "path": path, "url": format!("https://dgs.example.com{path}")})
    );
    let completed = rx.of_type("reconcile.completed");
    assert_eq!(completed.len(), 1, "the dry run: {completed:#?}");
    assert_eq!(completed[0]["body"]["data"]["status"], "planned");
    assert_eq!(completed[0]["body"]["data"]["run"]["id"], dry["id"]);

    // Approving it tells the subscriber the repairs are queued, and by whom.
    let (status, _) = call(&app, Method::POST, &path, None).await;
    assert_eq!(status, 200);
    rx.wait_for("the approval", WAIT, |rs| {
        rs.iter()
            .filter(|r| r["body"]["type"] == "reconcile.completed")
            .count()
            == 2
    })
    .await;
    let approved = &rx.of_type("reconcile.completed")[1];
    assert_verified(approved);
    let d = &approved["body"]["data"];
    assert_eq!(d["run"]["id"], id);
    assert_eq!(d["status"], "queued");
    assert_eq!(d["approved_by"], "api:all");
    assert_eq!(d["apply"], true);
}

#[tokio::test]
async fn a_failing_pull_source_is_told_once_per_episode() {
    let rx = Receiver::start("source", &[]);
    let app = spawn_app_with(Options {
        extra_toml: subscriber_toml("it", &rx.url(), &["source.failing"], 5)
            + "source_error_threshold = 2\nsource_lag_secs = 60\nsource_repeat_secs = 0\n",
        ..Options::default()
    })
    .await;
    let t0 = 1_800_000_000_000_i64;
    let w = &app.source_watch;
    let fail = PullReport::Failed {
        error: "Okta answered 503",
    };
    assert!(
        w.report("okta", fail, t0).await.expect("report").is_none(),
        "1 < threshold"
    );
    let first = w.report("okta", fail, t0 + 60_000).await.expect("report");
    assert!(first.is_some(), "the threshold");
    assert!(
        w.report("okta", fail, t0 + 120_000)
            .await
            .expect("report")
            .is_none(),
        "once"
    );
    w.report("okta", PullReport::Succeeded { lag: None }, t0 + 180_000)
        .await
        .expect("healthy again");
    let lagging = PullReport::Succeeded {
        lag: Some(Duration::from_secs(61)),
    };
    assert!(
        w.report("okta", lagging, t0 + 240_000)
            .await
            .expect("report")
            .is_some()
    );

    rx.wait_for("two source.failing", WAIT, |rs| rs.len() == 2)
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let got = rx.of_type("source.failing");
    assert_eq!(got.len(), 2, "{got:#?}");
    for r in &got {
        assert_verified(r);
    }
    let (e, l) = (&got[0]["body"]["data"], &got[1]["body"]["data"]);
    assert_eq!(e["source"], "okta");
    assert_eq!(e["reason"], "errors");
    assert_eq!(e["error"], "Okta answered 503");
    assert_eq!(e["consecutive_errors"], 2);
    assert_eq!(e["failing_since"], "2027-01-15T08:00:00.000Z");
    assert_eq!(l["reason"], "lag");
    assert_eq!(l["lag_seconds"], 61.0);
    assert_eq!(l["last_success"], "2027-01-15T08:04:00.000Z");
}
