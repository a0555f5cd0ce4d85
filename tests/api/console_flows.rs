//! The console's pages doing what operators do with them, over HTTP: replay dead letters one
//! by one and by filter after a preview, approve a held reconcile plan, look at a user; and
//! sessions that outlive a restart and work on another replica, or end when a reload removes
//! their token.

use std::collections::BTreeMap;

use domo_group_sync::app::Application;
use domo_group_sync::config::{Config, ConfigInput};
use reqwest::StatusCode;
use serde_json::json;

use crate::console_helpers::*;
use crate::helpers::*;
use crate::reconcile::{ADA, app_with, onboard};

fn ghost(n: usize) -> serde_json::Value {
    json!({"id": format!("evt_ghost_{n}"), "type": "user.onboarded", "occurred_at": "2026-11-28T10:00:00Z",
        "user": {"email": format!("ghost{n}@example.com")}, "groups": ["Marketing"]})
}

#[tokio::test]
async fn dead_letters_are_grouped_previewed_and_replayed_by_filter_once() {
    let app = app_that_dead_letters().await;
    let mut ids = Vec::new();
    for n in 0..3 {
        ids.push(submit(&app, ghost(n)).await);
    }
    for id in &ids {
        wait_status(&app, *id, "dead").await;
    }
    let mut b = Browser::signed_in(&app, TOKEN_ALL).await;
    let page = b.page("/console/dead-letters", 200).await;
    let reason = app
        .store
        .get_event(ids[0])
        .await
        .expect("get")
        .expect("row")
        .last_error
        .expect("a reason");
    assert!(page.contains(">3</td>"), "one group of three: {page}");
    // The preview counts what the filter matches, for one user here.
    let preview = b
        .page(
            "/console/dead-letters/replay?email=ghost1%40example.com",
            200,
        )
        .await;
    assert!(
        preview.contains("<strong>1</strong> dead letter(s) match"),
        "{preview}"
    );
    // Replay every dead letter of the reason: all three, once.
    let csrf = b.csrf().await;
    let resp = b
        .post(
            "/console/dead-letters/replay",
            &[("csrf", &csrf), ("reason", &reason)],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let to = resp.headers()["location"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(to.contains("replayed=3") && to.contains("failed=0"), "{to}");
    let notice = b.page(&to, 200).await;
    assert!(notice.contains("3 dead letter(s) replayed."));
    for id in &ids {
        assert_eq!(app.store.replays_of(*id).await.expect("replays").len(), 1);
    }
    // While those replays are pending, the same filter finds nothing left to replay.
    let preview = b
        .page(
            &format!("/console/dead-letters/replay?reason={}", urlencode(&reason)),
            200,
        )
        .await;
    assert!(
        preview.contains("Nothing to replay") || preview.contains("<strong>3</strong>"),
        "{preview}"
    );
    app.wait_idle().await;
}

#[tokio::test]
async fn a_dead_letter_replayed_from_the_console_is_done_once_its_cause_is_fixed() {
    let app = app_that_dead_letters().await;
    let id = dead_letter(&app, ghost(7)).await;
    // The workers look users up in Domo's list at most every 10 s: wait for the next look.
    tokio::time::sleep(std::time::Duration::from_secs(10)).await;
    // The cause: the user did not exist in Domo. An admin creates them.
    let resp = app
        .client
        .post(format!("http://{}/_sim/users", app.sim_addr))
        .json(&json!([{"email": "ghost7@example.com", "name": "Ghost", "role": "Participant"}]))
        .send()
        .await
        .expect("sim");
    assert_eq!(resp.status(), 201);
    let mut b = Browser::signed_in(&app, TOKEN_ALL).await;
    let csrf = b.csrf().await;
    let resp = b
        .post(&format!("/console/events/{id}/replay"), &[("csrf", &csrf)])
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let to = resp.headers()["location"]
        .to_str()
        .expect("ascii")
        .to_owned();
    let replay: i64 = to
        .trim_start_matches("/console/events/")
        .trim_end_matches("?replayed=1")
        .parse()
        .expect("the replay's number");
    wait_status(&app, replay, "done").await;
    let page = b.page(&to, 200).await;
    assert!(page.contains("badge done"), "{page}");
    assert!(
        page.contains(&format!("href=\"/console/events/{id}\"")),
        "links the original"
    );
    assert!(page.contains("add_member"), "the Domo calls are listed");
    assert_eq!(
        app.groups_of("ghost7@example.com"),
        ["Default", "Marketing"]
    );
}

#[tokio::test]
async fn a_held_plan_is_approved_from_the_console() {
    let app = app_with("max_removals = 0").await;
    onboard(&app, ADA, &["Finance"]).await;
    app.wait_idle().await;
    let marketing = app.hand_group("Marketing", true).await;
    app.hand_add(marketing, app.sim_user_id(ADA)).await;
    let mut b = Browser::signed_in(&app, TOKEN_ALL).await;
    let csrf = b.csrf().await;
    let resp = b
        .post("/console/reconcile", &[("csrf", &csrf), ("apply", "1")])
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let run = resp.headers()["location"]
        .to_str()
        .expect("ascii")
        .to_owned();
    let page = b.page(&run, 200).await;
    assert!(
        page.contains("badge held") && page.contains("Approve this plan"),
        "{page}"
    );
    assert!(
        page.contains("tag remove\">ada@example.com"),
        "the plan names the removal"
    );
    let resp = b.post(&format!("{run}/approve"), &[("csrf", &csrf)]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    app.wait_idle().await;
    let page = b.page(&run, 200).await;
    assert!(
        page.contains("by console:all") && !page.contains("Approve this plan"),
        "{page}"
    );
    assert_eq!(app.groups_of(ADA), ["Default", "Finance"]);
    // Approving twice is a conflict, shown as a page.
    let resp = b.post(&format!("{run}/approve"), &[("csrf", &csrf)]).await;
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    let list = b.page("/console/reconcile", 200).await;
    assert!(list.contains("console:all"));
}

#[tokio::test]
async fn the_user_page_explains_each_group_and_reads_domo_live_on_request() {
    let app = spawn_app().await;
    onboard(&app, ADA, &["Marketing", "eng-core"]).await;
    app.wait_idle().await;
    let mut b = Browser::signed_in(&app, TOKEN_READ_ONLY).await;
    let page = b.page("/console/users?email=ADA%40example.com", 200).await;
    assert!(
        page.contains("rules[0]: IdP group `Marketing` → Marketing"),
        "{page}"
    );
    assert!(page.contains("rules[2]: IdP group `eng-*` → Engineering"));
    assert!(page.contains("not read yet (no reconcile has run)"));
    assert!(page.contains("user.onboarded"), "the user's events");
    let calls = app.sim_state().calls_to("GET /v1/users/{id}").total;
    let live = b
        .page("/console/users?email=ada%40example.com&live=1", 200)
        .await;
    assert!(
        live.contains("read from Domo just now") && live.contains(">member<"),
        "{live}"
    );
    assert_eq!(
        app.sim_state().calls_to("GET /v1/users/{id}").total,
        calls + 1,
        "one live read"
    );
    let unknown = b
        .page("/console/users?email=nobody%40example.com", 200)
        .await;
    assert!(unknown.contains("has not applied an event for"));
    assert_eq!(
        b.get("/console/users?email=not-an-email").await.status(),
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn events_filter_page_by_cursor_and_refuse_bad_input_clearly() {
    let app = spawn_app().await;
    for n in 0..60 {
        let ev = json!({"id": format!("evt_p{n}"), "type": "user.updated", "occurred_at": "2026-11-28T10:00:00Z",
            "user": {"email": "grace@example.com"}, "groups": ["Finance"]});
        submit(&app, ev).await;
    }
    submit(
        &app,
        json!({"id": "evt_other", "type": "user.offboarded", "occurred_at": "2026-11-28T10:00:00Z",
        "user": {"email": "alan@example.com"}}),
    )
    .await;
    app.wait_idle().await;
    let mut b = Browser::signed_in(&app, TOKEN_ALL).await;
    let first = b
        .page(
            "/console/events?email=grace%40example.com&type=user.updated&since=24h",
            200,
        )
        .await;
    assert_eq!(
        first.matches("<td><a href=\"/console/events/").count(),
        50,
        "a page of 50"
    );
    assert!(!first.contains("alan@example.com\">"), "filtered");
    let next = first[first
        .find("rel=\"next\"")
        .map(|i| first[..i].rfind("href=\"").expect("href") + 6)
        .expect("an Older link")..]
        .split('"')
        .next()
        .expect("url")
        .replace("&#38;", "&");
    assert!(
        next.contains("email=grace%40example.com") && next.contains("cursor="),
        "the filters stay: {next}"
    );
    let second = b.page(&next, 200).await;
    assert_eq!(second.matches("<td><a href=\"/console/events/").count(), 10);
    assert!(second.contains("End of the list"));
    let one = b.page("/console/events?event_id=evt_other", 200).await;
    assert_eq!(one.matches("<td><a href=\"/console/events/").count(), 1);
    for (bad, says) in [
        ("/console/events?status=nope", "is not a status"),
        ("/console/events?since=2y", "is not a time range"),
        ("/console/events?from=yesterday", "must be a time"),
        (
            "/console/events?cursor=garbage",
            "not one the console gave out",
        ),
        ("/console/events/abc", "whole number"),
    ] {
        let resp = b.get(bad).await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{bad}");
        assert!(resp.text().await.expect("body").contains(says), "{bad}");
    }
    assert_eq!(
        b.get("/console/events/999999").await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        b.get("/console/nowhere").await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_session_outlives_a_restart_and_works_on_another_replica() {
    let mut a = spawn_app().await;
    let mut b = Browser::signed_in(&a, TOKEN_ALL).await;
    // Replica B on the same database (a restart is the same: a new process, one store).
    let dir = tempfile::tempdir().expect("tempdir");
    let o = Options {
        store_url: Some(a.db.url.clone()),
        ..Options::default()
    };
    let toml = config_toml(dir.path(), a.sim_addr, &o);
    let config = Config::parse(ConfigInput {
        toml: Some(&toml),
        env: &BTreeMap::new(),
    })
    .expect("config");
    let replica = Application::build(config).await.expect("replica builds");
    let addr = replica.local_addr().expect("addr");
    let (stop, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(replica.run_until_stopped(async move {
        let _ = rx.await;
    }));
    a.stop_service().await;
    b.base = format!("http://{addr}");
    let page = b.page("/console/events", 200).await;
    assert!(page.contains("Signed in as <strong>all</strong>"));
    // Its CSRF token is the same on every replica (derived from the session id).
    let csrf = b.csrf().await;
    let resp = b
        .post("/console/reconcile", &[("csrf", &csrf), ("apply", "0")])
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let _ = stop.send(());
}

#[tokio::test]
async fn a_token_removed_by_a_reload_loses_its_sessions_and_scopes_follow_the_reload() {
    let app = spawn_app_with(Options {
        config_file: true,
        ..Options::default()
    })
    .await;
    let mut gone = Browser::signed_in(&app, TOKEN_NO_ADMIN).await;
    let mut stays = Browser::signed_in(&app, TOKEN_READ_ONLY).await;
    assert!(
        !stays
            .page("/console/reconcile", 200)
            .await
            .contains("Start a dry run")
    );
    let path = app.dir().join("config.toml");
    let text = std::fs::read_to_string(&path).expect("config");
    // Remove the no-admin token; give the read-only token the admin scope.
    let start = text.find("name = \"no-admin\"").expect("no-admin token");
    let block_start = text[..start].rfind("[[api.tokens]]").expect("its table");
    let block_end = start
        + text[start..]
            .find("[[api.tokens]]")
            .expect("the next table");
    let mut edited = format!("{}{}", &text[..block_start], &text[block_end..]);
    let ro = edited
        .find("name = \"read-only\"")
        .expect("read-only token");
    let scopes = ro
        + edited[ro..]
            .find("scopes = [\"read\"]")
            .expect("its scopes");
    edited.replace_range(
        scopes..scopes + "scopes = [\"read\"]".len(),
        "scopes = [\"read\", \"admin\"]",
    );
    std::fs::write(&path, edited).expect("write");
    app.reload().await;
    let resp = gone.get("/console").await;
    assert_eq!(
        resp.status(),
        StatusCode::SEE_OTHER,
        "the removed token's session ended"
    );
    assert!(
        stays
            .page("/console/reconcile", 200)
            .await
            .contains("Start a dry run"),
        "the new scope shows"
    );
}

#[test]
fn the_console_is_not_in_the_openapi_document() {
    let doc = domo_group_sync::api::openapi()
        .to_pretty_json()
        .expect("json");
    assert!(!doc.contains("/console"));
}
