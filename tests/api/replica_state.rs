//! What one replica learns, another must honour: a group created by one replica is managed by
//! every replica (on both backends: two `Application`s on one database).

use std::collections::BTreeMap;

use domo_group_sync::app::Application;
use domo_group_sync::config::{Config, ConfigInput};
use domo_group_sync::event::CanonicalEvent;
use domo_group_sync::ingest::to_item;
use domo_group_sync::sources::Parsed;

use crate::helpers::*;

fn sales_onboarding() -> String {
    serde_json::json!({
        "id": "evt_on", "type": "user.onboarded", "occurred_at": "2026-11-28T10:00:00Z",
        "user": { "email": "ada@example.com", "attributes": { "department": "Sales", "location": "Paris" } },
        "groups": ["Marketing"]
    })
    .to_string()
}

#[tokio::test]
async fn an_offboarding_on_one_replica_removes_a_group_another_replica_created() {
    let mut a = spawn_app().await;
    // Replica B starts before A creates anything, and only ever works this offboarding.
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
    let b = Application::build(config).await.expect("replica B builds");

    a.send_event(&sales_onboarding()).await;
    a.wait_idle().await;
    assert_eq!(
        a.worker.run_until_idle().await.expect("work"),
        0,
        "A has nothing left"
    );
    // "Sales Paris" comes from a template: managed because replica A created it.
    assert_eq!(
        a.groups_of("ada@example.com"),
        ["Default", "Marketing", "Sales", "Sales Paris"]
    );
    a.stop_service().await;

    let off = canonical(
        "evt_off",
        "user.offboarded",
        "2026-11-28T11:00:00Z",
        "ada@example.com",
        None,
    );
    let ev: CanonicalEvent = serde_json::from_str(&off).expect("canonical event");
    let items = [to_item("sw", Parsed::Event(ev), None)];
    b.store()
        .ingest(&[("sw", &items)], chrono::Utc::now().timestamp_millis())
        .await
        .expect("ingest");
    assert_eq!(b.worker().run_until_idle().await.expect("work"), 1);
    assert_eq!(
        a.groups_of("ada@example.com"),
        ["Default"],
        "offboarded on replica B from every managed group, A's creations included"
    );
    assert_eq!(a.sim_state().calls_to("POST /v1/groups").total, 3);
}
