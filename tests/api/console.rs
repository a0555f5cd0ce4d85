//! The console's security, end to end over HTTP: sessions and their cookies, CSRF and origin
//! checks, the headers, escaping, scopes, expiry, restarts and reloads.

use std::time::{Duration, Instant};

use domo_group_sync::console::CSP;
use reqwest::StatusCode;
use serde_json::json;

use crate::console_helpers::*;
use crate::helpers::*;
use crate::rotation::metric;

const PAGES: [&str; 7] = [
    "/console",
    "/console/events",
    "/console/dead-letters",
    "/console/users?email=ada@example.com",
    "/console/reconcile",
    "/console/sources",
    "/console/events?status=dead&since=24h",
];

#[tokio::test]
async fn every_page_needs_a_session_and_carries_the_security_headers() {
    let app = spawn_app().await;
    let mut anon = Browser::new(&app);
    for page in PAGES {
        let resp = anon.get(page).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER, "{page}");
        let to = resp.headers()["location"]
            .to_str()
            .expect("ascii")
            .to_owned();
        assert!(
            to.starts_with("/console/sign-in?next=%2Fconsole"),
            "{page} → {to}"
        );
    }
    let mut b = Browser::signed_in(&app, TOKEN_ALL).await;
    for page in PAGES.iter().copied().chain(["/console/sign-in"]) {
        let resp = b.get(page).await;
        assert!(
            resp.status() == 200 || (page == "/console/sign-in"),
            "{page}: {}",
            resp.status()
        );
        let h = resp.headers();
        assert_eq!(h["content-security-policy"], CSP, "{page}");
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["x-frame-options"], "DENY");
        assert_eq!(h["referrer-policy"], "same-origin");
        assert_eq!(h["cache-control"], "no-store");
    }
    assert!(CSP.contains("frame-ancestors 'none'") && !CSP.contains("unsafe-inline"));
    // No inline script or style in any page: only the files the CSP allows.
    for page in PAGES {
        let html = b.page(page, 200).await;
        assert!(
            !html.contains("<script>") && !html.contains(" style=") && !html.contains("<style"),
            "{page}"
        );
        assert!(html.contains("<script src=\"/console/static/"), "{page}");
    }
    // The assets: cached for a year under their content hash.
    let html = b.page("/console", 200).await;
    let css = &html[html.find("/console/static/").expect("asset")..];
    let css = &css[..css.find('"').expect("end")];
    let resp = b.get(css).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(resp.headers()["content-type"], "text/css; charset=utf-8");
}

#[tokio::test]
async fn the_session_cookie_is_http_only_strict_and_secure_behind_a_trusted_https_proxy() {
    // Plain HTTP, no proxy: HttpOnly, SameSite=Strict, not Secure; the token is not in it.
    let app = spawn_app().await;
    let mut b = Browser::new(&app);
    let resp = b.sign_in(TOKEN_ALL).await;
    let cookies = set_cookies(&resp);
    let session = cookies
        .iter()
        .find(|c| c.starts_with("dgs_console="))
        .expect("session cookie");
    assert!(
        session.ends_with("; Path=/console; HttpOnly; SameSite=Strict"),
        "{session}"
    );
    assert!(!session.contains(TOKEN_ALL));
    assert_eq!(
        session.split(';').next().map(str::len),
        Some("dgs_console=".len() + 64)
    );
    // A peer that is not a trusted proxy cannot ask for a Secure cookie.
    let mut spoof = Browser::new(&app);
    spoof
        .headers
        .push(("x-forwarded-proto".into(), "https".into()));
    let resp = spoof.sign_in(TOKEN_ALL).await;
    assert!(
        set_cookies(&resp)
            .iter()
            .any(|c| c.starts_with("dgs_console=") && !c.contains("Secure"))
    );

    // Behind a trusted proxy that says https: __Host- prefixed, Secure, Path=/.
    let app = spawn_app_with(Options {
        server_extra: "trusted_proxies = [\"127.0.0.1/32\"]".into(),
        ..Options::default()
    })
    .await;
    let mut b = Browser::new(&app);
    b.headers.push(("x-forwarded-proto".into(), "https".into()));
    let resp = b.sign_in(TOKEN_ALL).await;
    let cookies = set_cookies(&resp);
    let session = cookies
        .iter()
        .find(|c| c.starts_with("__Host-dgs_console="))
        .expect("secure session cookie");
    assert!(
        session.ends_with("; Path=/; HttpOnly; SameSite=Strict; Secure"),
        "{session}"
    );
    assert_eq!(b.get("/console").await.status(), 200);
    // Over HTTPS only the __Host- cookie counts: the plain name (which anyone on the network
    // path could plant over HTTP) is not read.
    let id = b.cookies.remove("__Host-dgs_console").expect("kept");
    b.cookies.insert("dgs_console".into(), id);
    assert_eq!(b.get("/console").await.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn failed_sign_ins_are_slowed_then_limited_per_address() {
    let app = spawn_app().await;
    let mut b = Browser::new(&app);
    let started = Instant::now();
    let resp = b.sign_in("not-a-token").await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "a failure is answered late"
    );
    let page = resp.text().await.expect("body");
    assert!(page.contains("That token is not valid"));
    assert!(!page.contains("not-a-token"), "the token is not echoed");
    // A token without `read` cannot open the console.
    assert_eq!(
        b.sign_in(TOKEN_NO_READ).await.status(),
        StatusCode::UNAUTHORIZED
    );
    for _ in 2..10 {
        assert_eq!(
            b.sign_in("still-wrong").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    // The eleventh attempt is refused before the token is looked at, even a good one.
    let resp = b.sign_in(TOKEN_ALL).await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = resp.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("secs");
    assert!((1..=600).contains(&wait));
    assert!(!b.cookies.contains_key("dgs_console"));
    for (result, want) in [
        ("failure", Some(10.0)),
        ("limited", Some(1.0)),
        ("success", None),
    ] {
        let got = metric(&app, "dgs_console_sign_ins_total", &[("result", result)]).await;
        assert_eq!(got, want, "{result}");
    }
}

#[tokio::test]
async fn a_post_needs_the_session_csrf_token_and_this_origin() {
    let app = app_that_dead_letters().await;
    let id = dead_letter(
        &app,
        json!({"id": "evt_dead", "type": "user.onboarded", "occurred_at": "2026-11-28T10:00:00Z",
        "user": {"email": "ghost@example.com"}, "groups": ["Marketing"]}),
    )
    .await;
    let mut b = Browser::signed_in(&app, TOKEN_ALL).await;
    let csrf = b.csrf().await;
    let path = format!("/console/events/{id}/replay");
    let origin = b.base.clone();
    type Pairs<'a> = Vec<(&'a str, &'a str)>;
    let refused: [(&str, Pairs, Pairs); 5] = [
        ("no token", vec![], vec![("origin", &origin)]),
        (
            "a wrong token",
            vec![("csrf", "0".repeat(64).leak())],
            vec![("origin", &origin)],
        ),
        (
            "a foreign origin",
            vec![("csrf", &csrf)],
            vec![("origin", "http://evil.example")],
        ),
        (
            "cross-site fetch metadata",
            vec![("csrf", &csrf)],
            vec![("sec-fetch-site", "cross-site"), ("origin", &origin)],
        ),
        (
            "an opaque origin",
            vec![("csrf", &csrf)],
            vec![("origin", "null")],
        ),
    ];
    for (why, form, headers) in refused {
        let resp = b.post_with(&path, &form, &headers).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{why}");
    }
    assert!(
        app.store.replays_of(id).await.expect("replays").is_empty(),
        "nothing was replayed"
    );
    assert_eq!(
        metric(
            &app,
            "dgs_console_actions_total",
            &[("action", "post"), ("result", "refused")]
        )
        .await,
        Some(3.0)
    );
    // Another session's token does not fit this one.
    let mut other = Browser::signed_in(&app, TOKEN_ALL).await;
    let other_csrf = other.csrf().await;
    assert_ne!(other_csrf, csrf);
    assert_eq!(
        b.post(&path, &[("csrf", &other_csrf)]).await.status(),
        StatusCode::FORBIDDEN
    );
    // The right token from this origin replays.
    let resp = b.post(&path, &[("csrf", &csrf)]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.store.replays_of(id).await.expect("replays").len(), 1);
    app.wait_idle().await;
}

#[tokio::test]
async fn markup_in_an_event_shows_as_text() {
    let app = spawn_app().await;
    let evil = "<script>alert('x')</script><img src=x onerror=alert(1)>";
    let id = submit(&app, json!({"id": format!("evt_{evil}"), "type": "user.onboarded", "occurred_at": "2026-11-28T10:00:00Z",
        "user": {"email": "ada@example.com", "name": evil, "attributes": {"department": evil}}, "groups": [evil, "Marketing"]})).await;
    app.wait_idle().await;
    let mut b = Browser::signed_in(&app, TOKEN_ALL).await;
    for page in [
        format!("/console/events/{id}"),
        "/console/events".to_owned(),
        "/console/users?email=ada@example.com".to_owned(),
        format!(
            "/console/events?event_id={}",
            urlencode(&format!("evt_{evil}"))
        ),
    ] {
        let html = b.page(&page, 200).await;
        assert!(!html.contains("<script>alert"), "{page}");
        assert!(!html.contains("<img src=x"), "{page}");
        // askama writes `<` and `>` as numeric references.
        assert!(
            html.contains("&#60;script&#62;alert("),
            "{page}: the escaped text is shown"
        );
    }
    // The payload download is JSON, an attachment, never rendered.
    let resp = b.get(&format!("/console/events/{id}/payload")).await;
    assert_eq!(resp.headers()["content-type"], "application/json");
    assert!(
        resp.headers()["content-disposition"]
            .to_str()
            .expect("ascii")
            .starts_with("attachment")
    );
}

#[tokio::test]
async fn the_tokens_scopes_decide_the_buttons_and_what_a_post_may_do() {
    let app = app_that_dead_letters().await;
    let id = dead_letter(
        &app,
        json!({"id": "evt_d", "type": "user.onboarded", "occurred_at": "2026-11-28T10:00:00Z",
        "user": {"email": "ghost@example.com"}, "groups": ["Marketing"]}),
    )
    .await;
    // Read only: no buttons, and the server refuses the forms anyway.
    let mut ro = Browser::signed_in(&app, TOKEN_READ_ONLY).await;
    let event = ro.page(&format!("/console/events/{id}"), 200).await;
    assert!(event.contains("ghost@example.com") && !event.contains("Replay this event"));
    let dead = ro.page("/console/dead-letters", 200).await;
    assert!(!dead.contains(">Replay<") && !dead.contains("Replay all"));
    assert!(
        !ro.page("/console/reconcile", 200)
            .await
            .contains("Start a dry run")
    );
    let csrf = ro.csrf().await;
    for (path, form) in [
        (
            format!("/console/events/{id}/replay"),
            vec![("csrf", csrf.as_str())],
        ),
        (
            "/console/dead-letters/replay".to_owned(),
            vec![("csrf", csrf.as_str())],
        ),
        (
            "/console/reconcile".to_owned(),
            vec![("csrf", csrf.as_str()), ("apply", "0")],
        ),
        (
            "/console/reconcile/1/approve".to_owned(),
            vec![("csrf", csrf.as_str())],
        ),
    ] {
        let resp = ro.post(&path, &form).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{path}");
    }
    assert_eq!(
        ro.get("/console/dead-letters/replay").await.status(),
        StatusCode::FORBIDDEN
    );
    assert!(app.store.replays_of(id).await.expect("replays").is_empty());
    assert!(app.store.list_runs(10).await.expect("runs").is_empty());
    // Read and write: replay, but no reconcile.
    let mut rw = Browser::signed_in(&app, TOKEN_NO_ADMIN).await;
    assert!(
        rw.page(&format!("/console/events/{id}"), 200)
            .await
            .contains("Replay this event")
    );
    assert!(
        !rw.page("/console/reconcile", 200)
            .await
            .contains("Start a dry run")
    );
    let csrf = rw.csrf().await;
    let resp = rw
        .post("/console/reconcile", &[("csrf", &csrf), ("apply", "0")])
        .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    // Admin: the reconcile buttons.
    let mut admin = Browser::signed_in(&app, TOKEN_NO_WRITE).await;
    assert!(
        admin
            .page("/console/reconcile", 200)
            .await
            .contains("Start a dry run")
    );
    assert!(
        !admin
            .page(&format!("/console/events/{id}"), 200)
            .await
            .contains("Replay this event")
    );
}

#[tokio::test]
async fn sessions_end_when_idle_too_long_or_on_sign_out() {
    let app = spawn_app_with(Options {
        extra_toml: "[console]\nsession_idle_secs = 1\nsession_max_secs = 1\n".into(),
        ..Options::default()
    })
    .await;
    let mut b = Browser::signed_in(&app, TOKEN_ALL).await;
    assert_eq!(b.get("/console").await.status(), 200);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let resp = b.get("/console/events").await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER, "expired");
    assert_eq!(
        resp.headers()["location"],
        "/console/sign-in?next=%2Fconsole%2Fevents"
    );

    let app = spawn_app().await;
    let mut b = Browser::signed_in(&app, TOKEN_ALL).await;
    let kept = b.cookies.clone();
    let csrf = b.csrf().await;
    let resp = b.post("/console/sign-out", &[("csrf", &csrf)]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(resp.headers()["location"], "/console/sign-in?signed_out=1");
    assert!(
        !b.cookies.contains_key("dgs_console"),
        "the cookie is cleared"
    );
    // The old cookie, replayed, no longer opens anything: the session row is gone.
    b.cookies = kept;
    assert_eq!(b.get("/console").await.status(), StatusCode::SEE_OTHER);
}
