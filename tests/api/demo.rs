//! The README's demo: no configuration file and no Domo credentials, so `serve` adds a signed
//! `demo` source and runs a Domo simulator in process; a signed example event becomes a Domo
//! group with a member, visible through `/_sim/state`.

use std::collections::BTreeMap;

use dgs_sims::domo::SimState;
use domo_group_sync::app::{Application, DemoDomo};
use domo_group_sync::config::{Config, ConfigInput, Scheme, Secret};
use tokio::sync::oneshot;

use crate::helpers::{adhoc_source, sign_with};

#[tokio::test]
async fn the_readme_demo_turns_a_signed_event_into_a_domo_group_with_a_member() {
    let dir = tempfile::tempdir().expect("tempdir");
    // As `cargo run -- serve` with no file, on free ports and a private database.
    let env = BTreeMap::from([
        ("DGS_SERVER__LISTEN".to_owned(), "127.0.0.1:0".to_owned()),
        ("DGS_DOMO__SIM_LISTEN".to_owned(), "127.0.0.1:0".to_owned()),
        (
            "DGS_STORE__URL".to_owned(),
            format!("sqlite://{}", dir.path().join("demo.db").display()),
        ),
    ]);
    let config = Config::parse(ConfigInput {
        toml: None,
        env: &env,
    })
    .expect("defaults are valid");
    // As the binary does: the simulator crate's demo Domo on `domo.sim_listen`.
    let demo = dgs_sims::domo::Demo::bind(config.domo.sim_listen)
        .await
        .expect("demo simulator binds");
    let (client_id, client_secret) = demo.credentials();
    let demo_domo = DemoDomo {
        addr: demo.addr,
        client_id: Secret::new(client_id),
        client_secret: Secret::new(client_secret),
        serve: Box::new(move |stop| Box::pin(demo.serve(stop.cancelled_owned()))),
    };
    let app = Application::build_with_demo(config, Some(demo_domo))
        .await
        .expect("app builds");
    let addr = app.local_addr().expect("addr");
    let sim = app.sim_addr().expect("the built-in simulator runs");
    let (name, secret) = app.demo.clone().expect("demo source");
    let token = app.demo_token.clone().expect("a demo admin token");
    let (stop, rx) = oneshot::channel::<()>();
    tokio::spawn(app.run_until_stopped(async move {
        let _ = rx.await;
    }));

    // The README's event, signed as `sign --scheme standard-webhooks` does.
    let body = r#"{"id":"evt_001","type":"user.onboarded","occurred_at":"2026-11-28T10:00:00Z",
 "user":{"email":"ada@example.com","name":"Ada Lovelace"},"groups":["Marketing","Engineering"]}"#;
    let source = adhoc_source(Scheme::StandardWebhooks, secret.expose());
    let client = reqwest::Client::new();
    let headers = sign_with(
        &source,
        &secret,
        body,
        chrono::Utc::now().timestamp(),
        "msg_demo",
    );
    let mut req = client
        .post(format!("http://{addr}/webhooks/{name}"))
        .header("content-type", "application/json")
        .body(body);
    for (k, v) in &headers {
        req = req.header(k.as_str(), v.as_str());
    }
    let resp = req.send().await.expect("sent");
    assert_eq!(resp.status(), 202);
    assert!(resp.text().await.unwrap_or_default().contains("queued"));

    let state_url = format!("http://{sim}/_sim/state");
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let state: SimState = client
            .get(&state_url)
            .send()
            .await
            .expect("state")
            .json()
            .await
            .expect("state json");
        let ada = state
            .user_with_email("ada@example.com")
            .map(|u| u.id)
            .expect("a demo user");
        let in_group = |g: &str| {
            state
                .group_named(g)
                .is_some_and(|g| g.members.contains(&ada))
        };
        if in_group("Marketing") && in_group("Engineering") {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "Ada never joined both groups: {state:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // The demo's admin token opens the console, and the simulator names members by email.
    let mut b = crate::console_helpers::Browser::at(&format!("http://{addr}"));
    let resp = b.sign_in(token.expose()).await;
    assert_eq!(resp.status(), 303);
    let page = b.page("/console/reconcile", 200).await;
    assert!(page.contains("demo-admin") && page.contains("Start a dry run"));
    let state: SimState = client
        .get(&state_url)
        .send()
        .await
        .expect("state")
        .json()
        .await
        .expect("state json");
    let marketing = state.group_named("Marketing").expect("Marketing");
    assert!(
        marketing
            .member_emails
            .contains(&"ada@example.com".to_owned())
    );
    let _ = stop.send(());
}
