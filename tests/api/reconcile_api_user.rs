//! The Domo API client's own user: Domo makes it a member of every group the client creates
//! (the simulator too). Reconcile reports it as skipped, never as unknown, and never removes
//! it, even with `remove_unknown`; a removal job naming it (from a plan stored before its id
//! was known) is not carried out.

use serde_json::json;

use domo_group_sync::store::{IngestItem, RECONCILE_SOURCE};

use crate::helpers::TestApp;
use crate::reconcile::{app_with, group_id, ids, onboard, plan_group, start};

const ADA: &str = "ada@example.com";
const ALAN: &str = "alan@example.com";

/// The members of a Domo group, as the simulator has them.
fn members(app: &TestApp, group: u64) -> Vec<u64> {
    app.sim_state()
        .groups
        .iter()
        .find(|g| g.id == group)
        .map(|g| g.members.clone())
        .expect("group exists")
}

/// The app with `remove_unknown`, Ada onboarded into Marketing (which the service creates),
/// and Marketing's id and the API client's user id.
async fn with_marketing_created() -> (TestApp, u64, u64) {
    let app = app_with("remove_unknown = true\nmax_removal_share = 1.0").await;
    onboard(&app, ADA, &["Marketing"]).await;
    app.wait_idle().await;
    let (marketing, owner) = (group_id(&app, "Marketing"), app.sim.owner_id());
    assert!(
        members(&app, marketing).contains(&owner),
        "Domo made the API client's user a member of the group it created"
    );
    (app, marketing, owner)
}

#[tokio::test]
async fn reconcile_skips_the_api_client_s_own_user_and_removes_the_real_stranger() {
    let (app, marketing, owner) = with_marketing_created().await;
    let alan = app.sim_user_id(ALAN);
    app.hand_add(marketing, alan).await;

    let run = start(&app, true).await;
    assert_eq!(run["status"], "queued", "{run}");
    let g = plan_group(&run, "Marketing");
    assert_eq!(ids(&g["unknown"]), vec![alan], "{run}");
    assert_eq!(ids(&g["skipped"]), vec![owner], "{run}");
    assert!(ids(&g["remove"]).is_empty(), "{run}");
    assert_eq!(run["plan"]["api_user_id"], owner, "{run}");
    assert_eq!(run["plan"]["totals"]["skipped"], 1, "{run}");

    app.wait_idle().await;
    let now = members(&app, marketing);
    assert!(now.contains(&owner), "the API client's user stays: {now:?}");
    assert!(!now.contains(&alan), "the stranger goes: {now:?}");
}

#[tokio::test]
async fn a_queued_removal_of_the_api_client_s_own_user_is_not_carried_out() {
    let (app, marketing, owner) = with_marketing_created().await;
    let item = IngestItem {
        event_id: format!("run:0:domo-user:{owner}"),
        event_type: "reconcile.remove_unknown".into(),
        job_key: Some(format!("domo-user:{owner}")),
        user_key: None,
        occurred_at: None,
        payload: Some(
            json!({ "run": 0, "domo_user_id": owner, "remove": [[marketing, "Marketing"]] })
                .to_string(),
        ),
        replay_of: None,
        request_id: None,
        trace_context: None,
    };
    app.store
        .ingest(
            &[(RECONCILE_SOURCE, &[item])],
            chrono::Utc::now().timestamp_millis(),
        )
        .await
        .expect("ingest");
    app.wait_idle().await;

    assert!(members(&app, marketing).contains(&owner));
    assert_eq!(app.store.count_events("dead").await.expect("count"), 0);
    assert_eq!(
        app.sim_state()
            .calls_to("DELETE /v1/groups/{id}/users/{id}")
            .total,
        0,
        "no removal was even tried"
    );
}
