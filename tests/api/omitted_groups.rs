//! Domo documents `groups` in `GET /v1/users/{id}`, but the service must not depend on it: with
//! the simulator set to leave it out, an offboarding and a reconcile's repair still reach the
//! right state (by reading the members of the groups a plan may touch), never the stale record.

use dgs_sims::domo::Faults;
use reqwest::Method;

use crate::api_v1::call;
use crate::helpers::*;
use crate::reconcile::{ADA, app_with, group_id, hand_remove, onboard, start};

const GRACE: &str = "grace@example.com";
const ALAN: &str = "alan@example.com";

fn omit_groups(app: &TestApp) {
    app.sim.set_faults(Faults {
        omit_user_groups: true,
        ..Faults::default()
    });
}

#[tokio::test]
async fn an_offboarding_without_the_users_groups_still_leaves_every_managed_group() {
    let app = spawn_app().await;
    onboard(&app, ADA, &["Marketing"]).await;
    onboard(&app, GRACE, &["eng-core"]).await;
    app.wait_idle().await;
    // Domo has more than the record: an admin added Ada to Engineering by hand.
    let ada = app.sim_user_id(ADA);
    app.hand_add(group_id(&app, "Engineering"), ada).await;
    omit_groups(&app);
    let reads_before = app.calls("GET /v1/groups/{id}/users");

    let (status, body) = call(
        &app,
        Method::POST,
        &format!("/api/v1/users/{ADA}/offboard"),
        None,
    )
    .await;
    assert_eq!(status, 202, "{body}");
    app.wait_idle().await;

    let left: Vec<String> = app
        .groups_of(ADA)
        .into_iter()
        .filter(|g| g == "Marketing" || g == "Engineering")
        .collect();
    assert!(left.is_empty(), "Ada is still in {left:?}");
    assert!(
        app.calls("GET /v1/groups/{id}/users") > reads_before,
        "the groups' members were read"
    );
    // Grace is untouched.
    assert!(app.groups_of(GRACE).contains(&"Engineering".to_owned()));
}

#[tokio::test]
async fn a_reconcile_repair_without_the_users_groups_reaches_the_desired_state() {
    let app = app_with("").await;
    onboard(&app, ADA, &["Marketing"]).await;
    onboard(&app, ALAN, &["Finance"]).await;
    onboard(&app, GRACE, &["Finance"]).await;
    app.wait_idle().await;
    // Drift the record does not know: Ada out of Marketing, into Finance.
    let ada = app.sim_user_id(ADA);
    hand_remove(&app, group_id(&app, "Marketing"), ada).await;
    app.hand_add(group_id(&app, "Finance"), ada).await;
    omit_groups(&app);

    let run = start(&app, true).await;
    assert_eq!(run["status"], "queued", "{run}");
    app.wait_idle().await;

    let have: Vec<String> = app
        .groups_of(ADA)
        .into_iter()
        .filter(|g| g == "Marketing" || g == "Finance")
        .collect();
    assert_eq!(have, vec!["Marketing".to_owned()], "Ada's managed groups");
    for other in [ALAN, GRACE] {
        assert!(
            app.groups_of(other).contains(&"Finance".to_owned()),
            "{other}"
        );
    }
}
