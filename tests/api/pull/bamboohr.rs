//! The BambooHR pull against the BambooHR simulator over TCP: a missed termination comes in
//! with the next directory pass, a webhook and a pull of the same change are applied once, a
//! listing that fails part way removes nobody, and a termination date reached later (no
//! change BambooHR lists) is noticed by the next poll.

use std::time::Duration;

use chrono::Utc;
use serde_json::{Value, json};

use super::bamboohr_sim::{BambooSim, push_bamboo};
use super::control::source_view;
use crate::helpers::*;

const SALES_LONDON: [&str; 2] = ["Sales", "Sales London"];

async fn app_for(sim: &BambooSim, interval: u64, directory: u64) -> TestApp {
    spawn_app_with(Options {
        extra_toml: format!(
            "{}\n[reconcile]\nmax_removal_share = 1.0\n",
            sim.source_toml(interval, directory)
        ),
        ..Options::default()
    })
    .await
}

/// Hires `email` in Sales, London, and delivers the webhook; waits until applied.
async fn hired(sim: &BambooSim, app: &TestApp, email: &str) -> String {
    let (id, at) = sim.hire(email, "Sales", "London", json!({})).await;
    push_bamboo(app, sim, &id, "Created", &at).await;
    app.wait_until(&format!("{email} in Sales"), || async {
        app.managed_groups_of(email) == SALES_LONDON
    })
    .await;
    id
}

fn today() -> String {
    Utc::now().date_naive().to_string()
}

#[tokio::test]
async fn an_offboarding_that_was_never_pushed_is_applied_by_the_next_directory_pass() {
    let sim = BambooSim::start().await;
    // No event pull: only the directory pass (every 2 s) can see what the webhook missed.
    let app = app_for(&sim, 0, 2).await;
    let ada = hired(&sim, &app, "ada@example.com").await;
    let grace = hired(&sim, &app, "grace@example.com").await;

    // BambooHR terminates Ada; the webhook is lost. Grace stays.
    sim.change(
        &ada,
        json!({"status": "Inactive", "terminationDate": today()}),
    )
    .await;
    app.wait_until_for(
        "the directory pass to offboard ada",
        Duration::from_secs(30),
        || async { app.managed_groups_of("ada@example.com").is_empty() },
    )
    .await;
    let off = app.events_of("bamboohr", "dir:").await;
    assert!(
        off.iter()
            .any(|(id, _)| id.ends_with(":off:ada@example.com")),
        "{off:?}"
    );
    assert_eq!(app.managed_groups_of("grace@example.com"), SALES_LONDON);
    let view = source_view(&app, "bamboohr").await;
    assert_eq!(view["pull"]["provider"], "bamboohr", "{view}");
    assert!(view["pull"]["last_directory_at"].is_string(), "{view}");
    assert!(!view.to_string().contains(super::bamboohr_sim::BAMBOO_KEY));
    assert!(!grace.is_empty());
    // Every request was HTTP Basic with the key, as BambooHR wants.
    let requests = sim.requests().await;
    assert!(!requests.is_empty());
    assert!(
        requests.iter().all(|r| r["auth_scheme"] == "Basic"),
        "{requests:?}"
    );
}

#[tokio::test]
async fn a_webhook_and_a_pull_of_the_same_change_are_applied_once() {
    let sim = BambooSim::start().await;
    let app = app_for(&sim, 0, 0).await;
    // Grace's hiring: pushed first, then pulled.
    let (grace, at) = sim
        .hire("grace@example.com", "Sales", "London", json!({}))
        .await;
    let pushed = push_bamboo(&app, &sim, &grace, "Created", &at).await;
    assert_eq!(pushed["events"][0]["status"], "queued", "{pushed}");
    app.wait_until("grace in Sales", || async {
        app.managed_groups_of("grace@example.com") == SALES_LONDON
    })
    .await;
    // Alan's: pulled first, then pushed (the webhook came late).
    let (alan, alan_at) = sim
        .hire("alan@example.com", "Sales", "London", json!({}))
        .await;
    let report = app.pull_now("bamboohr", false).await;
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["events"]["duplicate"], 1, "grace's copy: {report}");
    assert_eq!(report["events"]["queued"], 1, "alan's: {report}");
    app.wait_until("alan in Sales", || async {
        app.managed_groups_of("alan@example.com") == SALES_LONDON
    })
    .await;
    let late = push_bamboo(&app, &sim, &alan, "Created", &alan_at).await;
    assert_eq!(late["events"][0]["status"], "duplicate", "{late}");
    app.wait_idle().await;

    // One row per change, applied once: one Domo add per user and group.
    for (id, at) in [(&grace, &at), (&alan, &alan_at)] {
        let stored = app.events_of("bamboohr", &format!("{id}:")).await;
        assert_eq!(stored, [(format!("{id}:{at}"), "done".to_owned())]);
    }
    assert_eq!(app.calls("PUT /v1/groups/{id}/users/{id}"), 4);
    let again = app.pull_now("bamboohr", false).await;
    assert_eq!(again["events"]["queued"], 0, "{again}");
    assert_eq!(
        again["events"]["read"], 0,
        "the overlap costs nothing: {again}"
    );

    // A webhook stamped otherwise (Unix seconds) is another id: both copies are stored, and the
    // second restates the same state, which costs Domo nothing.
    let (ada, ada_at) = sim
        .hire("ada@example.com", "Sales", "London", json!({}))
        .await;
    let unix = chrono::DateTime::parse_from_rfc3339(&ada_at)
        .expect("lastChanged")
        .timestamp()
        .to_string();
    push_bamboo(&app, &sim, &ada, "Created", &unix).await;
    app.wait_until("ada in Sales", || async {
        app.managed_groups_of("ada@example.com") == SALES_LONDON
    })
    .await;
    let report = app.pull_now("bamboohr", false).await;
    assert_eq!(report["events"]["queued"], 1, "{report}");
    app.wait_idle().await;
    assert_eq!(app.events_of("bamboohr", &format!("{ada}:")).await.len(), 2);
    assert_eq!(
        app.calls("PUT /v1/groups/{id}/users/{id}"),
        6,
        "two adds for ada, once"
    );
}

#[tokio::test]
async fn a_listing_that_fails_on_its_third_request_removes_nobody() {
    let sim = BambooSim::start().await;
    let app = app_for(&sim, 0, 0).await;
    let ada = hired(&sim, &app, "ada@example.com").await;
    let grace = hired(&sim, &app, "grace@example.com").await;
    hired(&sim, &app, "alan@example.com").await;
    for i in 0..5 {
        sim.hire(
            &format!("filler{i}@example.com"),
            "Engineering",
            "Paris",
            json!({}),
        )
        .await;
    }
    // Ada was terminated and Grace deleted at BambooHR a day ago, before the missed-event
    // pull's window (as before the pull was set up); no webhook reached the service.
    let yesterday =
        (Utc::now() - chrono::Duration::days(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    sim.change(&ada, json!({"status": "Inactive", "at": yesterday}))
        .await;
    sim.remove(&grace, json!({"at": yesterday})).await;
    // The event pull has read everything recent: the hires, duplicates of the webhooks but for
    // the five nobody pushed.
    let first = app.pull_now("bamboohr", false).await;
    assert_eq!(first["events"]["queued"], 5, "{first}");
    app.wait_idle().await;

    // The listing's third request (its second employee read) fails, through the retries.
    sim.faults(
        json!({"fail_route": "GET /api/gateway.php/{id}/v1/employees/{id}",
                      "fail_from_call": 2}),
    )
    .await;
    let report = app.pull_now("bamboohr", true).await;
    let d = &report["directory"]["plan"]["directory"][0];
    assert_eq!(d["complete"], false, "{report}");
    let problem = d["problem"].as_str().expect("a reason");
    assert!(
        problem.contains("employee") && problem.contains("503"),
        "{problem}"
    );
    assert_eq!(d["offboard"], json!([]), "{d}");
    assert!(d["withheld_removals"].as_u64().expect("n") >= 2, "{d}");
    app.wait_idle().await;
    for u in ["ada@example.com", "grace@example.com", "alan@example.com"] {
        assert_eq!(app.managed_groups_of(u), SALES_LONDON, "{u} kept");
    }
    assert!(app.events_of("bamboohr", "dir:").await.is_empty());

    // Once every employee reads, the terminated and the deleted are offboarded.
    sim.faults(json!({})).await;
    let report = app.pull_now("bamboohr", true).await;
    let d = &report["directory"]["plan"]["directory"][0];
    assert_eq!(d["complete"], true, "{report}");
    assert_eq!(
        d["offboard"],
        json!(["ada@example.com", "grace@example.com"])
    );
    app.wait_until_for("the drift applied", Duration::from_secs(20), || async {
        app.managed_groups_of("ada@example.com").is_empty()
            && app.managed_groups_of("grace@example.com").is_empty()
            && app.managed_groups_of("alan@example.com") == SALES_LONDON
    })
    .await;
}

#[tokio::test]
async fn a_termination_date_reached_later_is_noticed_by_the_next_poll() {
    let sim = BambooSim::start().await;
    let app = app_for(&sim, 0, 0).await;
    let now = Utc::now();
    let tomorrow = (now + chrono::Duration::days(1)).date_naive().to_string();
    // Two days ago, HR entered Ada with her last day tomorrow.
    let hired_at = now - chrono::Duration::days(2);
    let (ada, _) = sim
        .hire(
            "ada@example.com",
            "Sales",
            "London",
            json!({"terminationDate": tomorrow,
                   "at": hired_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)}),
        )
        .await;
    let since = json!({"since": (now - chrono::Duration::days(3)).to_rfc3339()}).to_string();
    let ms = now.timestamp_millis();
    app.store
        .set_pull_cursor("bamboohr", Some(&since), Some(ms), ms)
        .await
        .expect("cursor");
    let report = app.pull_now("bamboohr", false).await;
    assert_eq!(report["events"]["queued"], 1, "{report}");
    app.wait_until("ada in Sales until her last day", || async {
        app.managed_groups_of("ada@example.com") == SALES_LONDON
    })
    .await;
    let cursor = stored_cursor(&app).await;
    assert_eq!(cursor["due"][&ada], json!(tomorrow), "{cursor}");

    // A day passes (shifted back: her date is today now, the cursor says today). Reaching a
    // date is no change BambooHR lists: the change below is older than the cursor's `since`.
    let before_since = hired_at - chrono::Duration::minutes(10);
    sim.change(
        &ada,
        json!({"terminationDate": today(),
               "at": before_since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)}),
    )
    .await;
    let mut shifted = cursor.clone();
    shifted["due"][&ada] = json!(today());
    let ms = Utc::now().timestamp_millis();
    app.store
        .set_pull_cursor("bamboohr", Some(&shifted.to_string()), Some(ms), ms)
        .await
        .expect("cursor");
    let report = app.pull_now("bamboohr", false).await;
    assert_eq!(report["events"]["queued"], 1, "{report}");
    app.wait_until_for(
        "ada offboarded on her date",
        Duration::from_secs(20),
        || async { app.managed_groups_of("ada@example.com").is_empty() },
    )
    .await;
    let id = format!("{ada}:{}T00:00:00+00:00", today());
    assert_eq!(app.events_of("bamboohr", &id).await.len(), 1, "{id}");
    assert_eq!(
        stored_cursor(&app).await.get("due"),
        None,
        "nothing left ahead"
    );
}

async fn stored_cursor(app: &TestApp) -> Value {
    let state = app
        .store
        .pull_state("bamboohr")
        .await
        .expect("state")
        .expect("row");
    serde_json::from_str(&state.cursor.expect("cursor")).expect("json")
}
