//! Okta's documented SCIM 2.0 flows (the Okta SCIM 2.0 reference), request by request: the
//! userName check with paging, create with `password`, `groups` and `locale`, retrieve, PUT
//! updates, Push Groups (create with no members, rename with every membership update, mixed
//! remove and add), deactivation by PATCH (OIN) and by PUT (App Wizard apps), unlink (DELETE
//! group). Okta never deletes users.

use reqwest::Method;
use serde_json::{Value, json};

use super::{q, spawn_scim};

fn okta_user(given: &str, active: bool) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "grace@example.com",
        "name": {"givenName": given, "familyName": "Hopper"},
        "emails": [{"primary": true, "value": "grace@example.com", "type": "work"}],
        "displayName": format!("{given} Hopper"),
        "locale": "en-US",
        "externalId": "00ujl29u0le5T6Aj10h7",
        "groups": [],
        "password": "1mz050nq",
        "active": active
    })
}

#[tokio::test]
async fn okta_provisioning_cycle_drives_domo() {
    let app = spawn_scim().await;

    // Does the user exist? (Okta pages every list.)
    let (s, list) = app
        .scim_get(&format!(
            "/Users?filter={}&startIndex=1&count=100",
            q(r#"userName eq "grace@example.com""#)
        ))
        .await;
    assert_eq!(
        (
            s,
            &list["totalResults"],
            &list["startIndex"],
            &list["itemsPerPage"]
        ),
        (200, &json!(0), &json!(1), &json!(0))
    );

    // Create; the password and groups are not kept (never echoed).
    let (s, user) = app
        .scim_call(Method::POST, "/Users", Some(okta_user("Grace", true)))
        .await;
    assert_eq!(s, 201, "{user}");
    assert!(user.get("password").is_none() && user.get("groups").is_none());
    assert_eq!(user["active"], true);
    let uid = user["id"].as_str().expect("id").to_owned();
    // A second create is a 409 (Okta's signal to link instead).
    let (s, err) = app
        .scim_call(Method::POST, "/Users", Some(okta_user("Grace", true)))
        .await;
    assert_eq!(
        (s, &err["scimType"], &err["status"]),
        (409, &json!("uniqueness"), &json!("409"))
    );

    // Retrieve, and update by PUT.
    let (s, got) = app.scim_get(&format!("/Users/{uid}")).await;
    assert_eq!((s, &got["name"]["givenName"]), (200, &json!("Grace")));
    let (s, put) = app
        .scim_call(
            Method::PUT,
            &format!("/Users/{uid}"),
            Some(okta_user("Amazing Grace", true)),
        )
        .await;
    assert_eq!(
        (s, &put["displayName"]),
        (200, &json!("Amazing Grace Hopper"))
    );

    // Push Groups: create with no members, find it, list the groups page.
    let (s, group) = app
        .scim_call(Method::POST, "/Groups", Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "eng-platform", "members": []})))
        .await;
    assert_eq!(s, 201, "{group}");
    let gid = group["id"].as_str().expect("id").to_owned();
    let (_, page) = app.scim_get("/Groups?startIndex=1&count=100").await;
    assert_eq!(page["totalResults"], 1);
    let (_, by) = app
        .scim_get(&format!(
            "/Groups?filter={}",
            q(r#"displayName eq "eng-platform""#)
        ))
        .await;
    assert_eq!(by["Resources"][0]["id"], gid.as_str());

    // Membership update with the rename Okta sends along (same name here), then a real rename.
    let (s, _) = app
        .scim_call(
            Method::PATCH,
            &format!("/Groups/{gid}"),
            Some(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
                {"op": "replace", "value": {"id": gid, "displayName": "eng-platform"}},
                {"op": "add", "path": "members", "value": [{"value": uid, "display": "grace@example.com"}]}
            ]})),
        )
        .await;
    assert_eq!(s, 204);
    assert_eq!(
        app.domo_groups_of("grace@example.com").await,
        ["Engineering"]
    );
    let (s, _) = app
        .scim_call(Method::PATCH, &format!("/Groups/{gid}"), Some(json!({"Operations": [{"op": "replace", "value": {"id": gid, "displayName": "Marketing"}}]})))
        .await;
    assert_eq!(s, 204);
    assert_eq!(
        app.domo_groups_of("grace@example.com").await,
        ["Marketing"],
        "a rename re-evaluates the rules"
    );

    // Remove and add in one request (RFC remove form).
    let (s, _) = app
        .scim_call(
            Method::PATCH,
            &format!("/Groups/{gid}"),
            Some(json!({"Operations": [
                {"op": "remove", "path": format!("members[value eq \"{uid}\"]")},
                {"op": "add", "path": "members", "value": []}
            ]})),
        )
        .await;
    assert_eq!(s, 204);
    assert!(app.domo_groups_of("grace@example.com").await.is_empty());
    // App Wizard apps push the whole list with PUT.
    let (s, put) = app
        .scim_call(Method::PUT, &format!("/Groups/{gid}"), Some(json!({"displayName": "Marketing", "members": [{"value": uid, "display": "grace@example.com"}]})))
        .await;
    assert_eq!(s, 200, "{put}");
    assert_eq!(
        put["members"],
        json!([{"value": uid}]),
        "display is not kept"
    );
    assert_eq!(app.domo_groups_of("grace@example.com").await, ["Marketing"]);

    // Deactivate by PATCH (OIN apps): a path-less value object.
    let (s, off) = app
        .scim_call(Method::PATCH, &format!("/Users/{uid}"), Some(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "value": {"active": false}}]})))
        .await;
    assert_eq!((s, &off["active"]), (200, &json!(false)));
    assert!(
        app.domo_groups_of("grace@example.com").await.is_empty(),
        "deactivation offboards"
    );
    // Reactivate, then deactivate by PUT (App Wizard apps).
    app.scim_call(
        Method::PATCH,
        &format!("/Users/{uid}"),
        Some(json!({"Operations": [{"op": "replace", "value": {"active": true}}]})),
    )
    .await;
    assert_eq!(app.domo_groups_of("grace@example.com").await, ["Marketing"]);
    let (s, _) = app
        .scim_call(
            Method::PUT,
            &format!("/Users/{uid}"),
            Some(okta_user("Amazing Grace", false)),
        )
        .await;
    assert_eq!(s, 200);
    assert!(app.domo_groups_of("grace@example.com").await.is_empty());

    // Unlink the pushed group; the (deactivated) user stays.
    assert_eq!(
        app.scim_call(Method::DELETE, &format!("/Groups/{gid}"), None)
            .await
            .0,
        204
    );
    let (s, u) = app.scim_get(&format!("/Users/{uid}")).await;
    assert_eq!((s, &u["active"]), (200, &json!(false)));
    app.wait_idle().await;
    assert_eq!(app.store.count_events("dead").await.expect("count"), 0);
}
